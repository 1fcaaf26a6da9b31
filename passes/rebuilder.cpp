// Rebuilder: forward rewriting of a module into a fresh one (see rebuilder.h).
#include "passes/rebuilder.h"

#include <bit>

namespace evoc::passes {

Rebuilder::Rebuilder(const ir::Module& source) : source_(source), map_(source.values.size(), kDropped) {
  result_.name = source.name;
  result_.input_names = source.input_names;
  result_.output_names = source.output_names;
  result_.metadata = source.metadata;
  result_.values.assign(source.values.begin(), source.values.begin() + source.n_in());
  for (ir::ValueId i = 0; i < source.n_in(); ++i) map_[i] = i;
}

ir::Value Rebuilder::renamed(ir::ValueId old) const {
  ir::Value v = source_.values[old];
  for (ir::ValueId& a : v.args) a = map_[a];
  return v;
}

ir::ValueId Rebuilder::emit(ir::Value v) {
  if (v.op == ir::Op::Const) return emit_const(ir::const_value(v));
  return ir::add_value(result_, std::move(v));
}

ir::ValueId Rebuilder::emit_const(float c) {
  auto [it, inserted] = constants_.try_emplace(std::bit_cast<uint32_t>(c), 0);
  if (inserted) it->second = ir::add_const(result_, c);
  return it->second;
}

std::optional<float> Rebuilder::constant(ir::ValueId id) const {
  const ir::Value& v = result_.values[id];
  if (v.op != ir::Op::Const) return std::nullopt;
  return ir::const_value(v);
}

ir::Module Rebuilder::finish() && {
  for (ir::ValueId out : source_.outputs) result_.outputs.push_back(map_[out]);
  return std::move(result_);
}

}  // namespace evoc::passes
