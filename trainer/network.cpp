// The evolving network: construction, the levelled forward pass (and the naive one it
// replaces), topology edits that keep optimizer state, Adam/AdamW, export to the IR, and
// exact serialisation. See network.h for the model.
#include "trainer/network.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "ir/error.h"
#include "ir/scalar.h"
#include "trainer/fused_step.h"

namespace evoc::trainer {

namespace {

constexpr double kNormEps = 1e-5;
constexpr double kMomentum = 0.1;

torch::Tensor zeros_like_detached(const torch::Tensor& t) { return torch::zeros_like(t.detach()); }

Param make_param(torch::Tensor value) {
  value = value.detach().requires_grad_(true);
  return {value, zeros_like_detached(value), zeros_like_detached(value)};
}

/// A param from edited value and moment tensors (after a topology edit).
Param param_from(torch::Tensor value, torch::Tensor m, torch::Tensor v) {
  return {value.detach().requires_grad_(true), m, v};
}

std::vector<float> to_floats(const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

torch::Tensor long_tensor(const std::vector<int64_t>& v, torch::Device device) {
  return torch::tensor(v, torch::kLong).to(device);
}

std::shared_ptr<const Plan> make_plan(const Layer& layer) {
  const int n_ops = static_cast<int>(layer.ops.size());
  torch::Device device = layer.weight.value.device();
  std::vector<int> depth(n_ops, 1);
  auto operand_depth = [&](const Operand& o) { return o.kind == Operand::Kind::Op ? depth[o.index] : 0; };
  for (int k = 0; k < n_ops; ++k) {
    const OpNode& op = layer.ops[k];
    depth[k] = 1 + std::max(operand_depth(op.a), ir::is_binary(op.kind) ? operand_depth(op.b) : 0);
  }
  std::vector<int> order(n_ops);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) {
    if (depth[x] != depth[y]) return depth[x] < depth[y];
    return layer.ops[x].kind < layer.ops[y].kind;
  });
  std::vector<int64_t> buffer_of(layer.columns()), natural_of(layer.columns());
  for (int c = 0; c < layer.n_in; ++c) buffer_of[c] = natural_of[c] = c;
  for (int r = 0; r < n_ops; ++r) {
    buffer_of[layer.n_in + order[r]] = layer.n_in + r;
    natural_of[layer.n_in + r] = layer.n_in + order[r];
  }
  auto plan = std::make_shared<Plan>();
  plan->buffer_to_natural = long_tensor(natural_of, device);
  plan->natural_to_buffer = long_tensor(buffer_of, device);
  for (int r = 0; r < n_ops;) {
    int end = r;
    while (end < n_ops && depth[order[end]] == depth[order[r]]) ++end;
    Plan::Level level;
    std::vector<int64_t> ops, col_a, col_b;
    std::vector<uint8_t> scalar_a, scalar_b;
    auto column = [&](const Operand& o) -> int64_t {
      if (o.kind == Operand::Kind::Input) return o.index;
      if (o.kind == Operand::Kind::Op) return buffer_of[layer.n_in + o.index];
      return 0;
    };
    for (int i = r; i < end; ++i) {
      const OpNode& op = layer.ops[order[i]];
      bool binary = ir::is_binary(op.kind);
      const Operand& b = binary ? op.b : op.a;
      ops.push_back(order[i]);
      col_a.push_back(column(op.a));
      col_b.push_back(column(b));
      scalar_a.push_back(op.a.kind == Operand::Kind::Scalar);
      scalar_b.push_back(binary && b.kind == Operand::Kind::Scalar);
      level.binary |= binary;
      if (level.groups.empty() || level.groups.back().kind != op.kind)
        level.groups.push_back({op.kind, i - r, 0});
      ++level.groups.back().count;
    }
    auto mask = [&](const std::vector<uint8_t>& m) {
      if (std::none_of(m.begin(), m.end(), [](uint8_t b) { return b; })) return torch::Tensor();
      return torch::tensor(std::vector<int64_t>(m.begin(), m.end()), torch::kLong)
          .to(torch::kBool).unsqueeze(0).to(device);
    };
    level.ops = long_tensor(ops, device);
    level.col_a = long_tensor(col_a, device);
    level.col_b = long_tensor(col_b, device);
    level.scalar_a = mask(scalar_a);
    level.scalar_b = mask(scalar_b);
    plan->levels.push_back(std::move(level));
    r = end;
  }
  return plan;
}

const Plan& plan_of(Layer& layer) {
  if (!layer.plan) layer.plan = make_plan(layer);
  return *layer.plan;
}

torch::Tensor activate(Activation activation, const torch::Tensor& x) {
  switch (activation) {
    case Activation::Relu: return torch::relu(x);
    case Activation::Tanh: return torch::tanh(x);
    case Activation::Sigmoid: return torch::sigmoid(x);
    case Activation::None: break;
  }
  return x;
}

std::optional<ir::Op> activation_op(Activation activation) {
  switch (activation) {
    case Activation::Relu: return ir::Op::Relu;
    case Activation::Tanh: return ir::Op::Tanh;
    case Activation::Sigmoid: return ir::Op::Sigmoid;
    case Activation::None: break;
  }
  return std::nullopt;
}

/// Operand values of a level: a gather from the buffer, with scalar operands substituted.
torch::Tensor gather(const torch::Tensor& columns, const torch::Tensor& col, const torch::Tensor& is_scalar,
                     const Layer& layer, const torch::Tensor& ops, int slot) {
  torch::Tensor values = columns.index_select(1, col);
  if (!is_scalar.defined()) return values;
  torch::Tensor scalars = layer.scalars.value.index_select(0, ops).select(1, slot).unsqueeze(0);
  return torch::where(is_scalar, scalars, values);
}

/// Tensor addition for ir::scalar::DotSum, which owns the `dot` summation order.
struct TensorSum {
  using V = torch::Tensor;
  V add(const V& a, const V& b) const { return a + b; }
};

/// The head in the IR's `dot` order (ir::scalar::DotSum: term i = w_i * column_i into partial
/// sum i mod kDotPartials, the partials left to right, then the bias). Each operation is
/// rounded, so that evaluation matches the exported module.
torch::Tensor ordered_head(const Layer& layer, const torch::Tensor& natural) {
  const int64_t n = natural.size(1);
  if (n == 0) return layer.bias.value.unsqueeze(0).expand({natural.size(0), layer.n_out});
  TensorSum b;
  ir::scalar::DotSum<TensorSum> sum;
  for (int64_t i = 0; i < n; ++i)
    sum.add_term(b, layer.weight.value.select(1, i).unsqueeze(0) * natural.select(1, i).unsqueeze(1));
  return sum.finish_with(b, layer.bias.value.unsqueeze(0));
}

}  // namespace

int Network::total_ops() const {
  int n = 0;
  for (const Layer& layer : layers) n += static_cast<int>(layer.ops.size());
  return n;
}

Network make_network(int n_features, int n_outputs, int layers, int width, Norm norm,
                     Activation activation, Random& random, torch::Device device) {
  Network net;
  net.norm = norm;
  net.activation = activation;
  int n_in = n_features;
  for (int l = 0; l < layers; ++l) {
    Layer layer;
    layer.n_in = n_in;
    layer.n_out = l + 1 == layers ? n_outputs : width;
    double bound = 1.0 / std::sqrt(static_cast<double>(n_in));
    std::vector<float> w(static_cast<std::size_t>(layer.n_out) * n_in), b(layer.n_out);
    for (float& x : w) x = static_cast<float>((2 * random.uniform() - 1) * bound);
    for (float& x : b) x = static_cast<float>((2 * random.uniform() - 1) * bound);
    auto options = torch::TensorOptions().dtype(torch::kFloat).device(device);
    layer.weight = make_param(torch::tensor(w).reshape({layer.n_out, n_in}).to(device));
    layer.bias = make_param(torch::tensor(b).to(device));
    layer.scalars = make_param(torch::zeros({0, 2}, options));
    layer.running_mean = torch::zeros({0}, options);
    layer.running_var = torch::ones({0}, options);
    net.layers.push_back(std::move(layer));
    n_in = width;
  }
  auto options = torch::TensorOptions().dtype(torch::kFloat).device(device);
  net.in_scale = torch::ones({n_features}, options);
  net.in_shift = torch::zeros({n_features}, options);
  return net;
}

Network clone(const Network& net) {
  Network copy = net;
  auto copy_param = [](Param& p) {
    p.value = p.value.detach().clone().requires_grad_(true);
    p.m = p.m.clone();
    p.v = p.v.clone();
  };
  for (Layer& layer : copy.layers) {
    copy_param(layer.scalars);
    copy_param(layer.weight);
    copy_param(layer.bias);
    layer.running_mean = layer.running_mean.clone();
    layer.running_var = layer.running_var.clone();
  }
  return copy;  // input/output scaling tensors are never modified in place: sharing is safe
}

torch::Tensor apply_op(ir::Op kind, const torch::Tensor& a, const torch::Tensor& b) {
  switch (kind) {
    case ir::Op::Add: return a + b;
    case ir::Op::Sub: return a - b;
    case ir::Op::Mul: return a * b;
    case ir::Op::Div: return a / b;
    case ir::Op::Min: return torch::minimum(a, b);
    case ir::Op::Max: return torch::maximum(a, b);
    case ir::Op::Neg: return -a;
    case ir::Op::Abs: return torch::abs(a);
    case ir::Op::Relu: return torch::relu(a);
    case ir::Op::Tanh: return torch::tanh(a);
    case ir::Op::Sigmoid: return torch::sigmoid(a);
    case ir::Op::Exp: return torch::exp(a);
    case ir::Op::Log: return torch::log(a);
    case ir::Op::Sqrt: return torch::sqrt(a);
    case ir::Op::Square: return a * a;
    case ir::Op::IsNan: return torch::isnan(a).to(a.scalar_type());
    case ir::Op::FillNan: return torch::where(torch::isnan(a), b, a);
    case ir::Op::Eq: return torch::eq(a, b).to(a.scalar_type());
    default: break;
  }
  throw Error(fmt::format("op kind '{}' cannot be an evolved op", ir::op_name(kind)));
}

std::pair<torch::Tensor, torch::Tensor> frozen_norm(const Layer& layer, Norm norm) {
  torch::NoGradGuard no_grad;
  if (norm == Norm::None) return {torch::ones_like(layer.running_var), torch::zeros_like(layer.running_mean)};
  torch::Tensor a = torch::reciprocal(torch::sqrt(layer.running_var + kNormEps));
  if (norm == Norm::L2Batch) return {a, torch::zeros_like(a)};
  return {a, torch::neg(layer.running_mean) * a};
}

torch::Tensor normalise(Layer& layer, Norm norm, const torch::Tensor& raw, const torch::Tensor& ops,
                        Mode mode) {
  if (norm == Norm::None) return raw;
  if (mode == Mode::Recompute) {
    torch::NoGradGuard no_grad;
    if (norm == Norm::Batch) {
      layer.running_mean.index_copy_(0, ops, raw.mean(0));
      layer.running_var.index_copy_(0, ops, raw.var(0, /*unbiased=*/false));
    } else {
      layer.running_var.index_copy_(0, ops, raw.square().mean(0));
    }
    mode = Mode::Eval;
  }
  if (mode == Mode::Eval) {
    auto [a, b] = frozen_norm(layer, norm);
    return raw.mul(a.index_select(0, ops)).add(b.index_select(0, ops));
  }
  const double rows = static_cast<double>(raw.size(0));
  torch::Tensor stat, y;
  if (norm == Norm::Batch) {
    torch::Tensor mean = raw.mean(0);
    torch::Tensor var = raw.var(0, /*unbiased=*/false);
    y = (raw - mean) * torch::rsqrt(var + kNormEps);
    torch::NoGradGuard no_grad;
    torch::Tensor rm = layer.running_mean.index_select(0, ops);
    layer.running_mean.index_copy_(0, ops, rm * (1 - kMomentum) + mean.detach() * kMomentum);
    stat = var.detach() * (rows / std::max(rows - 1, 1.0));
  } else {
    torch::Tensor mean_square = raw.square().mean(0);
    y = raw * torch::rsqrt(mean_square + kNormEps);
    stat = mean_square.detach();
  }
  torch::NoGradGuard no_grad;
  torch::Tensor rv = layer.running_var.index_select(0, ops);
  layer.running_var.index_copy_(0, ops, rv * (1 - kMomentum) + stat * kMomentum);
  return y;
}

Trace forward(Network& net, const torch::Tensor& x, Mode mode, bool keep_columns) {
  Trace trace;
  torch::Tensor input = x;
  for (std::size_t l = 0; l < net.layers.size(); ++l) {
    Layer& layer = net.layers[l];
    const Plan& plan = plan_of(layer);
    torch::Tensor columns = input;
    for (const Plan::Level& level : plan.levels) {
      torch::Tensor a = gather(columns, level.col_a, level.scalar_a, layer, level.ops, 0);
      torch::Tensor b = level.binary ? gather(columns, level.col_b, level.scalar_b, layer, level.ops, 1) : a;
      std::vector<torch::Tensor> parts;
      for (const Plan::Group& g : level.groups)
        parts.push_back(apply_op(g.kind, a.narrow(1, g.start, g.count), b.narrow(1, g.start, g.count)));
      torch::Tensor raw = parts.size() == 1 ? parts[0] : torch::cat(parts, 1);
      columns = torch::cat({columns, normalise(layer, net.norm, raw, level.ops, mode)}, 1);
    }
    if (mode == Mode::Recompute && l + 1 == net.layers.size()) break;  // the statistics are set
    torch::Tensor natural;
    if (keep_columns || mode != Mode::Train)
      natural = plan.levels.empty() ? columns : columns.index_select(1, plan.natural_to_buffer);
    torch::Tensor head;
    if (mode != Mode::Train) {
      head = ordered_head(layer, natural);
    } else {
      torch::Tensor weight = plan.levels.empty() ? layer.weight.value
                                                 : layer.weight.value.index_select(1, plan.buffer_to_natural);
      head = torch::addmm(layer.bias.value, columns, weight.t());
    }
    if (keep_columns) trace.columns.push_back(natural);
    trace.heads.push_back(head);
    input = l + 1 < net.layers.size() ? activate(net.activation, head) : head;
  }
  trace.output = input;
  return trace;
}

torch::Tensor forward_naive(Network& net, const torch::Tensor& x, Mode mode) {
  torch::Tensor input = x;
  for (std::size_t l = 0; l < net.layers.size(); ++l) {
    Layer& layer = net.layers[l];
    torch::Tensor columns = input;
    for (std::size_t k = 0; k < layer.ops.size(); ++k) {
      const OpNode& op = layer.ops[k];
      auto operand = [&](const Operand& o) {
        if (o.kind == Operand::Kind::Scalar)
          return layer.scalars.value[static_cast<int64_t>(k)][o.index].expand({columns.size(0)});
        return columns.select(1, o.kind == Operand::Kind::Input ? o.index : layer.n_in + o.index);
      };
      torch::Tensor a = operand(op.a);
      torch::Tensor raw = apply_op(op.kind, a, ir::is_binary(op.kind) ? operand(op.b) : a);
      torch::Tensor index = torch::full({1}, static_cast<int64_t>(k), torch::TensorOptions().dtype(torch::kLong).device(x.device()));
      columns = torch::cat({columns, normalise(layer, net.norm, raw.unsqueeze(1), index, mode)}, 1);
    }
    torch::Tensor head = torch::addmm(layer.bias.value, columns, layer.weight.value.t());
    input = l + 1 < net.layers.size() ? activate(net.activation, head) : head;
  }
  return input;
}

void recompute_statistics(Network& net, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  if (net.norm == Norm::None || net.total_ops() == 0) return;
  if (fused_step_covers(net, x)) {
    const torch::Tensor rows = x.contiguous();
    fused_recompute_statistics(net, rows.data_ptr<float>(), rows.size(0));
    return;
  }
  forward(net, x, Mode::Recompute);
}

torch::Tensor predict_raw(Network& net, const torch::Tensor& raw) {
  torch::NoGradGuard no_grad;
  torch::Tensor out = forward(net, raw.mul(net.in_scale).add(net.in_shift), Mode::Eval).output;
  if (net.out_scale.defined()) out = out.mul(net.out_scale).add(net.out_shift);
  return out;
}

void add_op(Layer& layer, const OpNode& op, std::array<float, 2> scalars, float mean, float var) {
  torch::NoGradGuard no_grad;
  auto options = layer.weight.value.options();
  torch::Tensor row = torch::tensor({scalars[0], scalars[1]}, options).reshape({1, 2});
  torch::Tensor zero_row = torch::zeros({1, 2}, options);
  layer.scalars = param_from(torch::cat({layer.scalars.value, row}),
                                torch::cat({layer.scalars.m, zero_row}), torch::cat({layer.scalars.v, zero_row}));
  torch::Tensor column = torch::zeros({layer.n_out, 1}, options);
  layer.weight = param_from(torch::cat({layer.weight.value, column}, 1),
                               torch::cat({layer.weight.m, column}, 1), torch::cat({layer.weight.v, column}, 1));
  layer.running_mean = torch::cat({layer.running_mean, torch::full({1}, mean, options)});
  layer.running_var = torch::cat({layer.running_var, torch::full({1}, var, options)});
  layer.ops.push_back(op);
  layer.plan.reset();
}

void remove_op(Layer& layer, int k) {
  torch::NoGradGuard no_grad;
  const int n_ops = static_cast<int>(layer.ops.size());
  std::vector<int64_t> keep_ops, keep_columns;
  for (int j = 0; j < n_ops; ++j)
    if (j != k) keep_ops.push_back(j);
  for (int c = 0; c < layer.columns(); ++c)
    if (c != layer.n_in + k) keep_columns.push_back(c);
  torch::Device device = layer.weight.value.device();
  torch::Tensor rows = long_tensor(keep_ops, device), columns = long_tensor(keep_columns, device);
  auto select = [](const Param& p, int dim, const torch::Tensor& index) {
    return param_from(p.value.index_select(dim, index), p.m.index_select(dim, index),
                         p.v.index_select(dim, index));
  };
  layer.scalars = select(layer.scalars, 0, rows);
  layer.weight = select(layer.weight, 1, columns);
  layer.running_mean = layer.running_mean.index_select(0, rows);
  layer.running_var = layer.running_var.index_select(0, rows);
  layer.ops.erase(layer.ops.begin() + k);
  for (OpNode& op : layer.ops)
    for (Operand* o : {&op.a, &op.b})
      if (o->kind == Operand::Kind::Op && o->index > k) --o->index;
  layer.plan.reset();
}

std::vector<bool> leaf_ops(const Layer& layer) {
  std::vector<bool> leaf(layer.ops.size(), true);
  for (const OpNode& op : layer.ops) {
    if (op.a.kind == Operand::Kind::Op) leaf[op.a.index] = false;
    if (ir::is_binary(op.kind) && op.b.kind == Operand::Kind::Op) leaf[op.b.index] = false;
  }
  return leaf;
}

std::string describe(const Network& net, int l, int k, const std::vector<std::string>& features) {
  const Layer& layer = net.layers[l];
  const OpNode& op = layer.ops[k];
  std::vector<float> scalars = to_floats(layer.scalars.value[k]);
  auto name = [&](const Operand& o) -> std::string {
    switch (o.kind) {
      case Operand::Kind::Input:
        return l == 0 ? features[o.index] : fmt::format("h{}.{}", l, o.index);
      case Operand::Kind::Op: return fmt::format("op{}", o.index);
      case Operand::Kind::Scalar: return fmt::format("{:.3g}", scalars[o.index]);
    }
    return "?";
  };
  std::string where = net.layers.size() > 1 ? fmt::format("L{}:", l + 1) : "";
  if (ir::is_unary(op.kind)) return fmt::format("{}{}({})", where, ir::op_name(op.kind), name(op.a));
  return fmt::format("{}{}({},{})", where, ir::op_name(op.kind), name(op.a), name(op.b));
}

std::vector<Param*> params(Network& net) {
  std::vector<Param*> out;
  for (Layer& layer : net.layers) {
    out.push_back(&layer.scalars);
    out.push_back(&layer.weight);
    out.push_back(&layer.bias);
  }
  return out;
}

void optimizer_step(Network& net, Optimizer optimizer, float lr, float weight_decay) {
  constexpr double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  torch::NoGradGuard no_grad;
  ++net.step;
  const double correction1 = 1 - std::pow(beta1, static_cast<double>(net.step));
  const double correction2 = 1 - std::pow(beta2, static_cast<double>(net.step));
  for (Param* p : params(net)) {
    torch::Tensor grad = p->value.grad();
    if (!grad.defined()) continue;
    if (weight_decay != 0) {
      if (optimizer == Optimizer::AdamW) p->value.mul_(1 - lr * weight_decay);
      else grad = grad + p->value * weight_decay;
    }
    p->m.mul_(beta1).add_(grad, 1 - beta1);
    p->v.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
    torch::Tensor denom = (p->v / correction2).sqrt_().add_(eps);
    p->value.addcdiv_(p->m, denom, -lr / correction1);
    p->value.mutable_grad() = torch::Tensor();
  }
}

int64_t count_parameters(const Network& net) {
  int64_t n = 0;
  for (const Layer& layer : net.layers) {
    n += layer.weight.value.numel() + layer.bias.value.numel();
    for (const OpNode& op : layer.ops)
      n += (op.a.kind == Operand::Kind::Scalar) + (ir::is_binary(op.kind) && op.b.kind == Operand::Kind::Scalar);
  }
  return n;
}

ir::Module export_module(const Network& net, const std::string& name,
                         const std::vector<std::string>& inputs,
                         const std::vector<std::string>& outputs) {
  ir::Module m = ir::make_module(name, inputs.size(), inputs);
  std::vector<float> in_scale = to_floats(net.in_scale), in_shift = to_floats(net.in_shift);
  std::vector<ir::ValueId> current;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    current.push_back(ir::add_affine(m, static_cast<ir::ValueId>(i), in_scale[i], in_shift[i]));
  for (std::size_t l = 0; l < net.layers.size(); ++l) {
    const Layer& layer = net.layers[l];
    auto [norm_scale, norm_shift] = frozen_norm(layer, net.norm);
    std::vector<float> a = to_floats(norm_scale), b = to_floats(norm_shift);
    std::vector<float> scalars = to_floats(layer.scalars.value);
    std::vector<ir::ValueId> columns = current;
    for (std::size_t k = 0; k < layer.ops.size(); ++k) {
      const OpNode& op = layer.ops[k];
      auto operand = [&](const Operand& o) {
        switch (o.kind) {
          case Operand::Kind::Input: return columns[o.index];
          case Operand::Kind::Op: return columns[layer.n_in + o.index];
          case Operand::Kind::Scalar: break;
        }
        return ir::add_const(m, scalars[2 * k + o.index]);
      };
      ir::ValueId v = ir::is_unary(op.kind) ? ir::add_unary(m, op.kind, operand(op.a))
                                            : ir::add_binary(m, op.kind, operand(op.a), operand(op.b));
      if (net.norm != Norm::None) v = ir::add_affine(m, v, a[k], b[k]);
      columns.push_back(v);
    }
    std::vector<float> weight = to_floats(layer.weight.value), bias = to_floats(layer.bias.value);
    current.clear();
    for (int o = 0; o < layer.n_out; ++o) {
      std::span<const float> row(&weight[static_cast<std::size_t>(o) * columns.size()], columns.size());
      ir::ValueId v = ir::add_dot(m, columns, row, bias[o]);
      if (l + 1 < net.layers.size())
        if (auto act = activation_op(net.activation)) v = ir::add_unary(m, *act, v);
      current.push_back(v);
    }
  }
  if (net.out_scale.defined()) {
    std::vector<float> scale = to_floats(net.out_scale), shift = to_floats(net.out_shift);
    for (std::size_t o = 0; o < current.size(); ++o)
      current[o] = ir::add_affine(m, current[o], scale[o], shift[o]);
  }
  for (std::size_t o = 0; o < current.size(); ++o) ir::add_output(m, current[o], outputs[o]);
  return m;
}

// ---- serialisation ---------------------------------------------------------------------

namespace {

nlohmann::json tensor_to_json(const torch::Tensor& t) {
  std::vector<float> values = to_floats(t);
  std::vector<uint32_t> bits(values.size());
  if (!values.empty()) std::memcpy(bits.data(), values.data(), values.size() * sizeof(float));
  return {{"shape", t.sizes().vec()}, {"bits", bits}};
}

torch::Tensor tensor_from_json(const nlohmann::json& j, torch::Device device) {
  auto shape = j.at("shape").get<std::vector<int64_t>>();
  auto bits = j.at("bits").get<std::vector<uint32_t>>();
  std::vector<float> values(bits.size());
  if (!bits.empty()) std::memcpy(values.data(), bits.data(), bits.size() * sizeof(float));
  return torch::tensor(values, torch::kFloat).reshape(shape).to(device);
}

nlohmann::json param_to_json(const Param& p) {
  return {{"value", tensor_to_json(p.value)}, {"m", tensor_to_json(p.m)}, {"v", tensor_to_json(p.v)}};
}

Param param_from_json(const nlohmann::json& j, torch::Device device) {
  return param_from(tensor_from_json(j.at("value"), device), tensor_from_json(j.at("m"), device),
                       tensor_from_json(j.at("v"), device));
}

nlohmann::json operand_to_json(const Operand& o) { return {static_cast<int>(o.kind), o.index}; }
Operand operand_from_json(const nlohmann::json& j) {
  return {static_cast<Operand::Kind>(j.at(0).get<int>()), j.at(1).get<int>()};
}

}  // namespace

nlohmann::json network_to_json(const Network& net) {
  nlohmann::json layers = nlohmann::json::array();
  for (const Layer& layer : net.layers) {
    nlohmann::json ops = nlohmann::json::array();
    for (const OpNode& op : layer.ops)
      ops.push_back({std::string(ir::op_name(op.kind)), operand_to_json(op.a), operand_to_json(op.b)});
    layers.push_back({{"n_in", layer.n_in}, {"n_out", layer.n_out}, {"ops", ops},
                      {"scalars", param_to_json(layer.scalars)}, {"weight", param_to_json(layer.weight)},
                      {"bias", param_to_json(layer.bias)},
                      {"running_mean", tensor_to_json(layer.running_mean)},
                      {"running_var", tensor_to_json(layer.running_var)}});
  }
  nlohmann::json j = {{"norm", norm_name(net.norm)}, {"activation", activation_name(net.activation)},
                      {"step", net.step}, {"layers", layers},
                      {"in_scale", tensor_to_json(net.in_scale)}, {"in_shift", tensor_to_json(net.in_shift)}};
  if (net.out_scale.defined()) {
    j["out_scale"] = tensor_to_json(net.out_scale);
    j["out_shift"] = tensor_to_json(net.out_shift);
  }
  return j;
}

Network network_from_json(const nlohmann::json& j, torch::Device device) {
  Network net;
  net.norm = parse_norm(j.at("norm"));
  net.activation = parse_activation(j.at("activation"));
  net.step = j.at("step");
  for (const auto& jl : j.at("layers")) {
    Layer layer;
    layer.n_in = jl.at("n_in");
    layer.n_out = jl.at("n_out");
    for (const auto& jo : jl.at("ops")) {
      auto kind = ir::op_from_name(jo.at(0).get<std::string>());
      if (!kind) throw Error("checkpoint: unknown op kind");
      layer.ops.push_back({*kind, operand_from_json(jo.at(1)), operand_from_json(jo.at(2))});
    }
    layer.scalars = param_from_json(jl.at("scalars"), device);
    layer.weight = param_from_json(jl.at("weight"), device);
    layer.bias = param_from_json(jl.at("bias"), device);
    layer.running_mean = tensor_from_json(jl.at("running_mean"), device);
    layer.running_var = tensor_from_json(jl.at("running_var"), device);
    net.layers.push_back(std::move(layer));
  }
  net.in_scale = tensor_from_json(j.at("in_scale"), device);
  net.in_shift = tensor_from_json(j.at("in_shift"), device);
  if (j.contains("out_scale")) {
    net.out_scale = tensor_from_json(j.at("out_scale"), device);
    net.out_shift = tensor_from_json(j.at("out_shift"), device);
  }
  return net;
}

// ---- TrainedNetwork ------------------------------------------------------------------------

TrainedNetwork::TrainedNetwork(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TrainedNetwork::~TrainedNetwork() = default;

std::vector<float> TrainedNetwork::predict(const float* x, int64_t n) const {
  Network& net = impl_->net;
  int64_t features = net.in_scale.size(0);
  torch::Tensor raw = torch::from_blob(const_cast<float*>(x), {n, features}, torch::kFloat).to(net.device());
  return to_floats(predict_raw(net, raw));
}

}  // namespace evoc::trainer
