// Property tests over random modules from the shared generator (ir/random_module.h):
//   - every registered pass and every level keeps the module valid (verified after each pass);
//   - exact passes and the default levels give bit-identical outputs on random rows that include
//     NaN, +-Inf, +-0, subnormals and huge magnitudes;
//   - rounding-changing passes (and the fast-math levels) stay within kRelativeTolerance on
//     finite computations of well-conditioned modules (finite immediates, no exp/log/div/sqrt);
//   - -O2 is a fixed point: optimising its output again changes nothing.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "differential.h"
#include "ir/printer.h"
#include "ir/random_module.h"
#include "passes/pass_manager.h"
#include "passes/registry.h"

namespace {

using namespace evoc;
using test::Compare;

constexpr uint64_t kModules = 3000;
constexpr std::size_t kSpecialRows = 48, kPlainRows = 16;
// Rounding-changing passes: |optimised - original| <= kRelativeTolerance * max(1, |original|, |optimised|).
constexpr double kRelativeTolerance = 1e-4;

// Varied shapes: sizes, constant density, special immediates; every fourth module is
// "algebra-heavy" (cheap ops, many constants, mostly special immediates), where the
// identities and their signed-zero and NaN corner cases are most likely to meet.
ir::RandomModuleOptions shape(uint64_t seed) {
  ir::RandomModuleOptions o;
  o.n_in = 1 + static_cast<uint32_t>(seed % 6);
  o.n_out = 1 + static_cast<uint32_t>(seed % 3);
  o.n_values = 6 + static_cast<uint32_t>(seed % 41);
  o.const_chance = seed % 4 == 1 ? 0.25f : 0.08f;
  o.special_chance = seed % 3 == 0 ? 0.3f : 0.05f;
  if (seed % 4 == 0) {
    o.const_chance = 0.3f;
    o.special_chance = 0.6f;
    o.kinds = {ir::Op::Add, ir::Op::Sub, ir::Op::Mul, ir::Op::Div, ir::Op::Min,    ir::Op::Max, ir::Op::Neg,
               ir::Op::Abs, ir::Op::Relu, ir::Op::Square, ir::Op::Affine, ir::Op::Dot, ir::Op::Exp};
  }
  return o;
}

// The module of `seed`. Every eighth one (algebra-heavy) has its non-finite immediates replaced
// by +-0 and +-1 and every value made an output: finite computations are then common, so the
// finite checks have work to do, and a rewrite that is wrong only for a signed zero or a
// NaN deep inside cannot be masked by the ops after it.
ir::Module test_module(uint64_t seed) {
  ir::Module m = ir::random_module(seed, shape(seed));
  if (seed % 8 != 0) return m;
  static constexpr float kFinite[] = {0.0f, -0.0f, 1.0f, -1.0f};
  ir::Rng rng(seed);
  for (ir::Value& v : m.values)
    for (float& imm : v.imms)
      if (!std::isfinite(imm)) imm = kFinite[rng.below(std::size(kFinite))];
  m.outputs.clear();
  m.output_names.clear();
  for (std::size_t id = 0; id < m.values.size(); ++id)
    ir::add_output(m, static_cast<ir::ValueId>(id), "v" + std::to_string(id));
  return m;
}

// Finite immediates and ops that keep relative error small (no exp, log, div, sqrt, square, mul).
ir::RandomModuleOptions well_conditioned(uint64_t seed) {
  ir::RandomModuleOptions o = shape(seed);
  o.special_chance = 0.0f;
  o.kinds = {ir::Op::Affine, ir::Op::Dot, ir::Op::Add, ir::Op::Neg, ir::Op::Abs, ir::Op::Relu,
             ir::Op::Tanh,   ir::Op::Sigmoid, ir::Op::Min, ir::Op::Max};
  return o;
}

// Rows where half of the inputs are special: +-0, +-Inf, NaN, +-1, subnormals, extremes.
std::vector<float> special_heavy_rows(uint64_t seed, std::size_t n, std::size_t n_in) {
  static constexpr float kInputs[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                                      -std::numeric_limits<float>::infinity(), 0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 2.0f,
                                      1e-40f, -1e-40f, 3e38f, -3e38f};
  ir::Rng rng(seed * 7919 + 17);
  std::vector<float> rows(n * n_in);
  for (float& v : rows) v = rng.chance(0.5f) ? kInputs[rng.below(std::size(kInputs))] : rng.uniform(-3.0f, 3.0f);
  return rows;
}

// Rows from the shared generator (with and without specials) plus special-heavy rows.
std::vector<float> test_rows(uint64_t seed, std::size_t n_in) {
  std::vector<float> rows = ir::random_rows(seed, kSpecialRows, n_in, true);
  for (const auto& more : {ir::random_rows(seed + 1, kPlainRows, n_in, false), special_heavy_rows(seed, kSpecialRows, n_in)})
    rows.insert(rows.end(), more.begin(), more.end());
  return rows;
}

// What a test case exercised, so that it can show it was not vacuous.
struct Coverage {
  std::map<std::string, std::size_t> changed_modules;  // by pipeline
  std::size_t outputs_compared = 0;
  double worst_scaled_error = 0;  // tolerance comparisons only
};

// Runs `pipeline` with verification after every pass and checks the outputs against the original.
void check(const ir::Module& original, const std::vector<float>& rows, const std::string& pipeline,
           const passes::PassOptions& options, Compare how, uint64_t seed, Coverage& coverage) {
  ir::Module m = original;
  passes::Instrumentation instrumentation;
  instrumentation.verify_each = true;
  try {
    coverage.changed_modules[pipeline] += passes::run_pipeline(m, pipeline, options, instrumentation);
  } catch (const std::exception& e) {
    FAIL("seed " << seed << ": " << e.what());  // verify-each names the pass and shows the IR
    return;
  }
  if (test::find_mismatch(original, m, rows, how, kRelativeTolerance, &coverage.outputs_compared))
    FAIL("seed " << seed << ": "
                 << test::describe_failure(original, rows, {pipeline, options, how, kRelativeTolerance}));
  if (how == Compare::ToleranceWhereFinite)
    coverage.worst_scaled_error = std::max(coverage.worst_scaled_error, test::max_scaled_error(original, m, rows));
}

// Every pipeline changed a fair share of the modules, and outputs were actually compared.
void check_not_vacuous(const Coverage& coverage) {
  CHECK(coverage.outputs_compared > kModules * 8);
  for (const auto& [pipeline, changed] : coverage.changed_modules) {
    CAPTURE(pipeline);
    CHECK(changed > kModules / 20);
  }
}

Compare comparison_for(passes::Exactness e) {
  switch (e) {
    case passes::Exactness::Exact: return Compare::Exact;
    default: return Compare::ToleranceWhereFinite;
  }
}

}  // namespace

TEST_CASE("every exact pass, and the default levels, preserve outputs bit for bit") {
  passes::PassOptions defaults;
  Coverage coverage;
  for (uint64_t seed = 0; seed < kModules; ++seed) {
    const ir::Module original = test_module(seed);
    const std::vector<float> rows = test_rows(seed, original.n_in());
    for (const passes::PassInfo& p : passes::registered_passes()) {
      const passes::Exactness e = p.exactness_under(defaults);
      if (e == passes::Exactness::Exact)
        check(original, rows, std::string(p.name), defaults, comparison_for(e), seed, coverage);
    }
    check(original, rows, passes::level_pipeline(passes::OptLevel::O1), defaults, Compare::Exact, seed, coverage);
    check(original, rows, passes::level_pipeline(passes::OptLevel::O2), defaults, Compare::Exact, seed, coverage);
  }
  check_not_vacuous(coverage);
}

TEST_CASE("rounding-changing passes and the fast-math levels stay within tolerance where finite") {
  passes::PassOptions fast;
  fast.fast_math = true;
  Coverage coverage;
  for (uint64_t seed = 0; seed < kModules; ++seed) {
    const ir::Module original = ir::random_module(seed, well_conditioned(seed));
    const std::vector<float> rows = test_rows(seed, original.n_in());
    for (const passes::PassInfo& p : passes::registered_passes())
      if (p.exactness_under(fast) != passes::Exactness::Lossy)
        check(original, rows, std::string(p.name), fast, comparison_for(p.exactness_under(fast)), seed, coverage);
    check(original, rows, passes::level_pipeline(passes::OptLevel::O2, fast), fast, Compare::ToleranceWhereFinite,
          seed, coverage);
    check(original, rows, passes::level_pipeline(passes::OptLevel::O3), passes::PassOptions{},
          Compare::ToleranceWhereFinite, seed, coverage);
  }
  check_not_vacuous(coverage);
  MESSAGE("largest scaled error of the rounding-changing pipelines: " << coverage.worst_scaled_error);
}

TEST_CASE("the lossy pass keeps modules valid and reports the error it introduced") {
  passes::PassOptions lossy;
  lossy.weight_threshold = 0.5f;
  for (uint64_t seed = 0; seed < kModules; seed += 10) {
    const ir::Module original = test_module(seed);
    lossy.reference_rows = ir::random_rows(seed, 8, original.n_in(), false);
    ir::Module m = original;
    passes::Instrumentation instrumentation;
    instrumentation.verify_each = true;
    passes::PassManager pm(lossy, instrumentation);
    pm.add_pipeline("drop-small-weights");
    pm.run(m);
    const std::vector<float> before = test::outputs_on(original, lossy.reference_rows);
    const std::vector<float> after = test::outputs_on(m, lossy.reference_rows);
    double max_abs = 0;
    for (std::size_t i = 0; i < before.size(); ++i)
      if (std::isfinite(before[i]) && std::isfinite(after[i]))
        max_abs = std::max(max_abs, std::fabs(double(before[i]) - after[i]));
    CHECK(pm.records().at(0).counters.get("max abs error on reference rows") == max_abs);
  }
}

TEST_CASE("-O2 and -O3 reach a fixed point: optimising their output again changes nothing") {
  for (passes::OptLevel level : {passes::OptLevel::O2, passes::OptLevel::O3})
    for (bool fast_math : {false, true}) {
      passes::PassOptions options;
      options.fast_math = fast_math;
      for (uint64_t seed = 0; seed < kModules; ++seed) {
        ir::Module once = test_module(seed);
        passes::optimize(once, level, options);
        ir::Module twice = once;
        const bool changed = passes::optimize(twice, level, options);
        if (changed || !(twice == once))
          FAIL("seed " << seed << " level " << static_cast<int>(level) << (fast_math ? " (fast-math)" : "")
                       << ": a second run changed\n"
                       << ir::print_module(once) << "into\n" << ir::print_module(twice));
      }
    }
}
