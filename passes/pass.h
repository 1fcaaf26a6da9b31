// What a pass is: an entry point that rewrites a module in place, the options every pass reads,
// the counters it reports, and how faithfully it preserves the module's results.
//
// Passes know nothing about printing, timing or verification: the pass manager
// (passes/pass_manager.h) does all of that around them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ir/module.h"

namespace evoc::passes {

/// How faithfully a pass preserves the results of the reference interpreter, ordered from most to
/// least faithful (so that a pipeline is as exact as its least exact pass). A "finite
/// computation" below is an output on an input row for which every value the output depends on
/// is finite (no NaN, no Inf) when the original module runs on that row.
enum class Exactness {
  Exact,             ///< bit-identical outputs on every row (NaN payloads aside)
  /// differs by rounding on finite computations (reassociation, signed zeros): small relative to
  /// the magnitudes summed, though a result that cancels can lose more of its own digits
  RoundingChanging,
  Lossy,             ///< changes the function; the error is measured and reported
};

/// "exact", "rounding-changing" or "lossy".
std::string_view exactness_name(Exactness e);

/// Options every pass may read.
struct PassOptions {
  /// Allow rewrites that assume no NaN/Inf, ignore the sign of zero and reassociate
  /// (the `-ffast-math` contract). Off by default: the default pipelines are bit-exact.
  bool fast_math = false;
  /// drop-small-weights: dot terms with |weight| below this are dropped (lossy).
  float weight_threshold = 0.0f;
  /// Input rows (n_in floats each, row-major) on which lossy passes measure the error they
  /// introduce; empty means no measurement.
  std::vector<float> reference_rows;
};

/// Named counters a pass reports ("terms dropped", ...), kept in first-report order.
/// A counter either sums its reports or keeps their maximum (for measured errors).
class Counters {
 public:
  struct Entry {
    std::string name;
    double value = 0;
    bool is_max = false;
  };
  /// Adds `amount` to the counter `name` (a counter appears once something non-zero is counted).
  void add(std::string_view name, double amount = 1);
  /// Raises the counter `name` to `value` if it is larger (e.g. "max abs error").
  void record_max(std::string_view name, double value);
  /// Folds another set of counters into this one (sums add, maxima take the maximum).
  void merge(const Counters& other);
  const std::vector<Entry>& entries() const { return entries_; }
  /// The value of `name`, or 0 if it was never reported.
  double get(std::string_view name) const;

 private:
  Entry& slot(std::string_view name, bool is_max);
  std::vector<Entry> entries_;
};

/// The signature of a pass's entry point.
using PassFn = void (*)(ir::Module& m, const PassOptions& options, Counters& counters);

}  // namespace evoc::passes
