// The linker (passes/link.h): a linked module's outputs equal the combination of its members'
// outputs computed separately (to the rounding of the combination) on random rows, for
// regression, the mean of class probabilities and the vote; what members share is computed once;
// members that disagree are refused with a message naming the member and what differs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "differential.h"
#include "ir/error.h"
#include "ir/printer.h"
#include "ir/random_module.h"
#include "ir/verifier.h"
#include "passes/link.h"

namespace {

using namespace evoc;

constexpr uint64_t kEnsembles = 400;
constexpr std::size_t kRows = 64;

/// One member's scores as the linker defines them, computed from its outputs on one row.
std::vector<double> member_scores(const ir::Module& m, const float* z, passes::Combine combine, bool classify) {
  const std::size_t k = m.n_out();
  std::vector<double> s(k);
  if (!classify) {
    for (std::size_t j = 0; j < k; ++j) s[j] = z[j];
    return s;
  }
  const bool probs = m.meta("outputs") == "probabilities";
  if (combine == passes::Combine::Mean) {
    if (probs) {
      for (std::size_t j = 0; j < k; ++j) s[j] = z[j];
    } else if (k == 1) {
      s[0] = 1.0 / (1.0 + std::exp(-double(z[0])));
    } else {
      double top = -INFINITY, sum = 0;
      for (std::size_t j = 0; j < k; ++j) top = std::isnan(z[j]) ? NAN : std::max(top, double(z[j]));
      for (std::size_t j = 0; j < k; ++j) sum += s[j] = std::exp(double(z[j]) - top);
      for (std::size_t j = 0; j < k; ++j) s[j] /= sum;
    }
    return s;
  }
  // vote: first class of the highest score, infinities as +-FLT_MAX; NaN anywhere: NaN
  for (std::size_t j = 0; j < k; ++j)
    if (std::isnan(z[j])) return std::vector<double>(k, NAN);
  if (k == 1) return {z[0] > (probs ? 0.5f : 0.0f) ? 1.0 : 0.0};
  const float most = std::numeric_limits<float>::max();
  std::size_t best = 0;
  for (std::size_t j = 1; j < k; ++j)
    if (std::clamp(z[j], -most, most) > std::clamp(z[best], -most, most)) best = j;
  s.assign(k, 0.0);
  s[best] = 1.0;
  return s;
}

/// The outputs of each member on `rows`, matched to the first member's output order by name.
std::vector<std::vector<float>> member_outputs(const test::RandomEnsemble& e, const std::vector<float>& rows,
                                               const ir::Module& linked, bool classify) {
  std::vector<std::vector<float>> outs;
  for (const passes::LinkMember& member : e.members) {
    // Rows in the member's own input order.
    const ir::Module& m = member.module;
    const std::size_t n = rows.size() / linked.n_in();
    std::vector<float> x(n * m.n_in());
    for (std::size_t i = 0; i < m.n_in(); ++i) {
      const auto at = std::find(linked.input_names.begin(), linked.input_names.end(), m.input_names[i]);
      REQUIRE(at != linked.input_names.end());
      const std::size_t col = static_cast<std::size_t>(at - linked.input_names.begin());
      for (std::size_t r = 0; r < n; ++r) x[r * m.n_in() + i] = rows[r * linked.n_in() + col];
    }
    std::vector<float> y = test::outputs_on(m, x);
    if (!classify) {  // regressors' outputs by name
      std::vector<float> ordered(y.size());
      for (std::size_t j = 0; j < m.n_out(); ++j) {
        const auto at = std::find(m.output_names.begin(), m.output_names.end(), linked.output_names[j]);
        REQUIRE(at != m.output_names.end());
        const std::size_t src = static_cast<std::size_t>(at - m.output_names.begin());
        for (std::size_t r = 0; r < n; ++r) ordered[r * m.n_out() + j] = y[r * m.n_out() + src];
      }
      y = std::move(ordered);
    }
    outs.push_back(std::move(y));
  }
  return outs;
}

/// Checks the linked module of `e` against the combination of its members on random rows;
/// returns the number of outputs compared (finite expectations).
std::size_t check_ensemble(const test::RandomEnsemble& e, uint64_t seed) {
  const ir::Module linked = passes::link_modules(e.members, e.options);
  REQUIRE(ir::verify_module(linked).empty());
  const bool classify = linked.meta("task") == "classify";
  CHECK(linked.meta("outputs") == (classify ? "probabilities" : ""));
  const std::vector<float> rows = ir::random_rows(seed, kRows, linked.n_in(), false);
  const std::vector<float> got = test::outputs_on(linked, rows);
  const auto outs = member_outputs(e, rows, linked, classify);
  std::vector<double> w = std::vector<double>(e.options.weights.begin(), e.options.weights.end());
  if (w.empty()) w.assign(e.members.size(), 1.0);
  double weight_sum = 0;
  for (double x : w) weight_sum += x;
  const std::size_t k = linked.n_out();
  std::size_t compared = 0;
  for (std::size_t r = 0; r < kRows; ++r) {
    std::vector<double> sum(k, 0.0), magnitude(k, 0.0);
    for (std::size_t i = 0; i < e.members.size(); ++i) {
      const auto s = member_scores(e.members[i].module, &outs[i][r * k], e.options.combine, classify);
      for (std::size_t j = 0; j < k; ++j) {
        sum[j] += w[i] * s[j];
        magnitude[j] += std::fabs(w[i] * s[j]);
      }
    }
    for (std::size_t j = 0; j < k; ++j) {
      const double want = sum[j] / weight_sum;
      const float have = got[r * k + j];
      if (!std::isfinite(want) || !std::isfinite(magnitude[j])) continue;
      ++compared;
      // The rounding of the combination: a few ulp of the terms' magnitude (softmax's exp adds its own).
      const double tolerance = 1e-5 * std::max(1.0, magnitude[j] / weight_sum);
      INFO("ensemble ", seed, " row ", r, " output ", j, "\n", ir::print_module(linked));
      REQUIRE(std::fabs(have - want) <= tolerance);
      if (e.options.combine == passes::Combine::Vote && e.options.weights.empty())
        REQUIRE(have == static_cast<float>(want));  // vote shares of equal weights are exact
    }
  }
  return compared;
}

TEST_CASE("link: linked outputs equal the combination of the members' outputs") {
  std::size_t compared = 0, ensembles[3] = {0, 0, 0};
  for (uint64_t seed = 0; seed < kEnsembles; ++seed) {
    const test::RandomEnsemble e = test::random_ensemble(seed);
    const bool classify = e.options.task == "classify" || e.members[0].module.meta("task") == "classify";
    ++ensembles[!classify ? 0 : e.options.combine == passes::Combine::Mean ? 1 : 2];
    compared += check_ensemble(e, seed);
  }
  // Not vacuous: each kind of link was drawn, and most outputs were finite and compared.
  CHECK(ensembles[0] > 50);
  CHECK(ensembles[1] > 50);
  CHECK(ensembles[2] > 50);
  CHECK(compared > kEnsembles * kRows / 2);
}

TEST_CASE("link: an ensemble of ensembles takes the members' probabilities as they are") {
  for (uint64_t seed = 0; seed < 60; ++seed) {
    test::RandomEnsemble e = test::random_ensemble(seed);
    if (e.options.task.empty() && e.members[0].module.meta("task") != "classify") continue;
    if (e.options.task == "regress") continue;
    // Link the members once, then link that ensemble with the first member again.
    const ir::Module inner = passes::link_modules(e.members, e.options);
    test::RandomEnsemble outer;
    outer.members = {{inner, "inner"}, e.members[0]};
    outer.members[1].module.set_meta("task", "classify");
    outer.options.task = "classify";
    outer.options.combine = e.options.combine;
    check_ensemble(outer, seed);
  }
}

/// A small member: y_j = dot of the standardised inputs, `a` and `b` named as given.
ir::Module small_member(std::vector<std::string> inputs, std::size_t n_out, float w) {
  ir::Module m = ir::make_module("m", inputs.size(), inputs);
  std::vector<ir::ValueId> args;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    args.push_back(ir::add_affine(m, static_cast<ir::ValueId>(i), 0.5f, -1.0f));
  for (std::size_t j = 0; j < n_out; ++j) {
    const std::vector<float> weights(args.size(), w + static_cast<float>(j));
    ir::add_output(m, ir::add_dot(m, args, weights, 0.25f), "y" + std::to_string(j));
  }
  return m;
}

TEST_CASE("link: inputs are matched by name, and what members share is computed once") {
  ir::Module a = small_member({"a", "b", "c"}, 2, 1.0f);
  ir::Module b = small_member({"c", "a", "b"}, 2, -2.0f);
  a.set_meta("task", "regress");
  b.set_meta("task", "regress");
  const std::vector<passes::LinkMember> members = {{a, "a.evir"}, {b, "b.evir"}};
  const ir::Module linked = passes::link_modules(members);
  CHECK(linked.input_names == a.input_names);
  // Three affines per member, the same three after matching by name: computed once.
  std::size_t affines = 0;
  for (const ir::Value& v : linked.values) affines += v.op == ir::Op::Affine;
  CHECK(affines == 3);
  CHECK(linked.meta("ensemble.shared").find("affine 3") != std::string::npos);
  CHECK(linked.meta("ensemble.members") == "2");
  CHECK(linked.meta("ensemble.member.1").find("a.evir: 5 ops") == 0);
  // The mean of a member and itself is the member, bit for bit, whatever its input order.
  // b with its inputs listed as a, b, c: the same function.
  ir::Module b_same = b;
  b_same.input_names = {"a", "b", "c"};
  for (ir::Value& v : b_same.values)
    for (ir::ValueId& arg : v.args)
      if (arg < 3) arg = (arg + 2) % 3;  // c: 0 -> 2, a: 1 -> 0, b: 2 -> 1
  const std::vector<passes::LinkMember> twins = {{b, "b.evir"}, {b_same, "b2.evir"}};
  const ir::Module twin = passes::link_modules(twins);
  const std::vector<float> rows = ir::random_rows(7, 32, 3, false);
  const std::vector<float> want = test::outputs_on(b, rows);  // the twin takes b's input order: c, a, b
  CHECK(twin.input_names == b.input_names);
  CHECK(test::outputs_on(twin, rows) == want);
  // Identical members after matching by name: all of the second is computed once.
  INFO(twin.meta("ensemble.shared"));
  CHECK(twin.meta("ensemble.shared").find("dot 2") != std::string::npos);
}

void check_refused(const std::vector<passes::LinkMember>& members, const passes::LinkOptions& options,
                   const std::string& message) {
  try {
    passes::link_modules(members, options);
    FAIL("linked, but should have been refused with: ", message);
  } catch (const Error& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(what.find(message) != std::string::npos);
  }
}

TEST_CASE("link: members that disagree are refused, naming the member") {
  ir::Module a = small_member({"a", "b"}, 2, 1.0f);
  a.set_meta("task", "classify");
  a.set_meta("classes", "no,yes");
  a.set_meta("target", "label");
  auto with = [&](auto change) {
    ir::Module m = a;
    change(m);
    return std::vector<passes::LinkMember>{{a, "a.evir"}, {m, "b.evir"}};
  };
  const passes::LinkOptions mean;
  check_refused({}, mean, "no members");
  check_refused(with([](ir::Module& m) { m.input_names = {"a", "q"}; }), mean,
                "b.evir: inputs differ from a.evir's (members' inputs are matched by name): missing 'b'; not in a.evir: 'q'");
  check_refused(with([](ir::Module& m) { m.input_names = {"a", "a"}; }), mean, "b.evir: does not verify: inputs 0 and 1 are both named \"a\"");
  check_refused(with([](ir::Module& m) { m.set_meta("task", "regress"); }), mean,
                "b.evir: metadata 'task' is 'regress' but a.evir's is 'classify'");
  check_refused(with([](ir::Module& m) { m.set_meta("classes", "yes,no"); }), mean,
                "b.evir: metadata 'classes' is 'yes,no' but a.evir's is 'no,yes'");
  check_refused(with([](ir::Module& m) { m.metadata.clear(); }), mean,
                "b.evir: has no metadata 'task' but a.evir has 'task' = 'classify'");
  check_refused(with([](ir::Module& m) { m.set_meta("target", "y"); }), mean,
                "b.evir: metadata 'target' is 'y' but a.evir's is 'label'");
  check_refused(with([](ir::Module& m) { m.set_meta("schema.columns", "a:numeric,b:numeric"); }), mean,
                "b.evir: has metadata 'schema.columns' = 'a:numeric,b:numeric' but a.evir has none");
  check_refused(with([](ir::Module& m) { m = small_member({"a", "b"}, 3, 1.0f), m.metadata = {}; }), mean,
                "b.evir: has no metadata");
  ir::Module three = small_member({"a", "b"}, 3, 1.0f);
  three.metadata = a.metadata;
  check_refused({{a, "a.evir"}, {three, "c.evir"}}, mean, "c.evir: has 3 outputs but a.evir has 2");
  passes::LinkOptions weights;
  weights.weights = {1.0f};
  check_refused(with([](ir::Module&) {}), weights, "--weights: 1 weights for 2 members");
  weights.weights = {1.0f, -1.0f};
  check_refused(with([](ir::Module&) {}), weights, "--weights: weight 2 is -1; weights must be finite and >= 0");
  weights.weights = {0.0f, 0.0f};
  check_refused(with([](ir::Module&) {}), weights, "--weights: all weights are 0");
  weights.weights = {1.0f, std::numeric_limits<float>::quiet_NaN()};
  check_refused(with([](ir::Module&) {}), weights, "weight 2 is nan");
  // Regressors: vote refused, outputs matched by name, a task needed.
  ir::Module r = small_member({"a", "b"}, 2, 1.0f);
  r.set_meta("task", "regress");
  passes::LinkOptions vote;
  vote.combine = passes::Combine::Vote;
  check_refused({{r, "r.evir"}, {r, "s.evir"}}, vote, "--combine vote: the members are regressors");
  ir::Module renamed = r;
  renamed.output_names = {"y0", "z"};
  check_refused({{r, "r.evir"}, {renamed, "s.evir"}}, mean, "s.evir: outputs 'y0', 'z' differ from r.evir's 'y0', 'y1'");
  ir::Module untasked = small_member({"a", "b"}, 2, 1.0f);
  check_refused({{untasked, "u.evir"}}, mean, "u.evir: no 'task' metadata");
  passes::LinkOptions task;
  task.task = "regress";
  CHECK_NOTHROW(passes::link_modules(std::vector<passes::LinkMember>{{untasked, "u.evir"}}, task));
  CHECK_THROWS_WITH(passes::combine_from_name("median"), "unknown combination 'median' (choices: mean, vote)");
}

}  // namespace
