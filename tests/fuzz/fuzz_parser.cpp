// libFuzzer target: the IR text form. Any bytes go to the parser; whatever it accepts must
// verify, print, and parse back to the same module (`parse(print(m)) == m`), and the canonical
// text must be a fixed point of print-after-parse. The interpreter then runs the module on one
// row, and its content hash is taken, so that a module the parser accepts is one every later
// stage can take. Rejections must be evoc::Error; any other exception or a crash is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "ir/error.h"
#include "ir/interpreter.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"

using namespace evoc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ir::Module m;
  try {
    m = ir::parse_module(text, "fuzz.evir");
  } catch (const ParseError& e) {
    FUZZ_CHECK(e.line >= 1, "parse error without a line: " << e.what());
    FUZZ_CHECK(std::string_view(e.what()).starts_with("fuzz.evir:"), "unlocated error: " << e.what());
    return 0;
  } catch (const Error& e) {
    FUZZ_FAIL("parse_module threw a plain evoc::Error, not a ParseError: " << e.what());
  }

  const std::vector<std::string> problems = ir::verify_module(m);
  FUZZ_CHECK(problems.empty(), "the parser accepted a module that does not verify: " << problems.front());

  const std::string printed = ir::print_module(m);
  ir::Module again;
  try {
    again = ir::parse_module(printed, "printed.evir");
  } catch (const Error& e) {
    FUZZ_FAIL("the printed form does not parse:\n" << e.what() << "\n--- printed ---\n" << printed);
  }
  FUZZ_CHECK(again == m, "parse(print(m)) != m\n--- printed ---\n" << printed);
  FUZZ_CHECK(ir::print_module(again) == printed, "print(parse(print(m))) != print(m)");
  (void)ir::print_module(m, {.annotate = true});
  (void)ir::content_hash(m);

  // One row through the interpreter (bounded: the parser caps nothing but the text size).
  if (m.values.size() <= 4096 && m.n_in() <= 4096) {
    std::vector<float> x(m.n_in(), 0.5f), y(m.n_out() + 1, 0.0f);
    y.back() = 12345.0f;
    ir::interpret(m, x.data(), 1, static_cast<int64_t>(x.size()), y.data(), static_cast<int64_t>(m.n_out()));
    FUZZ_CHECK(y.back() == 12345.0f, "the interpreter wrote past the output row");
  }
  return 0;
}
