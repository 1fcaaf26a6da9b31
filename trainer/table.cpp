// Typed reading of raw tables for the trainer: column kinds, missing cells, categorical levels,
// class labels, and the preprocessing the exported module computes from the raw columns.
//
// A numeric column becomes its value with missing cells imputed by the median of the file
// (`fillnan`), plus a missing indicator (`isnan`) when the file has a missing cell in it. A
// categorical column keeps its most frequent levels (--max-levels); every other string, a level
// unseen in training and a missing cell read as "other". With few levels (--one-hot-levels) it
// becomes one-hot indicators (`eq` against the level code; "other" is all zeros, which the
// head's bias carries); with more, one target-encoded feature per class beyond the first (the
// level's shrunk mean target: a `dot` over the `eq` indicators, "other" the bias), so that a
// 50-level column is one input of the network rather than 50, and growth, which draws operand
// pairs at random, still finds the interactions among the other columns.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <span>
#include <unordered_map>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "ir/csv.h"
#include "ir/error.h"
#include "ir/printer.h"
#include "ir/scalar.h"
#include "trainer/trainer.h"

namespace evoc::trainer {

namespace {

/// What the kind of a column is decided on. The texts are counted only for a column that may be
/// categorical (a numeric column has about as many distinct texts as rows).
struct ColumnStats {
  std::size_t missing = 0;
  std::size_t numbers = 0;       ///< non-missing cells that are numbers
  const std::string* first = nullptr;  ///< the first non-missing cell
  bool one_text = true;          ///< every non-missing cell is *first
  std::unordered_map<std::string, std::size_t> counts;  ///< non-missing cell -> rows (count_texts)

  void count_texts(const csv::TextTable& t, const std::vector<std::size_t>& rows, std::size_t c) {
    for (std::size_t r : rows)
      if (const std::string& cell = t.at(r, c); !ir::is_missing_cell(cell)) ++counts[cell];
  }
};

bool contains(const std::vector<std::string>& list, const std::string& name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

void check_names(const csv::TextTable& t, const std::vector<std::string>& names, const char* flag) {
  for (const auto& name : names)
    if (!contains(t.columns, name))
      throw Error(fmt::format("{}: {} names no column '{}' (columns: {})", t.file, flag, name,
                              fmt::join(t.columns, ", ")));
}

std::string preview(const std::vector<std::string>& names, std::size_t most = 8) {
  std::vector<std::string> shown(names.begin(), names.begin() + std::min(most, names.size()));
  return fmt::format("{}{}", fmt::join(shown, ", "), names.size() > most ? ", ..." : "");
}

}  // namespace

Dataset load_table(const std::string& path, const TableOptions& options) {
  const csv::TextTable t = csv::read_text(path);
  if (t.cols() < 2) throw Error(fmt::format("{}: need at least one feature column and a target column", path));
  if (t.rows() == 0) throw Error(fmt::format("{}: no data rows after the header", path));
  check_names(t, options.drop, "--drop");
  check_names(t, options.categorical, "--categorical");
  check_names(t, options.numeric, "--numeric");
  for (const auto& name : options.categorical)
    if (contains(options.numeric, name))
      throw Error(fmt::format("column '{}' is given both --categorical and --numeric", name));
  if (options.max_levels < 1) throw Error("--max-levels must be at least 1");
  if (options.one_hot_levels < 0) throw Error("--one-hot-levels must be at least 0");
  const std::size_t tcol = options.target.empty() ? t.cols() - 1 : t.column_index(options.target);
  if (contains(options.drop, t.columns[tcol]))
    throw Error(fmt::format("--drop names the target column '{}'", t.columns[tcol]));

  Dataset data;
  std::string stem = path.substr(path.find_last_of('/') + 1);
  data.name = stem.substr(0, stem.rfind('.'));
  data.target_name = t.columns[tcol];

  // ---- the target: rows without one are left out; classes or values ----
  std::vector<std::size_t> rows;
  for (std::size_t r = 0; r < t.rows(); ++r)
    if (!ir::is_missing_cell(t.at(r, tcol))) rows.push_back(r);
  if (rows.empty()) throw Error(fmt::format("{}: the target column '{}' is empty in every row", path, data.target_name));
  if (rows.size() < t.rows())
    data.notes.push_back(fmt::format("{} rows with no target '{}' left out", t.rows() - rows.size(), data.target_name));
  bool numeric_target = true;
  std::size_t first_text = 0;
  std::map<float, std::string> numbers;  // distinct numeric targets, sorted
  for (std::size_t r : rows) {
    auto v = ir::parse_number(t.at(r, tcol));
    if (!v) {
      numeric_target = false;
      first_text = r;
      break;
    }
    if (numbers.size() <= 1000) numbers.emplace(*v == 0 ? 0.0f : *v, ir::format_float(*v == 0 ? 0.0f : *v));
  }
  bool classify;
  std::string reason;
  if (!numeric_target) {
    if (options.task == Task::Regress)
      throw Error(fmt::format("{}:{}: --task regress, but target '{}' has '{}', not a number", path,
                              t.lines[first_text], data.target_name, t.at(first_text, tcol).substr(0, 40)));
    classify = true;
    reason = "it has values that are not numbers";
  } else {
    bool integers = std::all_of(numbers.begin(), numbers.end(), [](const auto& e) { return e.first == std::floor(e.first); });
    if (options.task == Task::Auto) {
      classify = integers && numbers.size() <= 20;
      reason = classify ? fmt::format("{} distinct integer values", numbers.size())
                        : fmt::format("{}{} distinct {}values", numbers.size() > 1000 ? "over " : "",
                                      std::min<std::size_t>(numbers.size(), 1000), integers ? "integer " : "");
      if (!classify && integers) reason += ", more than 20";
    } else {
      classify = options.task == Task::Classify;
      reason = "--task";
    }
    if (classify && numbers.size() > 1000)
      throw Error(fmt::format("{}: --task classify, but target '{}' has over 1000 distinct values", path,
                              data.target_name));
  }
  if (classify) {
    std::map<std::string, std::size_t> index;  // class name -> class index
    if (numeric_target) {
      for (const auto& [v, name] : numbers) {
        index.emplace(name, data.classes.size());
        data.classes.push_back(name);
      }
    } else {
      std::map<std::string, std::size_t> names;
      for (std::size_t r : rows) names.emplace(t.at(r, tcol), 0);
      for (auto& [name, i] : names) {
        i = data.classes.size();
        data.classes.push_back(name);
      }
      index = std::move(names);
    }
    if (data.classes.size() < 2)
      throw Error(fmt::format("{}: target '{}' has one class ('{}'): nothing to classify", path, data.target_name,
                              data.classes.empty() ? "" : data.classes[0]));
    for (std::size_t r : rows) {
      const std::string& cell = t.at(r, tcol);
      auto v = numeric_target ? ir::parse_number(cell) : std::nullopt;
      auto it = index.find(v ? ir::format_float(*v == 0 ? 0.0f : *v) : cell);
      data.target.push_back(static_cast<float>(it->second));
    }
    data.notes.push_back(fmt::format("task: classify ({}), target '{}': {} classes in this order: {}", reason,
                                     data.target_name, data.classes.size(), preview(data.classes, 20)));
  } else {
    for (std::size_t r : rows) data.target.push_back(*ir::parse_number(t.at(r, tcol)));
    data.notes.push_back(fmt::format("task: regress (target '{}': {})", data.target_name, reason));
  }

  // ---- the feature columns ----
  for (std::size_t c = 0; c < t.cols(); ++c) {
    if (c == tcol) continue;
    const std::string& name = t.columns[c];
    if (contains(options.drop, name)) {
      data.dropped.push_back(name);
      continue;
    }
    ColumnStats s;
    for (std::size_t r : rows) {
      const std::string& cell = t.at(r, c);
      if (ir::is_missing_cell(cell)) {
        ++s.missing;
        continue;
      }
      if (ir::parse_number(cell)) ++s.numbers;
      if (!s.first) s.first = &cell;
      else if (s.one_text && cell != *s.first) s.one_text = false;
    }
    const std::size_t present = rows.size() - s.missing;
    auto drop = [&](const std::string& why) {
      data.dropped.push_back(name);
      data.notes.push_back(fmt::format("column '{}' dropped: {}", name, why));
    };
    if (present == 0) {
      drop("it is empty in every row");
      continue;
    }
    const bool forced_numeric = contains(options.numeric, name), forced_categorical = contains(options.categorical, name);
    bool categorical = forced_categorical || (!forced_numeric && s.numbers < present);
    if (forced_numeric && s.numbers < present) {
      std::size_t r = 0;
      for (std::size_t i : rows)
        if (!ir::is_missing_cell(t.at(i, c)) && !ir::parse_number(t.at(i, c))) {
          r = i;
          break;
        }
      throw Error(fmt::format("{}:{}: column '{}' is --numeric, but '{}' is not a number (nor a missing cell: "
                              "empty, NA, NaN, ?, null)",
                              path, t.lines[r], name, t.at(r, c).substr(0, 40)));
    }
    if (s.one_text && s.missing == 0) {
      drop(fmt::format("it is '{}' in every row", s.first->substr(0, 40)));
      continue;
    }
    if (categorical) s.count_texts(t, rows, c);
    if (categorical && !forced_categorical && s.counts.size() == rows.size() && rows.size() > 2) {
      drop("a distinct text in every row (an ID?); --categorical keeps it");
      continue;
    }
    ir::ColumnSchema column{.name = name, .kind = categorical ? ir::ColumnKind::Categorical : ir::ColumnKind::Numeric,
                            .levels = {}};
    const std::size_t index = data.schema.columns.size();
    if (categorical) {
      std::vector<std::pair<std::string, std::size_t>> levels(s.counts.begin(), s.counts.end());
      std::sort(levels.begin(), levels.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
      });
      const std::size_t kept = std::min<std::size_t>(levels.size(), static_cast<std::size_t>(options.max_levels));
      for (std::size_t i = 0; i < kept; ++i) column.levels.push_back(levels[i].first);
      const bool one_hot = kept <= static_cast<std::size_t>(options.one_hot_levels);
      if (one_hot) {
        for (std::size_t i = 0; i < kept; ++i) {
          data.feature_names.push_back(fmt::format("{}={}", name, levels[i].first));
          data.derived.push_back({.column = index, .kind = DerivedFeature::Kind::Level, .fill = 0,
                                  .level = static_cast<int>(i), .weights = {}});
        }
      } else {
        // Target encoding: per level, the mean target (per class beyond the first, for a
        // classifier) shrunk towards the overall mean by kShrinkRows pseudo-rows.
        constexpr double kShrinkRows = 10;
        std::unordered_map<std::string, std::size_t> code;
        for (std::size_t i = 0; i < kept; ++i) code.emplace(levels[i].first, i);
        const std::size_t dims = classify ? data.classes.size() - 1 : 1;
        for (std::size_t d = 0; d < dims; ++d) {
          std::vector<double> sum(kept, 0), count(kept, 0);
          double total = 0;
          for (std::size_t i = 0; i < rows.size(); ++i) {
            const double y = classify ? (data.target[i] == static_cast<float>(d + 1) ? 1.0 : 0.0) : data.target[i];
            total += y;
            auto it = code.find(t.at(rows[i], c));
            if (it == code.end()) continue;
            sum[it->second] += y;
            count[it->second] += 1;
          }
          const double prior = total / static_cast<double>(rows.size());
          DerivedFeature f{.column = index, .kind = DerivedFeature::Kind::Encoded, .fill = static_cast<float>(prior),
                           .level = 0, .weights = {}};
          for (std::size_t k = 0; k < kept; ++k)
            f.weights.push_back(static_cast<float>((sum[k] + kShrinkRows * prior) / (count[k] + kShrinkRows) - prior));
          data.feature_names.push_back(classify ? fmt::format("{}~{}", name, data.classes[d + 1]) : name + "~mean");
          data.derived.push_back(std::move(f));
        }
      }
      data.notes.push_back(fmt::format(
          "column '{}': categorical, {} levels{}{}", name, levels.size(),
          kept < levels.size() ? fmt::format(": the {} most frequent kept, the rest read as 'other'", kept) : "",
          forced_categorical ? " (--categorical)" : ""));
      if (!one_hot)
        data.notes.push_back(fmt::format("column '{}': target-encoded (more than {} levels: each level's mean target, "
                                         "shrunk towards the overall mean)",
                                         name, options.one_hot_levels));
    } else {
      std::vector<float> values;
      values.reserve(present);
      for (std::size_t r : rows)
        if (auto v = ir::parse_number(t.at(r, c))) values.push_back(*v);
      const std::size_t n = values.size();
      const auto middle = values.begin() + static_cast<std::ptrdiff_t>(n / 2);
      std::nth_element(values.begin(), middle, values.end());  // then below it: the lower half
      const float median =
          n % 2 ? *middle : static_cast<float>((double(*std::max_element(values.begin(), middle)) + *middle) / 2);
      data.feature_names.push_back(name);
      data.derived.push_back({.column = index, .kind = DerivedFeature::Kind::Value, .fill = median, .level = 0, .weights = {}});
      if (s.missing > 0) {
        data.feature_names.push_back(name + ".missing");
        data.derived.push_back({.column = index, .kind = DerivedFeature::Kind::Missing, .fill = 0, .level = 0, .weights = {}});
        data.notes.push_back(fmt::format("column '{}': numeric, {} missing cells (imputed with the median {}, plus "
                                         "a missing indicator)",
                                         name, s.missing, ir::format_float(median)));
      }
    }
    data.schema.columns.push_back(std::move(column));
  }
  if (data.schema.empty())
    throw Error(fmt::format("{}: no feature column left (dropped: {})", path, preview(data.dropped)));

  data.raw_rows.push_back(csv::format_row(t.columns));
  for (std::size_t r : rows)
    data.raw_rows.push_back(csv::format_row(std::span(t.cells).subspan(r * t.cols(), t.cols())));

  // ---- the features, row by row ----
  const std::size_t width = data.derived.size();
  std::vector<std::size_t> source;
  for (const auto& column : data.schema.columns) source.push_back(t.column_index(column.name));
  data.features.resize(rows.size() * width);
  std::vector<float> raw(data.schema.columns.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (std::size_t c = 0; c < raw.size(); ++c)
      raw[c] = data.schema.encode(c, t.at(rows[i], source[c]), path, t.lines[rows[i]]);
    float* out = &data.features[i * width];
    for (std::size_t f = 0; f < width; ++f) {
      const DerivedFeature& d = data.derived[f];
      const float x = raw[d.column];
      switch (d.kind) {
        case DerivedFeature::Kind::Value: out[f] = std::isnan(x) ? d.fill : x; break;
        case DerivedFeature::Kind::Missing: out[f] = std::isnan(x) ? 1.0f : 0.0f; break;
        case DerivedFeature::Kind::Level: out[f] = x == static_cast<float>(d.level) ? 1.0f : 0.0f; break;
        case DerivedFeature::Kind::Encoded: {  // what the module's dot over eq computes, op for op
          ir::FloatArith b;
          ir::scalar::DotSum<ir::FloatArith> sum;
          for (std::size_t k = 0; k < d.weights.size(); ++k)
            sum.add(b, d.weights[k], x == static_cast<float>(k) ? 1.0f : 0.0f);
          out[f] = sum.finish(b, d.fill);
          break;
        }
      }
    }
  }
  return data;
}

ir::Module attach_schema(const Dataset& data, ir::Module net) {
  if (data.schema.empty()) return net;
  if (net.n_in() != data.derived.size())
    throw Error(fmt::format("attach_schema: the network takes {} inputs, the data set derives {} features",
                            net.n_in(), data.derived.size()));
  std::vector<std::string> inputs;
  for (const auto& column : data.schema.columns) inputs.push_back(column.name);
  ir::Module m = ir::make_module(net.name, inputs.size(), inputs);
  // The derived features, each constant once.
  std::map<uint32_t, ir::ValueId> consts;
  auto constant = [&](float c) {
    uint32_t bits;
    std::memcpy(&bits, &c, sizeof bits);
    auto it = consts.find(bits);
    if (it != consts.end()) return it->second;
    return consts[bits] = ir::add_const(m, c);
  };
  std::map<std::pair<std::size_t, int>, ir::ValueId> levels;  // (column, code) -> its eq
  auto level = [&](std::size_t column, int code) {
    auto it = levels.find({column, code});
    if (it != levels.end()) return it->second;
    return levels[{column, code}] = ir::add_binary(m, ir::Op::Eq, static_cast<ir::ValueId>(column),
                                                    constant(static_cast<float>(code)));
  };
  std::vector<ir::ValueId> remap(net.values.size());
  for (std::size_t f = 0; f < data.derived.size(); ++f) {
    const DerivedFeature& d = data.derived[f];
    const auto x = static_cast<ir::ValueId>(d.column);
    switch (d.kind) {
      case DerivedFeature::Kind::Value: remap[f] = ir::add_binary(m, ir::Op::FillNan, x, constant(d.fill)); break;
      case DerivedFeature::Kind::Missing: remap[f] = ir::add_unary(m, ir::Op::IsNan, x); break;
      case DerivedFeature::Kind::Level: remap[f] = level(d.column, d.level); break;
      case DerivedFeature::Kind::Encoded: {
        std::vector<ir::ValueId> args;
        for (std::size_t k = 0; k < d.weights.size(); ++k) args.push_back(level(d.column, static_cast<int>(k)));
        remap[f] = ir::add_dot(m, args, d.weights, d.fill);
        break;
      }
    }
  }
  for (std::size_t id = net.n_in(); id < net.values.size(); ++id) {
    ir::Value v = net.values[id];
    for (ir::ValueId& a : v.args) a = remap[a];
    remap[id] = ir::add_value(m, std::move(v));
  }
  for (std::size_t o = 0; o < net.outputs.size(); ++o) ir::add_output(m, remap[net.outputs[o]], net.output_names[o]);
  m.metadata = std::move(net.metadata);
  ir::write_schema(m, data.schema);
  if (!data.classes.empty()) ir::set_class_names(m, data.classes);
  if (!data.dropped.empty()) m.set_meta("dropped", csv::format_row(data.dropped));
  return m;
}

}  // namespace evoc::trainer
