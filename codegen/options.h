// Options and results shared by every entry point of the code generator (JIT and AOT).
// Plain types only: tools/ and runtime/ include this header, LLVM stays inside codegen/.
#pragma once

#include <cstdint>
#include <string>

#include "ir/module.h"

namespace evoc::codegen {

/// The kernel ABI: applies a module to `n` rows. Row r reads x[r*x_stride + 0 .. n_in) and
/// writes y[r*y_stride + 0 .. n_out); strides are in elements. Memory outside those rows is
/// never read or written.
using KernelFn = void (*)(const float* x, int64_t n, int64_t x_stride, float* y, int64_t y_stride);

/// How to compile a module.
struct CodegenOptions {
  int opt_level = 2;         ///< LLVM optimisation level, 0..3
  bool fast_math = false;    ///< allow reassociation and FMA contraction (results then differ from
                             ///< the interpreter's in the last bits)
  std::string triple;        ///< target triple; empty means the host
  std::string cpu;           ///< target CPU (e.g. "skylake-avx512"); empty means the host CPU
                             ///< (with the host's features) or, for a foreign triple, "generic"
  std::string features;      ///< extra target features, e.g. "+avx2,-fma"
  int vector_width = 0;      ///< rows per SIMD step; 0 derives it from the target (8 AVX2, 16 AVX-512)
  std::string symbol;        ///< kernel symbol; empty means default_symbol(module)
  bool time_passes = false;  ///< also collect LLVM's per-pass timing report
};

/// Wall-clock time of each compilation phase, in milliseconds.
struct CompileTimes {
  double ir_generation_ms = 0;  ///< ir::Module -> LLVM IR
  double optimization_ms = 0;   ///< LLVM pass pipeline
  double machine_code_ms = 0;   ///< instruction selection .. object code
  double link_ms = 0;           ///< JIT only: loading the object and resolving the kernel symbol
  std::string pass_report;      ///< LLVM's per-pass timings when CodegenOptions::time_passes

  double total_ms() const { return ir_generation_ms + optimization_ms + machine_code_ms + link_ms; }
  /// A small table, one line per phase (and the pass report when present).
  std::string format() const;
};

/// The default kernel symbol of a module: "evoc_" followed by its name, with every character
/// that is not a letter, digit or underscore replaced by an underscore.
std::string default_symbol(const ir::Module& m);

/// The kernel symbol chosen by `options` for `m`; throws evoc::Error if it is not a C identifier.
std::string kernel_symbol(const ir::Module& m, const CodegenOptions& options);

}  // namespace evoc::codegen
