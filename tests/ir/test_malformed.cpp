// Malformed IR: every case in malformed.txt must fail with exactly the stated line:col and message.
#include <doctest/doctest.h>

#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/parser.h"
#include "ir/random_module.h"

using namespace evoc;

namespace {
struct Case {
  std::string name, text, expected;
};

std::vector<Case> load_cases() {
  const std::string all = read_file(std::string(EVOC_TESTS_DIR) + "/ir/malformed.txt");
  std::vector<Case> cases;
  std::size_t pos = 0;
  Case* current = nullptr;
  while (pos < all.size()) {
    std::size_t end = all.find('\n', pos);
    if (end == std::string::npos) end = all.size();
    std::string line = all.substr(pos, end - pos);
    pos = end + 1;
    if (line.rfind("=== ", 0) == 0) {
      cases.push_back({line.substr(4), "", ""});
      current = &cases.back();
    } else if (line.rfind("--- ", 0) == 0 && current) {
      current->expected = line.substr(4);
    } else if (current && current->expected.empty()) {
      current->text += line + "\n";
    }
  }
  return cases;
}
}  // namespace

TEST_CASE("malformed IR gives the exact error and position") {
  auto cases = load_cases();
  REQUIRE(cases.size() >= 25);
  for (const Case& c : cases) {
    CAPTURE(c.name);
    REQUIRE(!c.expected.empty());
    std::string got = "(no error)";
    try {
      ir::parse_module(c.text, "case.evir");
    } catch (const ParseError& e) {
      got = std::to_string(e.line) + ":" + std::to_string(e.col) + ": " + e.message;
      // the rendered message starts with file:line:col: error:
      CHECK(std::string(e.what()).rfind(
                "case.evir:" + std::to_string(e.line) + ":" + std::to_string(e.col) + ": error: " + e.message,
                0) == 0);
    }
    CHECK(got == c.expected);
  }
}

TEST_CASE("rendered errors show the line and a caret") {
  try {
    ir::parse_module("evir 1\nmodule \"m\" inputs 1 outputs 1\ninput %0 \"a\"\n%1 = mull %0, %0\n", "m.evir");
    FAIL("expected an error");
  } catch (const ParseError& e) {
    CHECK(std::string(e.what()) == "m.evir:4:6: error: unknown op 'mull'\n  %1 = mull %0, %0\n       ^");
  }
}

TEST_CASE("mutated golden text never crashes the parser") {
  // Truncations and random byte edits of a valid module: each parses or throws ParseError.
  const std::string good = read_file(std::string(EVOC_TESTS_DIR) + "/ir/golden/07_wine_like.evir");
  ir::Rng rng(42);
  int errors = 0;
  for (std::size_t cut = 0; cut < good.size(); cut += 3) {
    try {
      ir::parse_module(good.substr(0, cut));
    } catch (const ParseError&) {
      ++errors;
    }
  }
  for (int i = 0; i < 3000; ++i) {
    std::string text = good;
    for (int k = 0, edits = 1 + static_cast<int>(rng.below(4)); k < edits; ++k)
      text[rng.below(text.size())] = static_cast<char>(rng.below(256));
    try {
      ir::parse_module(text);
    } catch (const ParseError&) {
      ++errors;
    }
  }
  CHECK(errors > 0);
}

TEST_CASE("unreadable file") {
  CHECK_THROWS_WITH_AS(ir::read_module("/nonexistent/x.evir"),
                       "/nonexistent/x.evir: cannot read: No such file or directory", Error);
}
