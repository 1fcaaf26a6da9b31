// Data sets for the trainer: CSV loading, built-in synthetic tasks, task inference, seeded
// splits, metrics, and the parsers of the option names. No LibTorch here.
#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "ir/csv.h"
#include "ir/error.h"
#include "ir/metrics.h"
#include "trainer/random.h"
#include "trainer/trainer.h"

namespace evoc::trainer {

std::vector<float> Dataset::feature_rows(const std::vector<uint32_t>& rows) const {
  std::vector<float> out;
  out.reserve(rows.size() * n_features());
  for (uint32_t r : rows) {
    auto first = features.begin() + static_cast<std::ptrdiff_t>(r * n_features());
    out.insert(out.end(), first, first + static_cast<std::ptrdiff_t>(n_features()));
  }
  return out;
}

Dataset load_csv(const std::string& path, const std::string& target) {
  csv::Table table = csv::read(path);
  if (table.cols() < 2)
    throw Error(fmt::format("{}: need at least one feature column and a target column", path));
  if (table.rows() == 0) throw Error(fmt::format("{}: no data rows after the header", path));
  std::size_t t = target.empty() ? table.cols() - 1 : table.column_index(target);
  Dataset data;
  std::string stem = path.substr(path.find_last_of('/') + 1);
  data.name = stem.substr(0, stem.rfind('.'));
  data.target_name = table.columns[t];
  for (std::size_t c = 0; c < table.cols(); ++c)
    if (c != t) data.feature_names.push_back(table.columns[c]);
  data.features.reserve(table.rows() * (table.cols() - 1));
  for (std::size_t r = 0; r < table.rows(); ++r) {
    for (std::size_t c = 0; c < table.cols(); ++c)
      if (c != t) data.features.push_back(table.at(r, c));
    data.target.push_back(table.at(r, t));
  }
  return data;
}

std::vector<std::string> synthetic_names() { return {"interaction", "xor"}; }

Dataset make_synthetic(const std::string& name, std::size_t rows) {
  const std::size_t n_features = 5;  // x0, x1, x2 carry the signal; x3, x4 are distractors
  Random random(20261123);
  Dataset data{.name = name, .feature_names = {}, .target_name = "y", .features = {}, .target = {}, .schema = {},
               .derived = {}, .classes = {}, .dropped = {}, .notes = {}, .raw_rows = {}};
  for (std::size_t c = 0; c < n_features; ++c) data.feature_names.push_back(fmt::format("x{}", c));
  data.features.resize(rows * n_features);
  for (float& v : data.features) v = static_cast<float>(random.normal());
  for (std::size_t r = 0; r < rows; ++r) {
    const float* x = &data.features[r * n_features];
    if (name == "interaction") {
      data.target.push_back(x[0] * x[1] + x[2] + 0.1f * static_cast<float>(random.normal()));
    } else if (name == "xor") {
      data.target.push_back(x[0] * x[1] > 0 ? 1.0f : 0.0f);
    } else {
      throw Error(fmt::format("unknown synthetic task '{}' (choices: {})", name,
                              fmt::join(synthetic_names(), ", ")));
    }
  }
  return data;
}

Task infer_task(const Dataset& data) {
  if (!data.classes.empty()) return Task::Classify;  // a table's discrete target (load_table)
  std::set<float> distinct;
  for (float y : data.target) {
    if (!(y >= 0) || y != std::floor(y) || y > 1000) return Task::Regress;
    distinct.insert(y);
    if (distinct.size() > 20) return Task::Regress;
  }
  return Task::Classify;
}

Split split_rows(std::size_t rows, uint64_t seed, double validation_fraction, double test_fraction) {
  if (!(validation_fraction >= 0) || !(test_fraction >= 0) || !(validation_fraction + test_fraction < 1))
    throw Error("split fractions must be at least 0 and leave rows for training");
  std::vector<uint32_t> order(rows);
  for (std::size_t i = 0; i < rows; ++i) order[i] = static_cast<uint32_t>(i);
  Random random(seed ^ 0x5b1d5b1d5b1d5b1dull);
  for (std::size_t i = rows; i > 1; --i) std::swap(order[i - 1], order[random.below(i)]);
  auto n_val = static_cast<std::size_t>(std::lround(rows * validation_fraction));
  auto n_test = static_cast<std::size_t>(std::lround(rows * test_fraction));
  if ((validation_fraction > 0 && n_val == 0) || (test_fraction > 0 && n_test == 0) || n_val + n_test + 2 > rows)
    throw Error(fmt::format("{} rows are too few to split into training, validation and test", rows));
  Split split;
  split.test.assign(order.begin(), order.begin() + n_test);
  split.validation.assign(order.begin() + n_test, order.begin() + n_test + n_val);
  split.train.assign(order.begin() + n_test + n_val, order.end());
  return split;
}

std::vector<Split> ensemble_splits(std::size_t rows, uint64_t seed, int members, double validation_fraction,
                                   double test_fraction) {
  if (members < 1) throw Error(fmt::format("an ensemble needs at least 1 member, not {}", members));
  // The test split and the order of the other rows, as split_rows draws them.
  const Split outer = split_rows(rows, seed, 0.0, test_fraction);
  const std::size_t n = outer.train.size();
  std::size_t folds = 0;
  if (validation_fraction > 0)
    folds = std::max<std::size_t>(static_cast<std::size_t>(members),
                                  static_cast<std::size_t>(std::max(1l, std::lround(1.0 / validation_fraction))));
  if (folds == 1) folds = 2;  // a fraction above 2/3: validate on half, not on every row
  if (folds > 0 && n / folds * (folds - 1) < 2)
    throw Error(fmt::format("{} rows outside the test split are too few to cut into {} validation folds for {} members",
                            n, folds, members));
  std::vector<Split> splits(static_cast<std::size_t>(members));
  for (std::size_t i = 0; i < splits.size(); ++i) {
    Split& s = splits[i];
    s.test = outer.test;
    // Fold f is the rows at positions [f * n / folds, (f + 1) * n / folds) of the order.
    const std::size_t begin = folds ? i * n / folds : n, end = folds ? (i + 1) * n / folds : n;
    s.validation.assign(outer.train.begin() + static_cast<std::ptrdiff_t>(begin),
                        outer.train.begin() + static_cast<std::ptrdiff_t>(end));
    s.train.assign(outer.train.begin(), outer.train.begin() + static_cast<std::ptrdiff_t>(begin));
    s.train.insert(s.train.end(), outer.train.begin() + static_cast<std::ptrdiff_t>(end), outer.train.end());
  }
  return splits;
}

double score_rows(const Dataset& data, Task task, const std::vector<float>& predictions,
                  const std::vector<uint32_t>& rows) {
  if (rows.empty()) return 0;
  const std::size_t n_out = predictions.size() / rows.size();
  std::vector<double> truth(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) truth[i] = data.target[rows[i]];
  if (task == Task::Classify) return metrics::accuracy(truth, predictions.data(), n_out, n_out);
  return metrics::regress(truth, predictions.data(), n_out).r2;
}

// ---- option names ---------------------------------------------------------------------

namespace {
template <class E, std::size_t N>
E parse_choice(const std::string& what, const std::string& name,
               const std::pair<const char*, E> (&choices)[N]) {
  std::vector<std::string> names;
  for (const auto& [text, value] : choices) {
    if (name == text) return value;
    names.push_back(text);
  }
  throw Error(fmt::format("unknown {} '{}' (choices: {})", what, name, fmt::join(names, ", ")));
}
template <class E, std::size_t N>
std::string choice_name(E value, const std::pair<const char*, E> (&choices)[N]) {
  for (const auto& [text, v] : choices)
    if (v == value) return text;
  return "?";
}

constexpr std::pair<const char*, Norm> kNorms[] = {
    {"batch", Norm::Batch}, {"l2batch", Norm::L2Batch}, {"none", Norm::None}};
constexpr std::pair<const char*, Activation> kActivations[] = {
    {"none", Activation::None}, {"relu", Activation::Relu}, {"tanh", Activation::Tanh},
    {"sigmoid", Activation::Sigmoid}};
constexpr std::pair<const char*, Optimizer> kOptimizers[] = {
    {"adam", Optimizer::Adam}, {"adamw", Optimizer::AdamW}};
constexpr std::pair<const char*, Task> kTasks[] = {
    {"auto", Task::Auto}, {"classify", Task::Classify}, {"regress", Task::Regress}};
}  // namespace

Norm parse_norm(const std::string& name) { return parse_choice("normalisation", name, kNorms); }
Activation parse_activation(const std::string& name) {
  return parse_choice("activation", name, kActivations);
}
Optimizer parse_optimizer(const std::string& name) {
  return parse_choice("optimizer", name, kOptimizers);
}
Task parse_task(const std::string& name) { return parse_choice("task", name, kTasks); }
std::string task_name(Task task) { return choice_name(task, kTasks); }
std::string norm_name(Norm norm) { return choice_name(norm, kNorms); }
std::string activation_name(Activation activation) { return choice_name(activation, kActivations); }

std::vector<ir::Op> default_op_kinds(Task task) {
  if (task == Task::Regress) return {ir::Op::Add, ir::Op::Mul, ir::Op::Tanh, ir::Op::Relu, ir::Op::Square, ir::Op::Abs};
  return {ir::Op::Add, ir::Op::Mul};
}

std::vector<ir::Op> parse_op_kinds(const std::string& list) {
  if (list == "auto") return {};
  std::vector<ir::Op> ops;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = std::min(list.find(',', start), list.size());
    std::string name = list.substr(start, end - start);
    if (name == "auto") throw Error("--ops: 'auto' (the task's default kinds) stands alone, not in a list");
    auto op = ir::op_from_name(name);
    if (!op || !(ir::is_unary(*op) || ir::is_binary(*op)))
      throw Error(fmt::format("--ops: '{}' is not a unary or binary op kind of the IR", name));
    if (std::find(ops.begin(), ops.end(), *op) == ops.end()) ops.push_back(*op);
    start = end + 1;
  }
  return ops;
}

}  // namespace evoc::trainer
