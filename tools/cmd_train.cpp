// evoc train: evolve a network on a CSV file or a built-in task and write it as text IR.
//
// Reports on stderr: the inferred task, a header and one line per epoch in labelled columns
// (train loss, validation metric, ops, the verdict on the last mutation, the mutation totals,
// seconds, an estimate of the time left, the new mutation), and a final summary; on a terminal
// the line of the running epoch is drawn live (minibatches done) until the epoch ends. The model
// is written atomically, and an output path that cannot be written is an error before training
// starts. --time-limit, --early-stop, SIGINT and SIGTERM end the run early with the best model
// so far written as the final one would be; after a signal, one line says what was written and
// the exit status is 128 + the signal (130, 143).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "ir/csv.h"
#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/printer.h"
#include "tools/commands.h"
#include "tools/train_ensemble.h"
#include "trainer/distributed.h"
#include "trainer/trainer.h"

namespace evoc::tools {

namespace {

struct TrainArgs {
  std::string data, synthetic, output, target, history, test_csv, validation_csv, time_limit;
  std::vector<std::string> drop, categorical, numeric;  ///< column overrides of the table reader
  int max_levels = 64, one_hot_levels = 10;
  std::string task = "auto", norm = "batch", activation = "tanh", optimizer = "adam", ops = "auto";
  bool quiet = false;
  trainer::Options options;
  // Many processes (trainer/distributed.h).
  int workers = 1, rank = -1, world_size = 0;
  std::string master;
  double timeout = 30;
  EnsembleTrainOptions ensemble;
};

/// "0.8s", "42s", "3m05s", "2h07m".
std::string format_duration(double seconds) {
  if (!(seconds >= 0)) return "-";
  if (seconds < 10) return fmt::format("{:.1f}s", seconds);
  const auto s = static_cast<long long>(std::llround(seconds));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
}

/// The run on stderr: a header, then one line per epoch in labelled columns with an estimate
/// of the time left (the mean epoch time so far, times the epochs left, within the time
/// limit). On a terminal the running epoch's line is drawn live and replaced by its result;
/// otherwise (a log, CI) only the finished lines are written.
class Progress {
 public:
  Progress(bool enabled, int epochs, double time_limit)
      : enabled_(enabled), live_(enabled && isatty(fileno(stderr))), epochs_(epochs), time_limit_(time_limit),
        start_(std::chrono::steady_clock::now()) {}
  void batch(int epoch, int batch, int batches) {
    if (!live_) return;
    auto now = std::chrono::steady_clock::now();
    if (batch != batches && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const int width = 24;
    int filled = batches ? width * batch / batches : width;
    fmt::print(stderr, "\r{:>11}  [{}{}] minibatch {}/{}  left {}\033[K", fmt::format("{}/{}", epoch, epochs_),
               std::string(filled, '#'), std::string(width - filled, '.'), batch, batches,
               format_duration(left(epoch - 1)));
    std::fflush(stderr);
  }
  void epoch(const trainer::EpochReport& r) {
    seconds_ += r.seconds;
    ++done_;
    if (!enabled_) return;
    if (!header_) {
      fmt::print(stderr, "{:>11}  {:>10}  {:>12}  {:>4}  {:>8}  {:>8}  {:>8}  {:>7}  {:>7}  {}\n", "epoch",
                 "train_loss", "val_" + r.metric, "ops", "verdict", "accepted", "reverted", "time", "left",
                 "mutation");
      header_ = true;
    }
    fmt::print(stderr, "{}{:>11}  {:>10.5g}  {:>12.4f}  {:>4}  {:>8}  {:>8}  {:>8}  {:>7}  {:>7}  {}\n",
               live_ ? "\r\033[K" : "", fmt::format("{}/{}", r.epoch, epochs_), r.train_loss, r.val_metric, r.ops,
               r.decision.empty() ? "-" : r.decision, r.accepted, r.reverted, format_duration(r.seconds),
               format_duration(left(r.epoch)), r.mutation.empty() ? "-" : r.mutation);
  }
  /// Erases a live line (before other messages).
  void clear() {
    if (live_) fmt::print(stderr, "\r\033[K");
  }

 private:
  /// Seconds left after `epoch` epochs (-1 before the first epoch has been timed).
  double left(int epoch) const {
    if (done_ == 0) return -1;
    double estimate = seconds_ / done_ * std::max(0, epochs_ - epoch);
    if (time_limit_ > 0) {
      double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      estimate = std::min(estimate, std::max(0.0, time_limit_ - elapsed));
    }
    return estimate;
  }

  bool enabled_, live_;
  int epochs_;
  double time_limit_;
  std::chrono::steady_clock::time_point start_, last_;
  double seconds_ = 0;
  int done_ = 0;
  bool header_ = false;
};

/// Parses --time-limit: a number of seconds with an optional unit (ms, s, m, h): 5s, 2m, 1.5h.
double parse_duration(const std::string& text) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = used ? text.substr(used) : "";
  const double scale = unit.empty() || unit == "s" ? 1 : unit == "ms" ? 1e-3 : unit == "m" ? 60 : unit == "h" ? 3600 : 0;
  if (used == 0 || scale == 0 || !std::isfinite(value) || value <= 0)
    throw Error(fmt::format("--time-limit: '{}' is not a duration (a positive number with s, m or h: 30s, 5m, 2h)", text));
  return value * scale;
}

/// Seconds since this process started (from /proc; 0 where it cannot be read), so that
/// --time-limit also counts the start-up (loading LibTorch, reading the data).
double seconds_since_process_start() {
  std::ifstream stat("/proc/self/stat"), uptime("/proc/uptime");
  std::string line;
  double up = 0;
  if (!std::getline(stat, line) || !(uptime >> up)) return 0;
  // Field 22 (starttime, in clock ticks since boot) counts from the ')' that ends field 2.
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string field;
  for (int i = 3; i < 22 && fields >> field;) ++i;
  unsigned long long start = 0;
  if (!(fields >> start)) return 0;
  return std::max(0.0, up - static_cast<double>(start) / static_cast<double>(sysconf(_SC_CLK_TCK)));
}

/// Set by SIGINT/SIGTERM: the run stops at the next minibatch. A second signal ends the
/// process at once (the outputs, written atomically, are then complete or absent).
std::atomic<bool> stop_requested{false};
volatile std::sig_atomic_t stop_signal = 0;

extern "C" void on_stop_signal(int sig) {
  if (stop_signal != 0) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  stop_signal = sig;
  stop_requested.store(true);
}

void catch_stop_signals() {
  struct sigaction action = {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

/// On --resume, drops the history lines of epochs after the checkpoint (written by a run
/// interrupted after its last checkpoint), so that the file lists every epoch once.
void trim_history(const std::string& history, const std::string& resume_dir) {
  const int epoch = trainer::checkpoint_epoch(resume_dir);
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
void check_writable(const std::string& path) { check_output_writable(path); }

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

/// The validation rows of --validation-csv: the training data's target column.
trainer::Dataset load_validation(const std::string& path, const trainer::Dataset& data) {
  trainer::Dataset validation;
  try {
    validation = trainer::load_csv(path, data.target_name);
  } catch (const Error& e) {
    const std::string message = e.what();
    if (message.starts_with(path)) throw;
    throw Error(fmt::format("{}: {}", path, message));
  }
  validation.name = path;
  return validation;
}

/// Opens --history (on --resume, after dropping the epochs the checkpoint does not have).
std::unique_ptr<std::ofstream> open_history(const std::string& path, const std::string& resume_dir) {
  if (path.empty()) return nullptr;
  if (!resume_dir.empty()) trim_history(path, resume_dir);
  auto mode = resume_dir.empty() ? std::ios::trunc : std::ios::app;
  auto history = std::make_unique<std::ofstream>(path, std::ios::out | mode);
  if (!*history) throw Error(fmt::format("{}: cannot write", path));
  return history;
}

void write_history_line(std::ofstream& history, const std::string& path, const trainer::EpochReport& r) {
  nlohmann::json line = {{"epoch", r.epoch}, {"train_loss", r.train_loss}, {"val_loss", r.val_loss},
                         {"val_metric", r.val_metric}, {"metric", r.metric}, {"ops", r.ops}, {"decision", r.decision},
                         {"mutation", r.mutation}, {"accepted", r.accepted}, {"reverted", r.reverted},
                         {"seconds", r.seconds}};
  history << line.dump() << '\n' << std::flush;
  if (!history) throw Error(fmt::format("{}: cannot write: {}", path, std::strerror(errno)));
}

/// The final summary on stderr; the test metric when there is a test split, else validation's.
void print_summary(const trainer::Summary& s, const std::string& output) {
  const std::string stopped = s.stopped.empty() ? "" : fmt::format(" (stopped: {})", s.stopped);
  fmt::print(stderr, "{} {} {:.4f}  ops {}  parameters {}  epochs {}{} (best {})  mutations {} accepted, {} reverted  "
             "time {:.2f}s\n",
             s.test_rows ? "test" : "val", s.metric, s.test_rows ? s.test_metric : s.val_metric, s.ops, s.parameters,
             s.epochs, stopped, s.best_epoch, s.accepted, s.reverted, s.seconds);
  fmt::print(stderr, "wrote {}\n", output);
}

void run_train(TrainArgs& args) {
  catch_stop_signals();
  trainer::Options& o = args.options;
  if (args.workers < 1) throw Error("--workers must be at least 1");
  if (o.migrate_every < 1) throw Error("--migrate-every must be at least 1");
  bool as_rank = trainer::started_as_rank(args.rank);
  if (!as_rank && (args.world_size > 0 || !args.master.empty()))
    throw Error("--world-size and --master need --rank (or the RANK variable)");
  if (!as_rank && args.workers > 1 && !args.ensemble.requested()) {
    // The launcher: N ranks of this command line on this machine; they check everything else.
    check_writable(args.output);
    const trainer::Launch launch = trainer::launch_workers(args.workers, args.timeout);
    if (!launch.worker) {
      if (launch.signal) std::exit(128 + launch.signal);
      return;
    }
    as_rank = true;  // a worker, forked: it goes on as its rank
  }
  if (!as_rank && o.islands && !args.ensemble.requested())
    throw Error("--islands needs --workers N (or a run of many ranks)");
  o.task = trainer::parse_task(args.task);
  o.norm = trainer::parse_norm(args.norm);
  o.activation = trainer::parse_activation(args.activation);
  o.optimizer = trainer::parse_optimizer(args.optimizer);
  o.ops = trainer::parse_op_kinds(args.ops);
  if (!args.time_limit.empty()) o.time_limit = parse_duration(args.time_limit);
  o.stop = &stop_requested;
  if (args.data.empty() == args.synthetic.empty())
    throw Error("train: give either a CSV file or --synthetic NAME");
  if (!args.test_csv.empty() && !(o.test_fraction > 0))
    throw Error("--test-csv: there is no test split to write (hold one out with --test-fraction, e.g. 0.15)");
  check_writable(args.output);
  if (!args.test_csv.empty()) check_writable(args.test_csv);
  trainer::TableOptions table{.target = args.target, .task = o.task, .drop = args.drop,
                              .categorical = args.categorical, .numeric = args.numeric, .max_levels = args.max_levels,
                              .one_hot_levels = args.one_hot_levels};
  trainer::Dataset data = args.synthetic.empty() ? trainer::load_table(args.data, table)
                                                 : trainer::make_synthetic(args.synthetic);
  if (!args.quiet)
    for (const std::string& note : data.notes) fmt::print(stderr, "{}: {}\n", data.name, note);
  if (args.ensemble.requested() && (as_rank || !args.history.empty() || !args.test_csv.empty()))
    throw Error("--ensemble: not supported with --rank, --history or --test-csv");
  std::unique_ptr<trainer::Cluster> cluster;
  if (as_rank) {
    cluster = trainer::Cluster::join(trainer::cluster_options(args.rank, args.world_size, args.master, args.timeout),
                                     trainer::run_fingerprint(data, o));
    o.cluster = cluster.get();
    // One progress display and one model: rank 0's.
    if (cluster->rank() != 0) {
      args.quiet = true;
      args.history.clear();
      args.test_csv.clear();
    }
  }
  const bool writes = !cluster || cluster->rank() == 0;

  trainer::Dataset validation;
  if (!args.validation_csv.empty()) {
    validation = load_validation(args.validation_csv, data);
    o.validation_data = &validation;
  }
  if (args.ensemble.requested()) return train_ensemble(data, o, args.ensemble, args.workers, args.output, args.quiet);

  std::unique_ptr<std::ofstream> history = open_history(args.history, o.resume_dir);
  // The limit counts from the start of the process; what is left of it is train()'s.
  if (o.time_limit > 0) o.time_limit = std::max(1e-3, o.time_limit - seconds_since_process_start());
  Progress progress(!args.quiet, o.epochs, o.time_limit);
  trainer::Callbacks callbacks;
  callbacks.on_info = [&](const std::string& message) {
    progress.clear();
    if (!args.quiet) fmt::print(stderr, "{}: {}\n", data.name, message);
  };
  callbacks.on_batch = [&](int epoch, int batch, int batches) { progress.batch(epoch, batch, batches); };
  callbacks.on_epoch = [&](const trainer::EpochReport& r) {
    progress.epoch(r);
    if (history) write_history_line(*history, args.history, r);
  };

  trainer::Result result = trainer::train(data, o, callbacks);
  progress.clear();
  if (!writes) return;
  write_file_atomic(args.output, ir::print_module(result.module));
  if (!args.test_csv.empty()) write_test_rows(args.test_csv, data, result.split.test);
  const trainer::Summary& s = result.summary;
  if (!args.quiet) {
    print_summary(s, args.output);
    if (cluster) {
      trainer::Cluster::Stats stats = cluster->stats();
      fmt::print(stderr,
                 "rank 0 of {}: {} exchanges, {:.3f}s in them ({:.1f} us each, waiting for the others included); "
                 "{} fused training steps\n",
                 cluster->size(), stats.exchanges, stats.seconds,
                 stats.exchanges ? 1e6 * stats.seconds / static_cast<double>(stats.exchanges) : 0.0,
                 trainer::fused_steps_taken());
    }
  }
  if (const int sig = stop_signal) {
    fmt::print(stderr, "{}: stopped after epoch {}; wrote {} (the best network so far, from epoch {})\n",
               sig == SIGINT ? "SIGINT" : "SIGTERM", s.epochs, args.output, s.best_epoch);
    std::fflush(stderr);
    std::exit(128 + sig);
  }
}

}  // namespace

void register_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  trainer::Options& o = args->options;
  CLI::App* cmd = app.add_subcommand("train", kTrainSummary);
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
                  "output the run's linear model unless the evolved network beats it by this many standard "
                  "errors (accuracy or squared error): under 2,000 rows in 5-fold cross-validation, else on "
                  "validation; negative: always the evolved network")
      ->capture_default_str();
  cmd->add_flag("--refit,!--no-refit", o.refit,
                "under 2,000 rows, refit the model the fallback chose by cross-validation (or a --max-ops 0 model) "
                "on every training and validation row (default); --no-refit outputs it as trained")
      ->capture_default_str();
  cmd->add_option("--patience", o.patience,
                  "mutate only after this many epochs without a new best validation loss (0: every epoch)")
      ->capture_default_str();
  cmd->add_option("--layers", o.layers, "stacked layers")->capture_default_str();
  cmd->add_option("--width", o.width, "outputs of each hidden layer")->capture_default_str();
  cmd->add_option("--activation", args->activation, "between layers: none | relu | tanh | sigmoid")
      ->capture_default_str();
  cmd->add_option("--norm", args->norm, "op output normalisation: batch | l2batch | none")->capture_default_str();
  cmd->add_option("--ops", args->ops,
                  "op kinds growth may use (unary or binary IR kinds); auto: add,mul to classify, "
                  "add,mul,tanh,relu,square,abs to regress")
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "seed of the split, the initialisation and the evolution")->capture_default_str();
  cmd->add_option("--device", o.device, "cpu | cuda")->capture_default_str();
  cmd->add_option("--threads", o.threads,
                  "LibTorch threads for evaluations of big splits (at most the cores; minibatches train on one "
                  "thread, where more never pay; 1 is bit-reproducible); to use more cores for training, use "
                  "--workers with --islands (or data-parallel --workers with big minibatches, --batch 4096 and up)")
      ->capture_default_str();
  cmd->add_option("--validation-fraction", o.validation_fraction, "rows held out for validation")
      ->capture_default_str();
  cmd->add_option("--validation-csv", args->validation_csv,
                  "validation rows from this CSV file (same columns) instead; every row of DATA then trains");
  cmd->add_option("--test-fraction", o.test_fraction,
                  "rows held out as a test split, scored at the end (default none: test on your own file "
                  "with evoc eval)")
      ->capture_default_str();
  cmd->add_option("--time-limit", args->time_limit,
                  "stop at the next minibatch after this long (30s, 5m, 2h) with the best network so far "
                  "(--islands: at the end of the epoch)");
  cmd->add_option("--early-stop", o.early_stop,
                  "stop after this many epochs without a new best validation loss (0: never)")
      ->capture_default_str();
  cmd->add_option("--workers", args->workers,
                  "train on this many processes of this machine (data-parallel: each trains on its share of "
                  "every minibatch); each step exchanges gradients (20-35 us between two processes of one "
                  "machine, more when they outnumber its cores), so it pays when steps take far longer: "
                  "--batch 4096 and up on 2 cores; --islands uses the cores without an exchange per step")
      ->capture_default_str();
  cmd->add_flag("--islands", o.islands,
                "with --workers or ranks: each rank evolves its own network from its own seed; best networks "
                "migrate every --migrate-every epochs; the best island's network is the output");
  cmd->add_option("--migrate-every", o.migrate_every, "epochs between migrations (--islands)")->capture_default_str();
  cmd->add_option("--rank", args->rank, "this process's rank in a run of many processes or machines (or RANK)");
  cmd->add_option("--world-size", args->world_size, "the number of ranks of the run (or WORLD_SIZE)");
  cmd->add_option("--master", args->master,
                  "HOST:PORT of rank 0, which hosts the rendezvous (or MASTER_ADDR and MASTER_PORT; default "
                  "127.0.0.1:29500)");
  cmd->add_option("--timeout", args->timeout,
                  "seconds to wait for the other ranks at the start and in each exchange; a rank lost for "
                  "longer ends the run")
      ->capture_default_str();
  cmd->add_option("--history", args->history, "write one JSON line per epoch to this file");
  cmd->add_option("--checkpoint", o.checkpoint_dir, "save the run state in this directory (atomically)");
  cmd->add_option("--checkpoint-every", o.checkpoint_every, "epochs between checkpoints")->capture_default_str();
  cmd->add_option("--resume", o.resume_dir, "continue the run saved in this directory (same options)");
  cmd->add_option("--test-csv", args->test_csv,
                  "also write the held-out test rows (features and target) here (needs --test-fraction)");
  cmd->add_option("--ensemble", args->ensemble.members,
                  "train K members, member i with --seed + i, validating on fold i of the rows outside the test "
                  "split (so every row trains all members but at most one), all standardised alike, --workers "
                  "of them at a time on threads of this process, and write their linked ensemble (the mean of "
                  "their class probabilities, or of their outputs; see evoc link); it reports each member's "
                  "score and the ensemble's on the rows no member trained on (--test-fraction or "
                  "--validation-csv), and warns when the ensemble is worse than its best member there")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--members-dir", args->ensemble.members_dir,
                  "with --ensemble: also write each member here as member-I.evir (made if absent)");
  cmd->add_flag("-q,--quiet", args->quiet, "print nothing but errors");
  cmd->callback([args] { run_train(*args); });
}

}  // namespace evoc::tools
