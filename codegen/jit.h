// In-process compilation: an ir::Module becomes a native kernel through LLVM's ORC LLJIT.
//
//   evoc::codegen::JitKernel k = evoc::codegen::compile_jit(module);
//   k(x, n, x_stride, y, y_stride);          // or k.function() for the raw pointer
//   fmt::print("{}", k.times().format());    // IR generation / optimisation / machine code / link
//
// All kernels share one JIT session, created on first use (jit_setup() does it up front); each
// kernel's code lives in its own JITDylib and is freed with the kernel. Compiling and freeing
// are thread-safe; calling a kernel is thread-safe too (it has no state).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "codegen/options.h"
#include "ir/module.h"

namespace evoc::codegen {

/// A compiled kernel and the code that backs it. Movable, not copyable.
class JitKernel {
 public:
  JitKernel(JitKernel&&) noexcept;
  JitKernel& operator=(JitKernel&&) noexcept;
  ~JitKernel();

  /// Applies the module to `n` rows (the kernel ABI, see KernelFn).
  void operator()(const float* x, int64_t n, int64_t x_stride, float* y, int64_t y_stride) const {
    function_(x, n, x_stride, y, y_stride);
  }
  /// The raw entry point; valid while this object lives.
  KernelFn function() const { return function_; }
  /// Time spent in each compilation phase.
  const CompileTimes& times() const { return times_; }
  /// Rows per SIMD step of the generated code.
  unsigned vector_width() const { return width_; }
  /// The kernel's symbol.
  const std::string& symbol() const { return symbol_; }

 private:
  friend JitKernel compile_jit(const ir::Module&, const CodegenOptions&);
  struct Code;
  JitKernel(std::unique_ptr<Code> code, KernelFn function, CompileTimes times, unsigned width, std::string symbol);

  std::unique_ptr<Code> code_;
  KernelFn function_ = nullptr;
  CompileTimes times_;
  unsigned width_ = 0;
  std::string symbol_;
};

/// Compiles `m` for the host. `options.triple` must be empty or the host's, and `options.cpu`,
/// if given, a CPU whose instructions the host has. Throws evoc::Error if the module does not
/// verify or LLVM fails.
JitKernel compile_jit(const ir::Module& m, const CodegenOptions& options = {});

/// Creates the shared JIT session if it does not exist yet and returns the time that took, in
/// milliseconds (0 when it already existed). compile_jit calls it.
double jit_setup();

}  // namespace evoc::codegen
