// The text form: golden files round-trip byte for byte; parse(print(m)) == m on random modules.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "ir/file_util.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/random_module.h"
#include "ir/verifier.h"
#include "test_util.h"

using namespace evoc;
using namespace evoc::ir;

TEST_CASE("golden modules round-trip byte for byte") {
  auto files = test::golden_files();
  REQUIRE(files.size() >= 10);
  bool seen[kNumOps] = {};
  for (const auto& path : files) {
    CAPTURE(path.string());
    const std::string text = read_file(path.string());
    Module m = parse_module(text, path.string());
    CHECK(verify_module(m).empty());
    CHECK(print_module(m) == text);
    for (const Value& v : m.values) seen[static_cast<int>(v.op)] = true;
  }
  for (int k = 0; k < kNumOps; ++k) {
    CAPTURE(op_name(static_cast<Op>(k)));
    CHECK(seen[k]);  // every op kind appears in some golden file
  }
}

TEST_CASE("parse(print(m)) == m for random modules") {
  for (uint64_t seed = 0; seed < 500; ++seed) {
    RandomModuleOptions o;
    o.n_values = 1 + static_cast<uint32_t>(seed % 60);
    o.special_chance = 0.2f;
    Module m = random_module(seed, o);
    m.set_meta("seed", std::to_string(seed));
    const std::string text = print_module(m);
    Module back = parse_module(text, "random.evir");
    CAPTURE(text);
    REQUIRE(back == m);
    CHECK(print_module(back) == text);
  }
}

TEST_CASE("floats print shortest and round-trip exactly") {
  const float samples[] = {0.0f,
                           -0.0f,
                           1.0f,
                           0.1f,
                           -2.5e-3f,
                           3.4028235e38f,
                           1e-45f,
                           1.17549435e-38f,
                           16777216.0f,
                           0.33333334f,
                           std::numeric_limits<float>::infinity(),
                           -std::numeric_limits<float>::infinity()};
  for (float f : samples) {
    Module m = make_module("f", 1);
    add_output(m, add_const(m, f), "y");
    Module back = parse_module(print_module(m));
    CHECK(std::bit_cast<uint32_t>(const_value(back.values[1])) == std::bit_cast<uint32_t>(f));
  }
  CHECK(format_float(0.1f) == "0.1");
  CHECK(format_float(-0.0f) == "-0");
  CHECK(format_float(1e20f) == "1e+20");
  CHECK(format_float(std::numeric_limits<float>::quiet_NaN()) == "nan");
  CHECK(format_float(-std::numeric_limits<float>::quiet_NaN()) == "-nan");
  // every float with a sampled bit pattern round-trips
  Rng rng(7);
  for (int i = 0; i < 20000; ++i) {
    float f = std::bit_cast<float>(static_cast<uint32_t>(rng.next()));
    if (f != f) continue;
    Module m = make_module("f", 0);
    add_output(m, add_const(m, f), "y");
    Module back = parse_module(print_module(m));
    REQUIRE(std::bit_cast<uint32_t>(const_value(back.values[0])) == std::bit_cast<uint32_t>(f));
  }
}

TEST_CASE("comments, blank lines, CRLF and free ids are accepted; fmt canonicalises") {
  const std::string text =
      "; leading comment\r\n"
      "evir 1\r\n"
      "\r\n"
      "module \"m\" inputs 2 outputs 1 ; trailing\r\n"
      "input %10 \"a\"\r\n"
      "input %20 \"b\"\r\n"
      "%7 = add %10, %20   ; sum\r\n"
      "%3 = mul %7, %7\r\n"
      "output %3 \"y\"\r\n";
  Module m = parse_module(text);
  CHECK(print_module(m) ==
        "evir 1\nmodule \"m\" inputs 2 outputs 1\ninput %0 \"a\"\ninput %1 \"b\"\n%2 = add %0, %1\n"
        "%3 = mul %2, %2\noutput %3 \"y\"\n");
}

TEST_CASE("a million lines parse in linear time") {
  std::string text = "evir 1\nmodule \"big\" inputs 1 outputs 1\ninput %0 \"x\"\n";
  for (int i = 1; i <= 1000000; ++i)
    text += "%" + std::to_string(i) + " = add %" + std::to_string(i - 1) + ", %0\n";
  text += "output %1000000 \"y\"\n";
  Module m = parse_module(text);
  CHECK(m.values.size() == 1000001);
}

TEST_CASE("content hash is stable and sensitive") {
  Module a = parse_module(read_file(std::string(EVOC_TESTS_DIR) + "/ir/golden/07_wine_like.evir"));
  Module b = a;
  CHECK(content_hash(a) == content_hash(b));
  b.values.back().imms[0] = std::nextafter(b.values.back().imms[0], 10.0f);
  CHECK(content_hash(a) != content_hash(b));
}
