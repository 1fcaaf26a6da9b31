// Execution engines for `evoc run`: the reference interpreter, or a compiled kernel.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ir/module.h"

namespace evoc::tools {

/// Something that applies a module to rows (the kernel ABI).
class Engine {
 public:
  virtual ~Engine() = default;
  virtual void run(const float* x, int64_t n, int64_t x_stride, float* y, int64_t y_stride) = 0;
};

/// Engine names accepted by `--engine`.
inline constexpr const char* kEngineNames[] = {"interp", "jit", "gpu"};
/// Default engine name.
std::string default_engine();
/// Builds the named engine for `m` (which must outlive it); throws evoc::Error on bad names.
std::unique_ptr<Engine> make_engine(const std::string& name, const ir::Module& m);

}  // namespace evoc::tools
