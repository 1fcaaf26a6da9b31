// drop-small-weights: the lossy variant of drop-zero-weights. Removes dot terms whose weight is
// below PassOptions::weight_threshold in magnitude (zero weights included), trading accuracy
// for fewer ops in heavily over-parameterised heads. Never in a default pipeline: it must be
// asked for by name, with a threshold.
//
// Exactness: lossy. When PassOptions::reference_rows are given, the pass measures the error it
// introduced by running the reference interpreter before and after on those rows, and reports
// the largest absolute and relative output errors (and how many outputs changed between finite
// and non-finite) in its counters.
#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/core.h>

#include "ir/error.h"
#include "ir/interpreter.h"
#include "passes/passes.h"
#include "passes/rebuilder.h"

namespace evoc::passes {

namespace {

std::vector<float> outputs_on(const ir::Module& m, const std::vector<float>& rows) {
  const auto n = static_cast<int64_t>(rows.size() / m.n_in());
  std::vector<float> y(static_cast<std::size_t>(n) * m.n_out());
  ir::interpret(m, rows.data(), n, static_cast<int64_t>(m.n_in()), y.data(), static_cast<int64_t>(m.n_out()));
  return y;
}

void report_error(const std::vector<float>& before, const std::vector<float>& after, Counters& counters) {
  double max_abs = 0, max_rel = 0;
  double finiteness_changed = 0;
  for (std::size_t i = 0; i < before.size(); ++i) {
    const double a = before[i], b = after[i];
    if (std::isfinite(a) != std::isfinite(b)) {
      ++finiteness_changed;
      continue;
    }
    if (!std::isfinite(a)) continue;
    const double err = std::fabs(a - b);
    max_abs = std::max(max_abs, err);
    if (a != 0) max_rel = std::max(max_rel, err / std::fabs(a));
  }
  counters.record_max("max abs error on reference rows", max_abs);
  counters.record_max("max rel error on reference rows", max_rel);
  counters.add("outputs turned (non-)finite on reference rows", finiteness_changed);
}

}  // namespace

void drop_small_weights(ir::Module& m, const PassOptions& options, Counters& counters) {
  const float threshold = options.weight_threshold;
  if (!(threshold > 0.0f))
    throw Error(fmt::format("drop-small-weights: needs a weight threshold > 0 (--weight-threshold), got {}", threshold));
  if (!options.reference_rows.empty() && (m.n_in() == 0 || options.reference_rows.size() % m.n_in() != 0))
    throw Error(fmt::format("drop-small-weights: {} reference values are not whole rows of {} inputs",
                            options.reference_rows.size(), m.n_in()));
  const ir::Module original = options.reference_rows.empty() ? ir::Module{} : m;
  rebuild(m, [&](Rebuilder& r, ir::ValueId id) {
    ir::Value v = r.renamed(id);
    if (v.op != ir::Op::Dot) return r.emit(std::move(v));
    ir::Value kept{ir::Op::Dot, {}, {}};
    for (std::size_t i = 0; i < v.args.size(); ++i) {
      if (std::fabs(v.imms[i]) < threshold) continue;
      kept.args.push_back(v.args[i]);
      kept.imms.push_back(v.imms[i]);
    }
    kept.imms.push_back(ir::dot_bias(v));
    counters.add("small-weight terms dropped", static_cast<double>(v.args.size() - kept.args.size()));
    if (kept.args.empty() && !v.args.empty()) return r.emit_const(ir::dot_bias(v));
    return r.emit(std::move(kept));
  });
  if (!options.reference_rows.empty())
    report_error(outputs_on(original, options.reference_rows), outputs_on(m, options.reference_rows), counters);
}

}  // namespace evoc::passes
