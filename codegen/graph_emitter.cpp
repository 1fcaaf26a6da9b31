// The graph emitter (see graph_emitter.h).
#include "codegen/graph_emitter.h"

#include <optional>
#include <utility>

#include "ir/scalar.h"

namespace evoc::codegen {
namespace {

/// For min/max with an operand that is a constant other than NaN and zero, the operand's index
/// (ir::scalar::minmax_constant computes the same bits with fewer operations).
std::optional<std::size_t> minmax_constant_operand(const ir::Module& m, const ir::Value& v) {
  if (v.op != ir::Op::Min && v.op != ir::Op::Max) return std::nullopt;
  for (std::size_t k = 0; k < 2; ++k) {
    const ir::Value& operand = m.values[v.args[k]];
    if (operand.op == ir::Op::Const && ir::scalar::minmax_constant_applies(ir::const_value(operand))) return k;
  }
  return std::nullopt;
}

}  // namespace

// With stream_dots, term i of a dot is added right after its operand is computed (and terms
// 0..i-1 are in). The partial sums of a wide dot (the head) then overlap with the rest of the
// graph, the sums of several heads over the same operands advance side by side (iris, 3 heads
// of 32 terms: 4.85 -> 4.3 ns/row on a CPU), and operands can die early instead of all being
// live at once.
std::vector<llvm::Value*> emit_graph(llvm::IRBuilder<>& b, const ir::Module& m, const std::vector<bool>& live,
                                     const GraphShape& shape, const std::vector<llvm::Value*>& inputs,
                                     UnaryEmitter unary, const ConstantSource& constants,
                                     const OutputSink& store_output) {
  LlvmArith a(b, shape.width, shape.native_floor);
  if (constants) a.set_constant_source(constants);
  const std::size_t n_values = m.values.size();
  std::vector<llvm::Value*> value(n_values, nullptr);
  // outputs_of[v]: the outputs that read value v (for store_output).
  std::vector<std::vector<std::size_t>> outputs_of(store_output ? n_values : 0);
  if (store_output)
    for (std::size_t o = 0; o < m.outputs.size(); ++o) outputs_of[m.outputs[o]].push_back(o);
  // Per dot: its running sums; waiting[v]: dots whose next term reads value v.
  std::vector<ir::scalar::DotSum<LlvmArith>> sum(n_values);
  std::vector<std::vector<ir::ValueId>> waiting(n_values);
  auto advance = [&](ir::ValueId d) {
    const ir::Value& dot = m.values[d];
    for (std::size_t t = sum[d].terms(); t < dot.args.size() && value[dot.args[t]]; ++t)
      sum[d].add(a, dot.imms[t], value[dot.args[t]]);
    if (const std::size_t t = sum[d].terms(); t < dot.args.size()) waiting[dot.args[t]].push_back(d);
  };
  for (std::size_t id = 0; shape.stream_dots && id < n_values; ++id)
    if (live[id] && m.values[id].op == ir::Op::Dot) advance(static_cast<ir::ValueId>(id));
  for (std::size_t id = 0; id < n_values; ++id) {
    if (!live[id]) continue;
    const ir::Value& v = m.values[id];
    auto arg = [&](std::size_t i) { return value[v.args[i]]; };
    switch (v.op) {
      case ir::Op::Input: value[id] = inputs[id]; break;
      case ir::Op::Const: value[id] = a.c(ir::const_value(v)); break;
      case ir::Op::Affine: value[id] = ir::scalar::affine(a, arg(0), ir::affine_scale(v), ir::affine_shift(v)); break;
      case ir::Op::Dot:  // streamed: complete, since its operands all come before it
        value[id] = shape.stream_dots ? sum[id].finish(a, ir::dot_bias(v))
                                      : ir::scalar::dot(a, v.args.size(), arg, v.imms.data(), ir::dot_bias(v));
        break;
      default:
        if (auto k = minmax_constant_operand(m, v)) {
          value[id] = ir::scalar::minmax_constant(a, v.op, arg(1 - *k), ir::const_value(m.values[v.args[*k]]), *k == 0);
          break;
        }
        value[id] = ir::is_binary(v.op) ? ir::scalar::binary(a, v.op, arg(0), arg(1)) : unary(a, v.op, arg(0));
    }
    std::vector<ir::ValueId> ready = std::move(waiting[id]);
    for (ir::ValueId d : ready) advance(d);
    if (store_output)
      for (std::size_t o : outputs_of[id]) store_output(o, value[id]);
  }
  std::vector<llvm::Value*> outputs;
  if (store_output) return outputs;
  for (ir::ValueId out : m.outputs) outputs.push_back(value[out]);
  return outputs;
}

}  // namespace evoc::codegen
