// The canonical text form of a module (`evir 1`).
//
//   evir 1
//   module "wine" inputs 13 outputs 3
//   meta "task" "classify"
//   input %0 "alcohol"
//   %13 = mul %2, %5
//   %14 = affine %13, 1.7320508, -0.25
//   %20 = dot [%0 0.5, %13 -1.25, %14 2] + 0.125
//   output %20 "class_0"
//
// Floats print shortest-round-trip (`inf`, `-inf`, `nan`, `-nan`, `-0` included), so that
// parse_module(print_module(m)) == m exactly.
#pragma once

#include <string>

#include "ir/module.h"

namespace evoc::ir {

/// Options of the printer.
struct PrintOptions {
  bool annotate = false;  ///< append `; depth D, uses U` comments to each value
};

/// Canonical text of `m` (ids are the dense ids of the module).
std::string print_module(const Module& m, const PrintOptions& options = {});
/// Shortest text that parses back to exactly `f`.
std::string format_float(float f);
/// How parse_float read a number.
enum class FloatText { Ok, Malformed, Overflow };
/// Reads the whole of `text` (as std::from_chars does: an optional '-', decimal digits, a
/// point, an exponent, or nan/inf) as the nearest f32, rounding as IEEE does: a magnitude beyond
/// the largest finite f32 is Overflow; one below the smallest normal becomes a denormal or a
/// signed zero (1e-46, 1e-320 are numbers, not errors). The one number reader of IR and CSV.
FloatText parse_float(std::string_view text, float& out);
/// A double-quoted string with `\"`, `\\`, `\n`, `\t` and `\xHH` escapes.
std::string quote(std::string_view s);

}  // namespace evoc::ir
