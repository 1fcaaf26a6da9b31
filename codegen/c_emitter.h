// The C backend (`evoc compile --emit=c`): a module as one portable C99 function with the
// kernel ABI (see options.h), for targets without LLVM and as a baseline for the LLVM kernels.
//
// The C is written by running the ir/scalar.h templates with a backend that prints C
// statements instead of computing, so it performs exactly the interpreter's IEEE operations in
// the interpreter's order. Compiled without FMA contraction (`-ffp-contract=off`; Clang also
// honours the pragma in the file) and without -ffast-math, its results equal the
// interpreter's bit for bit. `-fno-math-errno` is safe and lets compilers vectorise sqrtf.
#pragma once

#include <string>

#include "ir/module.h"

namespace evoc::codegen {

/// C99 source defining `void SYMBOL(const float* x, int64_t n, int64_t x_stride, float* y,
/// int64_t y_stride)`: the same function, under the same name, that the LLVM backend builds,
/// so the header from `--emit=header` declares it too. Rows are processed one after another in
/// a loop that C compilers can vectorise. Throws evoc::Error if `m` does not verify or `symbol`
/// is not a C identifier.
std::string emit_c(const ir::Module& m, const std::string& symbol);

/// The C compiler flags that keep the emitted C bit-exact with the interpreter (GCC, Clang).
inline constexpr const char* kCExactFlags = "-std=c99 -ffp-contract=off -fno-math-errno";

}  // namespace evoc::codegen
