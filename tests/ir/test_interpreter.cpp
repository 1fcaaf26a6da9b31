// The reference interpreter against hand-computed expectations, NaN, Inf and -0 included.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <limits>

#include "ir/file_util.h"
#include "ir/interpreter.h"
#include "ir/parser.h"
#include "ir/random_module.h"

using namespace evoc::ir;

namespace {
constexpr float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

Module golden(const char* name) {
  return parse_module(evoc::read_file(std::string(EVOC_TESTS_DIR) + "/ir/golden/" + name));
}
bool is_neg_zero(float f) { return f == 0.0f && std::signbit(f); }
bool is_pos_zero(float f) { return f == 0.0f && !std::signbit(f); }
}  // namespace

TEST_CASE("binary kinds") {
  Module m = golden("02_binary.evir");
  auto y = interpret_row(m, std::vector<float>{3.0f, -2.0f});
  CHECK(y == std::vector<float>{1.0f, 5.0f, -6.0f, -1.5f, -2.0f, 3.0f});
  // NaN propagates through every binary kind, including min and max.
  y = interpret_row(m, std::vector<float>{kNaN, 1.0f});
  for (float v : y) CHECK(std::isnan(v));
  y = interpret_row(m, std::vector<float>{1.0f, kNaN});
  for (float v : y) CHECK(std::isnan(v));
  // -0 and +0: min is -0, max is +0 whatever the order; 0/0 is NaN.
  y = interpret_row(m, std::vector<float>{-0.0f, 0.0f});
  CHECK(is_pos_zero(y[0]));
  CHECK(is_neg_zero(y[1]));
  CHECK(is_neg_zero(y[2]));
  CHECK(std::isnan(y[3]));
  CHECK(is_neg_zero(y[4]));
  CHECK(is_pos_zero(y[5]));
  y = interpret_row(m, std::vector<float>{0.0f, -0.0f});
  CHECK(is_neg_zero(y[4]));
  CHECK(is_pos_zero(y[5]));
  // Inf arithmetic.
  y = interpret_row(m, std::vector<float>{kInf, kInf});
  CHECK(y[0] == kInf);
  CHECK(std::isnan(y[1]));
  CHECK(y[2] == kInf);
  CHECK(std::isnan(y[3]));
  y = interpret_row(m, std::vector<float>{1.0f, 0.0f});
  CHECK(y[3] == kInf);
}

TEST_CASE("unary kinds") {
  Module m = golden("03_unary.evir");
  auto y = interpret_row(m, std::vector<float>{4.0f});
  CHECK(y[0] == -4.0f);
  CHECK(y[1] == 4.0f);
  CHECK(y[2] == 4.0f);
  CHECK(y[3] == doctest::Approx(std::tanh(4.0)).epsilon(1e-6));
  CHECK(y[4] == doctest::Approx(1.0 / (1.0 + std::exp(-4.0))).epsilon(1e-6));
  CHECK(y[5] == doctest::Approx(std::exp(4.0)).epsilon(1e-6));
  CHECK(y[6] == doctest::Approx(std::log(4.0)).epsilon(1e-6));
  CHECK(y[7] == 2.0f);
  CHECK(y[8] == 16.0f);
  y = interpret_row(m, std::vector<float>{-1.0f});
  CHECK(y[2] == 0.0f);
  CHECK(std::isnan(y[6]));  // log of a negative
  CHECK(std::isnan(y[7]));  // sqrt of a negative
  y = interpret_row(m, std::vector<float>{-0.0f});
  CHECK(is_pos_zero(y[0]));
  CHECK(is_pos_zero(y[1]));
  CHECK(is_neg_zero(y[2]));  // relu keeps -0 (it is not below 0)
  CHECK(y[5] == 1.0f);
  CHECK(y[6] == -kInf);      // log(-0)
  CHECK(is_neg_zero(y[7]));  // sqrt(-0) = -0
  y = interpret_row(m, std::vector<float>{kInf});
  CHECK(y[3] == 1.0f);
  CHECK(y[4] == 1.0f);
  CHECK(y[5] == kInf);
  CHECK(y[6] == kInf);
  y = interpret_row(m, std::vector<float>{-kInf});
  CHECK(y[2] == 0.0f);
  CHECK(y[3] == -1.0f);
  CHECK(y[4] == 0.0f);
  CHECK(y[5] == 0.0f);
  y = interpret_row(m, std::vector<float>{kNaN});
  for (std::size_t i = 0; i < y.size(); ++i) {
    CAPTURE(i);
    CHECK(std::isnan(y[i]));
  }
}

TEST_CASE("affine and dot follow the stated rounding order") {
  Module m = golden("05_affine.evir");
  // %2 = 0.5*x0 - 1.25; %3 = 1.7320508*x1; %5 = 2*(%2*%3) + 0.125
  auto y = interpret_row(m, std::vector<float>{4.5f, 2.0f});
  const float v2 = 0.5f * 4.5f + -1.25f;
  const float v3 = 1.7320508f * 2.0f + 0.0f;
  CHECK(y[0] == 2.0f * (v2 * v3) + 0.125f);
  Module d = golden("06_dot.evir");
  y = interpret_row(d, std::vector<float>{1.0f, 2.0f, 3.0f});
  CHECK(y[0] == 0.5f);
  CHECK(y[1] == 1.0f);
  CHECK(y[2] == (((-1.0f + 0.25f * 1.0f) + -0.75f * 2.0f) + 2.0f * 3.0f) + 0.0f * 1.0f);
  // a zero weight on an infinite operand is NaN (0 * Inf), as IEEE says
  y = interpret_row(d, std::vector<float>{kInf, 0.0f, 0.0f});
  CHECK(std::isnan(y[2]));
  // dot [] + -0 sums nothing: its value is the bias, sign included
  Module e = parse_module("evir 1\nmodule \"e\" inputs 0 outputs 1\n%0 = dot [] + -0\noutput %0 \"y\"\n");
  y = interpret_row(e, std::vector<float>{});
  CHECK(is_neg_zero(y[0]));
}

TEST_CASE("constants, including special values") {
  Module m = golden("04_constants.evir");
  auto y = interpret_row(m, std::vector<float>{0.0f});
  CHECK(is_pos_zero(y[0]));  // 0 + -0
  CHECK(y[2] == kInf);       // max(inf, -inf)
  const float mix = ((0.0f + 1.0f * 1.5f) + 1.0f * -1e-45f) + 1e-38f * 3.4028235e38f + -3.0f * 0.1f;
  CHECK(y[1] == mix);
}

TEST_CASE("strided batches: rows are independent and padding is untouched") {
  Module m = golden("07_wine_like.evir");
  const int64_t n = 5, xs = 7, ys = 4;
  std::vector<float> x(n * xs, 123.0f), y(n * ys, -7.0f);
  auto rows = random_rows(3, n, 4, false);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < 4; ++c) x[r * xs + c] = rows[r * 4 + c];
  interpret(m, x.data(), n, xs, y.data(), ys);
  for (int64_t r = 0; r < n; ++r) {
    auto single = interpret_row(m, std::span<const float>(&rows[r * 4], 4));
    for (int64_t o = 0; o < 3; ++o)
      CHECK(std::bit_cast<uint32_t>(y[r * ys + o]) == std::bit_cast<uint32_t>(single[o]));
    CHECK(y[r * ys + 3] == -7.0f);
  }
}

TEST_CASE("n = 0 writes nothing") {
  Module m = golden("07_wine_like.evir");
  float y = 5.0f;
  interpret(m, nullptr, 0, 4, &y, 3);
  CHECK(y == 5.0f);
}
