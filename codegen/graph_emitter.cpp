// The graph emitter (see graph_emitter.h).
#include "codegen/graph_emitter.h"

#include <optional>
#include <unordered_map>
#include <utility>

#include "ir/error.h"
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
                                     const OutputSink& store_output, const GraphPart* part) {
  if (part && (!store_output || shape.stream_dots))
    throw Error("internal error: a part of a graph needs an output sink and no streamed dots");
  LlvmArith a(b, shape.width, shape.native_floor);
  if (constants) a.set_constant_source(constants);
  const std::size_t n_values = m.values.size();
  // value[id - first]: the values computed here (the whole graph: every value).
  const std::size_t first = part ? part->first : 0, end = part ? part->end : n_values;
  std::vector<llvm::Value*> value(end - first, nullptr);
  // A part's inputs, constants and values of earlier parts, on first use.
  std::unordered_map<ir::ValueId, llvm::Value*> outside;
  auto get = [&](ir::ValueId id) -> llvm::Value* {
    const ir::Value& v = m.values[id];
    if (!part || (id >= first && v.op != ir::Op::Input && v.op != ir::Op::Const)) return value[id - first];
    auto [it, added] = outside.try_emplace(id, nullptr);
    if (added) it->second = v.op == ir::Op::Const ? a.c(ir::const_value(v)) : part->read(id);
    return it->second;
  };
  // outputs_of[id - first]: the outputs that read value id (for store_output).
  std::vector<std::vector<std::size_t>> outputs_of(store_output ? end - first : 0);
  if (store_output)
    for (std::size_t o = 0; o < m.outputs.size(); ++o)
      if (m.outputs[o] >= first && m.outputs[o] < end) outputs_of[m.outputs[o] - first].push_back(o);
  // Per dot: its running sums; waiting[v]: dots whose next term reads value v.
  std::vector<ir::scalar::DotSum<LlvmArith>> sum(shape.stream_dots ? n_values : 0);
  std::vector<std::vector<ir::ValueId>> waiting(shape.stream_dots ? n_values : 0);
  auto advance = [&](ir::ValueId d) {
    const ir::Value& dot = m.values[d];
    for (std::size_t t = sum[d].terms(); t < dot.args.size() && value[dot.args[t]]; ++t)
      sum[d].add(a, dot.imms[t], value[dot.args[t]]);
    if (const std::size_t t = sum[d].terms(); t < dot.args.size()) waiting[dot.args[t]].push_back(d);
  };
  for (std::size_t id = 0; shape.stream_dots && id < n_values; ++id)
    if (live[id] && m.values[id].op == ir::Op::Dot) advance(static_cast<ir::ValueId>(id));
  for (std::size_t id = first; id < end; ++id) {
    if (!live[id]) continue;
    const ir::Value& v = m.values[id];
    if (part && (v.op == ir::Op::Input || v.op == ir::Op::Const)) {  // materialised where read
      for (std::size_t o : outputs_of[id - first]) store_output(o, get(static_cast<ir::ValueId>(id)));
      continue;
    }
    auto arg = [&](std::size_t i) { return get(v.args[i]); };
    llvm::Value*& result = value[id - first];
    switch (v.op) {
      case ir::Op::Input: result = inputs[id]; break;
      case ir::Op::Const: result = a.c(ir::const_value(v)); break;
      case ir::Op::Affine: result = ir::scalar::affine(a, arg(0), ir::affine_scale(v), ir::affine_shift(v)); break;
      case ir::Op::Dot:  // streamed: complete, since its operands all come before it
        result = shape.stream_dots ? sum[id].finish(a, ir::dot_bias(v))
                                   : ir::scalar::dot(a, v.args.size(), arg, v.imms.data(), ir::dot_bias(v));
        break;
      default:
        if (auto k = minmax_constant_operand(m, v)) {
          result = ir::scalar::minmax_constant(a, v.op, arg(1 - *k), ir::const_value(m.values[v.args[*k]]), *k == 0);
          break;
        }
        result = ir::is_binary(v.op) ? ir::scalar::binary(a, v.op, arg(0), arg(1)) : unary(a, v.op, arg(0));
    }
    if (shape.stream_dots) {
      std::vector<ir::ValueId> ready = std::move(waiting[id]);
      for (ir::ValueId d : ready) advance(d);
    }
    if (part) part->defined(static_cast<ir::ValueId>(id), result);
    if (store_output)
      for (std::size_t o : outputs_of[id - first]) store_output(o, result);
  }
  std::vector<llvm::Value*> outputs;
  if (store_output) return outputs;
  for (ir::ValueId out : m.outputs) outputs.push_back(value[out]);
  return outputs;
}

}  // namespace evoc::codegen
