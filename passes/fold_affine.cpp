// fold-affine: folds linear work into the linear heads. Exported models normalise each input
// with an affine (a * v + b, frozen statistics) and then read it in dots; the affine costs a
// multiply and an add per row that the dot's weights can absorb:
//   - a dot term w * affine(v; a, b), where every user of the affine is a dot (and no output
//     reads it), becomes the term (w*a) * v plus w*b added into the bias; the affine goes away;
//   - a dot term w * c on a constant c is added into the bias;
//   - terms on the same operand are merged into one, with the weights summed.
// Bias contributions are summed in double precision and rounded once.
//
// Exactness: rounding-changing. The folded dot computes the same real number in a different
// order (w*(a*v+b) -> (w*a)*v + w*b, bias sums reassociated), so the result may differ in the
// last bits, and 0*Inf / Inf-Inf cases may change; the property tests hold it to a relative
// tolerance on finite computations of well-conditioned modules. The default pipelines run it only with --fast-math (-O1/-O2).
#include <unordered_map>
#include <vector>

#include "passes/passes.h"
#include "passes/rebuilder.h"

namespace evoc::passes {

namespace {

// Affines that can fold: every use is a dot operand, and no output reads them.
std::vector<bool> foldable_affines(const ir::Module& m) {
  std::vector<bool> foldable(m.values.size(), false);
  for (std::size_t id = 0; id < m.values.size(); ++id) foldable[id] = m.values[id].op == ir::Op::Affine;
  for (const ir::Value& v : m.values)
    if (v.op != ir::Op::Dot)
      for (ir::ValueId a : v.args) foldable[a] = false;
  for (ir::ValueId out : m.outputs) foldable[out] = false;
  return foldable;
}

}  // namespace

void fold_affine(ir::Module& m, const PassOptions&, Counters& counters) {
  const std::vector<bool> foldable = foldable_affines(m);
  rebuild(m, [&](Rebuilder& r, ir::ValueId id) -> ir::ValueId {
    const ir::Value& source = r.source().values[id];
    if (foldable[id]) return Rebuilder::kDropped;  // every user folds it away
    if (source.op != ir::Op::Dot) return r.emit(r.renamed(id));
    double bias = ir::dot_bias(source);
    std::vector<ir::ValueId> args;  // new ids
    std::vector<double> weights;
    std::unordered_map<ir::ValueId, std::size_t> position;  // operand -> index in args
    bool changed = false;
    auto add_term = [&](ir::ValueId operand, double w) {
      auto [it, fresh] = position.try_emplace(operand, args.size());
      if (fresh) {
        args.push_back(operand);
        weights.push_back(w);
        return;
      }
      weights[it->second] += w;
      counters.add("duplicate dot terms merged");
      changed = true;
    };
    for (std::size_t i = 0; i < source.args.size(); ++i) {
      const ir::ValueId old = source.args[i];
      const float w = source.imms[i];
      const ir::Value& operand = r.source().values[old];
      if (foldable[old]) {
        bias += static_cast<double>(w) * ir::affine_shift(operand);
        add_term(r[operand.args[0]], static_cast<double>(w * ir::affine_scale(operand)));
        counters.add("affine terms folded into dot");
        changed = true;
      } else if (auto c = r.constant(r[old])) {
        bias += static_cast<double>(w) * *c;
        counters.add("constant dot terms folded into bias");
        changed = true;
      } else {
        add_term(r[old], w);
      }
    }
    if (!changed) return r.emit(r.renamed(id));
    if (args.empty()) return r.emit_const(static_cast<float>(bias));
    ir::Value folded{ir::Op::Dot, args, {}};
    for (double w : weights) folded.imms.push_back(static_cast<float>(w));
    folded.imms.push_back(static_cast<float>(bias));
    return r.emit(std::move(folded));
  });
}

}  // namespace evoc::passes
