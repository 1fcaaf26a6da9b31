// The fused minibatch step (trainer/fused_step.h) against the LibTorch step it replaces: for
// random networks of every evolvable op kind, under every normalisation and both tasks, the loss
// and the gradients agree with LibTorch's step in double precision, the running statistics and
// the Adam / AdamW update with its step in float, within 1e-5 of the tensor's scale (1e-6 for the
// update); the recomputed frozen statistics agree likewise; and a default run takes the fused
// path (a run of two layers does not). The fused evaluation computes the exported module.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/core.h>

#include "ir/interpreter.h"
#include "trainer/fused_step.h"
#include "trainer/network.h"
#include "trainer/random.h"

// LibTorch's headers bring glog's CHECK, which aborts; these tests mean doctest's.
#undef CHECK
#define CHECK DOCTEST_CHECK

using namespace evoc;
using namespace evoc::trainer;

namespace {

constexpr int kFeatures = 5;
constexpr int64_t kRows = 64;

/// Every kind an op of a layer may have.
std::vector<ir::Op> evolvable_kinds() {
  std::vector<ir::Op> kinds;
  for (int i = 0; i < ir::kNumOps; ++i) {
    auto kind = static_cast<ir::Op>(i);
    if (ir::is_unary(kind) || ir::is_binary(kind)) kinds.push_back(kind);
  }
  return kinds;
}

/// A one-layer network with `n_ops` random ops (every kind of `kinds` once, in order, when n_ops
/// allows), random scalars, head weights and running statistics. Ops mostly read the op before
/// them and often a scalar, so that every kind's derivative lies on the path from the loss to
/// some scalar (whose gradient the test compares). Log, sqrt and the divisor of div read a
/// positive column: input 0 (positive in the test data) or, where normalisation keeps the sign,
/// the output of an exp or sigmoid. Inputs 3 and 4 are categories, which eq compares.
Network random_network(Norm norm, int outputs, int n_ops, const std::vector<ir::Op>& kinds, Random& random) {
  Network net = make_network(kFeatures, outputs, 1, 1, norm, Activation::Tanh, random, torch::kCPU);
  Layer& layer = net.layers.front();
  std::vector<Operand> positive = {{Operand::Kind::Input, 0}};
  for (int k = 0; k < n_ops; ++k) {
    OpNode op;
    op.kind = k < static_cast<int>(kinds.size()) ? kinds[k] : kinds[random.below(kinds.size())];
    auto column = [&]() {
      auto c = static_cast<int>(random.below(static_cast<uint64_t>(kFeatures + k)));
      return c < kFeatures ? Operand{Operand::Kind::Input, c} : Operand{Operand::Kind::Op, c - kFeatures};
    };
    auto previous_or_column = [&]() {
      return k > 0 && random.below(3) != 0 ? Operand{Operand::Kind::Op, k - 1} : column();
    };
    auto positive_column = [&]() { return positive[positive.size() - 1 - random.below(std::min<std::size_t>(2, positive.size()))]; };
    // Scalars only where the output still varies over the rows (a constant column's batch
    // normalisation amplifies the rounding of its mean, which no two paths share).
    const bool arithmetic = op.kind == ir::Op::Add || op.kind == ir::Op::Sub || op.kind == ir::Op::Mul;
    const bool scalar_a = (arithmetic || op.kind == ir::Op::Div) && random.below(3) == 0;
    const bool scalar_b = !scalar_a && (arithmetic || op.kind == ir::Op::FillNan) && random.below(2) == 0;
    const bool needs_positive = op.kind == ir::Op::Log || op.kind == ir::Op::Sqrt;
    op.a = needs_positive ? positive_column() : scalar_a ? Operand{Operand::Kind::Scalar, 0} : previous_or_column();
    op.b = op.kind == ir::Op::Div ? positive_column()
           : scalar_b             ? Operand{Operand::Kind::Scalar, 1}
           : !scalar_a && random.below(5) == 0 ? op.a  // min / max of one column: a tie on every row
                                               : column();
    if (ir::is_unary(op.kind)) op.b = op.a;
    // eq reads the categorical inputs (a comparison of computed columns flips with their rounding).
    if (op.kind == ir::Op::Eq) {
      op.a = {Operand::Kind::Input, 3};
      op.b = random.below(2) ? Operand{Operand::Kind::Input, 4} : Operand{Operand::Kind::Scalar, 1};
    }
    if (norm != Norm::Batch && (op.kind == ir::Op::Exp || op.kind == ir::Op::Sigmoid))
      positive.push_back({Operand::Kind::Op, k});
    const float s0 = static_cast<float>(random.normal()), s1 = static_cast<float>(random.normal());
    add_op(layer, op, {s0, op.kind == ir::Op::Eq ? 1.0f : s1},
           static_cast<float>(random.normal()), 1.0f + static_cast<float>(random.uniform()));
  }
  torch::NoGradGuard no_grad;
  layer.weight.value.copy_(torch::randn(layer.weight.value.sizes()));
  return net;
}

double worst_ratio = 0;  ///< the largest error seen, as a share of its tolerance

/// Largest |actual - expected| over the elements.
double largest_difference(const torch::Tensor& expected, const torch::Tensor& actual) {
  torch::Tensor e = expected.detach().to(torch::kDouble).flatten(), a = actual.detach().to(torch::kDouble).flatten();
  REQUIRE(e.numel() == a.numel());
  return e.numel() ? (e - a).abs().max().item<double>() : 0.0;
}

/// |actual - expected| <= tolerance * max(1, largest |expected|), element by element; or, when
/// `peer` (LibTorch's float step) is given, no more than four times the peer's own difference from
/// `expected` (LibTorch's double step) where that is larger: a random network can be ill
/// conditioned (a difference of nearly equal columns), and then no float path meets a fixed
/// tolerance, but a wrong derivative is still far off.
void check_close(const torch::Tensor& expected, const torch::Tensor& actual, const char* what, double tolerance = 1e-5,
                 const torch::Tensor& peer = {}) {
  const double scale = std::max(1.0, expected.numel() ? expected.detach().abs().max().item<double>() : 0.0);
  const double error = largest_difference(expected, actual);
  const double allowed = std::max(tolerance * scale, peer.defined() ? 4 * largest_difference(expected, peer) : 0.0);
  INFO(std::string(what) << ": largest difference " << error << " at scale " << scale << ", allowed " << allowed);
  CHECK(error <= allowed);
  worst_ratio = std::max(worst_ratio, error / (tolerance * scale));
}

torch::Tensor as_tensor(const std::vector<float>& v, const torch::Tensor& like) {
  return torch::tensor(v).reshape(like.sizes());
}

/// A copy of `net` in double precision: LibTorch's step on it is the reference the float
/// paths are compared with (sums of many terms that cancel, such as a scalar operand's gradient,
/// differ between two float paths by more than either differs from the exact value).
Network in_double(const Network& net) {
  Network copy = clone(net);
  for (Layer& layer : copy.layers) {
    for (Param* p : {&layer.scalars, &layer.weight, &layer.bias})
      *p = {p->value.detach().to(torch::kDouble).requires_grad_(true), p->m.to(torch::kDouble), p->v.to(torch::kDouble)};
    layer.running_mean = layer.running_mean.to(torch::kDouble);
    layer.running_var = layer.running_var.to(torch::kDouble);
    layer.plan.reset();
  }
  return copy;
}

/// The LibTorch training step's loss (as evolve.cpp's loss_of).
torch::Tensor torch_loss(const torch::Tensor& out, const torch::Tensor& y, Task task) {
  if (task == Task::Classify) return torch::nn::functional::cross_entropy(out, y);
  return torch::mse_loss(out.squeeze(1), y);
}

/// A few steps of both paths from the same network on the same rows, compared after each.
void compare_steps(Network net, Task task, Optimizer optimizer, float weight_decay, Random& random) {
  const int outputs = net.layers.front().n_out;
  torch::Tensor x = torch::randn({kRows * 2, kFeatures});
  x.select(1, 0).uniform_(0.5, 2.0);
  for (int c : {3, 4}) x.select(1, c).random_(0, 3);  // categories 0, 1, 2
  torch::Tensor y = task == Task::Classify ? torch::randint(0, outputs, {kRows * 2}, torch::kLong)
                                           : torch::randn({kRows * 2});
  const StepTargets targets{task == Task::Regress ? y.data_ptr<float>() : nullptr,
                            task == Task::Classify ? y.data_ptr<int64_t>() : nullptr};
  Network lib = clone(net), fused = clone(net);
  REQUIRE(fused_step_covers(fused));
  FusedGradients g;
  FusedWorkspace w;
  for (int step = 0; step < 3; ++step) {
    std::vector<int64_t> rows;
    for (int64_t i = 0; i < kRows; ++i) rows.push_back(static_cast<int64_t>(random.below(kRows * 2)));
    torch::Tensor index = torch::tensor(rows);
    torch::Tensor loss = torch_loss(forward(lib, x.index_select(0, index), Mode::Train).output,
                                    y.index_select(0, index), task);
    loss.backward();
    Network exact = in_double(fused);  // before the fused step changes the running statistics
    torch::Tensor exact_y = task == Task::Classify ? y : y.to(torch::kDouble);
    torch::Tensor exact_loss = torch_loss(forward(exact, x.index_select(0, index).to(torch::kDouble), Mode::Train).output,
                                          exact_y.index_select(0, index), task);
    exact_loss.backward();
    const double fused_loss = fused_gradients(fused, x.data_ptr<float>(), rows.data(), kRows, task, targets, g, w);
    CAPTURE(step);
    check_close(exact_loss, torch::tensor(fused_loss), "loss", 1e-5, loss);
    Layer& a = lib.layers.front();
    Layer& b = fused.layers.front();
    Layer& e = exact.layers.front();
    CHECK(g.scalars_used == a.scalars.value.grad().defined());
    CHECK(g.scalars_used == e.scalars.value.grad().defined());
    // A scalar's gradient comes back through the whole chain of ops after it: forward rounding,
    // amplified by each normalisation, leaves it a few times less exact than the head's.
    if (g.scalars_used)
      check_close(e.scalars.value.grad(), as_tensor(g.scalars, a.scalars.value), "scalar gradients", 5e-5,
                  a.scalars.value.grad());
    check_close(e.weight.value.grad(), as_tensor(g.weight, a.weight.value), "weight gradients", 1e-5, a.weight.value.grad());
    check_close(e.bias.value.grad(), as_tensor(g.bias, a.bias.value), "bias gradients", 1e-5, a.bias.value.grad());
    check_close(a.running_mean, b.running_mean, "running means");
    check_close(a.running_var, b.running_var, "running variances");
    // The optimiser alone: the fused step given LibTorch's gradients.
    if (g.scalars_used) g.scalars = std::vector<float>(a.scalars.value.grad().data_ptr<float>(),
                                                       a.scalars.value.grad().data_ptr<float>() + g.scalars.size());
    g.weight = std::vector<float>(a.weight.value.grad().data_ptr<float>(), a.weight.value.grad().data_ptr<float>() + g.weight.size());
    g.bias = std::vector<float>(a.bias.value.grad().data_ptr<float>(), a.bias.value.grad().data_ptr<float>() + g.bias.size());
    optimizer_step(lib, optimizer, 0.01f, weight_decay);
    fused_optimizer_step(fused, g, optimizer, 0.01f, weight_decay);
    CHECK(lib.step == fused.step);
    for (auto [p, q, name] : {std::tuple{&a.scalars, &b.scalars, "scalars"}, std::tuple{&a.weight, &b.weight, "weight"},
                              std::tuple{&a.bias, &b.bias, "bias"}}) {
      CAPTURE(name);
      check_close(p->value, q->value, "values", 1e-6);
      check_close(p->m, q->m, "first moments", 1e-6);
      check_close(p->v, q->v, "second moments", 1e-6);
    }
  }
}

}  // namespace

TEST_CASE("the fused step equals LibTorch's: loss, gradients, statistics, Adam, for every op kind and norm") {
  torch::manual_seed(7);
  Random random(11);
  const std::vector<ir::Op> kinds = evolvable_kinds();
  REQUIRE(kinds.size() >= 18);
  for (Norm norm : {Norm::Batch, Norm::L2Batch, Norm::None}) {
    for (Task task : {Task::Regress, Task::Classify}) {
      for (int trial = 0; trial < 16; ++trial) {
        CAPTURE(norm_name(norm));
        CAPTURE(task_name(task));
        CAPTURE(trial);
        // Trial 0: every kind once, in table order; then random orders and mixes of every kind,
        // and every fourth a default network (add and mul only).
        const bool default_kinds = trial % 4 == 3;
        std::vector<ir::Op> pool = default_kinds ? std::vector<ir::Op>{ir::Op::Add, ir::Op::Mul} : kinds;
        if (trial > 0 && !default_kinds) std::shuffle(pool.begin(), pool.end(), std::mt19937(trial));
        const int n_ops = default_kinds ? 10 : static_cast<int>(kinds.size()) + 6;
        Network net = random_network(norm, task == Task::Classify ? 3 : 1, n_ops, pool, random);
        compare_steps(std::move(net), task, trial % 2 ? Optimizer::AdamW : Optimizer::Adam, trial % 3 ? 0.01f : 0.0f,
                      random);
      }
    }
  }
  MESSAGE("largest difference, as a share of the fixed tolerance: " << worst_ratio);
}

TEST_CASE("fused recomputation of the frozen statistics equals LibTorch's, for every op kind and norm") {
  torch::manual_seed(9);
  Random random(13);
  const std::vector<ir::Op> kinds = evolvable_kinds();
  for (Norm norm : {Norm::Batch, Norm::L2Batch}) {
    for (int trial = 0; trial < 8; ++trial) {
      CAPTURE(norm_name(norm));
      CAPTURE(trial);
      std::vector<ir::Op> pool = kinds;
      if (trial > 0) std::shuffle(pool.begin(), pool.end(), std::mt19937(trial));
      Network net = random_network(norm, 2, static_cast<int>(kinds.size()) + 6, pool, random);
      torch::Tensor x = torch::randn({1000, kFeatures});
      x.select(1, 0).uniform_(0.5, 2.0);
      for (int c : {3, 4}) x.select(1, c).random_(0, 3);
      Network lib = clone(net), fused = clone(net), exact = in_double(net);
      {
        torch::NoGradGuard no_grad;
        forward(lib, x, Mode::Recompute);
        forward(exact, x.to(torch::kDouble), Mode::Recompute);
      }
      fused_recompute_statistics(fused, x.data_ptr<float>(), x.size(0));
      const Layer &a = lib.layers.front(), &b = fused.layers.front(), &e = exact.layers.front();
      check_close(e.running_mean, b.running_mean, "means", 1e-5, a.running_mean);
      check_close(e.running_var, b.running_var, "variances", 1e-5, a.running_var);
      // recompute_statistics itself takes the fused path here.
      Network through = clone(net);
      recompute_statistics(through, x);
      CHECK(torch::equal(through.layers.front().running_var, b.running_var));
    }
  }
}

TEST_CASE("the fused step covers a network with no ops, and not one of two layers") {
  Random random(3);
  Network flat = make_network(kFeatures, 2, 1, 1, Norm::Batch, Activation::Tanh, random, torch::kCPU);
  CHECK(fused_step_covers(flat));
  compare_steps(flat, Task::Classify, Optimizer::Adam, 0, random);
  Network deep = make_network(kFeatures, 2, 2, 4, Norm::Batch, Activation::Tanh, random, torch::kCPU);
  CHECK_FALSE(fused_step_covers(deep));
}

TEST_CASE("the scalars step only when LibTorch would give them a gradient") {
  // eq passes none: its scalar alone leaves the scalars without a gradient (and their moments
  // as they are); one op that passes a gradient from a scalar gives them one.
  Random random(5);
  for (bool with_add : {false, true}) {
    CAPTURE(with_add);
    Network net = make_network(kFeatures, 1, 1, 1, Norm::Batch, Activation::Tanh, random, torch::kCPU);
    add_op(net.layers.front(), {ir::Op::Eq, {Operand::Kind::Input, 3}, {Operand::Kind::Scalar, 1}}, {0, 1}, 0, 1);
    add_op(net.layers.front(), {ir::Op::Mul, {Operand::Kind::Input, 1}, {Operand::Kind::Op, 0}}, {0, 0}, 0, 1);
    if (with_add)
      add_op(net.layers.front(), {ir::Op::Add, {Operand::Kind::Scalar, 0}, {Operand::Kind::Op, 1}}, {0.5f, 0}, 0, 1);
    FusedGradients g;
    FusedWorkspace w;
    std::vector<float> x(kRows * kFeatures, 1.0f);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 7) - 3.0f;
    std::vector<float> y(kRows, 0.5f);
    std::vector<int64_t> rows(kRows);
    for (int64_t i = 0; i < kRows; ++i) rows[i] = i;
    fused_gradients(net, x.data(), rows.data(), kRows, Task::Regress, {y.data(), nullptr}, g, w);
    CHECK(g.scalars_used == with_add);
    compare_steps(net, Task::Regress, Optimizer::Adam, 0, random);
  }
}

TEST_CASE("a default run takes the fused step; a run of two layers does not") {
  Dataset data = make_synthetic("interaction", 600);
  Options o;
  o.epochs = 3;
  int64_t before = fused_steps_taken();
  Result r = train(data, o);
  // Every minibatch of the network, and of the pending mutation's parent after epoch 1.
  const int64_t batches = (static_cast<int64_t>(r.split.train.size()) + o.batch - 1) / o.batch;
  CHECK(fused_steps_taken() - before >= o.epochs * batches);
  o.layers = 2;
  before = fused_steps_taken();
  train(data, o);
  CHECK(fused_steps_taken() == before);
}

TEST_CASE("fused evaluation computes the exported module bit for bit, and LibTorch's evaluation within rounding") {
  torch::manual_seed(17);
  Random random(19);
  const std::vector<ir::Op> kinds = evolvable_kinds();
  const int64_t rows = 3 * 256 + 77;  // whole blocks of rows and a part
  for (Norm norm : {Norm::Batch, Norm::L2Batch, Norm::None}) {
    for (int trial = 0; trial < 6; ++trial) {
      CAPTURE(norm_name(norm));
      CAPTURE(trial);
      std::vector<ir::Op> pool = kinds;
      if (trial > 0) std::shuffle(pool.begin(), pool.end(), std::mt19937(trial));
      const int outputs = trial % 2 ? 3 : 1;
      Network net = random_network(norm, outputs, trial == 5 ? 0 : static_cast<int>(kinds.size()) + 6, pool, random);
      torch::Tensor x = torch::randn({rows, kFeatures});
      x.select(1, 0).uniform_(0.5, 2.0);
      for (int c : {3, 4}) x.select(1, c).random_(0, 3);
      fused_recompute_statistics(net, x.data_ptr<float>(), rows);
      std::vector<float> fused(static_cast<std::size_t>(rows * outputs));
      fused_eval_outputs(net, x.data_ptr<float>(), rows, fused.data());

      std::vector<std::string> inputs, names;
      for (int c = 0; c < kFeatures; ++c) inputs.push_back(fmt::format("x{}", c));
      for (int o = 0; o < outputs; ++o) names.push_back(fmt::format("y{}", o));
      const ir::Module m = export_module(net, "eval", inputs, names);  // inputs: scale 1, shift 0
      std::vector<float> interpreted(fused.size());
      ir::interpret(m, x.data_ptr<float>(), rows, kFeatures, interpreted.data(), outputs);
      int differ = 0;
      for (std::size_t i = 0; i < fused.size(); ++i)
        differ += std::bit_cast<uint32_t>(fused[i]) != std::bit_cast<uint32_t>(interpreted[i]) &&
                  !(std::isnan(fused[i]) && std::isnan(interpreted[i]));
      CHECK(differ == 0);

      // On two threads, in blocks: the same bits.
      torch::set_num_threads(2);
      std::vector<float> threaded(fused.size());
      fused_eval_outputs(net, x.data_ptr<float>(), rows, threaded.data());
      torch::set_num_threads(1);
      CHECK(std::memcmp(threaded.data(), fused.data(), fused.size() * sizeof(float)) == 0);

      torch::NoGradGuard no_grad;
      const torch::Tensor lib = forward(net, x, Mode::Eval).output;
      check_close(lib, torch::tensor(fused).reshape(lib.sizes()), "outputs", 1e-4);
    }
  }
}
