// The reference interpreter: evaluates a module on rows, one row at a time, in IEEE f32.
// It is the semantics every optimisation and every compiled kernel is checked against.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "ir/module.h"

namespace evoc::ir {

/// Applies `m` to `n` rows. Row r reads x[r*x_stride + 0 .. n_in) and writes
/// y[r*y_stride + 0 .. n_out). Strides are in elements. The same ABI as compiled kernels.
void interpret(const Module& m, const float* x, int64_t n, int64_t x_stride, float* y, int64_t y_stride);
/// One row in, one row out.
std::vector<float> interpret_row(const Module& m, std::span<const float> x);

/// An interpreter that reuses its scratch space across calls (not thread-safe).
class Interpreter {
 public:
  explicit Interpreter(const Module& m) : module_(m), scratch_(m.values.size()) {}
  void run(const float* x, int64_t n, int64_t x_stride, float* y, int64_t y_stride);

 private:
  const Module& module_;
  std::vector<float> scratch_;
};

}  // namespace evoc::ir
