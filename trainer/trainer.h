// The trainer's public API: data sets, training options, and `train`, which evolves a network
// in LibTorch (train one epoch -> prune -> grow, accepting or reverting each mutation on
// validation loss against its parent trained alongside) and exports the best network seen to
// an ir::Module, or the linear model of the same run when the evolved network is not
// significantly better on validation.
//
// This header is free of LibTorch on purpose: tools and tests include it without paying for
// torch headers. Everything torch-specific lives in trainer/network.h and the .cpp files.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ir/module.h"
#include "ir/schema.h"

namespace evoc::trainer {

class Cluster;  // trainer/distributed.h

/// What the network predicts: class logits or one real value.
enum class Task { Auto, Classify, Regress };
/// Normalisation of each op output (see Options::norm).
enum class Norm { Batch, L2Batch, None };
/// Activation applied to a hidden layer's outputs before the next layer reads them.
enum class Activation { None, Relu, Tanh, Sigmoid };
/// The optimiser: Adam (L2 penalty added to the gradient) or AdamW (decoupled decay).
enum class Optimizer { Adam, AdamW };

/// How one feature the network reads is computed from a raw column (a module input) of a
/// table (see load_table): the value with NaN replaced by `fill`, the missing indicator, the
/// one-hot indicator of level code `level`, or the target encoding of a many-level column: a
/// dot over the one-hot indicators of its levels with `weights` and bias `fill`.
struct DerivedFeature {
  enum class Kind { Value, Missing, Level, Encoded };
  std::size_t column = 0;  ///< index into the schema's columns
  Kind kind = Kind::Value;
  float fill = 0;          ///< Value: the training median; Encoded: the value of "other"
  int level = 0;           ///< Level: the code
  std::vector<float> weights;  ///< Encoded: per level code, its value minus that of "other"
};

/// A table of numeric features and one numeric target.
struct Dataset {
  std::string name;                        ///< file stem or synthetic task name
  std::vector<std::string> feature_names;  ///< one per feature column
  std::string target_name;
  std::vector<float> features;             ///< rows() * n_features(), row-major
  std::vector<float> target;               ///< one value per row
  std::size_t rows() const { return target.size(); }
  std::size_t n_features() const { return feature_names.size(); }
  /// The features of `rows`, row-major.
  std::vector<float> feature_rows(const std::vector<uint32_t>& rows) const;
  /// Read from a raw table (load_table): the raw columns, which the exported module takes as
  /// its inputs, and how each feature above derives from them. Empty: the features are the
  /// module's inputs.
  ir::Schema schema;
  std::vector<DerivedFeature> derived;   ///< one per feature when `schema` is set
  std::vector<std::string> classes;      ///< class names of a discrete target (target = index)
  std::vector<std::string> dropped;      ///< columns left out of the features
  std::vector<std::string> notes;        ///< what reading decided: kinds, drops, the task and why
  std::vector<std::string> raw_rows;     ///< each row of the table as read (a CSV record), header first
};

/// How load_table reads a raw table.
struct TableOptions {
  std::string target;                    ///< the target column (empty: the last one)
  Task task = Task::Auto;                ///< classify: any discrete target; regress: numbers only
  std::vector<std::string> drop;         ///< columns to leave out
  std::vector<std::string> categorical;  ///< columns read as categories even if numeric
  std::vector<std::string> numeric;      ///< columns that must be numeric (missing cells allowed)
  int max_levels = 64;                   ///< levels kept per categorical column (the most frequent)
  int one_hot_levels = 10;               ///< up to this many levels: one-hot; more: target encoding
};

/// Reads a raw CSV table: column kinds inferred (numeric, or categorical when a cell is not a
/// number), missing cells (empty, NA, NaN, nan, ?, null) allowed anywhere, ID-like and constant
/// columns dropped with a note, and the target read as classes (any non-numeric or few distinct
/// integer values) or values. Throws evoc::Error naming the file, line, column or option.
Dataset load_table(const std::string& path, const TableOptions& options = {});
/// The module the trainer exports for `data`, given the network's module over the derived
/// features: with a schema, the module takes the raw columns and computes the features
/// (fillnan, isnan, eq), and carries the schema in its metadata; without one, `net` unchanged.
ir::Module attach_schema(const Dataset& data, ir::Module net);

/// Reads a CSV file with a header; `target` names the target column (empty: the last one).
/// Throws evoc::Error naming the file (and line, for malformed CSV) or the unknown column.
Dataset load_csv(const std::string& path, const std::string& target = "");
/// Names of the built-in synthetic tasks ("interaction": y = x0*x1 + x2 + noise; "xor": sign
/// of x0*x1 as two classes; each with distractor features).
std::vector<std::string> synthetic_names();
/// Generates a built-in task (fixed generator seed, so a name always means the same data).
Dataset make_synthetic(const std::string& name, std::size_t rows = 2000);
/// Classify when every target value is a small non-negative integer (at most 20 classes),
/// regress otherwise.
Task infer_task(const Dataset& data);

/// Row indices of the training, validation and test splits (the validation rows index
/// Options::validation_data when it is set).
struct Split {
  std::vector<uint32_t> train, validation, test;
};
/// A seeded random split of `rows` rows; the fractions are of all rows (either may be 0: no
/// validation rows, when they come from another file, or no test rows).
Split split_rows(std::size_t rows, uint64_t seed, double validation_fraction, double test_fraction);
/// The splits of the `members` runs of an ensemble, one per member: one test split of
/// `test_fraction` of the rows drawn with `seed` as split_rows draws it (the same rows for every
/// member), and the other rows, in an order drawn with `seed`, cut into F = max(members,
/// round(1 / validation_fraction)) folds of sizes that differ by at most one; member i validates
/// on fold i and trains on every other fold. A row outside the test split is thus in at most one
/// member's validation split, and each member trains on it but at most one. validation_fraction 0
/// (the validation rows come from another file): every member trains on every row outside the
/// test split. Throws evoc::Error when members < 1 or the rows are too few for the folds.
std::vector<Split> ensemble_splits(std::size_t rows, uint64_t seed, int members, double validation_fraction,
                                   double test_fraction);

/// Everything that controls a training run.
struct Options {
  Task task = Task::Auto;
  int epochs = 100;
  float lr = 0.01f;
  int batch = 64;
  float weight_decay = 0.0f;
  Optimizer optimizer = Optimizer::Adam;
  int max_ops = 32;            ///< op budget over all layers; 0 trains a linear model
  int grow = 2;                ///< ops added per mutation step
  int pool = 64;               ///< candidates scored per added op; 1 is pure random growth
  float prune_below = 0.01f;   ///< prune the weakest leaf op when its contribution is below this
  float min_gain = 0.001f;     ///< accept a mutation if it lowers validation loss by this fraction
  float significance = 1.0f;   ///< ... and by this many standard errors of the per-row gains
  /// The run outputs its linear model unless the evolved network beats it on validation by the
  /// task's metric by this many standard errors (see `train`); negative: always the evolved one.
  float fallback_significance = 2.0f;
  /// Small data (see `train`): the output is refitted on every training and validation row once
  /// the fallback has chosen it by cross-validation (and a linear-only run's model likewise).
  bool refit = true;
  int patience = 0;            ///< mutate only after this many epochs without a new best validation loss
  int layers = 1;
  int width = 8;               ///< outputs of each hidden layer (layers > 1)
  Activation activation = Activation::Tanh;
  Norm norm = Norm::Batch;
  std::vector<ir::Op> ops;  ///< op kinds growth may use; empty: default_op_kinds(task)
  uint64_t seed = 1;           ///< drives the split, the initialisation and the evolution
  std::string device = "cpu";  ///< "cpu" or "cuda"
  /// LibTorch intra-op threads for evaluations on splits big enough to pay for them (capped at
  /// the machine's cores); minibatches always train on one thread. 1 is bit-reproducible.
  int threads = 1;
  double validation_fraction = 0.15;  ///< of the rows, for validation (unless validation_data)
  double test_fraction = 0;           ///< of the rows, held out as a test split (0: none)
  /// When set, the validation rows (same columns as the data); every row of the data is then
  /// used for training (or the test split).
  const Dataset* validation_data = nullptr;
  /// When set, the rows of the splits (indices into the data; the validation rows index
  /// validation_data when that is set) instead of a split drawn with `seed`, e.g. a member's of
  /// ensemble_splits.
  std::optional<Split> split;
  /// When not empty, the rows whose statistics standardise the inputs (and a regressor's
  /// target) instead of those of the training split: runs given the same rows standardise
  /// alike, so that an ensemble of them computes one standardisation.
  std::vector<uint32_t> statistics_rows;
  std::string checkpoint_dir;  ///< when set, the full state is saved here atomically (locked while in use)
  int checkpoint_every = 5;    ///< epochs between checkpoints (and one after the last epoch)
  std::string resume_dir;      ///< when set, continue the run saved in this directory
  /// The ranks this run trains with (trainer/distributed.h); null: this process alone. In
  /// data-parallel mode every rank trains on its share of each minibatch and holds the same
  /// network after every epoch; only rank 0 writes checkpoints.
  Cluster* cluster = nullptr;
  bool islands = false;        ///< each rank evolves its own network; best networks migrate
  int migrate_every = 5;       ///< epochs between migrations (islands)
  double time_limit = 0;       ///< seconds from the start of `train`; the run stops at the next minibatch (0: none)
  int early_stop = 0;          ///< stop after this many epochs without a new best validation loss (0: never)
  /// When set, the run stops at the next minibatch once it reads true (e.g. set by a signal handler).
  const std::atomic<bool>* stop = nullptr;
};

/// Parse option names ("batch", "l2batch", "none", ...); throw evoc::Error listing the choices.
Norm parse_norm(const std::string& name);
Activation parse_activation(const std::string& name);
Optimizer parse_optimizer(const std::string& name);
Task parse_task(const std::string& name);
/// Parses a comma-separated list of unary or binary IR op kinds ("add,mul,tanh"); "auto" is
/// the empty list (default_op_kinds of the task).
std::vector<ir::Op> parse_op_kinds(const std::string& list);
/// The op kinds growth uses when Options::ops is empty: add and mul for classification; for
/// regression also tanh, relu, square and abs, which the quality report measured to help there
/// (concrete R^2 0.73 -> 0.82) and not on classification (bench/QUALITY.md).
std::vector<ir::Op> default_op_kinds(Task task);
std::string task_name(Task task);
std::string norm_name(Norm norm);
std::string activation_name(Activation activation);

/// What happened in one epoch.
struct EpochReport {
  int epoch = 0;             ///< 1-based
  double train_loss = 0;     ///< mean minibatch loss
  double val_loss = 0;       ///< after the accept/revert decision
  double val_metric = 0;     ///< accuracy or R^2 on the validation split
  std::string metric;        ///< "accuracy" or "r2"
  int ops = 0;               ///< ops in the network after the decision (before the next mutation)
  std::string decision;      ///< "accepted", "reverted" or "" (no mutation was pending)
  std::string mutation;      ///< the mutation made at the end of this epoch, e.g. "+mul(x0,x1)"
  int accepted = 0;          ///< totals so far
  int reverted = 0;
  double seconds = 0;        ///< wall time of this epoch
  int best_epoch = 0;        ///< the epoch of the best evolved network so far
};

/// Observers of a run; every member may be empty.
struct Callbacks {
  std::function<void(int epoch, int batch, int batches)> on_batch;
  std::function<void(const EpochReport&)> on_epoch;
  std::function<void(const std::string& message)> on_info;  ///< e.g. the inferred task
};

/// The outcome of a run, measured on the network it outputs (the best by validation loss, or
/// the linear model of the run; see `train`).
struct Summary {
  Task task = Task::Regress;
  std::string metric;        ///< "accuracy" or "r2"
  std::size_t test_rows = 0;  ///< rows of the test split (0: none; then test_metric is 0)
  double test_metric = 0;
  double val_metric = 0;
  double val_loss = 0;
  int best_epoch = 0;
  int ops = 0;
  int64_t parameters = 0;    ///< head weights and biases plus scalar operands
  int epochs = 0;
  int accepted = 0;
  int reverted = 0;
  double seconds = 0;
  /// Why the run ended before its last epoch: "" (it did not), "time limit", "early stop" or
  /// "stop requested" (Options::stop). A stop within an epoch drops that epoch's training.
  std::string stopped;
  /// How the fallback decided between the evolved network and the linear model, in words (""
  /// when there was nothing to decide: the fallback is off, or no op may grow).
  std::string fallback;
};

/// A trained network on the LibTorch side: its eval-mode forward pass on raw feature rows
/// computes the same function as the exported module (up to float rounding). predict() is not
/// safe for concurrent calls on one network.
class TrainedNetwork {
 public:
  struct Impl;
  explicit TrainedNetwork(std::unique_ptr<Impl> impl);
  ~TrainedNetwork();
  /// Outputs for `n` raw rows of `n_features` floats; returns n * n_outputs floats, row-major.
  std::vector<float> predict(const float* x, int64_t n) const;
  /// The same outputs, written to `y` (n * n_outputs floats, row-major).
  void predict(const float* x, int64_t n, float* y) const;
  int64_t n_features() const;
  int64_t n_outputs() const;
  /// Ops over all layers.
  int ops() const;

 private:
  std::unique_ptr<Impl> impl_;
};

/// Rebuilds the output network of a checkpoint written by `train` (Options::checkpoint_dir) on
/// the CPU, for the forward pass the trainer evaluates and exports: eval mode, frozen
/// normalisation statistics, no gradients. Sets LibTorch's intra-op threads (process-wide, as
/// `train` does) to `threads`. The network is the one `checkpoint_dir/best.evir` was exported
/// from. Throws evoc::Error naming the file when the checkpoint is missing, unreadable, of
/// another version, or inconsistent.
std::shared_ptr<const TrainedNetwork> load_network(const std::string& checkpoint_dir, int threads = 1);

/// The epochs a checkpoint directory's run has completed (validating the whole checkpoint: throws
/// evoc::Error "FILE: not a valid checkpoint: WHY", or a read error naming the file).
int checkpoint_epoch(const std::string& checkpoint_dir);

/// Everything a run produces.
struct Result {
  ir::Module module;
  Summary summary;
  Split split;
  std::shared_ptr<const TrainedNetwork> network;
};

/// Trains on `data` and exports the best evolved network by validation loss if it beats the
/// best linear network of the same run (what max_ops = 0 trains) by the task's metric by
/// `fallback_significance` standard errors, else the linear one: on small data (under 2,000
/// training and validation rows, one layer) in 5-fold cross-validation over those rows, the
/// evolved topology retrained from the fold's linear model; otherwise on the validation rows.
/// A model chosen by cross-validation is then refitted on all those rows (Options::refit). Throws evoc::Error on bad
/// options or data, on a checkpoint directory that cannot be written or is in use by another
/// run, and when training diverges (a non-finite training loss; the error names the epoch, and
/// the last checkpoint, written before it, stays as it was).
Result train(const Dataset& data, const Options& options, const Callbacks& callbacks = {});

/// Training steps this process has taken through the fused step (trainer/fused_step.h) rather
/// than LibTorch's autograd: reported with a run's exchanges, and checked by tests.
int64_t fused_steps_taken();

/// What every rank of a run must agree on: the options that shape the run and a hash of the
/// data (ranks started with other options or data are refused at the start).
std::string run_fingerprint(const Dataset& data, const Options& o);

/// The metric of `predictions` (n_outputs floats per row of `rows`, in order) against the
/// targets of `data`: accuracy (argmax of the logits) or R^2.
double score_rows(const Dataset& data, Task task, const std::vector<float>& predictions,
                  const std::vector<uint32_t>& rows);

}  // namespace evoc::trainer
