// Targeted checks of the exactness claims on special values (NaN, +-Inf, +-0, subnormals,
// extremes), exhaustively over small input sets, where random modules would rarely look:
// const-fold against the interpreter for every op and every pair of specials; every default
// simplify rule firing and staying bit-exact; drop-zero-weights and its -0 bias rule;
// fold-affine on a normalised head.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "differential.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "passes/pass_manager.h"
#include "passes/registry.h"

namespace {

using namespace evoc;

constexpr float kInf = std::numeric_limits<float>::infinity();
const std::vector<float> kSpecials = {std::numeric_limits<float>::quiet_NaN(), kInf, -kInf, 0.0f, -0.0f, 1.0f, -1.0f,
                                      2.0f, 0.5f, 1e-40f, -3e38f, 3e38f, -2.75f, 100.0f, -104.0f};

// Every pair (a, b) of specials, as rows of `n_in` inputs (extra inputs repeat the pattern).
std::vector<float> special_rows(std::size_t n_in) {
  std::vector<float> rows;
  for (float a : kSpecials)
    for (float b : kSpecials)
      for (std::size_t i = 0; i < n_in; ++i) rows.push_back(i % 2 ? b : a);
  return rows;
}

// Runs `pipeline` and returns its counters (summed over passes).
passes::Counters run_counting(ir::Module& m, const std::string& pipeline, passes::PassOptions options = {}) {
  passes::Instrumentation checks;
  checks.verify_each = true;
  passes::PassManager pm(std::move(options), checks);
  pm.add_pipeline(pipeline);
  pm.run(m);
  passes::Counters all;
  for (const auto& r : pm.records()) all.merge(r.counters);
  return all;
}

}  // namespace

TEST_CASE("const-fold gives the interpreter's bits for every op on every pair of specials") {
  for (int k = 0; k < ir::kNumOps; ++k) {
    const auto op = static_cast<ir::Op>(k);
    if (ir::is_leaf(op) || op == ir::Op::Dot) continue;
    for (float a : kSpecials)
      for (float b : kSpecials) {
        ir::Module m = ir::make_module("fold", 1);
        const ir::ValueId ca = ir::add_const(m, a), cb = ir::add_const(m, b);
        ir::ValueId r = op == ir::Op::Affine ? ir::add_affine(m, ca, b, a)
                        : ir::is_binary(op)  ? ir::add_binary(m, op, ca, cb)
                                             : ir::add_unary(m, op, ca);
        const ir::ValueId terms[] = {ca, cb};
        const float weights[] = {b, a};
        const ir::ValueId d = ir::add_dot(m, terms, weights, a);
        ir::add_output(m, r, "r");
        ir::add_output(m, d, "d");
        const ir::Module original = m;
        run_counting(m, "const-fold,dce");
        CHECK(m.values.size() <= 3);  // the input and at most two constants
        const std::vector<float> row = {0.0f};
        auto bad = test::find_mismatch(original, m, row, test::Compare::Exact);
        CHECK_MESSAGE(!bad, ir::print_module(original) << "folded to\n" << ir::print_module(m));
      }
  }
}

TEST_CASE("const-fold folds an all-constant dot in partial-sum order, and leaves partly constant dots") {
  // Folding the constant terms of %2 into its bias would regroup its partial sums.
  ir::Module m = ir::parse_module(R"(evir 1
module "m" inputs 1 outputs 2
input %0 "x"
%1 = const 3
%2 = dot [%1 0.5, %1 -2, %0 1.5, %1 4] + 0.25
%3 = const 1e8
%4 = dot [%3 1, %1 1, %1 1, %1 1, %3 -1] + 0.25
output %2 "partly_constant"
output %4 "constant"
)");
  const ir::Module original = m;
  run_counting(m, "const-fold,dce");
  const ir::Value& d = m.values[m.outputs[0]];
  CHECK(d.op == ir::Op::Dot);
  CHECK(d.args.size() == 4);
  // Partials (1e8 - 1e8), 3, 3, 3: 9 + 0.25. One chain from the bias would lose every 3 to 1e8.
  const ir::Value& c = m.values[m.outputs[1]];
  REQUIRE(c.op == ir::Op::Const);
  CHECK(ir::const_value(c) == 9.25f);
  CHECK_FALSE(test::find_mismatch(original, m, {1.0f, -2.5f, 0.0f}, test::Compare::Exact));
}

TEST_CASE("every default simplify rule fires and is bit-exact on all pairs of specials") {
  ir::Module m = ir::parse_module(R"(evir 1
module "rules" inputs 2 outputs 1
input %0 "x"
input %1 "y"
%2 = const -0
%3 = const 0
%4 = const 1
%5 = const -1
%6 = const inf
%7 = const -inf
%8 = const 0.25
%10 = add %0, %2
%11 = add %2, %1
%12 = sub %0, %3
%13 = mul %4, %0
%14 = div %1, %4
%15 = min %0, %6
%16 = max %7, %1
%17 = min %0, %0
%18 = mul %0, %5
%19 = div %1, %5
%20 = sub %2, %0
%21 = neg %1
%22 = add %0, %21
%23 = sub %0, %21
%24 = mul %1, %1
%25 = div %0, %8
%26 = neg %21
%27 = abs %21
%28 = square %27
%29 = exp %0
%30 = relu %29
%31 = abs %29
%32 = affine %0, 1, -0
%33 = affine %1, -1, -0
%34 = affine %21, 0.75, 2
%35 = affine %0, 3, -0
%36 = affine %35, -1, 0.5
%37 = dot [%21 1.5] + 0.125
%38 = dot [%21 2, %0 -3] + 1
%39 = dot [%10 0.5, %11 0.5, %12 0.5, %13 0.5, %14 0.5, %15 0.5, %16 0.5, %17 0.5, %18 0.5, %19 0.5, %20 0.5, %22 0.5, %23 0.5, %24 0.5, %25 0.5, %26 0.5, %28 0.5, %30 0.5, %31 0.5, %32 0.5, %33 0.5, %34 0.5, %36 0.5, %37 0.5, %38 0.5] + -0
output %39 "all"
)");
  // Observe every value, so that a wrong rewrite cannot hide in the sum.
  m.outputs.clear();
  m.output_names.clear();
  for (ir::ValueId id = 2; id < m.values.size(); ++id) ir::add_output(m, id, "v" + std::to_string(id));
  const ir::Module original = m;
  const passes::Counters fired = run_counting(m, "simplify");
  for (const char* rule :
       {"x op identity -> x", "min(x, x) -> x", "x*(-1) -> neg x", "x/(-1) -> neg x", "(-0)-x -> neg x",
        "x+neg y -> x-y", "x-neg y -> x+y", "x*x -> square x", "x/2^k -> x*2^-k", "neg neg x -> x",
        "abs(neg|abs x) -> abs x (even)", "abs y -> y (y in abs's range)", "relu y -> y (y in relu's range)",
        "square(neg|abs x) -> square x (even)", "affine(x; 1, -0) -> x", "affine(x; -1, -0) -> neg x",
        "affine(neg x; a, b) -> affine(x; -a, b)", "affine(affine(x; a, -0); +-1, b) -> affine(x; +-a, b)",
        "dot of one term -> affine", "dot term [neg v, w] -> [v, -w]"})
    CHECK_MESSAGE(fired.get(rule) > 0, "rule never fired: " << rule);
  for (const auto& e : fired.entries()) CHECK_MESSAGE(e.name.rfind("fast-math", 0) != 0, e.name);
  const std::vector<float> rows = special_rows(2);
  if (test::find_mismatch(original, m, rows, test::Compare::Exact))
    FAIL(test::describe_failure(original, rows, {"simplify", {}, test::Compare::Exact, 0}));
}

TEST_CASE("simplify leaves the inexact identities alone unless fast-math is on") {
  const char* text = R"(evir 1
module "inexact" inputs 1 outputs 4
input %0 "x"
%1 = const 0
%2 = add %0, %1
%3 = mul %0, %1
%4 = sub %0, %0
%5 = affine %0, 0, 3
output %2 "x_plus_0"
output %3 "x_times_0"
output %4 "x_minus_x"
output %5 "zero_x_plus_3"
)";
  ir::Module exact = ir::parse_module(text);
  CHECK(run_counting(exact, "simplify").entries().empty());
  CHECK(exact == ir::parse_module(text));
  ir::Module fast = ir::parse_module(text);
  passes::PassOptions options;
  options.fast_math = true;
  run_counting(fast, "simplify,dce", options);
  CHECK(fast.values.size() == 3);  // x, 0, 3
}

TEST_CASE("drop-zero-weights keeps dots with a -0 bias, and is exact on finite specials") {
  ir::Module m = ir::parse_module(R"(evir 1
module "m" inputs 2 outputs 4
input %0 "x"
input %1 "z"
%2 = dot [%0 0, %1 -0] + -0
%3 = dot [%0 0, %1 -0] + 0
%4 = dot [%0 0, %1 1.5, %0 -0] + 0.25
%5 = dot [%1 0, %0 2] + -0
output %2 "minus_zero_bias"
output %3 "all_zero"
output %4 "mixed"
output %5 "minus_zero_bias_2"
)");
  const ir::Module original = m;
  const passes::Counters c = run_counting(m, "drop-zero-weights");
  CHECK(c.get("zero-weight terms dropped") == 4);
  CHECK(c.get("dots kept (bias -0)") == 2);
  CHECK(m.values[m.outputs[0]].args.size() == 2);
  CHECK(m.values[m.outputs[1]].op == ir::Op::Const);
  CHECK(m.values[m.outputs[3]].args.size() == 2);
  std::vector<float> finite_specials;
  for (float a : kSpecials)
    for (float b : kSpecials)
      if (std::isfinite(a) && std::isfinite(b) && std::fabs(a) < 1e30f && std::fabs(b) < 1e30f) {
        finite_specials.push_back(a);
        finite_specials.push_back(b);
      }
  CHECK_FALSE(test::find_mismatch(original, m, finite_specials, test::Compare::Exact));
}

TEST_CASE("fold-affine folds a normalised head into its weights and bias") {
  ir::Module m = ir::parse_module(R"(evir 1
module "head" inputs 2 outputs 1
input %0 "x0"
input %1 "x1"
%2 = affine %0, 2, -1
%3 = affine %1, 0.5, 3
%4 = const 4
%5 = dot [%2 1.5, %3 -2, %4 0.25, %0 1] + 0.125
output %5 "y"
)");
  const passes::Counters c = run_counting(m, "fold-affine");
  CHECK(c.get("affine terms folded into dot") == 2);
  CHECK(c.get("constant dot terms folded into bias") == 1);
  CHECK(c.get("duplicate dot terms merged") == 1);
  CHECK(ir::print_module(m).find("dot [%0 4, %1 -1] + -6.375") != std::string::npos);
}
