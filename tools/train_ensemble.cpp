// evoc train --ensemble K (tools/train_ensemble.h): K trainer runs linked into one module.
#include "tools/train_ensemble.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/printer.h"
#include "ir/schema.h"
#include "passes/link.h"
#include "tools/ensemble_report.h"

namespace evoc::tools {

namespace {

std::string member_path(const std::string& dir, int i) {
  return (std::filesystem::path(dir) / fmt::format("member-{}.evir", i + 1)).string();
}

void check_options(const EnsembleTrainOptions& e, const trainer::Options& o) {
  if (e.members == 0) throw Error("--members-dir: needs --ensemble K");
  if (e.members < 1) throw Error(fmt::format("--ensemble {}: must be at least 1", e.members));
  if (o.cluster || o.islands) throw Error("--ensemble: not supported with --islands or a run of many ranks");
  if (!o.checkpoint_dir.empty() || !o.resume_dir.empty())
    throw Error("--ensemble: not supported with --checkpoint or --resume");
  if (e.members_dir.empty()) return;
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(e.members_dir, ec);
  if (fs::exists(st) && !fs::is_directory(st))
    throw Error(fmt::format("--members-dir {}: not a directory", e.members_dir));
  if (!fs::exists(st)) {
    // Only the directory itself is made: its parent must exist.
    if (!fs::create_directory(e.members_dir, ec))
      throw Error(fmt::format("--members-dir {}: cannot create: {}", e.members_dir, ec.message()));
  }
}

}  // namespace

void train_ensemble(const trainer::Dataset& data, const trainer::Options& o, const EnsembleTrainOptions& e,
                    int workers, const std::string& output, bool quiet) {
  check_options(e, o);
  const int k = e.members;
  std::vector<trainer::Result> results(static_cast<std::size_t>(k));
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(k));
  std::atomic<int> next{0};
  std::mutex print;
  const int threads = std::min(workers, k);
  if (!quiet)
    fmt::print(stderr, "{}: training {} members (seeds {}..{}) on {} thread{}\n", data.name, k, o.seed,
               o.seed + static_cast<uint64_t>(k - 1), threads, threads == 1 ? "" : "s");
  // One test split for all (rows no member trains on); the other rows in folds, one validation
  // fold per member; every member standardises with the statistics of all those rows, so
  // that the ensemble computes one standardisation.
  std::vector<trainer::Split> splits;
  try {
    splits = trainer::ensemble_splits(data.rows(), o.seed, k, o.validation_data ? 0.0 : o.validation_fraction,
                                      o.test_fraction);
  } catch (const Error& error) {
    throw Error(fmt::format("--ensemble {}: {}: {}", k, data.name, error.what()));
  }
  std::vector<uint32_t> statistics_rows = splits[0].train;
  statistics_rows.insert(statistics_rows.end(), splits[0].validation.begin(), splits[0].validation.end());
  std::sort(statistics_rows.begin(), statistics_rows.end());
  auto work = [&] {
    for (int i; (i = next++) < k;) {
      try {
        trainer::Options member = o;
        member.seed = o.seed + static_cast<uint64_t>(i);
        member.split = splits[i];
        if (o.validation_data) {  // the validation rows are those of the other file
          member.split->validation.resize(o.validation_data->rows());
          for (std::size_t r = 0; r < o.validation_data->rows(); ++r) member.split->validation[r] = static_cast<uint32_t>(r);
        }
        member.statistics_rows = statistics_rows;
        results[i] = trainer::train(data, member);
        const trainer::Summary& s = results[i].summary;
        if (!quiet) {
          std::lock_guard<std::mutex> lock(print);
          fmt::print(stderr, "member {} (seed {}): val {} {:.4f}  test {:.4f}  ops {}  epochs {} (best {})  {:.2f}s\n",
                     i + 1, member.seed, s.metric, s.val_metric, s.test_metric, s.ops, s.epochs, s.best_epoch, s.seconds);
        }
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  };
  if (threads <= 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(work);
    for (std::thread& t : pool) t.join();
  }
  for (const std::exception_ptr& error : errors)
    if (error) std::rethrow_exception(error);

  std::vector<passes::LinkMember> members;
  for (int i = 0; i < k; ++i)
    members.push_back({results[i].module, e.members_dir.empty() ? fmt::format("seed {}", o.seed + static_cast<uint64_t>(i))
                                                                : member_path(e.members_dir, i)});
  const ir::Module ensemble = passes::link_modules(members);

  // The comparison rows: those of --validation-csv (no member trained on them), else the rows
  // no member trained on (the test split). Neither a member nor the ensemble has seen them, so
  // their scores there compare fairly; a member's own validation fold would flatter the
  // ensemble, whose other members trained on it.
  const trainer::Dataset& source = o.validation_data ? *o.validation_data : data;
  std::vector<uint32_t> held_rows;
  if (o.validation_data) {
    for (std::size_t row = 0; row < source.rows(); ++row) held_rows.push_back(static_cast<uint32_t>(row));
  } else {
    std::vector<char> trained(data.rows(), 0);
    for (const trainer::Result& r : results)
      for (uint32_t row : r.split.train) trained[row] = 1;
    for (std::size_t row = 0; row < data.rows(); ++row)
      if (!trained[row]) held_rows.push_back(static_cast<uint32_t>(row));
  }
  const std::string where = o.validation_data ? "the validation rows" : "the rows no member trained on";
  // The rows as the modules' inputs (by input name), then the target (class index or value).
  csv::Table held;
  held.columns = ensemble.input_names;
  held.columns.push_back(source.target_name);
  std::vector<float> x;  // held_rows.size() * n_in
  if (!source.raw_rows.empty()) {  // a raw table: the cells as read, through the model's schema
    std::string text = source.raw_rows[0] + '\n';
    for (uint32_t row : held_rows) text += source.raw_rows[row + 1] + '\n';
    x = ir::encode_table(*ir::read_schema(ensemble), csv::parse_text(text, source.name));
  } else {
    x = source.feature_rows(held_rows);
  }
  const std::size_t n_in = ensemble.n_in();
  for (std::size_t i = 0; i < held_rows.size(); ++i) {
    held.values.insert(held.values.end(), x.begin() + i * n_in, x.begin() + (i + 1) * n_in);
    held.values.push_back(source.target[held_rows[i]]);
  }
  if (held_rows.empty()) {
    if (!quiet)
      fmt::print(stderr, "every row trained some member: no rows to compare the ensemble with its members on "
                         "(--test-fraction or --validation-csv holds some out)\n");
  } else {
    compare_with_members(members, ensemble, held, n_in, where, "evoc train", !quiet);
  }

  if (!e.members_dir.empty())
    for (int i = 0; i < k; ++i) write_file_atomic(member_path(e.members_dir, i), ir::print_module(results[i].module));
  write_file_atomic(output, ir::print_module(ensemble));
  if (!quiet) {
    fmt::print(stderr, "ensemble: {} members, {}; shared: {}\n", k, ensemble.meta("ensemble.ops"),
               ensemble.meta("ensemble.shared"));
    if (!e.members_dir.empty()) fmt::print(stderr, "wrote {} members to {}\n", k, e.members_dir);
    fmt::print(stderr, "wrote {}\n", output);
  }
}

}  // namespace evoc::tools
