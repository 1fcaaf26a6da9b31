// The fused minibatch step (see fused_step.h): forward, loss, backward and Adam in plain loops.
#include "trainer/fused_step.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include <ATen/Parallel.h>

#include "ir/scalar.h"

namespace evoc::trainer {

namespace {

constexpr float kNormEps = 1e-5f;       // normalise()'s epsilon
constexpr float kMomentum = 0.1f;       // normalise()'s running-statistics momentum
constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kAdamEps = 1e-8;  // optimizer_step's

std::atomic<int64_t> steps_taken{0};

/// d r / d a and d r / d b of r = kind(a, b) at one element (r the result), as LibTorch's
/// autograd differentiates apply_op: the one table of the kinds' derivatives. Where calculus
/// leaves a choice LibTorch's convention holds: min / max give each operand half the gradient
/// on a tie (and both the whole of it when either is NaN), relu and abs have slope 0 at 0, and
/// eq / isnan pass no gradient (nor do Input / Const / Affine / Dot, which are never evolved ops).
struct Partials {
  float da = 0, db = 0;
};
Partials partials(ir::Op kind, float a, float b, float r) {
  switch (kind) {
    case ir::Op::Add: return {1, 1};
    case ir::Op::Sub: return {1, -1};
    case ir::Op::Mul: return {b, a};
    case ir::Op::Div: return {1 / b, -a / (b * b)};
    case ir::Op::Min: return a == b ? Partials{0.5f, 0.5f} : Partials{a > b ? 0.0f : 1.0f, a < b ? 0.0f : 1.0f};
    case ir::Op::Max: return a == b ? Partials{0.5f, 0.5f} : Partials{a < b ? 0.0f : 1.0f, a > b ? 0.0f : 1.0f};
    case ir::Op::FillNan: return std::isnan(a) ? Partials{0, 1} : Partials{1, 0};
    case ir::Op::Neg: return {-1, 0};
    case ir::Op::Abs: return {a > 0 ? 1.0f : a < 0 ? -1.0f : 0.0f, 0};
    case ir::Op::Relu: return {r > 0 ? 1.0f : 0.0f, 0};
    case ir::Op::Tanh: return {1 - r * r, 0};
    case ir::Op::Sigmoid: return {(1 - r) * r, 0};
    case ir::Op::Exp: return {r, 0};
    case ir::Op::Log: return {1 / a, 0};
    case ir::Op::Sqrt: return {1 / (2 * r), 0};
    case ir::Op::Square: return {2 * a, 0};
    default: break;
  }
  return {};
}

/// Whether any gradient flows through `kind` (to its operands).
bool passes_gradient(ir::Op kind) { return kind != ir::Op::Eq && kind != ir::Op::IsNan; }

/// Whether LibTorch's autograd gives the scalars of `layer` a gradient. forward() gathers the
/// operands of a level in one tensor per slot (a, b); a slot gathers from the scalars when an op
/// of the level has a scalar there, and the whole gathered tensor, so the scalars, then get a
/// gradient if any op of the level that reads the slot passes one.
bool scalars_get_gradient(const Layer& layer) {
  const int n = static_cast<int>(layer.ops.size());
  std::vector<int> depth(n, 1);
  int levels = 0;
  for (int k = 0; k < n; ++k) {
    const OpNode& op = layer.ops[k];
    auto of = [&](const Operand& o) { return o.kind == Operand::Kind::Op ? depth[o.index] : 0; };
    depth[k] = 1 + std::max(of(op.a), ir::is_binary(op.kind) ? of(op.b) : 0);
    levels = std::max(levels, depth[k]);
  }
  for (int level = 1; level <= levels; ++level) {
    bool scalar_a = false, scalar_b = false, any_binary = false, passes = false, passes_binary = false;
    for (int k = 0; k < n; ++k) {
      if (depth[k] != level) continue;
      const OpNode& op = layer.ops[k];
      const bool binary = ir::is_binary(op.kind);
      scalar_a |= op.a.kind == Operand::Kind::Scalar;
      scalar_b |= binary && op.b.kind == Operand::Kind::Scalar;
      any_binary |= binary;
      passes |= passes_gradient(op.kind);
      passes_binary |= binary && passes_gradient(op.kind);
    }
    // Slot a is read by every op of the level; slot b by the binary ones (by all when the level
    // has no binary op, but then no scalar is gathered into it).
    if ((scalar_a && passes) || (scalar_b && any_binary && passes_binary)) return true;
  }
  return false;
}

float* floats(const torch::Tensor& t) { return t.data_ptr<float>(); }

bool usable(const torch::Tensor& t) {
  return t.defined() && t.device().is_cpu() && t.scalar_type() == torch::kFloat && t.is_contiguous();
}

/// The operands of op `k` of `layer` on the `n` rows of a [columns][n] buffer: a column's rows,
/// or (where the pointer is null) one of the op's scalars.
struct OpOperands {
  const float *a = nullptr, *b = nullptr;
  float sa = 0, sb = 0;
  bool binary = false;
};

OpOperands operands_of(const Layer& layer, int k, const float* columns, int64_t n) {
  const OpNode& op = layer.ops[k];
  const float* scalars = floats(layer.scalars.value);
  auto rows_of = [&](const Operand& o) -> const float* {
    if (o.kind == Operand::Kind::Scalar) return nullptr;
    return columns + static_cast<std::size_t>(o.kind == Operand::Kind::Input ? o.index : layer.n_in + o.index) * n;
  };
  OpOperands in;
  in.binary = ir::is_binary(op.kind);
  in.a = rows_of(op.a);
  in.b = in.binary ? rows_of(op.b) : nullptr;
  in.sa = op.a.kind == Operand::Kind::Scalar ? scalars[2 * k + op.a.index] : 0.0f;
  in.sb = in.binary && op.b.kind == Operand::Kind::Scalar ? scalars[2 * k + op.b.index] : 0.0f;
  return in;
}

/// An operand of an op over rows: a column, or one scalar for every row.
struct ColumnRows {
  const float* p;
  float operator[](int64_t i) const { return p[i]; }
};
struct ScalarRows {
  float v;
  float operator[](int64_t) const { return v; }
};

/// raw[i] = K(a[i], b[i]) for a kind known at compile time: the kind's switch in ir/scalar.h
/// folds away and the loop is the kind's arithmetic alone (flatten inlines it whole), which the
/// compiler may vectorise without changing a bit (no reassociation, no contraction).
template <ir::Op K, int Arity, class A, class B>
[[gnu::flatten]] void kind_rows(A a, B b, int64_t n, float* raw) {
  ir::FloatArith arith;
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (Arity == 2) raw[i] = ir::scalar::binary(arith, K, a[i], b[i]);
    else raw[i] = ir::scalar::unary(arith, K, a[i]);
  }
}

template <ir::Op K, int Arity, int Immediates>
void kind_rows(const OpOperands& in, int64_t n, float* raw) {
  if constexpr ((Arity == 1 || Arity == 2) && Immediates == 0) {
    const ColumnRows a{in.a}, b{in.b};
    const ScalarRows sa{in.sa}, sb{in.sb};
    if constexpr (Arity == 1) {
      if (in.a) kind_rows<K, 1>(a, a, n, raw);
      else kind_rows<K, 1>(sa, sa, n, raw);
    } else if (in.a && in.b) {
      kind_rows<K, 2>(a, b, n, raw);
    } else if (in.a) {
      kind_rows<K, 2>(a, sb, n, raw);
    } else if (in.b) {
      kind_rows<K, 2>(sa, b, n, raw);
    } else {
      kind_rows<K, 2>(sa, sb, n, raw);
    }
  }
}

/// Op `k` of `layer` on the `n` rows of the [columns][n] buffer `columns`, into `raw`, in the
/// IR's scalar semantics (as the exported module computes it).
void op_outputs(const Layer& layer, int k, const float* columns, int64_t n, float* raw) {
  const OpOperands in = operands_of(layer, k, columns, n);
  switch (layer.ops[k].kind) {
#define EVOC_OP(Enum, name, arity, immediates, flags, identity, absorbing) \
  case ir::Op::Enum:                                                      \
    kind_rows<ir::Op::Enum, arity, immediates>(in, n, raw);               \
    return;
#include "ir/ops.def"
#undef EVOC_OP
  }
}

/// The frozen normalisation of an op with running statistics `mean` and `var`, as frozen_norm()
/// computes it: z = raw * scale + shift.
std::pair<float, float> frozen_map(Norm norm, float mean, float var) {
  const float scale = 1.0f / std::sqrt(var + kNormEps);
  return {scale, norm == Norm::Batch ? -mean * scale : 0.0f};
}

/// Rows per block of an evaluation: the block's columns stay in the core's caches.
constexpr int64_t kEvalBlock = 256;

/// The normalisation of op outputs `raw[0..n)` in training mode, in place into `z`; records the
/// affine map and updates the running statistics of op `k` as normalise() does.
void normalise_train(Layer& layer, Norm norm, int k, const float* raw, float* z, int64_t n, float& centre,
                     float& scale) {
  if (norm == Norm::None) {
    std::copy(raw, raw + n, z);
    centre = 0;
    scale = 1;
    return;
  }
  float* running_mean = floats(layer.running_mean);
  float* running_var = floats(layer.running_var);
  const double rows = static_cast<double>(n);
  if (norm == Norm::Batch) {
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += raw[i];
    const float mean = static_cast<float>(sum / rows);
    double squares = 0;
    for (int64_t i = 0; i < n; ++i) squares += (double(raw[i]) - mean) * (double(raw[i]) - mean);
    const float var = static_cast<float>(squares / rows);
    centre = mean;
    scale = 1 / std::sqrt(var + kNormEps);
    running_mean[k] = running_mean[k] * (1 - kMomentum) + mean * kMomentum;
    const float stat = var * static_cast<float>(rows / std::max(rows - 1, 1.0));
    running_var[k] = running_var[k] * (1 - kMomentum) + stat * kMomentum;
  } else {
    double squares = 0;
    for (int64_t i = 0; i < n; ++i) squares += double(raw[i]) * raw[i];
    const float mean_square = static_cast<float>(squares / rows);
    centre = 0;
    scale = 1 / std::sqrt(mean_square + kNormEps);
    running_var[k] = running_var[k] * (1 - kMomentum) + mean_square * kMomentum;
  }
  for (int64_t i = 0; i < n; ++i) z[i] = (raw[i] - centre) * scale;
}

/// The gradient w.r.t. the op outputs `raw` from the gradient `dz` w.r.t. their normalised
/// values `z` (in place): batch norm dr = s (dz - mean(dz) - z mean(dz z)); l2batch
/// dr = s (dz - z mean(dz z)); none dr = dz.
void normalise_backward(Norm norm, const float* z, double* dz, int64_t n, float scale) {
  if (norm == Norm::None) return;
  double sum = 0, dot = 0;
  for (int64_t i = 0; i < n; ++i) {
    sum += dz[i];
    dot += dz[i] * z[i];
  }
  const double mean_dz = norm == Norm::Batch ? sum / static_cast<double>(n) : 0.0;
  const double mean_dot = dot / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) dz[i] = scale * (dz[i] - mean_dz - z[i] * mean_dot);
}

/// The mean loss of `outputs` ([n][n_out]) and its gradient w.r.t. them (in place).
double loss_and_gradient(float* outputs, int64_t n, int n_out, Task task, StepTargets targets, const int64_t* rows) {
  double total = 0;
  const float inv_n = 1.0f / static_cast<float>(n);
  if (task == Task::Classify) {
    for (int64_t i = 0; i < n; ++i) {
      float* o = outputs + i * n_out;
      const int64_t label = targets.labels[rows[i]];
      float top = o[0];
      for (int c = 1; c < n_out; ++c) top = std::max(top, o[c]);
      double sum = 0;
      for (int c = 0; c < n_out; ++c) sum += std::exp(double(o[c]) - top);
      const double log_sum = std::log(sum) + top;
      total += log_sum - o[label];
      for (int c = 0; c < n_out; ++c)
        o[c] = (static_cast<float>(std::exp(double(o[c]) - log_sum)) - (c == label ? 1.0f : 0.0f)) * inv_n;
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const float d = outputs[i] - targets.values[rows[i]];
      total += double(d) * d;
      outputs[i] = 2 * d * inv_n;
    }
  }
  return static_cast<float>(total / static_cast<double>(n));
}

/// One Adam / AdamW update of `count` values with gradients `grad` (optimizer_step's arithmetic).
void adam(float* value, float* m, float* v, const float* grad, int64_t count, Optimizer optimizer, float lr,
          float weight_decay, double correction1, double correction2) {
  const float beta1 = static_cast<float>(kBeta1), beta2 = static_cast<float>(kBeta2);
  const float keep1 = static_cast<float>(1 - kBeta1), keep2 = static_cast<float>(1 - kBeta2);
  const float c2 = static_cast<float>(correction2), step = static_cast<float>(-lr / correction1);
  const float eps = static_cast<float>(kAdamEps), decay = static_cast<float>(1 - lr * weight_decay);
  for (int64_t i = 0; i < count; ++i) {
    float g = grad[i];
    if (weight_decay != 0) {
      if (optimizer == Optimizer::AdamW) value[i] *= decay;
      else g = g + value[i] * weight_decay;
    }
    m[i] = m[i] * beta1 + keep1 * g;
    v[i] = v[i] * beta2 + keep2 * g * g;
    const float denom = std::sqrt(v[i] / c2) + eps;
    value[i] = value[i] + step * (m[i] / denom);
  }
}

}  // namespace

bool fused_step_covers(const Network& net) {
  if (net.layers.size() != 1) return false;
  const Layer& layer = net.layers.front();
  for (const torch::Tensor* t : {&layer.scalars.value, &layer.scalars.m, &layer.scalars.v, &layer.weight.value,
                                 &layer.weight.m, &layer.weight.v, &layer.bias.value, &layer.bias.m, &layer.bias.v,
                                 &layer.running_mean, &layer.running_var})
    if (!usable(*t)) return false;
  for (const OpNode& op : layer.ops)
    if (!ir::is_unary(op.kind) && !ir::is_binary(op.kind)) return false;
  return true;
}

bool fused_step_covers(const Network& net, const torch::Tensor& x) {
  return fused_step_covers(net) && x.device().is_cpu() && x.scalar_type() == torch::kFloat;
}

double fused_gradients(Network& net, const float* x, const int64_t* rows, int64_t n, Task task,
                       StepTargets targets, FusedGradients& g, FusedWorkspace& w) {
  Layer& layer = net.layers.front();
  const int n_in = layer.n_in, n_out = layer.n_out, n_ops = static_cast<int>(layer.ops.size());
  const int columns = layer.columns();
  const float* weight = floats(layer.weight.value);  // [n_out][columns], natural order
  const float* bias = floats(layer.bias.value);
  w.columns.resize(static_cast<std::size_t>(columns) * n);
  w.raw.resize(static_cast<std::size_t>(n_ops) * n);
  w.grads.assign(static_cast<std::size_t>(columns) * n, 0.0);
  w.outputs.resize(static_cast<std::size_t>(n_out) * n);
  w.centre.resize(n_ops);
  w.scale.resize(n_ops);
  auto column = [&](int c) { return w.columns.data() + static_cast<std::size_t>(c) * n; };
  auto grad = [&](int c) { return w.grads.data() + static_cast<std::size_t>(c) * n; };

  // Forward: the inputs, then every op in order (an op reads only earlier columns).
  for (int64_t i = 0; i < n; ++i)
    for (int c = 0; c < n_in; ++c) column(c)[i] = x[rows[i] * n_in + c];
  for (int k = 0; k < n_ops; ++k) {
    float* raw = w.raw.data() + static_cast<std::size_t>(k) * n;
    op_outputs(layer, k, w.columns.data(), n, raw);
    normalise_train(layer, net.norm, k, raw, column(n_in + k), n, w.centre[k], w.scale[k]);
  }
  // The head: outputs[i][o] = bias[o] + sum_c weight[o][c] * column c.
  for (int64_t i = 0; i < n; ++i)
    for (int o = 0; o < n_out; ++o) w.outputs[i * n_out + o] = 0;
  for (int o = 0; o < n_out; ++o) {
    for (int c = 0; c < columns; ++c) {
      const float wc = weight[o * columns + c];
      const float* z = column(c);
      for (int64_t i = 0; i < n; ++i) w.outputs[i * n_out + o] += wc * z[i];
    }
    for (int64_t i = 0; i < n; ++i) w.outputs[i * n_out + o] += bias[o];
  }
  const double loss = loss_and_gradient(w.outputs.data(), n, n_out, task, targets, rows);

  // Backward: the head's parameters, the gradient w.r.t. every op column, then the ops in
  // reverse order (an op's column gradient is complete once every later op has been done).
  g.weight.assign(static_cast<std::size_t>(n_out) * columns, 0.0f);
  g.bias.assign(n_out, 0.0f);
  g.scalars.assign(static_cast<std::size_t>(n_ops) * 2, 0.0f);
  g.scalars_used = scalars_get_gradient(layer);
  for (int o = 0; o < n_out; ++o) {
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += w.outputs[i * n_out + o];
    g.bias[o] = static_cast<float>(sum);
    for (int c = 0; c < columns; ++c) {
      const float* z = column(c);
      double dot = 0;
      for (int64_t i = 0; i < n; ++i) dot += double(w.outputs[i * n_out + o]) * z[i];
      g.weight[o * columns + c] = static_cast<float>(dot);
      if (c < n_in) continue;
      const double wc = weight[o * columns + c];
      double* dz = grad(c);
      for (int64_t i = 0; i < n; ++i) dz[i] += wc * w.outputs[i * n_out + o];
    }
  }
  for (int k = n_ops - 1; k >= 0; --k) {
    const OpNode& op = layer.ops[k];
    if (!passes_gradient(op.kind)) continue;
    double* dr = grad(n_in + k);
    normalise_backward(net.norm, column(n_in + k), dr, n, w.scale[k]);
    const float* raw = w.raw.data() + static_cast<std::size_t>(k) * n;
    const OpOperands in = operands_of(layer, k, w.columns.data(), n);
    const bool binary = in.binary;
    // Where each operand's gradient goes: an op's column, a scalar's sum, or nowhere (inputs).
    double* to_a = op.a.kind == Operand::Kind::Op ? grad(n_in + op.a.index) : nullptr;
    double* to_b = binary && op.b.kind == Operand::Kind::Op ? grad(n_in + op.b.index) : nullptr;
    double scalar_a = 0, scalar_b = 0;
    for (int64_t i = 0; i < n; ++i) {
      const Partials d = partials(op.kind, in.a ? in.a[i] : in.sa, in.b ? in.b[i] : in.sb, raw[i]);
      const double ga = dr[i] * d.da, gb = dr[i] * d.db;
      if (to_a) to_a[i] += ga;
      else scalar_a += ga;
      if (to_b) to_b[i] += gb;
      else scalar_b += gb;
    }
    if (op.a.kind == Operand::Kind::Scalar) g.scalars[2 * k + op.a.index] += static_cast<float>(scalar_a);
    if (binary && op.b.kind == Operand::Kind::Scalar) g.scalars[2 * k + op.b.index] += static_cast<float>(scalar_b);
  }
  return loss;
}

void fused_optimizer_step(Network& net, const FusedGradients& g, Optimizer optimizer, float lr, float weight_decay) {
  Layer& layer = net.layers.front();
  ++net.step;
  const double correction1 = 1 - std::pow(kBeta1, static_cast<double>(net.step));
  const double correction2 = 1 - std::pow(kBeta2, static_cast<double>(net.step));
  auto step = [&](Param& p, const std::vector<float>& grad) {
    adam(floats(p.value), floats(p.m), floats(p.v), grad.data(), static_cast<int64_t>(grad.size()), optimizer, lr,
         weight_decay, correction1, correction2);
  };
  if (g.scalars_used) step(layer.scalars, g.scalars);
  step(layer.weight, g.weight);
  step(layer.bias, g.bias);
  steps_taken.fetch_add(1, std::memory_order_relaxed);
}

void fused_recompute_statistics(Network& net, const float* x, int64_t n) {
  Layer& layer = net.layers.front();
  const int n_in = layer.n_in, n_ops = static_cast<int>(layer.ops.size());
  if (net.norm == Norm::None || n_ops == 0 || n == 0) return;
  float* running_mean = floats(layer.running_mean);
  float* running_var = floats(layer.running_var);
  std::vector<float> columns(static_cast<std::size_t>(layer.columns()) * n);
  auto column = [&](int c) { return columns.data() + static_cast<std::size_t>(c) * n; };
  for (int64_t i = 0; i < n; ++i)
    for (int c = 0; c < n_in; ++c) column(c)[i] = x[i * n_in + c];
  const double rows = static_cast<double>(n);
  for (int k = 0; k < n_ops; ++k) {
    float* out = column(n_in + k);
    op_outputs(layer, k, columns.data(), n, out);
    double sum = 0, squares = 0;
    for (int64_t i = 0; i < n; ++i) {
      sum += out[i];
      squares += double(out[i]) * out[i];
    }
    if (net.norm == Norm::Batch) {
      const double mean = sum / rows;
      double deviations = 0;
      for (int64_t i = 0; i < n; ++i) deviations += (out[i] - mean) * (out[i] - mean);
      running_mean[k] = static_cast<float>(mean);
      running_var[k] = static_cast<float>(deviations / rows);
    } else {
      running_var[k] = static_cast<float>(squares / rows);
    }
    const auto [scale, shift] = frozen_map(net.norm, running_mean[k], running_var[k]);
    for (int64_t i = 0; i < n; ++i) out[i] = out[i] * scale + shift;
  }
}

void fused_eval_outputs(const Network& net, const float* x, int64_t n, float* out) {
  const Layer& layer = net.layers.front();
  const int n_in = layer.n_in, n_out = layer.n_out, n_ops = static_cast<int>(layer.ops.size());
  const int columns = layer.columns();
  const float* weight = floats(layer.weight.value);  // [n_out][columns], natural order
  const float* bias = floats(layer.bias.value);
  std::vector<std::pair<float, float>> maps;
  for (int k = 0; k < n_ops && net.norm != Norm::None; ++k)
    maps.push_back(frozen_map(net.norm, floats(layer.running_mean)[k], floats(layer.running_var)[k]));
  at::parallel_for(0, n, kEvalBlock, [&](int64_t begin, int64_t end) {
    std::vector<float> buffer(static_cast<std::size_t>(columns) * kEvalBlock);
    for (int64_t start = begin; start < end; start += kEvalBlock) {
      const int64_t m = std::min(kEvalBlock, end - start);
      auto column = [&](int c) { return buffer.data() + static_cast<std::size_t>(c) * m; };
      for (int64_t i = 0; i < m; ++i)
        for (int c = 0; c < n_in; ++c) column(c)[i] = x[(start + i) * n_in + c];
      for (int k = 0; k < n_ops; ++k) {
        float* z = column(n_in + k);
        op_outputs(layer, k, buffer.data(), m, z);
        if (net.norm == Norm::None) continue;
        const auto [scale, shift] = maps[k];
        for (int64_t i = 0; i < m; ++i) z[i] = z[i] * scale + shift;
      }
      // The head in the IR's dot order (ir::scalar::DotSum), as ordered_head() and the module.
      ir::FloatArith arith;
      for (int64_t i = 0; i < m; ++i) {
        for (int o = 0; o < n_out; ++o) {
          ir::scalar::DotSum<ir::FloatArith> sum;
          for (int c = 0; c < columns; ++c) sum.add(arith, weight[o * columns + c], column(c)[i]);
          out[(start + i) * n_out + o] = sum.finish(arith, bias[o]);
        }
      }
    }
  });
}

int64_t fused_steps_taken() { return steps_taken.load(std::memory_order_relaxed); }

}  // namespace evoc::trainer
