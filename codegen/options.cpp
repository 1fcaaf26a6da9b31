// Kernel symbols and the phase-timing table (see options.h).
#include "codegen/options.h"

#include <fmt/format.h>

#include "codegen_revision.h"  // generated at build time (codegen/CMakeLists.txt)
#include "ir/error.h"

namespace evoc::codegen {

std::string_view codegen_revision() { return EVOC_CODEGEN_REVISION; }

namespace {

bool is_identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_c_identifier(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s)
    if (!is_identifier_char(c)) return false;
  return true;
}

/// Keywords of C23 and C++20: a kernel named after one declares nothing in the generated header.
bool is_keyword(std::string_view s) {
  static constexpr std::string_view kKeywords[] = {
      "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break", "case",
      "catch", "char", "char8_t", "char16_t", "char32_t", "class", "compl", "concept", "const", "consteval",
      "constexpr", "constinit", "const_cast", "continue", "co_await", "co_return", "co_yield", "decltype",
      "default", "delete", "do", "double", "dynamic_cast", "else", "enum", "explicit", "export", "extern",
      "false", "float", "for", "friend", "goto", "if", "inline", "int", "long", "mutable", "namespace", "new",
      "noexcept", "not", "not_eq", "nullptr", "operator", "or", "or_eq", "private", "protected", "public",
      "register", "reinterpret_cast", "requires", "restrict", "return", "short", "signed", "sizeof", "static",
      "static_assert", "static_cast", "struct", "switch", "template", "this", "thread_local", "throw", "true",
      "try", "typedef", "typeid", "typename", "typeof", "union", "unsigned", "using", "virtual", "void",
      "volatile", "wchar_t", "while", "xor", "xor_eq", "main"};
  for (std::string_view k : kKeywords)
    if (s == k) return true;
  return false;
}

/// Names the headers of the generated C and the generated header declare (<math.h>,
/// <stdint.h>, <string.h>): a kernel of one of these names would not compile, or would
/// interpose the C library's function when linked.
bool is_c_library_name(std::string_view s) {
  static constexpr std::string_view kMath[] = {
      "acos", "asin", "atan", "atan2", "cos", "sin", "tan", "acosh", "asinh", "atanh", "cosh", "sinh", "tanh",
      "exp", "exp2", "expm1", "frexp", "ilogb", "ldexp", "log", "log10", "log1p", "log2", "logb", "modf",
      "scalbn", "scalbln", "cbrt", "fabs", "hypot", "pow", "sqrt", "erf", "erfc", "lgamma", "tgamma", "ceil",
      "floor", "nearbyint", "rint", "lrint", "llrint", "round", "lround", "llround", "trunc", "fmod",
      "remainder", "remquo", "copysign", "nan", "nextafter", "nexttoward", "fdim", "fmax", "fmin", "fma",
      "gamma", "j0", "j1", "jn", "y0", "y1", "yn", "drem", "finite", "significand", "exp10", "pow10",
      "sincos", "scalb"};
  static constexpr std::string_view kOther[] = {
      // <math.h> macros and objects
      "fpclassify", "isfinite", "isinf", "isnan", "isnormal", "signbit", "isgreater", "isgreaterequal",
      "isless", "islessequal", "islessgreater", "isunordered", "signgam", "math_errhandling", "errno",
      "INFINITY", "NAN", "NULL",
      // <string.h>
      "memcpy", "memmove", "memset", "memcmp", "memchr", "memccpy", "mempcpy", "memrchr", "strcpy", "strncpy",
      "strcat", "strncat", "strcmp", "strncmp", "strcoll", "strxfrm", "strchr", "strrchr", "strspn",
      "strcspn", "strpbrk", "strstr", "strtok", "strtok_r", "strlen", "strnlen", "strerror", "strerror_r",
      "strdup", "strndup", "stpcpy", "stpncpy", "strsignal", "strcasecmp", "strncasecmp", "bzero", "bcopy",
      "bcmp", "index", "rindex", "ffs", "explicit_bzero", "strlcpy", "strlcat"};
  for (std::string_view name : kOther)
    if (s == name) return true;
  for (std::string_view name : kMath)
    if (s == name || (s.size() == name.size() + 1 && s.starts_with(name) && (s.back() == 'f' || s.back() == 'l')))
      return true;
  // Types (int64_t, float_t, size_t: POSIX reserves every name ending in _t) and the macros of
  // <stdint.h> and <math.h> (INT64_C, UINT8_MAX, HUGE_VALF, FP_NAN, M_PI, ...).
  if (s.ends_with("_t")) return true;
  for (std::string_view prefix : {"INT", "UINT"})
    if (s.starts_with(prefix)) {
      const std::string_view rest = s.substr(prefix.size());
      if (!rest.empty() && ((rest[0] >= '0' && rest[0] <= '9') || rest[0] == '_' || rest.starts_with("MAX") ||
                            rest.starts_with("PTR") || rest.starts_with("_LEAST") || rest.starts_with("_FAST")))
        return true;
    }
  for (std::string_view prefix : {"FP_", "M_", "HUGE_VAL", "MATH_", "SIZE_", "PTRDIFF_", "SIG_ATOMIC_", "WCHAR_",
                                  "WINT_", "EVOC_"})
    if (s.starts_with(prefix)) return true;
  return false;
}

}  // namespace

std::string c_comment_text(std::string_view s) {
  std::string out;
  for (char c : s) out += (c == '/' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '_' : c;
  return out;
}

std::string CompileTimes::format() const {
  std::string out;
  auto row = [&](std::string_view phase, double ms) { out += fmt::format("  {:<18} {:9.3f} ms\n", phase, ms); };
  out += "compile time per phase:\n";
  row("IR generation", ir_generation_ms);
  row("LLVM optimisation", optimization_ms);
  row("machine code", machine_code_ms);
  if (link_ms > 0) row("JIT link", link_ms);
  row("total", total_ms());
  if (!pass_report.empty()) out += pass_report;
  return out;
}

std::string default_symbol(const ir::Module& m) {
  std::string symbol = "evoc_";
  for (char c : m.name) symbol += is_identifier_char(c) ? c : '_';
  return symbol;
}

std::string kernel_symbol(const ir::Module& m, const CodegenOptions& options) {
  if (options.symbol.empty()) return default_symbol(m);
  if (!is_c_identifier(options.symbol))
    throw Error("kernel name '" + options.symbol + "' is not a C identifier");
  if (is_keyword(options.symbol))
    throw Error("kernel name '" + options.symbol + "' is a C or C++ keyword (or main)");
  if (options.symbol.starts_with("__") || (options.symbol[0] == '_' && options.symbol.size() > 1 &&
                                           options.symbol[1] >= 'A' && options.symbol[1] <= 'Z'))
    throw Error("kernel name '" + options.symbol + "' is reserved to the C implementation (leading __ or _X)");
  if (is_c_library_name(options.symbol))
    throw Error("kernel name '" + options.symbol +
                "' is declared by the C library headers the generated code includes (math.h, stdint.h, "
                "string.h) or by evoc's generated C itself; choose another");
  return options.symbol;
}

}  // namespace evoc::codegen
