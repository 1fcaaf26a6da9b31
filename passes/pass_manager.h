// The pass manager: runs textual pipelines and named optimisation levels over a module, with all
// the instrumentation (verification after each pass, IR printing, timing, statistics) here
// rather than in the passes. This header is the optimiser's public API:
//
//   evoc::passes::optimize(module, OptLevel::O2);                       // what `evoc compile` runs
//   evoc::passes::run_pipeline(module, "const-fold,dce", options, instr);  // what `evoc opt` runs
//
// Pipeline text: comma-separated pass names from the registry (`evoc opt --list-passes`), and
// `fixed-point(p1,p2,...)`, which repeats its body until a whole round changes nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ir/module.h"
#include "passes/pass.h"
#include "passes/pipeline.h"

namespace evoc::passes {

/// Named optimisation levels. Without PassOptions::fast_math, O0..O2 are bit-exact.
enum class OptLevel {
  O0,  ///< nothing
  O1,  ///< one round of cheap cleanups: const-fold, simplify, cse, dce
  O2,  ///< the same passes to a fixed point (with --fast-math also drop-zero-weights, fold-affine)
  /// O2 plus drop-zero-weights and fold-affine (both rounding-changing): the level that shrinks
  /// trained models most without fast-math's looser simplify rules. Results may differ from the
  /// original in the last bits, and on rows where a dropped 0*v term met an Inf or NaN.
  O3,
};

/// The pipeline text of a level under `options` (fast-math adds the non-exact passes).
std::string level_pipeline(OptLevel level, const PassOptions& options = {});

/// What the manager does around each pass.
struct Instrumentation {
  bool verify_each = false;         ///< verify after every pass; on failure name it, show the IR before it
  bool print_after_all = false;     ///< print the IR after every pass
  std::vector<std::string> print_after;  ///< print the IR after the passes with these names
  bool print_after_change = false;  ///< print the IR after every pass that changed it
  bool time_passes = false;         ///< report time per pass at the end of a run
  bool stats = false;               ///< report per-pass counters at the end of a run
  /// Where IR dumps and reports go; standard error if empty.
  std::function<void(std::string_view)> sink;
};

/// What one pass (by name) did over a run, summed over its executions.
struct PassRecord {
  std::string name;
  int runs = 0;
  int changed_runs = 0;
  int64_t values_removed = 0;  ///< net: values before minus values after
  double seconds = 0;
  Counters counters;
};

/// Runs a pipeline of passes with instrumentation.
class PassManager {
 public:
  explicit PassManager(PassOptions options = {}, Instrumentation instrumentation = {});
  ~PassManager();
  PassManager(PassManager&&) noexcept;
  PassManager& operator=(PassManager&&) noexcept;

  /// Appends a textual pipeline ("const-fold,fixed-point(simplify,cse),dce"); throws evoc::Error
  /// naming the position of a syntax error or an unknown pass.
  void add_pipeline(std::string_view text);
  /// Appends one step, which may run passes that are not in the registry (tests use this for
  /// deliberately broken passes).
  void add_step(PipelineStep step);
  /// Runs everything added so far on `m`; returns true if `m` changed. Throws evoc::Error when
  /// verification fails or a fixed point is not reached.
  bool run(ir::Module& m);
  /// Per-pass records of all runs so far, in order of first execution.
  const std::vector<PassRecord>& records() const;
  /// The --stats report of the runs so far.
  std::string stats_report() const;
  /// The --time-passes report of the runs so far.
  std::string timing_report() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Optimises `m` at `level`; returns true if it changed. Verifies the result.
bool optimize(ir::Module& m, OptLevel level, const PassOptions& options = {});
/// Runs a textual pipeline on `m`; returns true if it changed.
bool run_pipeline(ir::Module& m, std::string_view pipeline, const PassOptions& options = {},
                  const Instrumentation& instrumentation = {});

}  // namespace evoc::passes
