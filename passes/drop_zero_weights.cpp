// drop-zero-weights: removes dot terms whose weight is exactly zero (+0 or -0). Training and
// pruning leave many heads with zeroed weights; once their terms are gone, dce removes the ops
// that fed only them.
//
// Exactness: rounding-changing, so it runs in the default pipelines only with --fast-math.
//   - A dot sums its terms in interleaved partial sums by position (ir/scalar.h), so removing a
//     term moves every later term to another partial sum: the grouping, and with it the
//     rounding, changes. Dots of at most kDotPartials terms keep their grouping.
//   - A term 0 * v is +-0 only when v is finite: 0 * Inf and 0 * NaN are NaN, so where an
//     operand is Inf or NaN the original gives NaN and the result does not.
//   - The bias is added last; with a -0 bias the sign of a zero result depends on the signs of
//     the zero terms, so dots whose bias is -0 are left alone.
// A dot left with no terms becomes its bias, a constant.
#include <bit>
#include <cstdint>

#include "passes/passes.h"
#include "passes/rebuilder.h"

namespace evoc::passes {

void drop_zero_weights(ir::Module& m, const PassOptions&, Counters& counters) {
  rebuild(m, [&](Rebuilder& r, ir::ValueId id) {
    ir::Value v = r.renamed(id);
    if (v.op != ir::Op::Dot) return r.emit(std::move(v));
    const float bias = ir::dot_bias(v);
    if (std::bit_cast<uint32_t>(bias) == std::bit_cast<uint32_t>(-0.0f)) {
      counters.add("dots kept (bias -0)");
      return r.emit(std::move(v));
    }
    ir::Value kept{ir::Op::Dot, {}, {}};
    for (std::size_t i = 0; i < v.args.size(); ++i) {
      if (v.imms[i] == 0.0f) continue;
      kept.args.push_back(v.args[i]);
      kept.imms.push_back(v.imms[i]);
    }
    kept.imms.push_back(bias);
    counters.add("zero-weight terms dropped", static_cast<double>(v.args.size() - kept.args.size()));
    if (kept.args.empty() && !v.args.empty()) {
      counters.add("dots reduced to their bias");
      return r.emit_const(bias);
    }
    return r.emit(std::move(kept));
  });
}

}  // namespace evoc::passes
