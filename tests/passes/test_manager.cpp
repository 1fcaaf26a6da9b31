// The pass manager and its instrumentation: pipeline text, verify-each naming the guilty pass,
// printing, statistics, timing, fixed-point limits; and a check that the differential
// comparison used by the property tests does catch a wrong rewrite.
#include <doctest/doctest.h>

#include <limits>
#include <string>

#include "differential.h"
#include "ir/error.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/random_module.h"
#include "passes/pass_manager.h"
#include "passes/pipeline.h"
#include "passes/registry.h"

namespace {

using namespace evoc;

// %0 a, %1 b; %2 = mul, %3 dead tanh, %4 = add %1, %2 -> output (already in canonical order)
ir::Module small_module() {
  return ir::parse_module(R"(evir 1
module "small" inputs 2 outputs 1
input %0 "a"
input %1 "b"
%2 = mul %0, %1
%3 = tanh %2
%4 = add %1, %2
output %4 "y"
)");
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A broken pass: makes the last value read itself (a use before definition).
void break_ssa(ir::Module& m, const passes::PassOptions&, passes::Counters&) {
  m.values.back().args[0] = static_cast<ir::ValueId>(m.values.size() - 1);
}

// A pass that never settles: it toggles the module's name.
void toggle_name(ir::Module& m, const passes::PassOptions&, passes::Counters&) {
  m.name = m.name == "a" ? "b" : "a";
}

// A wrong rewrite (x + 0 -> x is not exact: -0 + 0 = +0): outputs reading add(x, +0) read x.
void wrong_add_zero(ir::Module& m, const passes::PassOptions&, passes::Counters&) {
  for (ir::ValueId& out : m.outputs) {
    const ir::Value& v = m.values[out];
    if (v.op == ir::Op::Add && m.values[v.args[1]].op == ir::Op::Const && ir::const_value(m.values[v.args[1]]) == 0)
      out = v.args[0];
  }
}

}  // namespace

TEST_CASE("pipeline text parses, prints back, and names the place of an error") {
  auto steps = passes::parse_pipeline(" const-fold , fixed-point( simplify,cse ),dce ");
  CHECK(passes::format_pipeline(steps) == "const-fold,fixed-point(simplify,cse),dce");
  CHECK(passes::parse_pipeline("").empty());
  CHECK(error_of([] { passes::parse_pipeline("const-fold,,dce"); }).find("column 12: expected a pass name") !=
        std::string::npos);
  const std::string unknown = error_of([] { passes::parse_pipeline("dce,const-fodl"); });
  CHECK(unknown.find("column 5: unknown pass 'const-fodl'") != std::string::npos);
  CHECK(unknown.find("known passes: dce, const-fold") != std::string::npos);
  CHECK(error_of([] { passes::parse_pipeline("fixed-point(dce"); }).find("expected ')'") != std::string::npos);
  CHECK(error_of([] { passes::parse_pipeline("dce)"); }).find("unexpected ')'") != std::string::npos);
}

TEST_CASE("the levels are the documented pipelines") {
  passes::PassOptions fast;
  fast.fast_math = true;
  CHECK(passes::level_pipeline(passes::OptLevel::O0) == "");
  CHECK(passes::level_pipeline(passes::OptLevel::O1) == "const-fold,simplify,cse,dce");
  CHECK(passes::level_pipeline(passes::OptLevel::O2) == "fixed-point(const-fold,simplify,cse,dce)");
  CHECK(passes::level_pipeline(passes::OptLevel::O2, fast) ==
        "fixed-point(drop-zero-weights,const-fold,simplify,fold-affine,cse,dce)");
  CHECK(passes::level_pipeline(passes::OptLevel::O3) ==
        "fixed-point(drop-zero-weights,const-fold,simplify,fold-affine,cse,dce)");
  // Every pass of a default level is exact.
  for (const auto& step : passes::parse_pipeline("const-fold,simplify,cse,dce"))
    CHECK(passes::pass_named(step.name).exactness == passes::Exactness::Exact);
}

TEST_CASE("the inexact passes of a pipeline are listed once each") {
  passes::PassOptions fast;
  fast.fast_math = true;
  using passes::Exactness;
  using List = std::vector<std::pair<std::string, Exactness>>;
  CHECK(passes::inexact_passes(passes::parse_pipeline(""), {}).empty());
  CHECK(passes::inexact_passes(passes::parse_pipeline("fixed-point(cse,simplify)"), {}).empty());
  CHECK(passes::inexact_passes(passes::parse_pipeline("fixed-point(cse,simplify),simplify"), fast) ==
        List{{"simplify", Exactness::RoundingChanging}});
  CHECK(passes::inexact_passes(passes::parse_pipeline("dce,drop-zero-weights,fold-affine,drop-small-weights"), {}) ==
        List{{"drop-zero-weights", Exactness::RoundingChanging},
             {"fold-affine", Exactness::RoundingChanging},
             {"drop-small-weights", Exactness::Lossy}});
}

TEST_CASE("verify-each names the failing pass and shows the IR from before it") {
  ir::Module m = small_module();
  const std::string before = ir::print_module(m);
  passes::Instrumentation checks;
  checks.verify_each = true;
  passes::PassManager pm({}, checks);
  pm.add_pipeline("dce");
  pm.add_step({"break-ssa", &break_ssa, {}});
  const std::string message = error_of([&] { pm.run(m); });
  CHECK(message.find("pass 'break-ssa' produced an invalid module") != std::string::npos);
  CHECK(message.find("operand %3 is not defined before use") != std::string::npos);
  ir::Module after_dce = small_module();
  passes::run_pipeline(after_dce, "dce");
  CHECK(message.find("; IR before 'break-ssa':\n" + ir::print_module(after_dce)) != std::string::npos);
  CHECK(before != ir::print_module(after_dce));

  // Without verify-each the manager does not look.
  ir::Module unchecked = small_module();
  passes::PassManager quiet;
  quiet.add_step({"break-ssa", &break_ssa, {}});
  CHECK_NOTHROW(quiet.run(unchecked));
}

TEST_CASE("print-after-all, print-after=P and print-after-change print where asked") {
  std::string log;
  passes::Instrumentation in;
  in.sink = [&](std::string_view s) { log += s; };

  in.print_after_change = true;
  ir::Module m = small_module();
  passes::run_pipeline(m, "dce,dce", {}, in);
  CHECK(log == "; *** IR after dce ***\n" + ir::print_module(m));

  log.clear();
  in.print_after_change = false;
  in.print_after = {"cse"};
  m = small_module();
  passes::run_pipeline(m, "dce,cse,dce", {}, in);
  CHECK(log == "; *** IR after cse (unchanged) ***\n" + ir::print_module(m));

  log.clear();
  in.print_after.clear();
  in.print_after_all = true;
  m = small_module();
  passes::run_pipeline(m, "fixed-point(dce)", {}, in);
  CHECK(log.find("; *** IR after dce (fixed-point round 1) ***") != std::string::npos);
  CHECK(log.find("; *** IR after dce (fixed-point round 2) (unchanged) ***") != std::string::npos);
}

TEST_CASE("stats and timing report what each pass did") {
  ir::Module m = small_module();
  passes::PassManager pm;
  pm.add_pipeline("cse,dce");
  CHECK(pm.run(m));
  REQUIRE(pm.records().size() == 2);
  CHECK(pm.records()[0].name == "cse");
  CHECK(pm.records()[0].changed_runs == 0);
  CHECK(pm.records()[1].values_removed == 1);
  CHECK(pm.records()[1].counters.get("dead values removed") == 1);
  const std::string stats = pm.stats_report();
  CHECK(stats.find("=== pass statistics: 5 values -> 4 ===") != std::string::npos);
  CHECK(stats.find("dead values removed") != std::string::npos);
  const std::string timing = pm.timing_report();
  CHECK(timing.find("cse") != std::string::npos);
  CHECK(timing.find("dce") != std::string::npos);

  std::string log;
  passes::Instrumentation in;
  in.stats = in.time_passes = true;
  in.sink = [&](std::string_view s) { log += s; };
  m = small_module();
  passes::run_pipeline(m, "dce", {}, in);
  CHECK(log.find("=== pass statistics") != std::string::npos);
  CHECK(log.find("=== pass execution timing") != std::string::npos);
}

TEST_CASE("a fixed point that is never reached is an error, not a hang") {
  ir::Module m = small_module();
  passes::PassManager pm;
  pm.add_step({"fixed-point", nullptr, {{"toggle-name", &toggle_name, {}}}});
  CHECK(error_of([&] { pm.run(m); }) == "fixed-point(toggle-name) did not reach a fixed point in 32 rounds");
}

TEST_CASE("fixed-point groups stop when a round changes nothing") {
  ir::Module m = small_module();
  passes::PassManager pm;
  pm.add_pipeline("fixed-point(dce,cse)");
  CHECK(pm.run(m));
  CHECK(pm.records()[0].runs == 2);  // round 1 removes %3, round 2 confirms
  CHECK_FALSE(pm.run(m));
}

TEST_CASE("drop-small-weights without a threshold says what it needs") {
  ir::Module m = small_module();
  CHECK(error_of([&] { passes::run_pipeline(m, "drop-small-weights"); }).find("weight threshold > 0") !=
        std::string::npos);
}

TEST_CASE("the differential check catches an inexact rewrite") {
  ir::Module original = ir::parse_module(R"(evir 1
module "m" inputs 1 outputs 1
input %0 "x"
%1 = const 0
%2 = add %0, %1
output %2 "y"
)");
  ir::Module wrong = original;
  passes::Counters unused;
  wrong_add_zero(wrong, {}, unused);
  REQUIRE(wrong.outputs[0] == 0);
  const std::vector<float> rows = {1.0f, -0.0f, 2.0f};
  auto bad = test::find_mismatch(original, wrong, rows, test::Compare::Exact);
  REQUIRE(bad.has_value());
  CHECK(bad->row == 1);
  // simplify leaves x + (+0) alone, and agrees bit for bit.
  ir::Module simplified = original;
  passes::run_pipeline(simplified, "simplify,dce");
  CHECK(simplified == original);
}

TEST_CASE("drop-zero-weights is rounding-changing: 0 * Inf differs, and later terms regroup") {
  ir::Module original = ir::parse_module(R"(evir 1
module "m" inputs 2 outputs 1
input %0 "x"
input %1 "z"
%2 = dot [%0 1, %1 0] + 0.5
output %2 "y"
)");
  ir::Module dropped = original;
  passes::run_pipeline(dropped, "drop-zero-weights");
  const std::vector<float> rows = {1.0f, 2.0f, 1.0f, std::numeric_limits<float>::infinity()};
  CHECK_FALSE(test::find_mismatch(original, dropped, rows, test::Compare::ExactWhereFinite));
  auto bad = test::find_mismatch(original, dropped, rows, test::Compare::Exact);
  REQUIRE(bad.has_value());
  CHECK(bad->row == 1);

  // Partials (1e8 - 1e8), 0, 3, 3 before; 1e8, 3, 3, -1e8 after, where 1e8 swallows the 3s.
  ir::Module wide = ir::parse_module(R"(evir 1
module "m" inputs 2 outputs 1
input %0 "big"
input %1 "small"
%2 = dot [%0 1, %1 0, %1 1, %1 1, %0 -1] + 0
output %2 "y"
)");
  ir::Module regrouped = wide;
  passes::run_pipeline(regrouped, "drop-zero-weights");
  CHECK(regrouped.values[regrouped.outputs[0]].args.size() == 4);
  const std::vector<float> finite_row = {1e8f, 3.0f};
  CHECK(test::outputs_on(wide, finite_row) == std::vector<float>{6.0f});
  CHECK(test::outputs_on(regrouped, finite_row) == std::vector<float>{0.0f});
}
