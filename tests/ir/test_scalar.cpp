// The polynomial transcendentals of ir/scalar.h against libm, in ulps, over the whole f32 range;
// the dot's summation order.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "ir/random_module.h"
#include "ir/scalar.h"

using namespace evoc::ir;

namespace {
// Distance in units in the last place between two finite floats (as ordered integers).
int64_t ulps(float a, float b) {
  auto ordered = [](float f) {
    int32_t i = std::bit_cast<int32_t>(f);
    return i < 0 ? static_cast<int64_t>(INT32_MIN) - i : static_cast<int64_t>(i);
  };
  return std::llabs(ordered(a) - ordered(b));
}

template <class F, class Ref>
int64_t max_ulps(F f, Ref ref, float lo, float hi, int samples) {
  Rng rng(1);
  int64_t worst = 0;
  for (int i = 0; i < samples; ++i) {
    float x = rng.uniform(lo, hi);
    float got = f(x);
    float want = static_cast<float>(ref(static_cast<double>(x)));
    if (std::isinf(want) || std::isinf(got)) {
      REQUIRE(got == want);
      continue;
    }
    worst = std::max(worst, ulps(got, want));
  }
  return worst;
}
}  // namespace

TEST_CASE("exp is within 2 ulp of the correctly rounded result") {
  auto f = [](float x) { return eval_unary(Op::Exp, x); };
  CHECK(max_ulps(
            f, [](double x) { return std::exp(x); }, -87.0f, 88.7f, 200000) <= 2);
  CHECK(max_ulps(
            f, [](double x) { return std::exp(x); }, -1.0f, 1.0f, 100000) <= 2);
  // subnormal results stay close in absolute terms
  CHECK(std::fabs(f(-100.0f) - static_cast<float>(std::exp(-100.0))) < 1e-44f);
  CHECK(f(88.8f) == INFINITY);
  CHECK(f(-105.0f) == 0.0f);
  CHECK(f(0.0f) == 1.0f);
}

TEST_CASE("log is within 2 ulp") {
  auto f = [](float x) { return eval_unary(Op::Log, x); };
  CHECK(max_ulps(
            f, [](double x) { return std::log(x); }, 1e-30f, 1e30f, 100000) <= 2);
  CHECK(max_ulps(
            f, [](double x) { return std::log(x); }, 0.5f, 2.0f, 100000) <= 2);
  CHECK(f(1.0f) == 0.0f);
  // subnormal inputs
  CHECK(f(1e-40f) == doctest::Approx(std::log(1e-40)).epsilon(1e-6));
  CHECK(f(1.4e-45f) == doctest::Approx(std::log(static_cast<double>(1.4e-45f))).epsilon(1e-6));
}

TEST_CASE("tanh and sigmoid are accurate in relative terms") {
  Rng rng(2);
  double worst_tanh = 0, worst_sigmoid = 0;
  for (int i = 0; i < 200000; ++i) {
    float x = rng.uniform(-12.0f, 12.0f) * (rng.chance(0.3f) ? 1e-3f : 1.0f);
    double t = std::tanh(static_cast<double>(x));
    double s = 1.0 / (1.0 + std::exp(-static_cast<double>(x)));
    if (t != 0) worst_tanh = std::max(worst_tanh, std::fabs(eval_unary(Op::Tanh, x) - t) / std::fabs(t));
    worst_sigmoid = std::max(worst_sigmoid, std::fabs(eval_unary(Op::Sigmoid, x) - s) / s);
  }
  CHECK(worst_tanh < 1e-6);
  CHECK(worst_sigmoid < 1e-6);
}

TEST_CASE("min and max are IEEE 754-2019 minimum and maximum") {
  CHECK(std::signbit(eval_binary(Op::Min, 0.0f, -0.0f)));
  CHECK(std::signbit(eval_binary(Op::Min, -0.0f, 0.0f)));
  CHECK(!std::signbit(eval_binary(Op::Max, 0.0f, -0.0f)));
  CHECK(!std::signbit(eval_binary(Op::Max, -0.0f, 0.0f)));
  CHECK(std::isnan(eval_binary(Op::Min, NAN, 1.0f)));
  CHECK(std::isnan(eval_binary(Op::Max, 1.0f, NAN)));
  CHECK(eval_binary(Op::Min, 2.0f, -INFINITY) == -INFINITY);
}

TEST_CASE("op table") {
  CHECK(op_from_name("dot") == Op::Dot);
  CHECK(!op_from_name("mull"));
  CHECK(op_info(Op::Mul).arity == 2);
  CHECK(is_commutative(Op::Min));
  CHECK(!is_commutative(Op::Sub));
  CHECK(op_info(Op::Dot).arity == -1);
  // identities are exact: x op e == x bit for bit
  Rng rng(3);
  for (int k = 0; k < kNumOps; ++k) {
    Op op = static_cast<Op>(k);
    auto e = op_info(op).identity;
    if (!e) continue;
    for (float x : {0.0f, -0.0f, 1.5f, -3.0f, INFINITY, -INFINITY, 1e-40f}) {
      CAPTURE(op_name(op));
      CAPTURE(x);
      CHECK(std::bit_cast<uint32_t>(eval_binary(op, x, *e)) == std::bit_cast<uint32_t>(x));
    }
  }
}

TEST_CASE("every fact of an ops.def row holds for its scalar semantics") {
  // Samples: specials, subnormals, and a spread of finite values of both signs.
  std::vector<float> xs = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, -2.5f, 1e-40f, -1e-40f, 3e38f, -3e38f,
                           INFINITY, -INFINITY, 88.0f, -104.0f, 1e-3f};
  Rng rng(11);
  for (int i = 0; i < 200; ++i) xs.push_back(rng.uniform(-50.0f, 50.0f));
  auto same = [](float a, float b) {
    return (std::isnan(a) && std::isnan(b)) || std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b);
  };
  for (int k = 0; k < kNumOps; ++k) {
    const Op op = static_cast<Op>(k);
    const OpInfo& info = op_info(op);
    CAPTURE(op_name(op));
    CHECK(info.op == op);
    CHECK(op_from_name(info.name) == op);
    if (info.arity == 0 || info.immediates != 0) {
      CHECK(info.flags == 0);  // leaves and kinds with immediates have no algebra of their own
      continue;
    }
    auto f = [&](float a, float b) { return info.arity == 1 ? eval_unary(op, a) : eval_binary(op, a, b); };
    for (float x : xs) {
      CAPTURE(x);
      for (float y : {x, 1.5f, -0.0f, 0.0f, -7.0f}) {
        const float r = f(x, y);
        if (has_flags(op, OpFlag::NonNegative)) CHECK(!(r < 0.0f));
        if (sign_clear(op) && !std::isnan(r)) CHECK(!std::signbit(r));
        if (is_commutative(op)) CHECK(same(r, f(y, x)));
      }
      if (has_flags(op, OpFlag::Idempotent)) CHECK(same(f(x, x), x));
      if (has_flags(op, OpFlag::Even)) CHECK(same(f(-x, 0), f(x, 0)));
      if (has_flags(op, OpFlag::Projection)) {
        REQUIRE(never_negative(op));  // a projection names the range it clamps onto
        const bool in_range = sign_clear(op) ? !std::signbit(x) : !(x < 0.0f);
        if (in_range) CHECK(same(f(x, 0), x));
      }
      if (info.absorbing && std::isfinite(x)) CHECK(f(x, *info.absorbing) == *info.absorbing);  // real arithmetic: -0 == 0
    }
  }
  CHECK(immediate_count(Op::Const, 0) == 1);
  CHECK(immediate_count(Op::Affine, 1) == 2);
  CHECK(immediate_count(Op::Dot, 3) == 4);
  CHECK(!is_unary(Op::Affine));
  CHECK(is_unary(Op::Tanh));
}

TEST_CASE("dot sums four interleaved partial sums, then adds the bias") {
  FloatArith b;
  auto dot_of = [&](const std::vector<float>& v, const std::vector<float>& w, float bias) {
    return scalar::dot(b, v.size(), [&](std::size_t i) { return v[i]; }, w.data(), bias);
  };
  CHECK(dot_of({}, {}, 0.5f) == 0.5f);
  CHECK(dot_of({3.0f}, {2.0f}, 0.5f) == 6.5f);
  // Terms 1e8, 3, 3, 3, -1e8: partial 0 = 1e8 - 1e8 = 0, then 0 + 3 + 3 + 3. A single chain
  // loses every 3 to 1e8 (its ulp is 8) and gives 0.
  const std::vector<float> ones = {1, 1, 1, 1, 1};
  CHECK(dot_of({1e8f, 3, 3, 3, -1e8f}, ones, 0.0f) == 9.0f);
  // The bias comes last: 1e8 + (3 + 3) keeps the 6 where (1e8 + 3) + 3 would not.
  CHECK(dot_of({3, 3}, {1, 1}, 1e8f) == 1e8f + 8.0f);
  // Partial j takes terms j, j+4, ... in order: (1e8 + 3) + 3 loses both 3s in partial 0.
  CHECK(dot_of({1e8f, 0, 0, 0, 3, 0, 0, 0, 3}, std::vector<float>(9, 1.0f), -1e8f) == 0.0f);
  // The partial sums stream: DotSum fed term by term gives the same bits.
  scalar::DotSum<FloatArith> sum;
  for (float v : {1e8f, 3.0f, 3.0f, 3.0f, -1e8f}) sum.add(b, 1.0f, v);
  CHECK(sum.terms() == 5);
  CHECK(sum.finish(b, 0.0f) == 9.0f);
}

TEST_CASE("tanh's specialised exp gives the unspecialised formula's bits") {
  // tanh(x) = |x| < 0.625 ? the odd polynomial : copysign(1 - 2 / (exp(2|x|) + 1), x), with the
  // general exp; scalar::tanh clamps 2|x| and scales once. Every 251st float (an exhaustive
  // run over all 2^32 finds no difference either).
  FloatArith b;
  auto reference = [&](float x) {
    const float ax = std::fabs(x), z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z + -5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z + -3.33332819422e-1f;
    const float small = p * z * x + x;
    const float large = 1.0f - 2.0f / (scalar::exp(b, ax + ax) + 1.0f);
    return ax < 0.625f ? small : (x < 0 ? -large : large);
  };
  uint64_t compared = 0;
  for (uint64_t i = 0; i < (uint64_t{1} << 32); i += 251) {
    const float x = std::bit_cast<float>(static_cast<uint32_t>(i));
    if (std::isnan(x)) continue;
    const float want = reference(x), got = scalar::tanh(b, x);
    if (std::bit_cast<uint32_t>(got) != std::bit_cast<uint32_t>(want)) {
      CHECK_MESSAGE(false, "tanh(" << x << ") = " << got << ", formula " << want);
      break;
    }
    ++compared;
  }
  CHECK(compared > 16'000'000);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK(std::bit_cast<uint32_t>(scalar::tanh(b, nan)) == std::bit_cast<uint32_t>(nan));
  CHECK(scalar::tanh(b, std::numeric_limits<float>::infinity()) == 1.0f);
  CHECK(scalar::tanh(b, -std::numeric_limits<float>::infinity()) == -1.0f);
}

TEST_CASE("min and max with a nonzero constant operand: the general formula's bits") {
  FloatArith b;
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> constants = {1.5f, -1.5f, 1e-40f, -1e-40f, inf, -inf, 3.4e38f};
  std::vector<float> xs = {0.0f, -0.0f, 1.5f, -1.5f, 1e-40f, -1e-40f, inf, -inf, nan, -nan, 3.4e38f, 2.0f};
  Rng rng(3);
  for (int i = 0; i < 2000; ++i) xs.push_back(std::bit_cast<float>(static_cast<uint32_t>(rng.next())));
  int compared = 0;
  for (float c : constants) {
    REQUIRE(scalar::minmax_constant_applies(c));
    for (float x : xs)
      for (bool first : {false, true}) {
        const float lhs = first ? c : x, rhs = first ? x : c;
        CHECK(std::bit_cast<uint32_t>(scalar::minmax_constant(b, Op::Max, x, c, first)) ==
              std::bit_cast<uint32_t>(scalar::maximum(b, lhs, rhs)));
        CHECK(std::bit_cast<uint32_t>(scalar::minmax_constant(b, Op::Min, x, c, first)) ==
              std::bit_cast<uint32_t>(scalar::minimum(b, lhs, rhs)));
        ++compared;
      }
  }
  CHECK(compared > 28'000);
  CHECK_FALSE(scalar::minmax_constant_applies(0.0f));
  CHECK_FALSE(scalar::minmax_constant_applies(-0.0f));
  CHECK_FALSE(scalar::minmax_constant_applies(nan));
}
