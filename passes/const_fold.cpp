// const-fold: evaluates every value whose operands are all constants. Models exported with
// frozen normalisation and pruned inputs are full of such values; folding them leaves less for
// the code generator to emit.
//
// Exactness: exact. Results come from the same scalar semantics the interpreter runs
// (ir/scalar.h instantiated with FloatArith), so a folded constant has the bits the interpreter
// would compute, NaN and Inf included. A dot with some constant terms is left alone: its terms
// are summed in interleaved partial sums with the bias added last (ir/scalar.h), so no constant
// term can be moved into the bias without reassociating; fold-affine does that under fast-math.
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
    case ir::Op::Dot:
      if (!all_constant) break;
      counters.add("values folded to constants");
      return r.emit_const(ir::scalar::dot(arith, c.size(), [&](std::size_t i) { return c[i]; }, v.imms.data(),
                                          ir::dot_bias(v)));
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
