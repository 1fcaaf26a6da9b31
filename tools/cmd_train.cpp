// evoc train: evolve a network on a CSV file or a built-in task and write it as text IR.
//
// Reports on stderr: the inferred task, one line per epoch (train loss, validation metric,
// ops, the verdict on the last mutation, seconds, the new mutation), a final summary, and a
// progress bar within each epoch when stderr is a terminal. The model is written atomically,
// and an output path that cannot be written is an error before training starts.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "ir/csv.h"
#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/printer.h"
#include "tools/commands.h"
#include "trainer/trainer.h"

namespace evoc::tools {

namespace {

struct TrainArgs {
  std::string data, synthetic, output, target, history, test_csv;
  std::vector<std::string> drop, categorical, numeric;  ///< column overrides of the table reader
  int max_levels = 64, one_hot_levels = 10;
  std::string task = "auto", norm = "batch", activation = "tanh", optimizer = "adam", ops = "add,mul";
  bool quiet = false;
  trainer::Options options;
};

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled && isatty(fileno(stderr))) {}
  void update(int epoch, int batch, int batches) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    if (batch != batches && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const int width = 30;
    int filled = batches ? width * batch / batches : width;
    fmt::print(stderr, "\r  epoch {:>4} [{}{}] {}/{}", epoch, std::string(filled, '#'),
               std::string(width - filled, '.'), batch, batches);
    std::fflush(stderr);
    drawn_ = true;
  }
  void clear() {
    if (!drawn_) return;
    fmt::print(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_;
};

/// On --resume, drops the history lines of epochs after the checkpoint (written by a run
/// interrupted after its last checkpoint), so that the file lists every epoch once.
void trim_history(const std::string& history, const std::string& resume_dir) {
  std::ifstream state(resume_dir + "/state.json");
  nlohmann::json saved = nlohmann::json::parse(state, nullptr, /*allow_exceptions=*/false);
  if (saved.is_discarded() || !saved.contains("epoch")) return;  // train() reports the bad checkpoint
  const int epoch = saved["epoch"].get<int>();
  std::ifstream in(history);
  std::string kept, line;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("epoch", 0) <= epoch) kept += line + '\n';
  }
  write_file_atomic(history, kept);
}

/// Fails early, before any training, if `path` cannot be written (the same message as the
/// final write would give).
void check_writable(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (access((dir / ".").c_str(), W_OK) != 0)
    throw Error(fmt::format("{}: cannot write: {}", path, std::strerror(errno)));
}

/// Writes the held-out test rows (raw features, then the target) as CSV, so that a compiled
/// model can be scored on exactly the rows the trainer's test metric used.
void write_test_rows(const std::string& path, const trainer::Dataset& data, const std::vector<uint32_t>& rows) {
  if (!data.raw_rows.empty()) {  // a raw table: the rows as read, which the model takes as they are
    std::string text = data.raw_rows[0] + '\n';
    for (uint32_t r : rows) text += data.raw_rows[r + 1] + '\n';
    write_file_atomic(path, text);
    return;
  }
  std::vector<std::string> columns = data.feature_names;
  columns.push_back(data.target_name);
  const std::size_t width = columns.size();
  std::vector<float> table(rows.size() * width);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    for (std::size_t c = 0; c < data.n_features(); ++c)
      table[r * width + c] = data.features[rows[r] * data.n_features() + c];
    table[r * width + width - 1] = data.target[rows[r]];
  }
  write_file_atomic(path, csv::format(columns, table.data(), rows.size()));
}

void run_train(TrainArgs& args) {
  trainer::Options& o = args.options;
  o.task = trainer::parse_task(args.task);
  o.norm = trainer::parse_norm(args.norm);
  o.activation = trainer::parse_activation(args.activation);
  o.optimizer = trainer::parse_optimizer(args.optimizer);
  o.ops = trainer::parse_op_kinds(args.ops);
  if (args.data.empty() == args.synthetic.empty())
    throw Error("train: give either a CSV file or --synthetic NAME");
  check_writable(args.output);
  if (!args.test_csv.empty()) check_writable(args.test_csv);
  trainer::TableOptions table{.target = args.target, .task = o.task, .drop = args.drop,
                              .categorical = args.categorical, .numeric = args.numeric, .max_levels = args.max_levels,
                              .one_hot_levels = args.one_hot_levels};
  trainer::Dataset data = args.synthetic.empty() ? trainer::load_table(args.data, table)
                                                 : trainer::make_synthetic(args.synthetic);
  if (!args.quiet)
    for (const std::string& note : data.notes) fmt::print(stderr, "{}: {}\n", data.name, note);

  std::unique_ptr<std::ofstream> history;
  if (!args.history.empty()) {
    if (!o.resume_dir.empty()) trim_history(args.history, o.resume_dir);
    auto mode = o.resume_dir.empty() ? std::ios::trunc : std::ios::app;
    history = std::make_unique<std::ofstream>(args.history, std::ios::out | mode);
    if (!*history) throw Error(fmt::format("{}: cannot write", args.history));
  }
  ProgressBar bar(!args.quiet);
  std::string metric;
  trainer::Callbacks callbacks;
  callbacks.on_info = [&](const std::string& message) {
    if (!args.quiet) fmt::print(stderr, "{}: {}\n", data.name, message);
  };
  callbacks.on_batch = [&](int epoch, int batch, int batches) { bar.update(epoch, batch, batches); };
  callbacks.on_epoch = [&](const trainer::EpochReport& r) {
    bar.clear();
    if (!args.quiet) {
      fmt::print(stderr, "epoch {:>4}  train {:<10.5g} val {} {:<7.4f} ops {:>3}  {:<8}  {:>4}+ {:>4}-  {:6.2f}s  {}\n",
                 r.epoch, r.train_loss, r.metric, r.val_metric, r.ops, r.decision, r.accepted, r.reverted,
                 r.seconds, r.mutation);
    }
    if (history) {
      nlohmann::json line = {{"epoch", r.epoch}, {"train_loss", r.train_loss}, {"val_loss", r.val_loss},
                             {"val_metric", r.val_metric}, {"metric", r.metric}, {"ops", r.ops}, {"decision", r.decision},
                             {"mutation", r.mutation}, {"accepted", r.accepted}, {"reverted", r.reverted},
                             {"seconds", r.seconds}};
      *history << line.dump() << '\n' << std::flush;
    }
  };

  trainer::Result result = trainer::train(data, o, callbacks);
  write_file_atomic(args.output, ir::print_module(result.module));
  if (!args.test_csv.empty()) write_test_rows(args.test_csv, data, result.split.test);
  const trainer::Summary& s = result.summary;
  if (!args.quiet) {
    fmt::print(stderr, "test {} {:.4f}  ops {}  parameters {}  epochs {} (best {})  mutations {} accepted, {} reverted  "
               "time {:.2f}s\n",
               s.metric, s.test_metric, s.ops, s.parameters, s.epochs, s.best_epoch, s.accepted,
               s.reverted, s.seconds);
    fmt::print(stderr, "wrote {}\n", args.output);
  }
}

}  // namespace

void register_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  trainer::Options& o = args->options;
  CLI::App* cmd = app.add_subcommand("train", "Evolve a network on a CSV file or a built-in task; write text IR");
  cmd->add_option("data", args->data,
                  "CSV file with a header row: numeric and text columns, missing cells allowed (see README)");
  cmd->add_option("--synthetic", args->synthetic, "built-in task instead of a file: interaction (y = x0*x1 + x2), xor");
  cmd->add_option("-o,--output", args->output, "where to write the model (text IR)")->required();
  cmd->add_option("--target", args->target, "target column (default: the last one)");
  cmd->add_option("--drop", args->drop, "columns to leave out (comma separated)")->delimiter(',');
  cmd->add_option("--categorical", args->categorical, "columns to read as categories even if numeric")->delimiter(',');
  cmd->add_option("--numeric", args->numeric, "columns that must be numeric (missing cells allowed)")->delimiter(',');
  cmd->add_option("--max-levels", args->max_levels, "levels kept per categorical column (the most frequent)")
      ->capture_default_str();
  cmd->add_option("--one-hot-levels", args->one_hot_levels,
                  "a categorical column with up to this many levels is one-hot; with more, target-encoded")
      ->capture_default_str();
  cmd->add_option("--task", args->task, "classify | regress | auto (inferred from the target)")->capture_default_str();
  cmd->add_option("--epochs", o.epochs, "epochs to train")->capture_default_str();
  cmd->add_option("--lr", o.lr, "learning rate")->capture_default_str();
  cmd->add_option("--batch", o.batch, "minibatch rows")->capture_default_str();
  cmd->add_option("--weight-decay", o.weight_decay, "weight decay")->capture_default_str();
  cmd->add_option("--optimizer", args->optimizer, "adam | adamw")->capture_default_str();
  cmd->add_option("--max-ops", o.max_ops, "op budget over all layers (0: a linear model)")->capture_default_str();
  cmd->add_option("--grow", o.grow, "ops added per mutation")->capture_default_str();
  cmd->add_option("--pool", o.pool, "candidates scored per added op (1: random growth)")->capture_default_str();
  cmd->add_option("--prune-below", o.prune_below, "prune the weakest leaf op below this contribution")
      ->capture_default_str();
  cmd->add_option("--min-gain", o.min_gain, "accept a mutation if it lowers validation loss by this fraction")
      ->capture_default_str();
  cmd->add_option("--significance", o.significance,
                  "and only if the gain exceeds this many standard errors of the per-row gains")
      ->capture_default_str();
  cmd->add_option("--fallback-significance", o.fallback_significance,
                  "output the run's linear model unless the evolved network beats it on validation by this "
                  "many standard errors (accuracy or squared error); negative: always the evolved network")
      ->capture_default_str();
  cmd->add_option("--patience", o.patience,
                  "mutate only after this many epochs without a new best validation loss (0: every epoch)")
      ->capture_default_str();
  cmd->add_option("--layers", o.layers, "stacked layers")->capture_default_str();
  cmd->add_option("--width", o.width, "outputs of each hidden layer")->capture_default_str();
  cmd->add_option("--activation", args->activation, "between layers: none | relu | tanh | sigmoid")
      ->capture_default_str();
  cmd->add_option("--norm", args->norm, "op output normalisation: batch | l2batch | none")->capture_default_str();
  cmd->add_option("--ops", args->ops, "op kinds growth may use (unary or binary IR kinds)")->capture_default_str();
  cmd->add_option("--seed", o.seed, "seed of the split, the initialisation and the evolution")->capture_default_str();
  cmd->add_option("--device", o.device, "cpu | cuda")->capture_default_str();
  cmd->add_option("--threads", o.threads, "LibTorch threads (1 is bit-reproducible)")->capture_default_str();
  cmd->add_option("--history", args->history, "write one JSON line per epoch to this file");
  cmd->add_option("--checkpoint", o.checkpoint_dir, "save the run state in this directory (atomically)");
  cmd->add_option("--checkpoint-every", o.checkpoint_every, "epochs between checkpoints")->capture_default_str();
  cmd->add_option("--resume", o.resume_dir, "continue the run saved in this directory (same options)");
  cmd->add_option("--test-csv", args->test_csv, "also write the held-out test rows (features and target) here");
  cmd->add_flag("-q,--quiet", args->quiet, "print nothing but errors");
  cmd->callback([args] { run_train(*args); });
}

}  // namespace evoc::tools
