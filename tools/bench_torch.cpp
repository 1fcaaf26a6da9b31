// The LibTorch eager engine of `evoc bench`:
//
//   evoc bench model.opt.evir --checkpoint run/
//
// times the trainer's own eval-mode forward (frozen statistics, no gradients, one intra-op
// thread) on the best network of the checkpoint `run/` (trainer::load_network), next to the
// compiled engines. The checkpoint must be the model's source, and the note under the tables
// says how that was established: its best.evir is MODEL (the same function, metadata aside),
// or MODEL is a transformed (e.g. `evoc opt`) form of it whose interpreter agrees with
// best.evir's on random rows; a disagreement beyond the trainer's export tolerance is a
// warning. The note also gives the largest difference of LibTorch from MODEL's interpreter.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "ir/error.h"
#include "ir/interpreter.h"
#include "ir/parser.h"
#include "ir/random_module.h"
#include "tools/bench_engines.h"
#include "trainer/trainer.h"

namespace evoc::tools {

namespace {

constexpr double kTolerance = 1e-5;          // the trainer's export tolerance: |a - b| / max(1, |b|)
constexpr int64_t kCheckRows = 4096;         // random rows for the comparisons
constexpr int64_t kBufferFloats = 64 << 20;  // cap on rows * values per LibTorch call (256 MiB)

/// Largest |a - b| / max(1, |b|); infinite if one is NaN and the other is not.
double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) {
      if (std::isnan(a[i]) != std::isnan(b[i])) return INFINITY;
      continue;
    }
    if (a[i] == b[i]) continue;  // also equal infinities
    worst = std::max(worst, std::fabs(double(a[i]) - b[i]) / std::max(1.0, std::fabs(double(b[i]))));
  }
  return worst;
}

std::vector<float> interpret(const ir::Module& m, const std::vector<float>& x) {
  const auto n = static_cast<int64_t>(x.size() / m.n_in());
  std::vector<float> y(n * m.n_out());
  ir::interpret(m, x.data(), n, static_cast<int64_t>(m.n_in()), y.data(), static_cast<int64_t>(m.n_out()));
  return y;
}

std::string describe_error(double error) {
  return error == 0 ? "bit for bit" : fmt::format("within {:.2g} (relative)", error);
}

/// How the checkpoint's best.evir relates to MODEL, as a sentence for the note. Throws if their
/// shapes differ; warns on stderr if their functions differ beyond the tolerance.
std::string relate_to_model(const std::string& dir, const std::string& model_path, const ir::Module& model,
                            const std::vector<float>& rows) {
  const std::string best_path = (std::filesystem::path(dir) / "best.evir").string();
  ir::Module best = ir::read_module(best_path);
  if (best.n_in() != model.n_in() || best.n_out() != model.n_out())
    throw Error(
        fmt::format("--checkpoint: {} has {} inputs and {} outputs, {} has {} and {}: not the "
                    "checkpoint of this model",
                    best_path, best.n_in(), best.n_out(), model_path, model.n_in(), model.n_out()));
  ir::Module function = model;
  best.metadata.clear();
  function.metadata.clear();
  const uint64_t best_hash = ir::content_hash(best), model_hash = ir::content_hash(function);
  if (best_hash == model_hash)
    return fmt::format("its best.evir is {} (content hash {:016x}, metadata aside)", model_path, model_hash);
  const double error = relative_error(interpret(model, rows), interpret(best, rows));
  const std::string hashes =
      fmt::format("content hash {:016x} vs {:016x}, metadata aside", model_hash, best_hash);
  if (error <= kTolerance)
    return fmt::format(
        "{} is not its best.evir ({}) but a transformed form of it: their interpreters agree {} "
        "on {} random rows",
        model_path, hashes, describe_error(error), kCheckRows);
  fmt::print(stderr,
             "evoc bench: warning: {} and {} differ by {:.3g} (relative) on random rows, beyond "
             "{:.0e}: the LibTorch row times another function than the model's\n",
             model_path, best_path, error, kTolerance);
  return fmt::format(
      "WARNING: {} is not its best.evir ({}) and computes another function: their interpreters "
      "differ by {:.2g} (relative) on {} random rows, beyond the tolerance {:.0e}",
      model_path, hashes, error, kCheckRows, kTolerance);
}

BenchEngine torch_engine(const std::string& dir, const std::string& model_path, const ir::Module& m) {
  std::shared_ptr<const trainer::TrainedNetwork> net = trainer::load_network(dir, /*threads=*/1);
  if (net->n_features() != static_cast<int64_t>(m.n_in()) ||
      net->n_outputs() != static_cast<int64_t>(m.n_out()))
    throw Error(fmt::format("--checkpoint: the network in {} has {} inputs and {} outputs, {} has {} and {}",
                            dir, net->n_features(), net->n_outputs(), model_path, m.n_in(), m.n_out()));
  const std::vector<float> rows = ir::random_rows(11, kCheckRows, m.n_in(), /*specials=*/false);
  const std::string relation = relate_to_model(dir, model_path, m, rows);
  std::vector<float> torch_out(kCheckRows * m.n_out());
  net->predict(rows.data(), kCheckRows, torch_out.data());
  const double error = relative_error(torch_out, interpret(m, rows));

  // The forward pass keeps a [rows, columns] buffer per layer: calls are split so that it
  // stays in memory on the largest models.
  const int64_t chunk = std::max<int64_t>(1, kBufferFloats / static_cast<int64_t>(m.values.size()));
  const auto n_in = static_cast<int64_t>(m.n_in()), n_out = static_cast<int64_t>(m.n_out());
  BenchEngine engine;
  engine.run = [net, chunk, n_in, n_out](const float* x, int64_t n, float* y) {
    for (int64_t start = 0; start < n; start += chunk)
      net->predict(x + start * n_in, std::min(chunk, n - start), y + start * n_out);
  };
  engine.note = fmt::format(
      "the trainer's eval-mode forward (frozen statistics, no gradients, 1 intra-op thread) on the "
      "best network of checkpoint {} ({} ops); {}. LibTorch against the interpreter of {}: {} on {} "
      "random rows{}.{}",
      dir, net->ops(), relation, model_path, describe_error(error), kCheckRows,
      error <= kTolerance ? "" : fmt::format(" (beyond the export tolerance {:.0e})", kTolerance),
      chunk < 1'000'000
          ? fmt::format(" Batches above {} rows run as calls of {} rows (memory).", chunk, chunk)
          : "");
  return engine;
}

}  // namespace

void register_torch_bench_engine(CLI::App& bench) {
  auto dir = std::make_shared<std::string>();
  bench
      .add_option(
          "--checkpoint", *dir,
          "also time LibTorch eager: the trainer's eval forward on the best network of this checkpoint "
          "(evoc train --checkpoint DIR), which must be MODEL's source")
      ->check(CLI::ExistingDirectory);
  add_bench_engine("LibTorch eager, 1 thread", [dir](const std::string& model_path, const ir::Module& m) {
    return dir->empty() ? BenchEngine{} : torch_engine(*dir, model_path, m);
  });
}

}  // namespace evoc::tools
