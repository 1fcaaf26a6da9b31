// The evolution loop. Each epoch:
//   1. trains the network on minibatches; if a mutation is pending, its parent (the network
//      from before it) trains on the same minibatches alongside;
//   2. decides: accept the mutation if its validation loss is lower than the parent's by
//      --min-gain and by --significance standard errors of the per-row gains, else revert
//      to the parent; keeps the best network seen by validation loss;
//   3. mutates, once the validation loss has set no new best for --patience epochs (0: every
//      epoch): prunes the weakest leaf op (std of its output times the norm of its head
//      column) when it is below --prune-below or the op budget is full, and grows ops chosen
//      from a pool of random candidates by how well their output correlates with the gradient
//      of the loss with respect to the layer's outputs (Cascade-Correlation).
// Alongside, the initial linear network trains on the same minibatches without mutations (the
// model --max-ops 0 trains, bit for bit: mutations draw from their own random stream). The run
// outputs the best evolved network only if it beats the best linear one on the validation rows
// by the task's metric (rows classified correctly, or squared error) by --fallback-significance
// standard errors; otherwise the linear model. Every accepted mutation is a test passed on the
// validation rows and the best of many epochs is selected on them too, so a network grown on
// a small or noisy validation split can look better than it is; the linear model of the same
// run is the null hypothesis it has to reject.
// The whole run state can be checkpointed and resumed bit for bit.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>

#include <fmt/core.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/printer.h"
#include "trainer/network.h"

namespace evoc::trainer {

namespace {

constexpr int64_t kScoringRows = 256;  // rows of the batch that scores candidates and ops
constexpr double kNormEps = 1e-5;

/// One split on the device: standardised features and targets (labels or standardised values).
struct SplitTensors {
  torch::Tensor x, y;
};

/// The complete state of a run between two epochs: what a checkpoint holds.
struct RunState {
  Network net;
  Random random;  ///< the initialisation and the minibatch order
  Random growth;  ///< the mutations
  int epoch = 0;  ///< epochs completed
  int accepted = 0, reverted = 0;
  bool pending = false;      ///< a mutation was made and awaits its verdict
  Network before;            ///< the network (and optimizer state) before it, trained alongside
  double best_val = 0;
  int best_epoch = 0;
  Network best;
  int stale = 0;  ///< epochs since the validation loss last improved on the best by --min-gain
  /// The linear model of the same run (only when ops may grow), and the best of it seen.
  bool has_linear = false;
  Network linear, linear_best;
  double linear_best_val = 0;
  int linear_best_epoch = 0;
};

/// The seed of the mutations' random stream, apart from the one the linear model draws from.
uint64_t growth_seed(uint64_t seed) { return seed ^ 0x6a09e667f3bcc909ull; }

/// The problem after task inference and standardisation.
struct Problem {
  Task task;
  int outputs;
  std::vector<std::string> output_names, classes;
  std::vector<float> in_scale, in_shift;
  float y_mean = 0, y_std = 1;
  Split split;
  SplitTensors train, validation;
};

torch::Device resolve_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda") {
    if (!torch::cuda::is_available())
      throw Error("--device cuda: CUDA is not available (this LibTorch build has no CUDA support "
                  "or no GPU is visible); use --device cpu");
    return torch::kCUDA;
  }
  throw Error(fmt::format("--device: unknown device '{}' (choices: cpu, cuda)", name));
}

void check_options(const Options& o) {
  auto require = [](bool ok, const char* message) {
    if (!ok) throw Error(message);
  };
  require(o.epochs >= 0, "--epochs must be at least 0");
  require(o.lr > 0, "--lr must be positive");
  require(o.batch >= 2, "--batch must be at least 2");
  require(o.weight_decay >= 0, "--weight-decay must be at least 0");
  require(o.max_ops >= 0, "--max-ops must be at least 0");
  require(o.grow >= 0, "--grow must be at least 0");
  require(o.pool >= 1, "--pool must be at least 1");
  require(o.min_gain >= 0 && o.min_gain < 1, "--min-gain must be in [0, 1)");
  require(o.significance >= 0, "--significance must be at least 0");
  require(o.patience >= 0, "--patience must be at least 0");
  require(o.layers >= 1, "--layers must be at least 1");
  require(o.width >= 1, "--width must be at least 1");
  require(!o.ops.empty(), "--ops must name at least one op kind");
  require(o.threads >= 1, "--threads must be at least 1");
  require(o.checkpoint_every >= 1, "--checkpoint-every must be at least 1");
}

/// The options that shape a run's trajectory (all but --epochs and I/O), for --resume checks.
std::string fingerprint(const Options& o) {
  std::vector<std::string_view> ops;
  for (ir::Op op : o.ops) ops.push_back(ir::op_name(op));
  return fmt::format(
      "task={} lr={} batch={} weight-decay={} optimizer={} max-ops={} grow={} pool={} prune-below={} "
      "min-gain={} significance={} fallback-significance={} patience={} layers={} width={} activation={} norm={} ops={} seed={} device={} "
      "split={},{}",
      task_name(o.task), o.lr, o.batch, o.weight_decay, o.optimizer == Optimizer::Adam ? "adam" : "adamw",
      o.max_ops, o.grow, o.pool, o.prune_below, o.min_gain, o.significance, o.fallback_significance, o.patience, o.layers, o.width,
      activation_name(o.activation), norm_name(o.norm), fmt::join(ops, ","), o.seed, o.device,
      o.validation_fraction, o.test_fraction);
}

uint64_t data_hash(const Dataset& data) {
  uint64_t h = 1469598103934665603ull;
  auto bytes = [&](const void* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<const uint8_t*>(p)[i]) * 1099511628211ull;
  };
  for (const auto& name : data.feature_names) bytes(name.data(), name.size() + 1);
  bytes(data.target_name.data(), data.target_name.size());
  bytes(data.features.data(), data.features.size() * sizeof(float));
  bytes(data.target.data(), data.target.size() * sizeof(float));
  return h;
}

Problem make_problem(const Dataset& data, const Options& options, torch::Device device,
                     const Callbacks& callbacks) {
  if (data.rows() == 0 || data.n_features() == 0) throw Error(fmt::format("{}: no data", data.name));
  Problem p;
  p.task = options.task == Task::Auto ? infer_task(data) : options.task;
  if (callbacks.on_info)
    callbacks.on_info(fmt::format("task: {}{}", task_name(p.task), options.task == Task::Auto ? " (inferred)" : ""));
  const std::size_t n_features = data.n_features();
  if (p.task == Task::Classify) {
    float top = 0;
    for (std::size_t r = 0; r < data.rows(); ++r) {
      float y = data.target[r];
      if (!(y >= 0) || y != std::floor(y) || y > 1000)
        throw Error(fmt::format("{}: data row {}: target '{}' = {} is not a class index 0, 1, 2, ...",
                                data.name, r + 1, data.target_name, y));
      top = std::max(top, y);
    }
    p.outputs = static_cast<int>(top) + 1;
    if (p.outputs < 2) throw Error(fmt::format("{}: classification needs at least two classes", data.name));
    for (int c = 0; c < p.outputs; ++c) {  // class names from the table (load_table), else the index
      p.classes.push_back(static_cast<std::size_t>(c) < data.classes.size() ? data.classes[c] : std::to_string(c));
      p.output_names.push_back(fmt::format("{}_{}", data.target_name, p.classes.back()));
    }
  } else {
    p.outputs = 1;
    p.output_names.push_back(data.target_name);
  }
  p.split = split_rows(data.rows(), options.seed, options.validation_fraction, options.test_fraction);

  // Standardisation from the training split, as floats that the export repeats exactly.
  const auto& train_rows = p.split.train;
  const double n = static_cast<double>(train_rows.size());
  for (std::size_t c = 0; c < n_features; ++c) {
    double sum = 0, sq = 0;
    for (uint32_t r : train_rows) sum += data.features[r * n_features + c];
    double mean = sum / n;
    for (uint32_t r : train_rows) {
      double d = data.features[r * n_features + c] - mean;
      sq += d * d;
    }
    double sd = std::sqrt(sq / n);
    float scale = sd > 1e-12 ? static_cast<float>(1.0 / sd) : 1.0f;
    p.in_scale.push_back(scale);
    p.in_shift.push_back(static_cast<float>(-mean * scale));
  }
  if (p.task == Task::Regress) {
    double sum = 0, sq = 0;
    for (uint32_t r : train_rows) sum += data.target[r];
    double mean = sum / n;
    for (uint32_t r : train_rows) sq += (data.target[r] - mean) * (data.target[r] - mean);
    p.y_mean = static_cast<float>(mean);
    p.y_std = static_cast<float>(std::max(std::sqrt(sq / n), 1e-12));
  }
  torch::Tensor scale = torch::tensor(p.in_scale), shift = torch::tensor(p.in_shift);
  auto tensors = [&](const std::vector<uint32_t>& rows) {
    std::vector<float> x = data.feature_rows(rows), y;
    for (uint32_t r : rows)
      y.push_back(p.task == Task::Regress ? (data.target[r] - p.y_mean) / p.y_std : data.target[r]);
    SplitTensors t;
    t.x = torch::tensor(x).reshape({static_cast<int64_t>(rows.size()), static_cast<int64_t>(n_features)})
              .mul(scale).add(shift).to(device);
    t.y = torch::tensor(y).to(device);
    if (p.task == Task::Classify) t.y = t.y.to(torch::kLong);
    return t;
  };
  p.train = tensors(p.split.train);
  p.validation = tensors(p.split.validation);
  return p;
}

torch::Tensor loss_of(const torch::Tensor& out, const torch::Tensor& y, Task task) {
  if (task == Task::Classify) return torch::nn::functional::cross_entropy(out, y);
  return torch::mse_loss(out.squeeze(1), y);
}

/// A network measured on a split.
struct Evaluation {
  double loss = 0;             ///< mean loss (the largest double if not finite)
  double metric = 0;           ///< accuracy, or R^2 (which standardising the target keeps)
  torch::Tensor row_losses;    ///< [rows] double, for paired comparisons
  torch::Tensor correct;       ///< [rows] bool, classification only: the argmax is the label
};

Evaluation evaluate(Network& net, const SplitTensors& split, Task task) {
  torch::NoGradGuard no_grad;
  torch::Tensor out = forward(net, split.x, Mode::Eval).output;
  Evaluation e;
  if (task == Task::Classify) {
    e.row_losses = torch::nn::functional::cross_entropy(
        out, split.y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    e.correct = out.argmax(1).eq(split.y);
    e.metric = e.correct.to(torch::kDouble).mean().item<double>();
  } else {
    torch::Tensor y = split.y.to(torch::kDouble), pred = out.squeeze(1).to(torch::kDouble);
    e.row_losses = (out.squeeze(1) - split.y).square();
    double sst = (y - y.mean()).square().sum().item<double>();
    e.metric = sst > 0 ? 1.0 - (pred - y).square().sum().item<double>() / sst : 0.0;
  }
  e.row_losses = e.row_losses.to(torch::kDouble);
  e.loss = e.row_losses.mean().item<double>();
  if (!std::isfinite(e.loss)) e.loss = std::numeric_limits<double>::max();
  return e;
}

/// The verdict on a mutation: its validation loss must be lower than its parent's by the
/// fraction `min_gain` and by `significance` standard errors of the per-row differences.
bool improves(const Evaluation& mutated, const Evaluation& parent, double min_gain, double significance) {
  if (!(mutated.loss < parent.loss * (1 - min_gain))) return false;
  torch::Tensor gain = parent.row_losses - mutated.row_losses;
  double n = static_cast<double>(gain.numel());
  double se = n > 1 ? gain.std().item<double>() / std::sqrt(n) : 0.0;
  return gain.mean().item<double>() > significance * se;
}

/// Whether `evolved` is better than `linear` on the validation rows by the task's metric, by
/// --fallback-significance standard errors. Classification counts the rows that only one of the two
/// classifies correctly (McNemar's test): the evolved network must win w > l of them with
/// w - l > significance * sqrt(w + l). A lower cross-entropy alone is not enough: on a
/// separable validation split a bigger network lowers it by growing more confident, not by
/// classifying more rows correctly. Regression compares squared errors as a mutation's verdict
/// does.
bool beats(const Evaluation& evolved, const Evaluation& linear, Task task, const Options& o) {
  const double z = o.fallback_significance;
  if (task != Task::Classify) return improves(evolved, linear, o.min_gain, z);
  double wins = evolved.correct.logical_and(linear.correct.logical_not()).sum().item<double>();
  double losses = linear.correct.logical_and(evolved.correct.logical_not()).sum().item<double>();
  double margin = wins - losses;
  return margin > 0 && margin * margin > z * z * (wins + losses);
}

/// The network a run outputs: the best evolved network if it beats the best linear network of
/// the same run on validation (or the fallback is off: a negative --fallback-significance),
/// else the linear one.
struct Choice {
  Network* net = nullptr;
  int epoch = 0;
  bool linear = false;
};

Choice choose(RunState& run, const Problem& p, const Options& o) {
  if (run.has_linear && o.fallback_significance >= 0) {
    Evaluation evolved = evaluate(run.best, p.validation, p.task);
    Evaluation linear = evaluate(run.linear_best, p.validation, p.task);
    if (!beats(evolved, linear, p.task, o)) return {&run.linear_best, run.linear_best_epoch, true};
  }
  return {&run.best, run.best_epoch, false};
}

/// A fresh random order of the training rows.
std::vector<int64_t> shuffled_rows(int64_t n, Random& random) {
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  for (int64_t i = n; i > 1; --i) std::swap(order[i - 1], order[random.below(i)]);
  return order;
}

/// One epoch of minibatch training of `net` in the given row order; returns the mean loss.
double train_epoch(Network& net, const std::vector<int64_t>& order, const Problem& p, const Options& o,
                   const std::function<void(int, int)>& on_batch) {
  const auto n = static_cast<int64_t>(order.size());
  const int64_t batches = (n + o.batch - 1) / o.batch;
  double total = 0;
  int64_t seen = 0;
  for (int64_t b = 0; b < batches; ++b) {
    int64_t start = b * o.batch, size = std::min<int64_t>(o.batch, n - start);
    if (size < 2) continue;  // batch statistics need two rows
    torch::Tensor index = torch::tensor(std::vector<int64_t>(order.begin() + start, order.begin() + start + size))
                              .to(p.train.x.device());
    torch::Tensor out = forward(net, p.train.x.index_select(0, index), Mode::Train).output;
    torch::Tensor loss = loss_of(out, p.train.y.index_select(0, index), p.task);
    loss.backward();
    optimizer_step(net, o.optimizer, o.lr, o.weight_decay);
    total += loss.item<double>() * static_cast<double>(size);
    seen += size;
    if (on_batch) on_batch(static_cast<int>(b + 1), static_cast<int>(batches));
  }
  return seen ? total / static_cast<double>(seen) : 0.0;
}

/// Eval-mode columns of every layer and the loss gradient w.r.t. every layer's head outputs,
/// on one scoring batch.
struct Scoring {
  std::vector<torch::Tensor> columns, gradients;
};

Scoring score_batch(Network& net, const torch::Tensor& x, const torch::Tensor& y, Task task) {
  Trace trace = forward(net, x, Mode::Eval, /*keep_columns=*/true);
  torch::Tensor loss = loss_of(trace.output, y, task);
  Scoring s;
  s.gradients = torch::autograd::grad({loss}, trace.heads, {}, /*retain_graph=*/false, false, /*allow_unused=*/true);
  for (std::size_t l = 0; l < trace.columns.size(); ++l) {
    s.columns.push_back(trace.columns[l].detach());
    if (!s.gradients[l].defined()) s.gradients[l] = torch::zeros_like(trace.heads[l]);
  }
  return s;
}

/// A candidate op with its score and the batch statistics of its output.
struct Candidate {
  int layer = 0;
  OpNode op;
  std::array<float, 2> scalars{};
  double score = -1;
  float mean = 0, var = 1;
};

/// A random candidate reading the columns the scoring batch has (not ops added since).
Candidate draw_candidate(const Network& net, const Scoring& s, const Options& o, Random& random) {
  Candidate c;
  c.layer = static_cast<int>(random.below(net.layers.size()));
  const Layer& layer = net.layers[c.layer];
  c.op.kind = o.ops[random.below(o.ops.size())];
  auto column = [&]() {
    auto col = static_cast<int>(random.below(static_cast<uint64_t>(s.columns[c.layer].size(1))));
    return col < layer.n_in ? Operand{Operand::Kind::Input, col} : Operand{Operand::Kind::Op, col - layer.n_in};
  };
  if (ir::is_unary(c.op.kind)) {
    c.op.a = c.op.b = column();
  } else {
    c.op.a = random.below(3) != 0 ? column() : Operand{Operand::Kind::Scalar, 0};
    c.op.b = c.op.a.kind == Operand::Kind::Scalar || random.below(3) != 0 ? column()
                                                                          : Operand{Operand::Kind::Scalar, 1};
  }
  c.scalars = {static_cast<float>(random.normal()), static_cast<float>(random.normal())};
  return c;
}

/// Scores `c` on the scoring batch: |z^T G| / (|z| |G|), z the standardised output of the
/// candidate and G the loss gradient w.r.t. its layer's outputs (the Cascade-Correlation
/// criterion, as a cosine so that layers compare). Also records the output's statistics.
/// False if the output is not finite on the batch.
bool evaluate_candidate(Candidate& c, const Network& net, const Scoring& s) {
  torch::NoGradGuard no_grad;
  const Layer& layer = net.layers[c.layer];
  const torch::Tensor& columns = s.columns[c.layer];
  auto operand = [&](const Operand& o) {
    if (o.kind == Operand::Kind::Scalar)
      return torch::full({columns.size(0)}, c.scalars[o.index], columns.options());
    return columns.select(1, o.kind == Operand::Kind::Input ? o.index : layer.n_in + o.index);
  };
  torch::Tensor a = operand(c.op.a);
  torch::Tensor raw = apply_op(c.op.kind, a, ir::is_binary(c.op.kind) ? operand(c.op.b) : a);
  if (!torch::isfinite(raw).all().item<bool>()) return false;
  torch::Tensor mean = raw.mean(), var = raw.var(/*unbiased=*/false);
  c.mean = mean.item<float>();
  c.var = net.norm == Norm::L2Batch ? raw.square().mean().item<float>()
                                    : raw.var(/*unbiased=*/true).item<float>();
  const torch::Tensor& g = s.gradients[c.layer];
  double g_norm = g.norm().item<double>();
  if (var.item<double>() < 1e-10 || g_norm == 0) {
    c.score = 0;
    return true;
  }
  torch::Tensor z = (raw - mean) * torch::rsqrt(var + kNormEps);
  c.score = z.matmul(g).norm().item<double>() / (z.norm().item<double>() * g_norm);
  if (!std::isfinite(c.score)) c.score = 0;
  return true;
}

/// The leaf op with the smallest contribution: std over the batch of its output times the
/// norm of its head column. Returns {layer, op, contribution}; layer -1 if there is none.
std::tuple<int, int, double> weakest_leaf(const Network& net, const Scoring& s) {
  torch::NoGradGuard no_grad;
  std::tuple<int, int, double> weakest{-1, -1, std::numeric_limits<double>::infinity()};
  for (std::size_t l = 0; l < net.layers.size(); ++l) {
    const Layer& layer = net.layers[l];
    if (layer.ops.empty()) continue;
    std::vector<bool> leaf = leaf_ops(layer);
    torch::Tensor outputs = s.columns[l].narrow(1, layer.n_in, static_cast<int64_t>(layer.ops.size()));
    torch::Tensor heads = layer.weight.value.narrow(1, layer.n_in, static_cast<int64_t>(layer.ops.size()));
    torch::Tensor contribution = (outputs.std(0, /*unbiased=*/false) * heads.norm(2, {0})).to(torch::kCPU);
    for (std::size_t k = 0; k < layer.ops.size(); ++k) {
      double value = contribution[static_cast<int64_t>(k)].item<double>();
      if (!std::isfinite(value)) value = 0;
      if (leaf[k] && value < std::get<2>(weakest))
        weakest = {static_cast<int>(l), static_cast<int>(k), value};
    }
  }
  return weakest;
}

/// Prunes and grows; returns a description of the mutation ("" if none was possible).
std::string mutate(RunState& run, const Problem& p, const Options& o, const std::vector<std::string>& features) {
  if (o.max_ops == 0) return "";
  Network& net = run.net;
  const int64_t n = p.train.x.size(0);
  const int64_t rows = std::min(n, kScoringRows);
  std::vector<int64_t> pick(n);
  for (int64_t i = 0; i < n; ++i) pick[i] = i;
  for (int64_t i = 0; i < rows; ++i) std::swap(pick[i], pick[i + static_cast<int64_t>(run.growth.below(n - i))]);
  pick.resize(rows);
  torch::Tensor index = torch::tensor(pick).to(p.train.x.device());
  torch::Tensor x = p.train.x.index_select(0, index), y = p.train.y.index_select(0, index);

  std::vector<std::string> changes;
  Scoring s = score_batch(net, x, y, p.task);
  auto [layer, op, contribution] = weakest_leaf(net, s);
  if (layer >= 0 && (net.total_ops() + o.grow > o.max_ops || contribution < o.prune_below)) {
    changes.push_back("-" + describe(net, layer, op, features));
    remove_op(net.layers[layer], op);
    s = score_batch(net, x, y, p.task);
  }
  const int to_add = std::min(o.grow, o.max_ops - net.total_ops());
  for (int added = 0; added < to_add; ++added) {
    Candidate best;
    int valid = 0;
    for (int attempt = 0; valid < o.pool && attempt < 10 * o.pool; ++attempt) {
      Candidate c = draw_candidate(net, s, o, run.growth);
      if (!evaluate_candidate(c, net, s)) continue;
      ++valid;
      if (c.score > best.score) best = c;
    }
    if (best.score < 0) break;
    Layer& target = net.layers[best.layer];
    add_op(target, best.op, best.scalars, best.mean, best.var);
    changes.push_back("+" + describe(net, best.layer, static_cast<int>(target.ops.size()) - 1, features));
  }
  return fmt::format("{}", fmt::join(changes, " "));
}

// ---- checkpoints ---------------------------------------------------------------------------

constexpr const char* kStateFile = "state.json";

std::string engine_state(const Random& random) {
  std::ostringstream out;
  out << random.engine();
  return out.str();
}

void restore_engine(Random& random, const nlohmann::json& j) {
  std::istringstream in(j.get<std::string>());
  in >> random.engine();
}

/// Saves the run; "best" is `chosen`, the network best.evir is exported from (and the one
/// load_network reads), "evolved" the best evolved network.
void save_checkpoint(const RunState& run, const Options& o, uint64_t hash, const Network& chosen,
                     const ir::Module& best_module) {
  std::filesystem::create_directories(o.checkpoint_dir);
  nlohmann::json j = {{"version", 1}, {"fingerprint", fingerprint(o)}, {"data_hash", hash},
                      {"epoch", run.epoch}, {"accepted", run.accepted}, {"reverted", run.reverted},
                      {"random", engine_state(run.random)}, {"growth", engine_state(run.growth)},
                      {"net", network_to_json(run.net)}, {"pending", run.pending},
                      {"best_val", run.best_val}, {"best_epoch", run.best_epoch}, {"stale", run.stale},
                      {"evolved", network_to_json(run.best)}, {"best", network_to_json(chosen)},
                      {"has_linear", run.has_linear}};
  if (run.pending) j["before"] = network_to_json(run.before);
  if (run.has_linear) {
    j["linear"] = network_to_json(run.linear);
    j["linear_best"] = network_to_json(run.linear_best);
    j["linear_best_val"] = run.linear_best_val;
    j["linear_best_epoch"] = run.linear_best_epoch;
  }
  std::string dir = o.checkpoint_dir;
  write_file_atomic(dir + "/" + kStateFile, j.dump());
  write_file_atomic(dir + "/best.evir", ir::print_module(best_module));
}

RunState load_checkpoint(const Options& o, uint64_t hash, torch::Device device) {
  std::string path = o.resume_dir + "/" + kStateFile;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: not a checkpoint: {}", path, e.what()));
  }
  if (j.value("version", 0) != 1) throw Error(fmt::format("{}: unsupported checkpoint version", path));
  if (j.at("fingerprint") != fingerprint(o))
    throw Error(fmt::format("{}: the run was started with other options\n  saved: {}\n  now:   {}", path,
                            j.at("fingerprint").get<std::string>(), fingerprint(o)));
  if (j.at("data_hash") != hash) throw Error(fmt::format("{}: the run was started on other data", path));
  RunState run;
  try {
    restore_engine(run.random, j.at("random"));
    restore_engine(run.growth, j.at("growth"));
    run.epoch = j.at("epoch");
    run.accepted = j.at("accepted");
    run.reverted = j.at("reverted");
    run.net = network_from_json(j.at("net"), device);
    run.pending = j.at("pending");
    if (run.pending) run.before = network_from_json(j.at("before"), device);
    run.best_val = j.at("best_val");
    run.best_epoch = j.at("best_epoch");
    run.stale = j.at("stale");
    run.best = network_from_json(j.at("evolved"), device);
    run.has_linear = j.at("has_linear");
    if (run.has_linear) {
      run.linear = network_from_json(j.at("linear"), device);
      run.linear_best = network_from_json(j.at("linear_best"), device);
      run.linear_best_val = j.at("linear_best_val");
      run.linear_best_epoch = j.at("linear_best_epoch");
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: incomplete checkpoint (written by another evoc?): {}", path, e.what()));
  }
  return run;
}

ir::Module export_run(const Network& net, const Dataset& data, const Problem& p, const Options& o,
                      const Summary& summary) {
  ir::Module m = attach_schema(data, export_module(net, data.name, data.feature_names, p.output_names));
  std::vector<std::string_view> ops;
  for (ir::Op op : o.ops) ops.push_back(ir::op_name(op));
  m.set_meta("task", task_name(p.task));
  m.set_meta("target", data.target_name);
  if (!p.classes.empty()) ir::set_class_names(m, p.classes);
  m.set_meta("trainer.norm", norm_name(o.norm));
  m.set_meta("trainer.layers", std::to_string(o.layers));
  if (o.layers > 1) m.set_meta("trainer.activation", activation_name(o.activation));
  m.set_meta("trainer.op_kinds", fmt::format("{}", fmt::join(ops, ",")));
  m.set_meta("trainer.seed", std::to_string(o.seed));
  m.set_meta("trainer.epochs", std::to_string(summary.epochs));
  m.set_meta("trainer.best_epoch", std::to_string(summary.best_epoch));
  m.set_meta("trainer.ops", std::to_string(summary.ops));
  m.set_meta("trainer.parameters", std::to_string(summary.parameters));
  m.set_meta("trainer.mutations", fmt::format("{} accepted, {} reverted", summary.accepted, summary.reverted));
  m.set_meta("trainer.val_loss", fmt::format("{:.6g}", summary.val_loss));
  m.set_meta(fmt::format("trainer.val_{}", summary.metric), fmt::format("{:.6g}", summary.val_metric));
  m.set_meta(fmt::format("trainer.test_{}", summary.metric), fmt::format("{:.6g}", summary.test_metric));
  return m;
}

}  // namespace

Result train(const Dataset& data, const Options& o, const Callbacks& callbacks) {
  check_options(o);
  torch::Device device = resolve_device(o.device);
  torch::set_num_threads(o.threads);
  auto start = std::chrono::steady_clock::now();
  Problem p = make_problem(data, o, device, callbacks);
  const uint64_t hash = data_hash(data);
  auto seconds_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };

  RunState run;
  if (!o.resume_dir.empty()) {
    run = load_checkpoint(o, hash, device);
    if (callbacks.on_info) callbacks.on_info(fmt::format("resuming {} after epoch {}", o.resume_dir, run.epoch));
  } else {
    run.random = Random(o.seed);
    run.growth = Random(growth_seed(o.seed));
    run.net = make_network(static_cast<int>(data.n_features()), p.outputs, o.layers, o.width, o.norm,
                           o.activation, run.random, device);
    run.net.in_scale = torch::tensor(p.in_scale).to(device);
    run.net.in_shift = torch::tensor(p.in_shift).to(device);
    if (p.task == Task::Regress) {
      run.net.out_scale = torch::full({1}, p.y_std).to(device);
      run.net.out_shift = torch::full({1}, p.y_mean).to(device);
    }
    run.best = clone(run.net);
    run.best_val = evaluate(run.net, p.validation, p.task).loss;
    if (o.max_ops > 0) {
      run.has_linear = true;
      run.linear = clone(run.net);
      run.linear_best = clone(run.net);
      run.linear_best_val = run.best_val;
    }
  }

  Summary summary;
  summary.task = p.task;
  summary.metric = p.task == Task::Classify ? "accuracy" : "r2";
  auto save = [&]() {
    Choice chosen = choose(run, p, o);
    save_checkpoint(run, o, hash, *chosen.net, export_run(*chosen.net, data, p, o, summary));
  };
  for (int epoch = run.epoch + 1; epoch <= o.epochs; ++epoch) {
    auto epoch_start = std::chrono::steady_clock::now();
    EpochReport report;
    report.epoch = epoch;
    // The mutated network and, if a mutation is pending, its parent train on the same
    // minibatches: the verdict compares them after equal training.
    std::vector<int64_t> order = shuffled_rows(p.train.x.size(0), run.random);
    report.train_loss = train_epoch(run.net, order, p, o, [&](int batch, int batches) {
      if (callbacks.on_batch) callbacks.on_batch(epoch, batch, batches);
    });
    Evaluation val = evaluate(run.net, p.validation, p.task);
    if (run.pending) {
      train_epoch(run.before, order, p, o, {});
      Evaluation parent = evaluate(run.before, p.validation, p.task);
      if (improves(val, parent, o.min_gain, o.significance)) {
        ++run.accepted;
        report.decision = "accepted";
      } else {
        ++run.reverted;
        report.decision = "reverted";
        run.net = std::move(run.before);
        val = parent;
      }
      run.pending = false;
      run.before = Network();
    }
    if (val.loss < run.best_val * (1 - o.min_gain)) run.stale = 0;
    else ++run.stale;
    if (val.loss < run.best_val) {
      run.best = clone(run.net);
      run.best_val = val.loss;
      run.best_epoch = epoch;
    }
    if (run.has_linear) {
      train_epoch(run.linear, order, p, o, {});
      double linear_val = evaluate(run.linear, p.validation, p.task).loss;
      if (linear_val < run.linear_best_val) {
        run.linear_best = clone(run.linear);
        run.linear_best_val = linear_val;
        run.linear_best_epoch = epoch;
      }
    }
    report.val_loss = val.loss;
    report.val_metric = val.metric;
    report.metric = summary.metric;
    report.ops = run.net.total_ops();
    Network before = clone(run.net);
    if (run.stale >= o.patience) report.mutation = mutate(run, p, o, data.feature_names);
    if (!report.mutation.empty()) {
      run.pending = true;
      run.before = std::move(before);
    }
    run.epoch = epoch;
    report.accepted = run.accepted;
    report.reverted = run.reverted;
    if (!o.checkpoint_dir.empty() && (epoch % o.checkpoint_every == 0 || epoch == o.epochs))
      save();
    report.seconds = seconds_since(epoch_start);
    if (callbacks.on_epoch) callbacks.on_epoch(report);
  }

  // The result: the chosen network, measured on the held-out test rows through the same
  // raw-feature path as the exported module.
  Choice chosen = choose(run, p, o);
  Network& best = *chosen.net;
  if (chosen.linear && callbacks.on_info && run.best.total_ops() > 0)
    callbacks.on_info(fmt::format("the best evolved network ({} ops) does not improve on the linear model "
                                  "on validation; keeping the linear model",
                                  run.best.total_ops()));
  Result result;
  result.split = p.split;
  auto impl = std::make_unique<TrainedNetwork::Impl>();
  impl->net = clone(best);
  result.network = std::make_shared<const TrainedNetwork>(std::move(impl));
  Evaluation best_val = evaluate(best, p.validation, p.task);
  std::vector<float> x = data.feature_rows(p.split.test);
  std::vector<float> predictions = result.network->predict(x.data(), static_cast<int64_t>(p.split.test.size()));
  summary.test_metric = score_rows(data, p.task, predictions, p.split.test);
  summary.val_metric = best_val.metric;
  summary.val_loss = best_val.loss;
  summary.best_epoch = chosen.epoch;
  summary.ops = best.total_ops();
  summary.parameters = count_parameters(best);
  summary.epochs = run.epoch;
  summary.accepted = run.accepted;
  summary.reverted = run.reverted;
  summary.seconds = seconds_since(start);
  result.module = export_run(best, data, p, o, summary);
  result.summary = summary;
  return result;
}

}  // namespace evoc::trainer
