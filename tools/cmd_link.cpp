// evoc link: several models of one task into one ensemble module (passes/link.h).
//
//   evoc link a.evir b.evir c.evir -o ens.evir                    # mean of the class probabilities
//   evoc link a.evir b.evir c.evir -o ens.evir --combine vote --weights 2,1,1
//   evoc link a.evir b.evir -o ens.evir --validate val.csv        # also score members and ensemble
//
// The ensemble goes to -o (atomically) or stdout; the report (sizes, what was computed once, the
// validation scores) goes to stderr.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "ir/csv.h"
#include "ir/error.h"
#include "ir/metrics.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "passes/link.h"
#include "runtime/engine.h"
#include "runtime/postprocess.h"
#include "tools/cli_util.h"
#include "tools/commands.h"
#include "tools/ensemble_report.h"

namespace evoc::tools {

namespace {

struct LinkCommandOptions {
  std::vector<std::string> members;
  std::string output, combine = "mean", task, name, validate, target;
  std::vector<float> weights;
  bool quiet = false;
};

/// The share of rows a classifier gets right, or a regressor's R^2 (first output), on `t`.
double score(const ir::Module& m, const csv::Table& t, std::size_t target, const std::string& file) {
  std::vector<std::size_t> cols;
  for (const std::string& name : m.input_names) {
    try {
      cols.push_back(t.column_index(name));
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", file, e.what()));
    }
  }
  const std::size_t n = t.rows(), n_in = m.n_in(), k = m.n_out();
  std::vector<float> x(n * n_in), y(n * k);
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t i = 0; i < n_in; ++i) x[r * n_in + i] = t.at(r, cols[i]);
  make_engine(default_engine(), m)->run(x.data(), static_cast<int64_t>(n), static_cast<int64_t>(n_in), y.data(),
                                        static_cast<int64_t>(k));
  std::vector<double> truth(n);
  for (std::size_t r = 0; r < n; ++r) truth[r] = t.at(r, target);
  if (m.meta("task") == "classify")
    return metrics::accuracy(truth, y.data(), k, k, binary_threshold(scores_of(m)));
  return metrics::regress(truth, y.data(), k).r2;
}

/// Scores every member and the ensemble on a validation file; says when the ensemble is worse
/// than its best member.
void validate(const LinkCommandOptions& o, const std::vector<passes::LinkMember>& members,
              const ir::Module& ensemble) {
  const csv::Table t = csv::read(o.validate);
  if (t.rows() == 0) throw Error(fmt::format("{}: no rows to score", o.validate));
  const std::string target = !o.target.empty() ? o.target
                             : !ensemble.meta("target").empty() ? ensemble.meta("target")
                                                                : t.columns.back();
  std::size_t tcol;
  try {
    tcol = t.column_index(target);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", o.validate, e.what()));
  }
  compare_with_members(members, ensemble, t, tcol, o.validate, "evoc link");
}

void run_link(const LinkCommandOptions& o) {
  std::vector<passes::LinkMember> members;
  for (const std::string& path : o.members) members.push_back({ir::read_module(path), path});
  passes::LinkOptions options;
  options.combine = passes::combine_from_name(o.combine);
  options.weights = o.weights;
  options.task = o.task;
  options.name = o.name;
  const ir::Module ensemble = passes::link_modules(members, options);
  if (!o.validate.empty()) validate(o, members, ensemble);
  emit_output(o.output, ir::print_module(ensemble));
  if (!o.quiet) {
    fmt::print(stderr, "evoc link: {} members, {} of {}: {}\n", members.size(),
               passes::combine_name(options.combine),
               ensemble.meta("task") == "classify" ? "the class probabilities" : "the outputs",
               ensemble.meta("ensemble.ops"));
    fmt::print(stderr, "  shared: {}\n", ensemble.meta("ensemble.shared"));
  }
}

}  // namespace

bool compare_with_members(const std::vector<passes::LinkMember>& members, const ir::Module& ensemble,
                          const csv::Table& table, std::size_t target, const std::string& where,
                          const std::string& command, bool scores) {
  const char* metric = ensemble.meta("task") == "classify" ? "accuracy" : "r2";
  if (scores) fmt::print(stderr, "validation on {} ({} rows, {}):\n", where, table.rows(), metric);
  double best = -1e300;
  std::string best_label;
  for (const passes::LinkMember& member : members) {
    ir::Module m = member.module;
    m.set_meta("task", ensemble.meta("task"));
    const double s = score(m, table, target, where);
    if (scores) fmt::print(stderr, "  {:<24} {:.4f}\n", member.label, s);
    if (s > best) best = s, best_label = member.label;
  }
  const double s = score(ensemble, table, target, where);
  if (scores) fmt::print(stderr, "  {:<24} {:.4f}\n", "ensemble", s);
  if (s >= best) return false;
  fmt::print(stderr, "{}: warning: the ensemble ({} {:.4f}) is worse than its best member {} ({:.4f}) on {}\n",
             command, metric, s, best_label, best, where);
  return true;
}

void register_link_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("link", "Link models of one task into one ensemble module (one kernel)");
  auto o = std::make_shared<LinkCommandOptions>();
  cmd->add_option("MEMBERS", o->members, "member IR files (.evir); inputs are matched by name")->required();
  cmd->add_option("-o,--output", o->output, "output IR file, written atomically ('-' or absent: stdout)");
  cmd->add_option("--combine", o->combine,
                  "mean: the mean of the members' class probabilities (of their outputs for regression);\n"
                  "vote: each classifier votes for its top class, the outputs are the vote shares")
      ->check(CLI::IsMember({"mean", "vote"}));
  cmd->add_option("--weights", o->weights, "one weight per member (finite, >= 0), e.g. 2,1,1; default all 1")
      ->delimiter(',');
  cmd->add_option("--task", o->task, "classify or regress, for members without 'task' metadata")
      ->check(CLI::IsMember({"classify", "regress"}));
  cmd->add_option("--name", o->name, "the ensemble module's name (default 'ensemble')");
  cmd->add_option("--validate", o->validate,
                  "CSV with a header (inputs by name and the target): score each member and the ensemble, "
                  "and warn when the ensemble is worse than its best member");
  cmd->add_option("--target", o->target, "target column of --validate (default: the 'target' metadata, else the last)");
  cmd->add_flag("-q,--quiet", o->quiet, "do not print the size report");
  cmd->callback([o] { run_link(*o); });
}

}  // namespace evoc::tools
