// Kernel symbols and the phase-timing table (see options.h).
#include "codegen/options.h"

#include <fmt/format.h>

#include "ir/error.h"

namespace evoc::codegen {
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

}  // namespace

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
  return options.symbol;
}

}  // namespace evoc::codegen
