// Row runners: what applies a module to rows for `evoc run`, `evoc eval`, the permutation
// importance and the ensemble's validation: the reference interpreter, or an evoc::Kernel (the
// JIT on the host, or a CUDA GPU), chosen by name, behind one interface.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ir/module.h"

namespace evoc {

/// Something that applies a module to rows (the kernel ABI).
class Engine {
 public:
  virtual ~Engine() = default;
  virtual void run(const float* x, int64_t n, int64_t x_stride, float* y, int64_t y_stride) = 0;
};

/// Engine names accepted by `--engine`: the reference interpreter, a Kernel on the host, a
/// Kernel on a CUDA GPU.
inline constexpr const char* kEngineNames[] = {"interp", "jit", "gpu"};
/// Default engine name.
std::string default_engine();
/// Builds the named engine for `m` (which must outlive it); throws evoc::Error on bad names.
/// "jit" and "gpu" compile `m` as any user does, with Kernel::compile (raw outputs; the kernel
/// cache of $EVOC_CACHE_DIR when it is set).
std::unique_ptr<Engine> make_engine(const std::string& name, const ir::Module& m);

}  // namespace evoc
