// const-fold: evaluates every value whose operands are all constants, and folds the leading
// constant terms of a dot into its bias. Models exported with frozen normalisation and pruned
// inputs are full of such values; folding them leaves less for the code generator to emit.
//
// Exactness: exact. Results come from the same scalar semantics the interpreter runs
// (ir/scalar.h instantiated with FloatArith), so a folded constant has the bits the interpreter
// would compute, NaN and Inf included. A dot is evaluated as acc = bias; acc += w_i * v_i in
// order, so folding a *prefix* of constant terms into the bias performs exactly the additions
// the interpreter would; constant terms after a non-constant one would need reassociation and
// are left to fold-affine.
#include <vector>

#include "ir/scalar.h"
#include "passes/passes.h"
#include "passes/rebuilder.h"

namespace evoc::passes {

namespace {

// The new id of `v` after folding, given that its operands are already renamed.
ir::ValueId fold_value(Rebuilder& r, ir::Value v, Counters& counters) {
  std::vector<float> c;
  for (ir::ValueId a : v.args) {
    if (auto k = r.constant(a)) c.push_back(*k);
    else break;
  }
  const bool all_constant = c.size() == v.args.size();
  ir::FloatArith arith;
  switch (v.op) {
    case ir::Op::Input:
    case ir::Op::Const: return r.emit(std::move(v));
    case ir::Op::Affine:
      if (!all_constant) break;
      counters.add("values folded to constants");
      return r.emit_const(ir::scalar::affine(arith, c[0], ir::affine_scale(v), ir::affine_shift(v)));
    case ir::Op::Dot: {
      if (c.empty() && !all_constant) break;
      const float bias = ir::scalar::dot(arith, c.size(), [&](std::size_t i) { return c[i]; }, v.imms.data(),
                                         ir::dot_bias(v));
      if (all_constant) {
        counters.add("values folded to constants");
        return r.emit_const(bias);
      }
      counters.add("dot terms folded into bias", static_cast<double>(c.size()));
      v.args.erase(v.args.begin(), v.args.begin() + static_cast<std::ptrdiff_t>(c.size()));
      v.imms.erase(v.imms.begin(), v.imms.begin() + static_cast<std::ptrdiff_t>(c.size()));
      v.imms.back() = bias;
      break;
    }
    default:
      if (!all_constant) break;
      counters.add("values folded to constants");
      return r.emit_const(ir::is_unary(v.op) ? ir::eval_unary(v.op, c[0]) : ir::eval_binary(v.op, c[0], c[1]));
  }
  return r.emit(std::move(v));
}

}  // namespace

void fold_constants(ir::Module& m, const PassOptions&, Counters& counters) {
  rebuild(m, [&](Rebuilder& r, ir::ValueId id) { return fold_value(r, r.renamed(id), counters); });
}

}  // namespace evoc::passes
