// Options and results shared by every entry point of the code generator (JIT and AOT).
// Plain types only: tools/ and runtime/ include this header, LLVM stays inside codegen/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ir/module.h"

namespace evoc::codegen {

/// The kernel ABI: applies a module to `n` rows. Row r reads x[r*x_stride + 0 .. n_in) and
/// writes y[r*y_stride + 0 .. n_out); strides are in elements. Memory outside those rows is
/// never read or written.
using KernelFn = void (*)(const float* x, int64_t n, int64_t x_stride, float* y, int64_t y_stride);

/// How to compile a module.
struct CodegenOptions {
  /// Optimisation level, 0..3. evoc's own passes have already folded, simplified and
  /// deduplicated the graph, and LLVM's IR pipelines were measured not to speed its kernels up,
  /// so only level 3 runs them; the levels mostly choose how hard the back end works:
  ///   0  the cheapest compile: rows move through stack tiles with small loops instead of
  ///      unrolled transposes, no scalar copy, fast instruction selection and register
  ///      allocation. About 5 ms for 30 ops, 50 ms for 1,000; kernels ~1.1x slower on large
  ///      models, up to ~4.4x on small ones (see KernelOptions::tiered to have both)
  ///   1  back end at LLVM's "less" level (SelectionDAG, greedy register allocation, scheduling)
  ///   2  back end at LLVM's default level. The default: kernels as fast as with LLVM's IR
  ///      pipeline too (level 3), for about 60% of its compile time
  ///   3  LLVM's O3 IR pipeline and aggressive back end
  int opt_level = 2;
  bool fast_math = false;    ///< allow reassociation and FMA contraction (results then differ from
                             ///< the interpreter's in the last bits)
  std::string triple;        ///< target triple; empty means the host
  std::string cpu;           ///< target CPU (e.g. "skylake-avx512"); empty means the host CPU
                             ///< (with the host's features) or, for a foreign triple, "generic"
  std::string features;      ///< extra target features, e.g. "+avx2,-fma"
  int vector_width = 0;      ///< rows per SIMD step; 0 derives it from the target (8 AVX2, 16 AVX-512)
  std::string symbol;        ///< kernel symbol; empty means default_symbol(module)
  bool time_passes = false;  ///< also collect LLVM's per-pass timing report
  /// The content hash the artifact records as its model's (SYMBOL_content_hash); 0: that of the
  /// module compiled. `evoc compile` sets it to the hash of the model as given, before the IR
  /// optimiser, so that the library is accepted with that model (Kernel::load_library).
  uint64_t model_hash = 0;
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

/// Revision of the generated code: 16 hex digits of a hash, derived at build time
/// (cmake/codegen_revision.cmake), of the LLVM version and of the sources that decide what
/// machine code a module and options compile to (codegen/, the op table, the scalar semantics).
/// Kernel caches are keyed on it, so they never serve a kernel an older code generator made.
std::string_view codegen_revision();

/// The default kernel symbol of a module: "evoc_" followed by its name, with every character
/// that is not a letter, digit or underscore replaced by an underscore.
std::string default_symbol(const ir::Module& m);

/// The kernel symbol chosen by `options` for `m`; throws evoc::Error if it is not a C identifier,
/// is a keyword, is reserved to the C implementation or names what the C library headers the
/// generated files include declare (memcpy, sqrtf, int64_t, INFINITY, ...).
std::string kernel_symbol(const ir::Module& m, const CodegenOptions& options);

/// `s` made safe inside a C block comment of a generated file: no slash (so neither the end
/// of the comment nor the start of a nested one, which -Wcomment warns about), no control
/// characters (a line break would leave the comment). The one rendering of names in comments.
std::string c_comment_text(std::string_view s);

}  // namespace evoc::codegen
