// evoc opt: run optimisation pipelines over a model, in the style of LLVM's `opt`.
//
//   evoc opt model.evir -o model.opt.evir -O2 --stats
//   evoc opt model.evir --passes=const-fold,fixed-point(simplify,cse),dce --print-after-change
//   evoc opt --list-passes
//
// The optimised IR goes to -o (atomically) or stdout; IR dumps and reports go to stderr.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "ir/csv.h"
#include "ir/error.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "passes/pass_manager.h"
#include "passes/pipeline.h"
#include "passes/registry.h"
#include "tools/cli_util.h"
#include "tools/commands.h"

namespace evoc::tools {

namespace {

struct OptOptions {
  std::string input, output, passes, reference_rows;
  int level = 2;
  float weight_threshold = 0.0f;
  bool fast_math = false, list_passes = false, print_pipeline = false;
  passes::Instrumentation instrumentation;
};

// Reference rows for lossy passes, row-major: the model's inputs, taken by name from a CSV whose
// header names them (by position from a headerless one), as `evoc run` takes them.
std::vector<float> read_reference_rows(const std::string& path, const ir::Module& m) {
  const csv::Table t = csv::read(path, {.header_optional = true});
  return select_inputs(m, t, path, false, "opt");
}

/// True if the pipeline runs pass `name` anywhere (inside fixed-point groups too).
bool runs_pass(const std::vector<passes::PipelineStep>& steps, std::string_view name) {
  for (const passes::PipelineStep& step : steps)
    if (step.name == name || runs_pass(step.body, name)) return true;
  return false;
}

void run_opt(const OptOptions& o) {
  if (o.list_passes) {
    fmt::print("passes (use as --passes=a,b,fixed-point(c,d)):\n{}", passes::pass_list_text());
    return;
  }
  if (o.input.empty()) throw Error("opt: no input file (see evoc opt --help)");
  ir::Module m = ir::read_module(o.input);
  passes::PassOptions options;
  options.fast_math = o.fast_math;
  options.weight_threshold = o.weight_threshold;
  if (!std::isfinite(o.weight_threshold) || o.weight_threshold < 0)
    throw Error(fmt::format("--weight-threshold must be a finite number at least 0, got {}", o.weight_threshold));
  if (!o.reference_rows.empty()) options.reference_rows = read_reference_rows(o.reference_rows, m);
  const std::string pipeline =
      o.passes.empty() ? passes::level_pipeline(static_cast<passes::OptLevel>(o.level), options) : o.passes;
  for (const std::string& name : o.instrumentation.print_after)
    if (!passes::find_pass(name))
      throw Error(fmt::format("--print-after: unknown pass '{}' (known passes: {})", name, passes::pass_names()));
  const std::vector<passes::PipelineStep> steps = passes::parse_pipeline(pipeline);
  if (o.print_pipeline) fmt::print(stderr, "pipeline: {}\n", passes::format_pipeline(steps));
  if (o.weight_threshold != 0 && !runs_pass(steps, "drop-small-weights"))
    fmt::print(stderr,
               "evoc opt: note: --weight-threshold acts only through the drop-small-weights pass, which this "
               "pipeline does not run (add it, e.g. --passes=drop-small-weights,dce)\n");
  if (const auto inexact = passes::inexact_passes(steps, options); !inexact.empty()) {
    std::string which;
    for (const auto& [name, exactness] : inexact)
      which += fmt::format("{}{} ({})", which.empty() ? "" : ", ", name, passes::exactness_name(exactness));
    fmt::print(stderr, "evoc opt: note: not bit-exact: {}; see evoc opt --list-passes\n", which);
  }
  passes::PassManager pm(options, o.instrumentation);
  for (const passes::PipelineStep& step : steps) pm.add_step(step);
  pm.run(m);
  emit_output(o.output, ir::print_module(m));
}

}  // namespace

void register_opt_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("opt", "Optimise a model with a pass pipeline (default -O2)");
  auto o = std::make_shared<OptOptions>();
  passes::Instrumentation& in = o->instrumentation;
  cmd->add_option("IN", o->input, "IR file (.evir)");
  cmd->add_option("-o,--output", o->output, "output IR file, written atomically ('-' or absent: stdout)");
  auto* level = cmd->add_option("-O", o->level, "optimisation level: -O0 nothing, -O1 cleanups, -O2 exact fixed point, -O3 also\n"
                    "drop-zero-weights and fold-affine (rounding-changing)")
                    ->check(CLI::Range(0, 3));
  cmd->add_option("--passes", o->passes, "pass pipeline, e.g. const-fold,fixed-point(simplify,cse),dce")
      ->excludes(level);
  cmd->add_flag("--fast-math", o->fast_math,
                "allow rewrites that assume no NaN/Inf, ignore signed zeros and reassociate "
                "(-O1/-O2 then also run drop-zero-weights and fold-affine)");
  cmd->add_option("--weight-threshold", o->weight_threshold,
                  "drop-small-weights: drop dot terms with |weight| below this (lossy)");
  cmd->add_option("--reference-rows", o->reference_rows,
                  "CSV of rows on which lossy passes measure their error (the model's inputs by name, or the "
                  "first n_in columns of a headerless file)");
  cmd->add_flag("--verify-each", in.verify_each, "verify after every pass; name the failing pass");
  cmd->add_flag("--print-after-all", in.print_after_all, "print the IR after every pass (stderr)");
  cmd->add_option("--print-after", in.print_after, "print the IR after the named passes (stderr)")
      ->delimiter(',');
  cmd->add_flag("--print-after-change", in.print_after_change, "print the IR after every pass that changed it");
  cmd->add_flag("--time-passes", in.time_passes, "report the time spent in each pass (stderr)");
  cmd->add_flag("--stats", in.stats, "report what each pass did: values removed, rewrites, ... (stderr)");
  cmd->add_flag("--print-pipeline", o->print_pipeline, "print the pipeline that runs (stderr)");
  cmd->add_flag("--list-passes", o->list_passes, "list the passes with their exactness and exit");
  cmd->callback([o] { run_opt(*o); });
}

}  // namespace evoc::tools
