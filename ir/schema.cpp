// The column schema of a model and its metadata form (see schema.h).
#include "ir/schema.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_map>

#include <fmt/core.h>

#include "ir/error.h"

namespace evoc::ir {

namespace {
constexpr std::string_view kColumnKey = "column.";
constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();
}  // namespace

bool is_missing_cell(std::string_view cell) {
  static constexpr std::string_view kTokens[] = {"", "NA", "N/A", "NaN", "nan", "NAN", "?", "null", "NULL", "None"};
  static constexpr std::size_t kLongest =
      std::max_element(std::begin(kTokens), std::end(kTokens), [](auto a, auto b) { return a.size() < b.size(); })->size();
  if (cell.size() > kLongest) return false;  // most cells: numbers of several digits, words
  return std::find(std::begin(kTokens), std::end(kTokens), cell) != std::end(kTokens);
}

std::optional<float> parse_number(std::string_view cell) {
  if (cell.empty() || is_missing_cell(cell)) return std::nullopt;
  std::string_view digits = cell.front() == '+' ? cell.substr(1) : cell;
  float v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec == std::errc::invalid_argument || p != digits.data() + digits.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) return std::nullopt;
  if (std::isnan(v)) return std::nullopt;
  return v;
}

float Schema::encode(std::size_t c, std::string_view cell, std::string_view file, int line) const {
  const ColumnSchema& column = columns[c];
  if (is_missing_cell(cell)) return kMissing;
  if (column.kind == ColumnKind::Categorical) {
    for (std::size_t i = 0; i < column.levels.size(); ++i)
      if (column.levels[i] == cell) return static_cast<float>(i);
    return kMissing;  // a level unseen in training: "other"
  }
  if (auto v = parse_number(cell)) return *v;
  throw Error(fmt::format("{}:{}: column '{}' is numeric, but '{}' is not a number (nor a missing cell: empty, NA, "
                          "NaN, ?, null)",
                          file, line, column.name, cell.substr(0, 40)));
}

std::optional<Schema> read_schema(const Module& m) {
  bool any = false;
  for (const auto& [key, value] : m.metadata) any = any || std::string_view(key).starts_with(kColumnKey);
  if (!any) return std::nullopt;
  Schema schema;
  for (const std::string& name : m.input_names) {
    const std::string key = std::string(kColumnKey) + name;
    const std::string value = m.meta(key);
    ColumnSchema column{.name = name, .kind = ColumnKind::Numeric, .levels = {}};
    if (value == "numeric") {
    } else if (value.starts_with("categorical")) {
      column.kind = ColumnKind::Categorical;
      std::string_view rest = std::string_view(value).substr(std::string_view("categorical").size());
      if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
      try {
        column.levels = csv::parse_row(rest);
      } catch (const Error& e) {
        throw Error(fmt::format("module '{}': metadata '{}': {}", m.name, key, e.what()));
      }
    } else {
      throw Error(fmt::format("module '{}': metadata '{}' is '{}': expected 'numeric' or 'categorical LEVELS' "
                              "(every input needs one when any has)",
                              m.name, key, value));
    }
    schema.columns.push_back(std::move(column));
  }
  return schema;
}

void write_schema(Module& m, const Schema& schema) {
  for (const ColumnSchema& column : schema.columns)
    m.set_meta(std::string(kColumnKey) + column.name,
               column.kind == ColumnKind::Numeric ? std::string("numeric")
                                                  : "categorical " + csv::format_row(column.levels));
}

std::vector<std::string> class_names(const Module& m) {
  const std::string value = m.meta("classes");
  if (value.empty()) return {};
  return csv::parse_row(value);
}

void set_class_names(Module& m, const std::vector<std::string>& names) { m.set_meta("classes", csv::format_row(names)); }

std::vector<float> encode_table(const Schema& schema, const csv::TextTable& table) {
  std::vector<std::size_t> cols;
  for (const ColumnSchema& column : schema.columns) cols.push_back(table.column_index(column.name));
  const std::size_t n_in = cols.size();
  std::vector<float> x(table.rows() * n_in);
  for (std::size_t r = 0; r < table.rows(); ++r)
    for (std::size_t i = 0; i < n_in; ++i)
      x[r * n_in + i] = schema.encode(i, table.at(r, cols[i]), table.file, table.lines[r]);
  return x;
}

}  // namespace evoc::ir
