// The pass manager: executes pipeline steps, detects change by comparing the module with a
// snapshot taken before each pass, and does all verification, printing, timing and counting.
#include "passes/pass_manager.h"

#include <chrono>
#include <cstdio>

#include <fmt/core.h>

#include "ir/error.h"
#include "ir/printer.h"
#include "ir/verifier.h"

namespace evoc::passes {

namespace {
// A fixed-point group that still changes the module after this many rounds is a bug in a pass
// (two rewrites undoing each other); the manager reports it rather than looping.
constexpr int kMaxFixedPointRounds = 32;
}  // namespace

std::string level_pipeline(OptLevel level, const PassOptions& options) {
  const std::string inexact_round = "drop-zero-weights,const-fold,simplify,fold-affine,cse,dce";
  const std::string round = options.fast_math ? inexact_round : "const-fold,simplify,cse,dce";
  switch (level) {
    case OptLevel::O0: return "";
    case OptLevel::O1: return round;
    case OptLevel::O2: return "fixed-point(" + round + ")";
    case OptLevel::O3: return "fixed-point(" + inexact_round + ")";
  }
  return "";
}

struct PassManager::Impl {
  PassOptions options;
  Instrumentation instrumentation;
  std::vector<PipelineStep> steps;
  std::vector<PassRecord> records;
  std::size_t values_at_start = 0, values_at_end = 0;

  void emit(std::string_view text) const {
    if (instrumentation.sink)
      instrumentation.sink(text);
    else
      std::fputs(std::string(text).c_str(), stderr);
  }

  PassRecord& record(const std::string& name) {
    for (PassRecord& r : records)
      if (r.name == name) return r;
    PassRecord fresh;
    fresh.name = name;
    return records.emplace_back(std::move(fresh));
  }

  bool wants_print(const std::string& name, bool changed) const {
    const Instrumentation& in = instrumentation;
    if (in.print_after_all || (in.print_after_change && changed)) return true;
    for (const std::string& p : in.print_after)
      if (p == name) return true;
    return false;
  }

  // Runs one pass; returns true if it changed `m`.
  bool run_pass(const PipelineStep& step, ir::Module& m, int round) {
    const ir::Module before = m;
    Counters counters;
    const auto start = std::chrono::steady_clock::now();
    step.entry(m, options, counters);
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    if (instrumentation.verify_each) {
      const std::vector<std::string> problems = ir::verify_module(m);
      if (!problems.empty()) {
        std::string message = fmt::format("pass '{}' produced an invalid module:", step.name);
        for (const std::string& p : problems) message += "\n  " + p;
        message += fmt::format("\n; IR before '{}':\n{}", step.name, ir::print_module(before));
        throw Error(message);
      }
    }
    const bool changed = !(m == before);
    PassRecord& r = record(step.name);
    ++r.runs;
    r.changed_runs += changed;
    r.values_removed += static_cast<int64_t>(before.values.size()) - static_cast<int64_t>(m.values.size());
    r.seconds += elapsed.count();
    r.counters.merge(counters);
    if (wants_print(step.name, changed)) {
      const std::string where = round > 0 ? fmt::format(" (fixed-point round {})", round) : "";
      emit(fmt::format("; *** IR after {}{}{} ***\n{}", step.name, where, changed ? "" : " (unchanged)",
                       ir::print_module(m)));
    }
    return changed;
  }

  bool run_steps(const std::vector<PipelineStep>& list, ir::Module& m, int round) {
    bool changed = false;
    for (const PipelineStep& step : list) changed |= step.entry ? run_pass(step, m, round) : run_group(step, m);
    return changed;
  }

  bool run_group(const PipelineStep& group, ir::Module& m) {
    for (int round = 1; round <= kMaxFixedPointRounds; ++round)
      if (!run_steps(group.body, m, round)) return round > 1;
    throw Error(fmt::format("{}({}) did not reach a fixed point in {} rounds", group.name,
                            format_pipeline(group.body), kMaxFixedPointRounds));
  }
};

PassManager::PassManager(PassOptions options, Instrumentation instrumentation)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->instrumentation = std::move(instrumentation);
}
PassManager::~PassManager() = default;
PassManager::PassManager(PassManager&&) noexcept = default;
PassManager& PassManager::operator=(PassManager&&) noexcept = default;

void PassManager::add_pipeline(std::string_view text) {
  for (PipelineStep& step : parse_pipeline(text)) impl_->steps.push_back(std::move(step));
}

void PassManager::add_step(PipelineStep step) { impl_->steps.push_back(std::move(step)); }

bool PassManager::run(ir::Module& m) {
  if (impl_->instrumentation.verify_each) ir::verify_or_throw(m, "input module (before any pass)");
  if (impl_->records.empty()) impl_->values_at_start = m.values.size();
  const bool changed = impl_->run_steps(impl_->steps, m, 0);
  impl_->values_at_end = m.values.size();
  if (impl_->instrumentation.stats) impl_->emit(stats_report());
  if (impl_->instrumentation.time_passes) impl_->emit(timing_report());
  return changed;
}

const std::vector<PassRecord>& PassManager::records() const { return impl_->records; }

std::string PassManager::stats_report() const {
  std::string text = fmt::format("=== pass statistics: {} values -> {} ===\n", impl_->values_at_start,
                                 impl_->values_at_end);
  for (const PassRecord& r : impl_->records) {
    text += fmt::format("{:<20} runs {:>3}, changed {:>3}, values removed {:>5}\n", r.name, r.runs,
                        r.changed_runs, r.values_removed);
    for (const Counters::Entry& e : r.counters.entries())
      text += fmt::format("    {:<46} {:>10}\n", e.name, fmt::format("{:g}", e.value));
  }
  return text;
}

std::string PassManager::timing_report() const {
  double total = 0;
  for (const PassRecord& r : impl_->records) total += r.seconds;
  std::string text = fmt::format("=== pass execution timing: {:.3f} ms total ===\n", total * 1e3);
  text += fmt::format("{:>12} {:>7} {:>5}  {}\n", "time (ms)", "share", "runs", "pass");
  for (const PassRecord& r : impl_->records)
    text += fmt::format("{:>12.3f} {:>6.1f}% {:>5}  {}\n", r.seconds * 1e3, total > 0 ? 100 * r.seconds / total : 0.0,
                        r.runs, r.name);
  return text;
}

bool optimize(ir::Module& m, OptLevel level, const PassOptions& options) {
  const bool changed = run_pipeline(m, level_pipeline(level, options), options);
  ir::verify_or_throw(m, "optimised module");
  return changed;
}

bool run_pipeline(ir::Module& m, std::string_view pipeline, const PassOptions& options,
                  const Instrumentation& instrumentation) {
  PassManager pm(options, instrumentation);
  pm.add_pipeline(pipeline);
  return pm.run(m);
}

}  // namespace evoc::passes
