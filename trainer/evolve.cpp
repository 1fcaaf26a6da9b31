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
// After each epoch's training and each mutation, the frozen normalisation statistics are
// recomputed over the training rows, so that evaluation uses what the network was trained with.
// Before the first epoch, the run fits its linear model (one layer): full-batch L-BFGS with an
// L2 penalty chosen by cross-validation (trainer/linear.h), the model --max-ops 0 outputs; the
// evolved network starts from it. The run outputs the best evolved network only if it beats
// the linear one by the task's metric (rows classified correctly, or squared error) by
// --fallback-significance standard errors; otherwise the linear model. Every accepted mutation
// is a test passed on the validation rows and the best of many epochs is selected on them too,
// so a network grown on a small or noisy validation split can look better than it is; the
// linear model of the same run is the null hypothesis it has to reject. On small data the
// comparison is cross-validated over the training and validation rows (see choose()): a
// validation split of a few dozen rows cannot tell the two apart, and then the fallback kept
// the linear model where the grown network was better.
// The whole run state can be checkpointed and resumed bit for bit.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <thread>

#include <fmt/core.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "ir/error.h"
#include "ir/hash.h"
#include "ir/printer.h"
#include "ir/scalar.h"
#include "trainer/checkpoint.h"
#include "trainer/fused_step.h"
#include "trainer/linear.h"
#include "trainer/network.h"
#include "trainer/parallel.h"

namespace evoc::trainer {

namespace {

constexpr int64_t kScoringRows = 256;  // rows of the batch that scores candidates and ops
constexpr double kNormEps = 1e-5;
constexpr int64_t kStatisticsRows = 16384;  // training rows the frozen statistics are computed on
constexpr std::size_t kCrossValidationRows = 2000;  // below this, small_data()

/// One split on the device: standardised features and targets (labels or standardised values).
struct SplitTensors {
  torch::Tensor x, y;
  int threads = 1;  ///< LibTorch threads for a pass over the whole split (see kElementsPerThread)
  /// Data-parallel validation rows: each rank runs the forward pass on its share of them and
  /// the ranks gather the outputs (every rank then scores the whole split, with the same bits).
  Cluster* shards = nullptr;
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
  auto finite = [](const char* flag, double value) {
    if (!std::isfinite(value)) throw Error(fmt::format("{} must be a finite number, not {}", flag, value));
  };
  finite("--lr", o.lr);
  finite("--weight-decay", o.weight_decay);
  finite("--prune-below", o.prune_below);
  finite("--min-gain", o.min_gain);
  finite("--significance", o.significance);
  finite("--fallback-significance", o.fallback_significance);
  finite("--validation-fraction", o.validation_fraction);
  finite("--test-fraction", o.test_fraction);
  finite("--time-limit", o.time_limit);
  require(o.epochs >= 0, "--epochs must be at least 0");
  require(o.epochs <= kMaxEpochs, "--epochs must be at most 1000000000");
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
  require(o.threads >= 1, "--threads must be at least 1");
  require(o.checkpoint_every >= 1, "--checkpoint-every must be at least 1");
  require(o.migrate_every >= 1, "--migrate-every must be at least 1");
  require(!o.cluster || o.device == "cpu", "--device cuda: runs of many ranks train on the CPU only");
  require(o.time_limit >= 0, "--time-limit must be at least 0");
  require(o.early_stop >= 0, "--early-stop must be at least 0");
  require(o.test_fraction >= 0 && o.test_fraction < 1, "--test-fraction must be in [0, 1)");
  require(o.validation_data || (o.validation_fraction > 0 && o.validation_fraction < 1),
          "--validation-fraction must be in (0, 1)");
  require((!o.split && o.statistics_rows.empty()) || (!o.cluster && o.checkpoint_dir.empty() && o.resume_dir.empty()),
          "a given split or statistics rows (an ensemble's member) cannot be checkpointed or run on many ranks");
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
      o.validation_data ? std::string("file") : fmt::format("{}", o.validation_fraction), o.test_fraction) +
         (o.islands ? fmt::format(" islands migrate-every={}", o.migrate_every) : "");
}

/// FNV-1a of the data set's names and values, continued from `h`.
uint64_t data_hash(const Dataset& data, uint64_t h = kContentHashSeed) {
  auto bytes = [&](const void* p, std::size_t n) { h = fnv1a_bytes(p, n, h); };
  for (const auto& name : data.feature_names) bytes(name.data(), name.size() + 1);
  bytes(data.target_name.data(), data.target_name.size());
  bytes(data.features.data(), data.features.size() * sizeof(float));
  bytes(data.target.data(), data.target.size() * sizeof(float));
  return h;
}

/// The classes of a classification target (0, 1, ... up to its largest label), checking every
/// label of `data` and of the validation rows is a class index.
void infer_classes(Problem& p, const Dataset& data, const Dataset* validation) {
  float top = 0;
  for (const Dataset* d : {&data, validation}) {
    if (!d) continue;
    for (std::size_t r = 0; r < d->rows(); ++r) {
      float y = d->target[r];
      if (!(y >= 0) || y != std::floor(y) || y > 1000)
        throw Error(fmt::format("{}: data row {}: target '{}' = {} is not a class index 0, 1, 2, ...",
                                d->name, r + 1, d->target_name, y));
      if (d == &data) top = std::max(top, y);
      else if (y > top)
        throw Error(fmt::format("{}: data row {}: class {} does not occur in the training data (classes 0 to {})",
                                d->name, r + 1, y, top));
    }
  }
  p.outputs = static_cast<int>(top) + 1;
  if (p.outputs < 2) throw Error(fmt::format("{}: classification needs at least two classes", data.name));
  for (int c = 0; c < p.outputs; ++c) {  // class names from the table (load_table), else the index
    p.classes.push_back(static_cast<std::size_t>(c) < data.classes.size() ? data.classes[c] : std::to_string(c));
    p.output_names.push_back(fmt::format("{}_{}", data.target_name, p.classes.back()));
  }
}

/// Input standardisation (and for regression the target's) from the training split, or from
/// `rows` when not empty, as floats that the export repeats exactly.
void standardise(Problem& p, const Dataset& data, const std::vector<uint32_t>& rows) {
  const std::size_t n_features = data.n_features();
  const auto& train_rows = rows.empty() ? p.split.train : rows;
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
}

/// Elements of a split per LibTorch thread below which more threads cost more than they save.
constexpr int64_t kElementsPerThread = 1 << 18;

/// The rows `rows` of `data`, standardised, on the device.
SplitTensors split_tensors(const Problem& p, const Dataset& data, const std::vector<uint32_t>& rows,
                           torch::Device device, int threads) {
  const auto n_features = static_cast<int64_t>(data.n_features());
  std::vector<float> x = data.feature_rows(rows), y;
  for (uint32_t r : rows)
    y.push_back(p.task == Task::Regress ? (data.target[r] - p.y_mean) / p.y_std : data.target[r]);
  SplitTensors t;
  t.x = torch::tensor(x).reshape({static_cast<int64_t>(rows.size()), n_features})
            .mul(torch::tensor(p.in_scale)).add(torch::tensor(p.in_shift)).to(device);
  t.y = torch::tensor(y).to(device);
  if (p.task == Task::Classify) t.y = t.y.to(torch::kLong);
  t.threads = static_cast<int>(std::clamp<int64_t>(t.x.numel() / kElementsPerThread, 1, threads));
  return t;
}

/// The validation rows of --validation-csv must have the training data's columns.
void check_validation_data(const Dataset& data, const Dataset& validation) {
  if (validation.feature_names != data.feature_names || validation.target_name != data.target_name)
    throw Error(fmt::format("{}: the validation columns ({}, target {}) are not the training data's ({}, target {})",
                            validation.name, fmt::join(validation.feature_names, ", "), validation.target_name,
                            fmt::join(data.feature_names, ", "), data.target_name));
  if (validation.rows() == 0) throw Error(fmt::format("{}: no validation rows", validation.name));
}

/// A given split (Options::split) must index the rows there are, and train and validate on some.
void check_split(const Split& split, const Dataset& data, const Dataset* validation) {
  if (split.train.empty() || split.validation.empty())
    throw Error(fmt::format("{}: the given split has no {} rows", data.name, split.train.empty() ? "training" : "validation"));
  auto check = [&](const std::vector<uint32_t>& rows, std::size_t limit, const char* name) {
    for (uint32_t r : rows)
      if (r >= limit)
        throw Error(fmt::format("{}: {} row {} of the given split is past the last row ({})", data.name, name, r, limit));
  };
  check(split.train, data.rows(), "training");
  check(split.validation, validation ? validation->rows() : data.rows(), "validation");
  check(split.test, data.rows(), "test");
}

Problem make_problem(const Dataset& data, const Options& options, int threads, torch::Device device,
                     const Callbacks& callbacks) {
  if (data.rows() == 0 || data.n_features() == 0) throw Error(fmt::format("{}: no data", data.name));
  const Dataset* validation = options.validation_data;
  if (validation) check_validation_data(data, *validation);
  Problem p;
  p.task = options.task == Task::Auto ? infer_task(data) : options.task;
  if (callbacks.on_info)
    callbacks.on_info(fmt::format("task: {}{}", task_name(p.task), options.task == Task::Auto ? " (inferred)" : ""));
  if (p.task == Task::Classify) {
    infer_classes(p, data, validation);
  } else {
    p.outputs = 1;
    p.output_names.push_back(data.target_name);
  }
  if (options.split) {
    p.split = *options.split;
    check_split(p.split, data, validation);
  } else {
    p.split = split_rows(data.rows(), options.seed, validation ? 0.0 : options.validation_fraction,
                         options.test_fraction);
  }
  if (validation && !options.split) {
    p.split.validation.resize(validation->rows());
    for (std::size_t r = 0; r < validation->rows(); ++r) p.split.validation[r] = static_cast<uint32_t>(r);
  }
  for (uint32_t r : options.statistics_rows)
    if (r >= data.rows())
      throw Error(fmt::format("{}: statistics row {} is past the last row ({})", data.name, r, data.rows()));
  standardise(p, data, options.statistics_rows);
  p.train = split_tensors(p, data, p.split.train, device, threads);
  p.validation = split_tensors(p, validation ? *validation : data, p.split.validation, device, threads);
  if (options.cluster && !options.islands) p.validation.shards = options.cluster;
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

/// Runs LibTorch on `threads` intra-op threads while it lives (the run's default is one).
class ThreadScope {
 public:
  explicit ThreadScope(int threads) : threads_(threads) {
    if (threads_ > 1) torch::set_num_threads(threads_);
  }
  ~ThreadScope() {
    if (threads_ > 1) torch::set_num_threads(1);
  }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int threads_;
};

/// Data-parallel: the rows of every rank's `part` (a shard of a split, rank order being row
/// order), joined into the whole split's on every rank.
torch::Tensor gather_rows(Cluster& cluster, const torch::Tensor& part) {
  const torch::Tensor t = part.to(torch::kCPU).contiguous();
  const std::string mine(static_cast<const char*>(t.data_ptr()), t.nbytes());
  std::string all;
  for (const std::string& bytes : cluster.all_gather(mine)) all += bytes;
  const int64_t row_bytes = t.element_size() * t.stride(0);  // contiguous: the size of one row
  std::vector<int64_t> shape = t.sizes().vec();
  shape[0] = static_cast<int64_t>(all.size()) / row_bytes;
  torch::Tensor whole = torch::empty(shape, t.options());
  std::memcpy(whole.data_ptr(), all.data(), all.size());
  return whole.to(part.device());
}

/// The measure of a network's outputs `out` [rows, outputs] against targets `y`, in plain loops
/// (LibTorch's dispatch cost more than the arithmetic): the cross-entropy in double, the squared
/// error of the float difference (as the training loss), R^2 in double.
Evaluation score_outputs(const torch::Tensor& out, const torch::Tensor& y, Task task) {
  const torch::Tensor outputs = out.to(torch::kCPU, torch::kFloat).contiguous(), targets = y.to(torch::kCPU).contiguous();
  const int64_t n = outputs.size(0), k = outputs.size(1);
  const float* o = outputs.data_ptr<float>();
  torch::Tensor row_losses = torch::empty({n}, torch::kDouble);
  double* loss = row_losses.data_ptr<double>();
  Evaluation e;
  if (task == Task::Classify) {
    const int64_t* label = targets.data_ptr<int64_t>();
    e.correct = torch::empty({n}, torch::kBool);
    bool* correct = e.correct.data_ptr<bool>();
    int64_t right = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float* row = o + i * k;
      int64_t best = 0;  // the first largest, as argmax
      for (int64_t c = 1; c < k; ++c)
        if (row[c] > row[best]) best = c;
      double sum = 0;
      for (int64_t c = 0; c < k; ++c) sum += std::exp(double(row[c]) - row[best]);
      loss[i] = std::log(sum) - (double(row[label[i]]) - row[best]);
      correct[i] = best == label[i];
      right += correct[i];
    }
    e.metric = n ? static_cast<double>(right) / static_cast<double>(n) : 0.0;
  } else {
    const float* target = targets.data_ptr<float>();
    double mean = 0, sst = 0, sse = 0;
    for (int64_t i = 0; i < n; ++i) mean += target[i];
    mean /= static_cast<double>(std::max<int64_t>(n, 1));
    for (int64_t i = 0; i < n; ++i) {
      const float d = o[i * k] - target[i];
      loss[i] = double(d * d);
      sst += (target[i] - mean) * (target[i] - mean);
      sse += (double(o[i * k]) - target[i]) * (double(o[i * k]) - target[i]);
    }
    e.metric = sst > 0 ? 1.0 - sse / sst : 0.0;
  }
  double total = 0;
  for (int64_t i = 0; i < n; ++i) total += loss[i];
  e.row_losses = row_losses;
  e.loss = total / static_cast<double>(n);  // no rows: NaN, then the largest double
  if (!std::isfinite(e.loss)) e.loss = std::numeric_limits<double>::max();
  return e;
}

/// The outputs of `net` on rows `x` in evaluation mode: in plain loops where the fused step
/// covers the network (fused_eval_outputs: the exported module's arithmetic), else LibTorch's.
torch::Tensor eval_outputs(Network& net, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  if (!fused_step_covers(net, x)) return forward(net, x, Mode::Eval).output;
  const torch::Tensor rows = x.contiguous();
  torch::Tensor out = torch::empty({rows.size(0), net.layers.front().n_out});
  fused_eval_outputs(net, rows.data_ptr<float>(), rows.size(0), out.data_ptr<float>());
  return out;
}

Evaluation evaluate(Network& net, const SplitTensors& split, Task task) {
  ThreadScope threads(split.threads);
  torch::Tensor out;
  if (split.shards) {
    auto [first, count] = shard_of(split.x.size(0), split.shards);
    out = gather_rows(*split.shards, eval_outputs(net, split.x.narrow(0, first, count)));
  } else {
    out = eval_outputs(net, split.x);
  }
  return score_outputs(out, split.y, task);
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

/// Runs the enclosing scope on one intra-op thread: minibatch steps and candidate scoring work
/// on tensors too small to pay for more (--threads applies to whole-split evaluations).
class OneThread {
 public:
  OneThread() : saved_(torch::get_num_threads()) {
    if (saved_ != 1) torch::set_num_threads(1);
  }
  ~OneThread() {
    if (saved_ != 1) torch::set_num_threads(saved_);
  }
  OneThread(const OneThread&) = delete;
  OneThread& operator=(const OneThread&) = delete;

 private:
  int saved_;
};

/// Freezes the normalisation statistics of `net` to those of the training rows (all of them up
/// to kStatisticsRows): evaluation then uses what the network was trained with.
void freeze_statistics(Network& net, const Problem& p) {
  recompute_statistics(net, p.train.x.narrow(0, 0, std::min<int64_t>(p.train.x.size(0), kStatisticsRows)));
}

/// Small data: fewer training and validation rows than kCrossValidationRows. Its decisions are
/// cross-validated over all of those rows (the linear penalty, the fallback), and its output is
/// refitted on them.
bool small_data(const Problem& p) {
  return p.split.train.size() + p.split.validation.size() < kCrossValidationRows;
}

/// The L2 penalty of the run's linear model: cross-validated over training and validation rows
/// (small data) or chosen on the validation rows.
double linear_penalty(const Problem& p) {
  return choose_penalty(p.train.x, p.train.y, p.validation.x, p.validation.y, p.task, p.outputs,
                        small_data(p) ? 5 : 1);
}

/// The run's linear model, fitted into the head of `net` (one layer, no ops): L-BFGS on the
/// training rows with the penalty of linear_penalty(), which `run` keeps.
void fit_linear_model(Network& net, const Problem& p, RunState& run) {
  run.linear_penalty = linear_penalty(p);
  set_linear_head(net, fit_linear(p.train.x, p.train.y, p.task, p.outputs, run.linear_penalty));
}

/// A fresh random order of the training rows.
std::vector<int64_t> shuffled_rows(int64_t n, Random& random) {
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  for (int64_t i = n; i > 1; --i) std::swap(order[i - 1], order[random.below(i)]);
  return order;
}

using Clock = std::chrono::steady_clock;

/// Thrown from within an epoch when the run must stop (that epoch's training is dropped).
struct RunStopped {};

/// When a run stops early: at its time limit, or once Options::stop reads true. A process alone
/// checks before every minibatch. Ranks of a run stop together, at the same point of the same
/// epoch, or their exchanges would no longer pair up: each rank posts its reasons (votes) into an
/// exchange the ranks make anyway (the gradient sum of a data-parallel step, and one at the end of
/// every epoch), and every rank stops if any rank would.
class Stopper {
 public:
  Stopper(const Options& o, Clock::time_point start) : flag_(o.stop), has_deadline_(o.time_limit > 0) {
    // Beyond 30 years a limit is no limit (and the time point cannot overflow).
    const double limit = std::min(o.time_limit, 1e9);
    deadline_ = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(limit));
  }
  /// This process alone: throws RunStopped if the run must stop now.
  void check() {
    float votes[kVotes];
    vote(votes);
    tally(votes);
  }
  /// Slots an exchange carries for a stop decision.
  static constexpr int kVotes = 2;
  /// This rank's reasons to stop now, as counts to be summed over the ranks.
  void vote(float* votes) const {
    votes[0] = flag_ && flag_->load(std::memory_order_relaxed) ? 1.0f : 0.0f;
    votes[1] = has_deadline_ && Clock::now() >= deadline_ ? 1.0f : 0.0f;
  }
  /// Throws RunStopped if any rank voted to stop (`votes` summed over the ranks).
  void tally(const float* votes) {
    if (votes[0] > 0) reason = "stop requested";
    else if (votes[1] > 0) reason = "time limit";
    if (!reason.empty()) throw RunStopped{};
  }
  std::string reason;  ///< why the run stopped ("" while it runs)

 private:
  const std::atomic<bool>* flag_;
  bool has_deadline_;
  Clock::time_point deadline_;
};

/// One epoch of minibatch training of `net` in the given row order; returns the mean loss.
double train_epoch(Network& net, const std::vector<int64_t>& order, const Problem& p, const Options& o,
                   Stopper& stopper, const std::function<void(int, int)>& on_batch) {
  OneThread one_thread;
  const auto n = static_cast<int64_t>(order.size());
  const int64_t batches = (n + o.batch - 1) / o.batch;
  double total = 0;
  int64_t seen = 0;
  // Data-parallel: each rank trains on its shard of every minibatch, and the ranks sum their
  // gradients (and normalisation statistics) before the step.
  Cluster* cluster = o.islands ? nullptr : o.cluster;
  const int64_t ranks = cluster ? cluster->size() : 1;
  // The common network (one layer, on the CPU) steps in plain loops (trainer/fused_step.h);
  // any other through LibTorch.
  const torch::Tensor train_x = p.train.x.contiguous(), train_y = p.train.y.contiguous();
  const bool fused = fused_step_covers(net, train_x) &&
                     train_y.scalar_type() == (p.task == Task::Classify ? torch::kLong : torch::kFloat);
  FusedGradients gradients;
  FusedWorkspace workspace;
  StepTargets targets;
  if (fused && p.task == Task::Classify) targets.labels = train_y.data_ptr<int64_t>();
  else if (fused) targets.values = train_y.data_ptr<float>();
  for (int64_t b = 0; b < batches; ++b) {
    int64_t start = b * o.batch, size = std::min<int64_t>(o.batch, n - start);
    if (size / ranks < 2) continue;  // batch statistics need two rows (on every rank)
    float votes[Stopper::kVotes];
    if (cluster) stopper.vote(votes);  // decided with the ranks at this step's exchange
    else if (!o.cluster) stopper.check();  // (islands decide at the end of the epoch)
    auto [first, count] = shard_of(size, cluster);
    if (fused) {
      const double loss = fused_gradients(net, train_x.data_ptr<float>(), order.data() + start + first, count,
                                          p.task, targets, gradients, workspace);
      if (cluster) {
        sum_fused_step(*cluster, net, gradients, static_cast<double>(count) / static_cast<double>(size), votes,
                       Stopper::kVotes);
        stopper.tally(votes);
      }
      fused_optimizer_step(net, gradients, o.optimizer, o.lr, o.weight_decay);
      total += loss * static_cast<double>(count);
      seen += count;
      if (on_batch) on_batch(static_cast<int>(b + 1), static_cast<int>(batches));
      continue;
    }
    torch::Tensor index =
        torch::tensor(std::vector<int64_t>(order.begin() + start + first, order.begin() + start + first + count))
            .to(p.train.x.device());
    torch::Tensor out = forward(net, p.train.x.index_select(0, index), Mode::Train).output;
    torch::Tensor loss = loss_of(out, p.train.y.index_select(0, index), p.task);
    loss.backward();
    if (cluster) {
      sum_step(*cluster, net, static_cast<double>(count) / static_cast<double>(size), votes, Stopper::kVotes);
      stopper.tally(votes);
    }
    optimizer_step(net, o.optimizer, o.lr, o.weight_decay);
    total += loss.item<double>() * static_cast<double>(count);
    seen += count;
    if (on_batch) on_batch(static_cast<int>(b + 1), static_cast<int>(batches));
  }
  if (cluster) {
    double sums[2] = {total, static_cast<double>(seen)};
    cluster->sum(sums, 2);
    total = sums[0];
    seen = static_cast<int64_t>(sums[1]);
  }
  return seen ? total / static_cast<double>(seen) : 0.0;
}

// ---- the fallback ----------------------------------------------------------------------------

/// Folds of the fallback's cross-validation; its retraining takes the best network's epochs,
/// clamped to these.
constexpr int kFallbackFolds = 5;
constexpr int kRefitEpochsMin = 5, kRefitEpochsMax = 20;

/// `p` with `x`, `y` as its training rows.
Problem with_training_rows(const Problem& p, const torch::Tensor& x, const torch::Tensor& y) {
  Problem q = p;
  q.train.x = x;
  q.train.y = y;
  q.train.threads = 1;
  q.train.shards = nullptr;
  return q;
}

/// The topology of `evolved` retrained from the linear model `fit` for `epochs` epochs on the
/// training rows of `p`, as evolution starts from the linear model: alone (no ranks) and to the
/// end (no stop), in minibatch orders drawn from `random`.
Network retrain(const Network& evolved, const LinearFit& fit, const Problem& p, int epochs, const Options& o,
                Random& random) {
  Options alone = o;
  alone.cluster = nullptr;
  alone.stop = nullptr;
  alone.time_limit = 0;
  Stopper never(alone, Clock::now());
  Network net = clone(evolved);
  set_linear_head(net, fit);
  freeze_statistics(net, p);
  for (int e = 0; e < epochs; ++e) {
    train_epoch(net, shuffled_rows(p.train.x.size(0), random), p, alone, never, {});
    freeze_statistics(net, p);
  }
  return net;
}

/// The seed of the fallback's folds and retraining, apart from the run's other streams.
uint64_t fallback_seed(uint64_t seed) { return seed ^ 0xbb67ae8584caa73bull; }

/// Both models' outputs on every training and validation row, each row predicted by models that
/// were trained without it: k folds of those rows; in each, the linear model is refitted on the
/// other folds (with the run's penalty) and the evolved network's topology is retrained from that
/// fit (retrain()). Returns {evolved, linear} measured on the pooled outputs.
std::pair<Evaluation, Evaluation> cross_validate(const Network& evolved, int epochs, double penalty,
                                                 const Problem& p, const Options& o) {
  const torch::Tensor x = torch::cat({p.train.x, p.validation.x}), y = torch::cat({p.train.y, p.validation.y});
  const int64_t n = x.size(0);
  Random random(fallback_seed(o.seed));
  std::vector<int64_t> order = shuffled_rows(n, random);
  std::vector<int64_t> fold(n);
  for (int64_t i = 0; i < n; ++i) fold[order[i]] = i % kFallbackFolds;
  torch::Tensor evolved_out, linear_out;
  for (int k = 0; k < kFallbackFolds; ++k) {
    std::vector<int64_t> in, out;
    for (int64_t i = 0; i < n; ++i) (fold[i] == k ? out : in).push_back(i);
    if (in.empty() || out.empty()) continue;
    const torch::Tensor in_index = torch::tensor(in).to(x.device()), out_index = torch::tensor(out).to(x.device());
    const Problem fold_problem = with_training_rows(p, x.index_select(0, in_index), y.index_select(0, in_index));
    const torch::Tensor held_x = x.index_select(0, out_index);
    const LinearFit fit = fit_linear(fold_problem.train.x, fold_problem.train.y, p.task, p.outputs, penalty);
    torch::Tensor linear_part = linear_outputs(fit, held_x);
    Network net = retrain(evolved, fit, fold_problem, epochs, o, random);
    torch::Tensor evolved_part = eval_outputs(net, held_x);
    // Scatter each fold's rows back to their places.
    if (!evolved_out.defined()) {
      evolved_out = torch::zeros({n, evolved_part.size(1)}, evolved_part.options());
      linear_out = torch::zeros({n, linear_part.size(1)}, linear_part.options());
    }
    evolved_out.index_copy_(0, out_index, evolved_part);
    linear_out.index_copy_(0, out_index, linear_part);
  }
  return {score_outputs(evolved_out, y, p.task), score_outputs(linear_out, y, p.task)};
}

/// The chosen model refitted on every training and validation row, as cross_validate() measured
/// it on four fifths of them: the linear model with the run's penalty, or the evolved topology
/// retrained from it.
Network refit_on_all_rows(const Network& chosen, bool linear, int epochs, double penalty, const Problem& p,
                          const Options& o) {
  const torch::Tensor x = torch::cat({p.train.x, p.validation.x}), y = torch::cat({p.train.y, p.validation.y});
  const Problem all = with_training_rows(p, x, y);
  const LinearFit fit = fit_linear(x, y, p.task, p.outputs, penalty);
  Random random(fallback_seed(o.seed) + 1);
  if (!linear) return retrain(chosen, fit, all, epochs, o, random);
  Network net = clone(chosen);
  set_linear_head(net, fit);
  return net;
}

/// The network a run outputs: the best evolved network if it beats the linear model of the same
/// run (or the fallback is off: a negative --fallback-significance), else the linear one.
struct Choice {
  BestNetwork* best = nullptr;
  bool linear = false;
  bool cross_validated = false;  ///< decided by cross_validate (else on the validation rows)
  std::string verdict;           ///< Summary::fallback
  int epochs = 0;                ///< cross_validate's retraining epochs
};

/// The verdict in words: which model, how it was decided and both metrics.
std::string verdict(bool linear, const char* how, const Evaluation& evolved, const Evaluation& lin, Task task) {
  const char* metric = task == Task::Classify ? "accuracy" : "R^2";
  return fmt::format("{} ({}: evolved {} {:.4f}, linear {:.4f})", linear ? "the linear model" : "the evolved network",
                     how, metric, evolved.metric, lin.metric);
}

/// How the fallback decides: on small data (fewer training and validation rows than
/// kCrossValidationRows, one layer) by cross-validation over those rows, so that every row
/// judges and the verdict does not rest on the few rows of one validation split; otherwise, and
/// for a run that was stopped or a checkpoint (`quick`), on the validation rows.
/// `on_info` (if set) hears that a cross-validation starts.
Choice choose(RunState& run, const Problem& p, const Options& o, bool quick,
              const std::function<void(const std::string&)>& on_info = {}) {
  if (!run.has_linear || o.fallback_significance < 0) return {&run.best, false, false, {}, 0};
  const int64_t rows = p.train.x.size(0) + p.validation.x.size(0);
  if (!quick && small_data(p) && o.layers == 1 && run.best.net.total_ops() > 0) {
    const int epochs = std::clamp(run.best.epoch, kRefitEpochsMin, kRefitEpochsMax);
    if (on_info)
      on_info(fmt::format("the evolved network ({} ops) against the linear model: {}-fold cross-validation over {} "
                          "rows ({} epochs a fold)",
                          run.best.net.total_ops(), kFallbackFolds, rows, epochs));
    if (run.linear_penalty < 0) run.linear_penalty = linear_penalty(p);
    auto [evolved, linear] = cross_validate(run.best.net, epochs, run.linear_penalty, p, o);
    const bool keep = beats(evolved, linear, p.task, o);
    const std::string how = fmt::format("{}-fold cross-validation", kFallbackFolds);
    return {keep ? &run.best : &run.linear_best, !keep, true, verdict(!keep, how.c_str(), evolved, linear, p.task),
            epochs};
  }
  Evaluation evolved = evaluate(run.best.net, p.validation, p.task);
  Evaluation linear = evaluate(run.linear_best.net, p.validation, p.task);
  const bool keep = beats(evolved, linear, p.task, o);
  return {keep ? &run.best : &run.linear_best, !keep, false, verdict(!keep, "validation", evolved, linear, p.task), 0};
}

/// Sums doubles in place over the ranks of a data-parallel run (the same bits on every rank);
/// leaves them as they are for a process alone.
using SumOverRanks = std::function<void(double* values, std::size_t n)>;

/// Eval-mode columns of every layer and the loss gradient w.r.t. every layer's head outputs,
/// on one scoring batch, on the CPU and contiguous (candidates are scored in plain loops).
/// Data-parallel, the batch is this rank's share of the scoring rows (`rows` in all), the
/// gradients those of the mean loss over all of them, and g_squares summed over the ranks.
struct Scoring {
  std::vector<torch::Tensor> columns, gradients;
  std::vector<double> g_squares;  ///< per layer: the sum of the squared gradients over the rows
  int64_t rows = 0;               ///< scoring rows over every rank
};

Scoring score_batch(Network& net, const torch::Tensor& x, const torch::Tensor& y, Task task, int64_t rows,
                    const SumOverRanks& over_ranks) {
  Trace trace = forward(net, x, Mode::Eval, /*keep_columns=*/true);
  torch::Tensor loss = loss_of(trace.output, y, task);
  if (x.size(0) != rows) loss = loss * (static_cast<double>(x.size(0)) / static_cast<double>(rows));
  Scoring s;
  s.rows = rows;
  std::vector<torch::Tensor> gradients =
      torch::autograd::grad({loss}, trace.heads, {}, /*retain_graph=*/false, false, /*allow_unused=*/true);
  for (std::size_t l = 0; l < trace.columns.size(); ++l) {
    if (!gradients[l].defined()) gradients[l] = torch::zeros_like(trace.heads[l]);
    s.columns.push_back(trace.columns[l].detach().to(torch::kCPU).contiguous());
    s.gradients.push_back(gradients[l].detach().to(torch::kCPU).contiguous());
    const torch::Tensor& g = s.gradients.back();
    const float* v = g.data_ptr<float>();
    double g_squares = 0;
    for (int64_t i = 0; i < g.numel(); ++i) g_squares += double(v[i]) * v[i];
    s.g_squares.push_back(g_squares);
  }
  over_ranks(s.g_squares.data(), s.g_squares.size());
  return s;
}

/// A candidate op with its score and the statistics of its output over the scoring rows.
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

/// Scores candidates `cs` on the scoring rows: |z^T G| / (|z| |G|), z the standardised output
/// of a candidate and G the loss gradient w.r.t. its layer's outputs (the Cascade-Correlation
/// criterion, as a cosine so that layers compare); records each output's statistics. Returns
/// whether each is valid (its output finite on every row). Plain loops over the batch (a few
/// hundred rows: LibTorch's dispatch would cost more than the arithmetic), the op in the IR's
/// semantics. Every sum over the rows is summed over the ranks, all candidates' at once, in
/// three exchanges: the sums and squares, the deviations from the mean, the products with G.
std::vector<bool> score_candidates(std::vector<Candidate>& cs, const Network& net, const Scoring& s,
                                   const SumOverRanks& over_ranks) {
  const std::size_t m = cs.size();
  const double rows = static_cast<double>(s.rows);
  std::vector<std::vector<float>> raws(m);
  std::vector<double> first(3 * m, 0.0);  // per candidate: non-finite rows, sum, sum of squares
  for (std::size_t j = 0; j < m; ++j) {
    const Candidate& c = cs[j];
    const Layer& layer = net.layers[c.layer];
    const torch::Tensor& columns = s.columns[c.layer];
    const int64_t n = columns.size(0), width = columns.size(1);
    const float* x = columns.data_ptr<float>();
    auto operand = [&](const Operand& o, int64_t i) {
      if (o.kind == Operand::Kind::Scalar) return c.scalars[o.index];
      return x[i * width + (o.kind == Operand::Kind::Input ? o.index : layer.n_in + o.index)];
    };
    const bool binary = ir::is_binary(c.op.kind);
    std::vector<float>& raw = raws[j];
    raw.resize(n);
    for (int64_t i = 0; i < n; ++i) {
      raw[i] = binary ? ir::eval_binary(c.op.kind, operand(c.op.a, i), operand(c.op.b, i))
                      : ir::eval_unary(c.op.kind, operand(c.op.a, i));
      if (!std::isfinite(raw[i])) {
        first[3 * j] = 1;
        break;
      }
      first[3 * j + 1] += raw[i];
      first[3 * j + 2] += double(raw[i]) * raw[i];
    }
  }
  over_ranks(first.data(), first.size());
  std::vector<bool> valid(m);
  std::vector<double> deviations(m, 0.0);
  for (std::size_t j = 0; j < m; ++j) {
    valid[j] = first[3 * j] == 0;
    if (!valid[j]) continue;
    const double mean = first[3 * j + 1] / rows;
    for (float r : raws[j]) deviations[j] += (r - mean) * (r - mean);
  }
  over_ranks(deviations.data(), m);
  // Per scored candidate: the sum of z^2, then z^T G per output of its layer.
  std::vector<std::size_t> at(m + 1, 0);
  for (std::size_t j = 0; j < m; ++j) {
    Candidate& c = cs[j];
    c.score = 0;
    const double var = deviations[j] / rows;
    const bool scored = valid[j] && !(var < 1e-10 || s.g_squares[c.layer] == 0);
    at[j + 1] = at[j] + (scored ? 1 + static_cast<std::size_t>(s.gradients[c.layer].size(1)) : 0);
    if (!valid[j]) continue;
    c.mean = static_cast<float>(first[3 * j + 1] / rows);
    c.var = static_cast<float>(net.norm == Norm::L2Batch ? first[3 * j + 2] / rows
                                                         : deviations[j] / std::max(rows - 1, 1.0));
  }
  std::vector<double> third(at[m], 0.0);
  for (std::size_t j = 0; j < m; ++j) {
    if (at[j + 1] == at[j]) continue;
    const Candidate& c = cs[j];
    const torch::Tensor& gradients = s.gradients[c.layer];
    const int64_t outputs = gradients.size(1);
    const float* g = gradients.data_ptr<float>();
    const double mean = first[3 * j + 1] / rows;
    const double scale = 1 / std::sqrt(deviations[j] / rows + kNormEps);
    double* z_squares = &third[at[j]];
    double* zg = z_squares + 1;
    for (std::size_t i = 0; i < raws[j].size(); ++i) {
      const double z = (raws[j][i] - mean) * scale;
      *z_squares += z * z;
      for (int64_t o = 0; o < outputs; ++o) zg[o] += z * g[static_cast<int64_t>(i) * outputs + o];
    }
  }
  over_ranks(third.data(), third.size());
  for (std::size_t j = 0; j < m; ++j) {
    if (at[j + 1] == at[j]) continue;
    Candidate& c = cs[j];
    double zg_squares = 0;
    for (std::size_t k = at[j] + 1; k < at[j + 1]; ++k) zg_squares += third[k] * third[k];
    c.score = std::sqrt(zg_squares) / (std::sqrt(third[at[j]]) * std::sqrt(s.g_squares[c.layer]));
    if (!std::isfinite(c.score)) c.score = 0;
  }
  return valid;
}

/// The leaf op with the smallest contribution: the std over the scoring rows of its output
/// times the norm of its head column. Returns {layer, op, contribution}; layer -1 if there is
/// none. The sums over the rows are summed over the ranks (two exchanges).
std::tuple<int, int, double> weakest_leaf(const Network& net, const Scoring& s, const SumOverRanks& over_ranks) {
  torch::NoGradGuard no_grad;
  // f(op's index among all layers' ops, its output on row i) for every row of every op.
  auto each_output = [&](auto&& f) {
    std::size_t index = 0;
    for (std::size_t l = 0; l < net.layers.size(); ++l) {
      const torch::Tensor& columns = s.columns[l];
      const int64_t n = columns.size(0), width = columns.size(1), n_in = net.layers[l].n_in;
      const float* x = columns.data_ptr<float>();
      for (std::size_t k = 0; k < net.layers[l].ops.size(); ++k, ++index)
        for (int64_t i = 0; i < n; ++i) f(index, x[i * width + n_in + static_cast<int64_t>(k)]);
    }
  };
  const std::size_t ops = static_cast<std::size_t>(net.total_ops());
  const double rows = static_cast<double>(s.rows);
  std::vector<double> sums(ops, 0.0), deviations(ops, 0.0);
  each_output([&](std::size_t j, float v) { sums[j] += v; });
  over_ranks(sums.data(), ops);
  for (double& sum : sums) sum /= rows;  // the means
  each_output([&](std::size_t j, float v) { deviations[j] += (v - sums[j]) * (v - sums[j]); });
  over_ranks(deviations.data(), ops);
  std::tuple<int, int, double> weakest{-1, -1, std::numeric_limits<double>::infinity()};
  std::size_t j = 0;  // the op's index among all layers' ops
  for (std::size_t l = 0; l < net.layers.size(); ++l) {
    const Layer& layer = net.layers[l];
    if (layer.ops.empty()) continue;
    std::vector<bool> leaf = leaf_ops(layer);
    const torch::Tensor heads =
        layer.weight.value.narrow(1, layer.n_in, static_cast<int64_t>(layer.ops.size())).norm(2, {0}).to(torch::kCPU, torch::kDouble).contiguous();
    for (std::size_t k = 0; k < layer.ops.size(); ++k, ++j) {
      double value = std::sqrt(deviations[j] / rows) * heads.data_ptr<double>()[k];
      if (!std::isfinite(value)) value = 0;
      if (leaf[k] && value < std::get<2>(weakest)) weakest = {static_cast<int>(l), static_cast<int>(k), value};
    }
  }
  return weakest;
}

/// Prunes and grows; returns a description of the mutation ("" if none was possible).
/// Data-parallel ranks score on their shares of the scoring rows (drawn from the growth stream
/// they share, as a process alone draws them) and sum every score's terms: they mutate alike,
/// and as one process would, to the rounding of the sums.
std::string mutate(RunState& run, const Problem& p, const Options& o, const std::vector<std::string>& features) {
  if (o.max_ops == 0) return "";
  OneThread one_thread;
  Network& net = run.net;
  Cluster* cluster = o.islands ? nullptr : o.cluster;
  const SumOverRanks over_ranks = [cluster](double* values, std::size_t n) {
    if (cluster) cluster->sum(values, n);
  };
  const int64_t n = p.train.x.size(0);
  const int64_t rows = std::min(n, kScoringRows);
  std::vector<int64_t> pick(n);
  for (int64_t i = 0; i < n; ++i) pick[i] = i;
  for (int64_t i = 0; i < rows; ++i) std::swap(pick[i], pick[i + static_cast<int64_t>(run.growth.below(n - i))]);
  auto [first, count] = shard_of(rows, cluster);
  torch::Tensor index = torch::tensor(std::vector<int64_t>(pick.begin() + first, pick.begin() + first + count))
                            .to(p.train.x.device());
  torch::Tensor x = p.train.x.index_select(0, index), y = p.train.y.index_select(0, index);

  std::vector<std::string> changes;
  Scoring s = score_batch(net, x, y, p.task, rows, over_ranks);
  auto [layer, op, contribution] = weakest_leaf(net, s, over_ranks);
  if (layer >= 0 && (net.total_ops() + o.grow > o.max_ops || contribution < o.prune_below)) {
    changes.push_back("-" + describe(net, layer, op, features));
    remove_op(net.layers[layer], op);
    s = score_batch(net, x, y, p.task, rows, over_ranks);
  }
  const int to_add = std::min(o.grow, o.max_ops - net.total_ops());
  for (int added = 0; added < to_add; ++added) {
    // Candidates are drawn until --pool of them are valid (at most 10 x --pool), scored a
    // round at a time: each round draws as many as are still missing.
    Candidate best;
    int valid = 0;
    for (int attempts = 0; valid < o.pool && attempts < 10 * o.pool;) {
      std::vector<Candidate> round;
      for (int i = 0; i < std::min(o.pool - valid, 10 * o.pool - attempts); ++i)
        round.push_back(draw_candidate(net, s, o, run.growth));
      attempts += static_cast<int>(round.size());
      const std::vector<bool> ok = score_candidates(round, net, s, over_ranks);
      for (std::size_t j = 0; j < round.size(); ++j) {
        if (!ok[j]) continue;
        ++valid;
        if (round[j].score > best.score) best = round[j];
      }
    }
    if (best.score < 0) break;
    Layer& target = net.layers[best.layer];
    add_op(target, best.op, best.scalars, best.mean, best.var);
    changes.push_back("+" + describe(net, best.layer, static_cast<int>(target.ops.size()) - 1, features));
  }
  return fmt::format("{}", fmt::join(changes, " "));
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
  if (summary.test_rows > 0)
    m.set_meta(fmt::format("trainer.test_{}", summary.metric), fmt::format("{:.6g}", summary.test_metric));
  if (!summary.fallback.empty()) m.set_meta("trainer.fallback", summary.fallback);
  return m;
}

// ---- the steps of a run ---------------------------------------------------------------------

/// A new run: the initial network (with the problem's standardisation), which is also the
/// best so far and the start of the linear model trained alongside.
RunState start_run(const Dataset& data, const Problem& p, const Options& o, torch::Device device) {
  RunState run;
  // Islands evolve from seeds of their own (on the same split); data-parallel ranks share one.
  const uint64_t seed = o.islands && o.cluster ? island_seed(o.seed, o.cluster->rank()) : o.seed;
  run.random = Random(seed);
  run.growth = Random(growth_seed(seed));
  run.net = make_network(static_cast<int>(data.n_features()), p.outputs, o.layers, o.width, o.norm,
                         o.activation, run.random, device);
  run.net.in_scale = torch::tensor(p.in_scale).to(device);
  run.net.in_shift = torch::tensor(p.in_shift).to(device);
  if (p.task == Task::Regress) {
    run.net.out_scale = torch::full({1}, p.y_std).to(device);
    run.net.out_shift = torch::full({1}, p.y_mean).to(device);
  }
  if (o.layers == 1) fit_linear_model(run.net, p, run);  // evolution starts from the linear model
  run.best = {clone(run.net), evaluate(run.net, p.validation, p.task).loss, 0};
  if (o.max_ops > 0) {
    run.has_linear = true;
    run.linear = clone(run.net);
    run.linear_best = {clone(run.net), run.best.val_loss, 0};
  }
  return run;
}

/// The checkpoint to resume. Ranks of a run resume from rank 0's: it reads and checks the file
/// and sends it, so the directory need only be on rank 0's machine; an island takes its own
/// state from it.
Checkpoint read_resumed_checkpoint(const Options& o, const std::string& path, torch::Device device) {
  if (!o.cluster) return read_checkpoint(o.resume_dir, device);
  std::string text, error;
  if (o.cluster->rank() == 0) {
    try {
      text = checkpoint_to_json(read_checkpoint(o.resume_dir, device)).dump();
    } catch (const Error& e) {
      error = e.what();
    }
  }
  std::string sent = o.cluster->broadcast(error.empty() ? "ok\n" + text : "error\n" + error);
  if (sent.starts_with("error\n"))
    throw Error(o.cluster->rank() == 0 ? error : "rank 0 cannot resume: " + sent.substr(6));
  Checkpoint c = checkpoint_from_text(sent.substr(3), path, device);
  const std::size_t others = static_cast<std::size_t>(o.cluster->size() - 1);
  if (o.islands && c.islands.size() != others)
    throw Error(fmt::format("{}: a checkpoint of {} islands; this run has {} ranks", path, c.islands.size() + 1,
                            others + 1));
  if (!o.islands || o.cluster->rank() == 0) {
    c.islands.clear();
    return c;
  }
  return std::move(c.islands[static_cast<std::size_t>(o.cluster->rank() - 1)]);
}

/// A run read back from --resume: it must have been started with the same options on the same
/// data, and its networks must fit the problem.
RunState resume_run(const Dataset& data, const Problem& p, const Options& o, uint64_t hash, torch::Device device,
                    const Callbacks& callbacks) {
  const std::string path = (std::filesystem::path(o.resume_dir) / kStateFile).string();
  Checkpoint c = read_resumed_checkpoint(o, path, device);
  if (c.fingerprint != fingerprint(o))
    throw Error(fmt::format("{}: the run was started with other options\n  saved: {}\n  now:   {}", path,
                            c.fingerprint, fingerprint(o)));
  if (c.data_hash != hash) throw Error(fmt::format("{}: the run was started on other data", path));
  const Network& net = c.run.net;
  if (net.in_scale.size(0) != static_cast<int64_t>(data.n_features()) || net.layers.back().n_out != p.outputs)
    throw Error(fmt::format("{}: not a valid checkpoint: net has {} inputs and {} outputs, the data {} and {}", path,
                            net.in_scale.size(0), net.layers.back().n_out, data.n_features(), p.outputs));
  if (c.run.has_linear != (o.max_ops > 0))
    throw Error(fmt::format("{}: not a valid checkpoint: has_linear is {} with --max-ops {}", path,
                            c.run.has_linear, o.max_ops));
  if (callbacks.on_info) callbacks.on_info(fmt::format("resuming {} after epoch {}", o.resume_dir, c.run.epoch));
  return std::move(c.run);
}

/// If a mutation is pending, trains its parent on the same minibatches (the verdict compares
/// them after equal training) and accepts the mutation or reverts to the parent. Returns the
/// validation measure of the network kept.
/// `train_loss` becomes the training loss of the network kept.
Evaluation decide_mutation(RunState& run, const std::vector<int64_t>& order, const Problem& p, const Options& o,
                           Stopper& stopper, Evaluation val, double& train_loss, EpochReport& report) {
  if (!run.pending) return val;
  const double parent_loss = train_epoch(run.before, order, p, o, stopper, {});
  freeze_statistics(run.before, p);
  Evaluation parent = evaluate(run.before, p.validation, p.task);
  if (improves(val, parent, o.min_gain, o.significance)) {
    ++run.accepted;
    report.decision = "accepted";
  } else {
    ++run.reverted;
    report.decision = "reverted";
    run.net = std::move(run.before);
    val = parent;
    train_loss = parent_loss;
  }
  run.pending = false;
  run.before = Network();
  return val;
}

/// Counts the epochs without a gain of --min-gain over the best, and keeps a new best.
void record_best(RunState& run, double val_loss, int epoch, const Options& o) {
  if (val_loss < run.best.val_loss * (1 - o.min_gain)) run.stale = 0;
  else ++run.stale;
  run.best.offer(run.net, val_loss, epoch);
}

/// Mutates once the validation loss has set no new best for --patience epochs; the network
/// from before the mutation becomes its pending parent.
void mutate_if_due(RunState& run, const Problem& p, const Options& o, const std::vector<std::string>& features,
                   EpochReport& report) {
  if (run.stale < o.patience) return;
  Network before = clone(run.net);
  report.mutation = mutate(run, p, o, features);
  if (report.mutation.empty()) return;
  freeze_statistics(run.net, p);
  run.pending = true;
  run.before = std::move(before);
}

// ---- many ranks ------------------------------------------------------------------------------

/// Islands: every rank offers its best network; each adopts the best offer if it beats its
/// own best on the validation rows (the same rows on every island). Every rank computes every
/// island's decision from the same offers, so rank 0 can report them all.
void migrate(RunState& run, const Options& o, int epoch, const Callbacks& callbacks, torch::Device device) {
  Cluster& cluster = *o.cluster;
  nlohmann::json mine = {{"val", run.best.val_loss}, {"net", network_to_json(run.best.net)}};
  std::vector<nlohmann::json> offers;
  for (const std::string& text : cluster.all_gather(mine.dump())) offers.push_back(nlohmann::json::parse(text));
  std::vector<double> val;
  for (const auto& offer : offers) val.push_back(offer.at("val").get<double>());
  const int best = static_cast<int>(std::min_element(val.begin(), val.end()) - val.begin());
  std::vector<std::string> decisions;
  for (int i = 0; i < cluster.size(); ++i)
    decisions.push_back(i != best && val[best] < val[i]
                            ? fmt::format("island {} adopted island {} (val loss {:.6g} < {:.6g})", i, best, val[best], val[i])
                            : fmt::format("island {} kept its own (val loss {:.6g})", i, val[i]));
  if (best != cluster.rank() && val[best] < run.best.val_loss) {
    run.best = {network_from_json(offers[best].at("net"), device), val[best], epoch};
    run.net = clone(run.best.net);
    run.pending = false;
    run.before = Network();
    run.stale = 0;
  }
  if (cluster.rank() == 0 && callbacks.on_info)
    callbacks.on_info(fmt::format("epoch {}: migration: {}", epoch, fmt::join(decisions, "; ")));
}

/// Islands: the output is the chosen network of the island with the lowest validation loss
/// (the lowest rank on ties); returns its rank. `chosen` then points to `holder`.
int best_island(Choice& chosen, BestNetwork& holder, const Problem& p, const Options& o, torch::Device device) {
  Cluster& cluster = *o.cluster;
  nlohmann::json mine = {{"val", evaluate(chosen.best->net, p.validation, p.task).loss}, {"epoch", chosen.best->epoch},
                         {"linear", chosen.linear}, {"verdict", chosen.verdict},
                         {"net", network_to_json(chosen.best->net)}};
  std::vector<nlohmann::json> offers;
  for (const std::string& text : cluster.all_gather(mine.dump())) offers.push_back(nlohmann::json::parse(text));
  int best = 0;
  for (int r = 1; r < cluster.size(); ++r)
    if (offers[r].at("val").get<double>() < offers[best].at("val").get<double>()) best = r;
  holder = {network_from_json(offers[best].at("net"), device), offers[best].at("val").get<double>(),
            offers[best].at("epoch").get<int>()};
  chosen = {&holder, offers[best].at("linear").get<bool>(), false, offers[best].at("verdict").get<std::string>()};
  return best;
}

/// Thrown when the network kept after an epoch has a non-finite training loss.
struct Diverged {
  double loss;
};

/// One epoch: train, decide on the pending mutation, keep the best, train the linear model,
/// mutate. Throws RunStopped (the run state is then mid-epoch: only its best networks count)
/// or Diverged.
EpochReport run_epoch(RunState& run, const Problem& p, const Options& o, const Dataset& data, int epoch,
                      Stopper& stopper, const Callbacks& callbacks) {
  EpochReport report;
  report.epoch = epoch;
  std::vector<int64_t> order = shuffled_rows(p.train.x.size(0), run.random);
  if (o.max_ops == 0 && o.layers == 1) {
    // The linear model is fitted once (start_run): the epochs leave it as it is.
    report.train_loss = evaluate(run.net, p.train, p.task).loss;
  } else {
    report.train_loss = train_epoch(run.net, order, p, o, stopper, [&](int batch, int batches) {
      if (callbacks.on_batch) callbacks.on_batch(epoch, batch, batches);
    });
    freeze_statistics(run.net, p);
  }
  double kept_loss = report.train_loss;
  Evaluation val =
      decide_mutation(run, order, p, o, stopper, evaluate(run.net, p.validation, p.task), kept_loss, report);
  if (!std::isfinite(kept_loss)) throw Diverged{kept_loss};
  record_best(run, val.loss, epoch, o);
  report.val_loss = val.loss;
  report.val_metric = val.metric;
  report.metric = p.task == Task::Classify ? "accuracy" : "r2";
  report.ops = run.net.total_ops();
  if (o.islands && o.cluster && epoch % o.migrate_every == 0) migrate(run, o, epoch, callbacks, p.train.x.device());
  mutate_if_due(run, p, o, data.feature_names, report);
  run.epoch = epoch;
  report.accepted = run.accepted;
  report.reverted = run.reverted;
  report.best_epoch = run.best.epoch;
  return report;
}

/// The run's output network as a TrainedNetwork (a copy).
std::shared_ptr<const TrainedNetwork> trained_network(const Network& net) {
  auto impl = std::make_unique<TrainedNetwork::Impl>();
  impl->net = clone(net);
  return std::make_shared<const TrainedNetwork>(std::move(impl));
}

/// The summary of the chosen network, measured on the held-out test rows through the same
/// raw-feature path as the exported module (all but the run time).
Summary summarize(RunState& run, const Choice& chosen, const Dataset& data, const Problem& p,
                  const TrainedNetwork& network) {
  Network& best = chosen.best->net;
  Summary s;
  s.task = p.task;
  s.metric = p.task == Task::Classify ? "accuracy" : "r2";
  Evaluation val = evaluate(best, p.validation, p.task);
  std::vector<float> x = data.feature_rows(p.split.test);
  std::vector<float> predictions = network.predict(x.data(), static_cast<int64_t>(p.split.test.size()));
  s.test_rows = p.split.test.size();
  s.test_metric = score_rows(data, p.task, predictions, p.split.test);
  s.val_metric = val.metric;
  s.val_loss = val.loss;
  s.best_epoch = chosen.best->epoch;
  s.ops = best.total_ops();
  s.parameters = count_parameters(best);
  s.epochs = run.epoch;
  s.accepted = run.accepted;
  s.reverted = run.reverted;
  s.fallback = chosen.verdict;
  return s;
}

/// Saves the run and the network it would output now (best.evir, with its summary). Every rank
/// of a run takes part (data-parallel ranks evaluate together; islands gather their states, and
/// the output is the best island's), and rank 0 writes.
void save_checkpoint(RunState& run, const Dataset& data, const Problem& p, const Options& o, uint64_t hash) {
  Choice chosen = choose(run, p, o, /*quick=*/true);  // data-parallel ranks evaluate together: every rank is here
  Checkpoint c{fingerprint(o), hash, run, chosen.best->net, {}};
  BestNetwork island;
  if (o.islands && o.cluster) {
    const std::vector<std::string> states = o.cluster->all_gather(checkpoint_to_json(c).dump());
    best_island(chosen, island, p, o, p.train.x.device());
    if (o.cluster->rank() != 0) return;
    c.output = chosen.best->net;
    for (std::size_t r = 1; r < states.size(); ++r)
      c.islands.push_back(checkpoint_from_text(states[r], fmt::format("island {}", r), p.train.x.device()));
  }
  Summary summary = summarize(run, chosen, data, p, *trained_network(chosen.best->net));
  if (o.cluster && o.cluster->rank() != 0) return;
  ir::Module best = export_run(chosen.best->net, data, p, o, summary);
  write_checkpoint(o.checkpoint_dir, c, ir::print_module(best));
}

/// Small data: the chosen model refitted on every training and validation row (Options::refit),
/// when cross-validation chose it, or the run is linear only; not for a stopped run or islands.
/// Data-parallel ranks refit alone, each the same network the same way. An ensemble's members are
/// refitted too: each then learns from every row its split holds, and they differ by their seeds
/// and by the validation fold that steered their evolution. Summaries still measure the network
/// before the refit on the validation rows.
std::optional<Network> refit(RunState& run, const Choice& chosen, const Problem& p, const Options& o, bool stopped,
                             const std::function<void(const std::string&)>& on_info) {
  const int64_t rows = p.train.x.size(0) + p.validation.x.size(0);
  const bool linear_only = o.max_ops == 0;
  if (!o.refit || stopped || (o.cluster && o.islands) || o.layers != 1 || !small_data(p) ||
      !(chosen.cross_validated || linear_only))
    return std::nullopt;
  if (run.linear_penalty < 0) run.linear_penalty = linear_penalty(p);
  const bool linear = chosen.linear || linear_only;
  if (on_info)
    on_info(linear ? fmt::format("refitting the linear model on all {} training and validation rows", rows)
                   : fmt::format("retraining the evolved network on all {} training and validation rows ({} epochs)",
                                 rows, chosen.epochs));
  return refit_on_all_rows(chosen.best->net, linear, chosen.epochs, run.linear_penalty, p, o);
}

/// The result of a run: its chosen network, exported, with the summary.
Result finish_run(RunState& run, const Dataset& data, const Problem& p, const Options& o,
                  const Callbacks& callbacks, bool stopped) {
  const bool speaks = callbacks.on_info && (!o.cluster || o.cluster->rank() == 0);
  Choice chosen = choose(run, p, o, /*quick=*/stopped, speaks ? callbacks.on_info : nullptr);
  BestNetwork island;
  if (o.islands && o.cluster) {
    const int from = best_island(chosen, island, p, o, p.train.x.device());
    if (callbacks.on_info && o.cluster->rank() == 0)
      callbacks.on_info(fmt::format("the output is island {}'s network", from));
  } else if (chosen.linear && callbacks.on_info && run.best.net.total_ops() > 0)
    callbacks.on_info(fmt::format("the best evolved network ({} ops) does not beat the linear model by "
                                  "--fallback-significance {} standard errors; the output is {}",
                                  run.best.net.total_ops(), o.fallback_significance, chosen.verdict));
  std::optional<Network> refitted = refit(run, chosen, p, o, stopped, speaks ? callbacks.on_info : nullptr);
  const Network& output = refitted ? *refitted : chosen.best->net;
  Result result;
  result.split = p.split;
  result.network = trained_network(output);
  result.summary = summarize(run, chosen, data, p, *result.network);
  result.module = export_run(output, data, p, o, result.summary);
  return result;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

/// LibTorch threads a run may use: what was asked, at most the machine's cores.
int usable_threads(const Options& o, const Callbacks& callbacks) {
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  if (o.threads <= cores) return o.threads;
  if (callbacks.on_info)
    callbacks.on_info(fmt::format("--threads {}: this machine has {} cores; using at most {}", o.threads, cores, cores));
  return cores;
}

/// The error for a run that diverged in `epoch`, naming the last checkpoint it leaves.
Error diverged(const Diverged& d, int epoch, int last_checkpoint, const Options& o) {
  std::string kept = o.checkpoint_dir.empty() ? ""
                     : last_checkpoint > 0
                         ? fmt::format("; the last checkpoint, after epoch {}, is in {}", last_checkpoint, o.checkpoint_dir)
                         : "; no checkpoint was written";
  return Error(fmt::format("training diverged in epoch {}: the training loss is {} (try a smaller --lr){}", epoch,
                           std::isnan(d.loss) ? "nan" : fmt::format("{}", d.loss), kept));
}

}  // namespace

std::string run_fingerprint(const Dataset& data, const Options& o) {
  return fmt::format("{} epochs={} threads={} islands={} migrate-every={} resume={} data={:016x}", fingerprint(o),
                     o.epochs, o.threads, o.islands, o.migrate_every, !o.resume_dir.empty(), data_hash(data));
}

Result train(const Dataset& data, const Options& options, const Callbacks& callbacks) {
  check_options(options);
  torch::Device device = resolve_device(options.device);
  const auto start = Clock::now();
  std::optional<CheckpointLock> lock;
  // Only the rank that writes checkpoints holds the directory (rank 0; the process alone).
  if (!options.checkpoint_dir.empty() && (!options.cluster || options.cluster->rank() == 0))
    lock.emplace(options.checkpoint_dir);
  torch::set_num_threads(1);  // minibatches never pay for more; evaluations of big splits may
  const Problem p = make_problem(data, options, usable_threads(options, callbacks), device, callbacks);
  Options o = options;
  if (o.ops.empty()) o.ops = default_op_kinds(p.task);
  const uint64_t hash = o.validation_data ? data_hash(*o.validation_data, data_hash(data)) : data_hash(data);
  RunState run = o.resume_dir.empty() ? start_run(data, p, o, device)
                                      : resume_run(data, p, o, hash, device, callbacks);
  Stopper stopper(o, start);
  std::string stopped;
  int last_checkpoint = !o.resume_dir.empty() && o.resume_dir == o.checkpoint_dir ? run.epoch : 0;
  for (int epoch = run.epoch + 1; epoch <= o.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    EpochReport report;
    try {
      report = run_epoch(run, p, o, data, epoch, stopper, callbacks);
    } catch (const RunStopped&) {
      stopped = stopper.reason;
      break;
    } catch (const Diverged& d) {
      throw diverged(d, epoch, last_checkpoint, o);
    }
    if (o.cluster && !o.islands)  // data-parallel: every rank holds the same networks, checked
      o.cluster->check_same(network_hash(run.net) * 31 + (run.has_linear ? network_hash(run.linear) : 0),
                            fmt::format("epoch {}", epoch));
    // Ranks decide together, in one exchange at the end of the epoch: one checkpoint, rank 0's
    // (it alone may have --checkpoint); --early-stop once every island has gone stale (data-parallel
    // ranks agree anyway); and every rank's reasons to stop.
    const bool writer = !o.cluster || o.cluster->rank() == 0;
    bool checkpoint = writer && !o.checkpoint_dir.empty() && (epoch % o.checkpoint_every == 0 || epoch == o.epochs);
    bool stale = o.early_stop > 0 && epoch - run.best.epoch >= o.early_stop;
    float votes[Stopper::kVotes + 2] = {};
    if (o.cluster) {
      stopper.vote(votes);
      votes[Stopper::kVotes] = checkpoint ? 1.0f : 0.0f;
      votes[Stopper::kVotes + 1] = stale ? 1.0f : 0.0f;
      o.cluster->sum(votes, Stopper::kVotes + 2);
      checkpoint = votes[Stopper::kVotes] > 0;
      stale = votes[Stopper::kVotes + 1] == static_cast<float>(o.cluster->size());
    }
    if (checkpoint) {
      save_checkpoint(run, data, p, o, hash);
      last_checkpoint = epoch;
    }
    report.seconds = seconds_since(epoch_start);
    if (callbacks.on_epoch) callbacks.on_epoch(report);
    if (stale && epoch < o.epochs) {
      stopped = "early stop";
      break;
    }
    if (o.cluster && epoch < o.epochs) {
      try {
        stopper.tally(votes);  // islands decide only here
      } catch (const RunStopped&) {
        stopped = stopper.reason;
        break;
      }
    }
  }
  Result result = finish_run(run, data, p, o, callbacks, !stopped.empty() && stopped != "early stop");
  result.summary.stopped = stopped;
  result.summary.seconds = seconds_since(start);
  return result;
}

}  // namespace evoc::trainer
