// fold-affine: folds linear work into the linear heads. Exported models normalise each input
// with an affine (a * v + b, frozen statistics) and then read it in dots; the affine costs a
// multiply and an add per row that the dot's weights can absorb:
//   - a dot term w * affine(v; a, b), where every user of the affine is a dot (and no output
//     reads it), becomes the term (w*a) * v plus w*b added into the bias; the affine goes away.
//     Other ops that are affine in one operand fold the same way: mul by a constant (a = c),
//     add of a constant (b = c), sub of or from a constant, and neg (a = -1);
//   - a dot term w * c on a constant c is added into the bias;
//   - terms on the same operand are merged into one, with the weights summed.
// Bias contributions are summed in double precision and rounded once.
//
// Exactness: rounding-changing. The folded dot computes the same real number in a different
// order (w*(a*v+b) -> (w*a)*v + w*b, bias sums reassociated), so the result may differ in the
// last bits, and 0*Inf / Inf-Inf cases may change; the property tests hold it to a relative
// tolerance on finite computations of well-conditioned modules. Pipelines: -O3, and -O1/-O2 with --fast-math.
#include <cmath>
#include <optional>
#include <unordered_map>
#include <vector>

#include "passes/passes.h"
#include "passes/rebuilder.h"

namespace evoc::passes {

namespace {

// A value that is a * operand + b in real arithmetic.
struct LinearForm {
  ir::ValueId operand;
  double a, b;
};

// The linear form of value `id`, if it is an affine or an op affine in its one non-constant operand.
std::optional<LinearForm> linear_form(const ir::Module& m, ir::ValueId id) {
  const ir::Value& v = m.values[id];
  auto constant = [&](std::size_t i) -> std::optional<double> {
    const ir::Value& operand = m.values[v.args[i]];
    if (operand.op == ir::Op::Const) return ir::const_value(operand);
    return std::nullopt;
  };
  switch (v.op) {
    case ir::Op::Affine: return LinearForm{v.args[0], ir::affine_scale(v), ir::affine_shift(v)};
    case ir::Op::Neg: return LinearForm{v.args[0], -1.0, 0.0};
    case ir::Op::Mul:
    case ir::Op::Add:
    case ir::Op::Sub: {
      const auto c0 = constant(0), c1 = constant(1);
      if (c0.has_value() == c1.has_value()) return std::nullopt;  // both or neither constant
      const ir::ValueId x = c0 ? v.args[1] : v.args[0];
      const double c = c0 ? *c0 : *c1;
      if (v.op == ir::Op::Mul) return LinearForm{x, c, 0.0};
      if (v.op == ir::Op::Add) return LinearForm{x, 1.0, c};
      return c1 ? LinearForm{x, 1.0, -c} : LinearForm{x, -1.0, c};  // x - c, or c - x
    }
    default: return std::nullopt;
  }
}

// Linear values that can fold: every use is a dot operand, and no output reads them.
std::vector<std::optional<LinearForm>> foldable_linear_values(const ir::Module& m) {
  std::vector<std::optional<LinearForm>> foldable(m.values.size());
  for (std::size_t id = 0; id < m.values.size(); ++id) {
    auto form = linear_form(m, static_cast<ir::ValueId>(id));
    if (form && std::isfinite(form->a) && std::isfinite(form->b)) foldable[id] = form;
  }
  for (const ir::Value& v : m.values)
    if (v.op != ir::Op::Dot)
      for (ir::ValueId a : v.args) foldable[a].reset();
  for (ir::ValueId out : m.outputs) foldable[out].reset();
  return foldable;
}

}  // namespace

void fold_affine(ir::Module& m, const PassOptions&, Counters& counters) {
  const std::vector<std::optional<LinearForm>> foldable = foldable_linear_values(m);
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
      if (const auto& form = foldable[old]) {
        bias += static_cast<double>(w) * form->b;
        add_term(r[form->operand], static_cast<double>(w) * form->a);
        counters.add(r.source().values[old].op == ir::Op::Affine ? "affine terms folded into dot"
                                                                  : "linear op terms folded into dot");
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
