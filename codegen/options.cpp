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
  return options.symbol;
}

}  // namespace evoc::codegen
