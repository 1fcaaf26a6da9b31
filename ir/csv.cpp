// The strict numeric CSV reader and writer.
#include "ir/csv.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include <fmt/core.h>

#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/printer.h"

namespace evoc::csv {
namespace {

struct Field {
  std::string text;
  int line;  // 1-based line where the field starts
  int col;   // 1-based column where the field starts
};

class Reader {
 public:
  Reader(std::string_view text, std::string_view file) : text_(text), file_(file) {}

  // Reads one record into `fields`; false at end of input.
  bool record(std::vector<Field>& fields) {
    fields.clear();
    if (pos_ >= text_.size()) return false;
    record_line_ = line_;
    while (true) {
      Field f{{}, line_, col()};
      if (pos_ < text_.size() && text_[pos_] == '"') {
        ++pos_;
        while (true) {
          if (pos_ >= text_.size()) fail(f.line, f.col, "unterminated quoted field");
          char c = text_[pos_++];
          if (c == '"') {
            if (pos_ < text_.size() && text_[pos_] == '"') {
              f.text += '"';
              ++pos_;
              continue;
            }
            break;
          }
          if (c == '\n') {
            ++line_;
            line_start_ = pos_;
          }
          f.text += c;
        }
        if (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n' && text_[pos_] != '\r')
          fail(line_, col(), "unexpected character after a closing quote");
      } else {
        while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n' && text_[pos_] != '\r') {
          if (text_[pos_] == '"') fail(line_, col(), "quote inside an unquoted field");
          f.text += text_[pos_++];
        }
      }
      fields.push_back(std::move(f));
      if (pos_ >= text_.size()) return true;
      char c = text_[pos_++];
      if (c == ',') continue;
      if (c == '\r') {
        if (pos_ < text_.size() && text_[pos_] == '\n')
          ++pos_;
        else
          fail(line_, col() - 1, "bare carriage return (expected CRLF or LF line endings)");
      }
      ++line_;
      line_start_ = pos_;
      return true;
    }
  }

  int record_line() const { return record_line_; }

  [[noreturn]] void fail(int line, int col, const std::string& message) const {
    throw ParseError(std::string(file_), line, col, message,
                     col > 0 ? fmt::format("{}:{}:{}: error: {}", file_, line, col, message)
                             : fmt::format("{}:{}: error: {}", file_, line, message));
  }

 private:
  int col() const { return static_cast<int>(pos_ - line_start_) + 1; }
  std::string_view text_, file_;
  std::size_t pos_ = 0, line_start_ = 0;
  int line_ = 1, record_line_ = 1;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_blank(const std::vector<Field>& fields) { return fields.size() == 1 && trim(fields[0].text).empty(); }

}  // namespace

std::size_t Table::column_index(std::string_view name) const {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return i;
  std::string choices;
  for (const auto& c : columns) choices += (choices.empty() ? "" : ", ") + c;
  throw Error(fmt::format("no column named '{}' (columns: {})", name, choices));
}

Table parse(std::string_view text, std::string_view file, const ReadOptions& options) {
  // UTF-16 (what some spreadsheets save as "Unicode text") is half NUL bytes: say what it is
  // rather than fail on the first NUL in a cell.
  if (text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF"))
    Reader(text, file).fail(1, 1, "the file is UTF-16 (it starts with a UTF-16 byte order mark), not UTF-8: "
                                  "convert it, e.g. with iconv -f UTF-16 -t UTF-8");
  if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    const std::string_view before = text.substr(0, nul);
    const std::size_t line_start = before.rfind('\n');
    const int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    const int col = 1 + static_cast<int>(line_start == std::string_view::npos ? nul : nul - line_start - 1);
    Reader(text, file).fail(line, col, "a NUL byte: the file is not UTF-8 text (UTF-16? convert it, e.g. "
                                       "with iconv -f UTF-16 -t UTF-8)");
  }
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM
  Reader reader(text, file);
  Table table;
  std::vector<Field> fields;
  while (reader.record(fields) && is_blank(fields)) {
  }
  if (fields.empty() || is_blank(fields)) reader.fail(1, 0, "empty file: expected a header line");
  std::unordered_set<std::string> seen;
  const bool headerless = options.header_optional && std::all_of(fields.begin(), fields.end(), [](const Field& f) {
    float v = 0;
    const std::string_view cell = trim(f.text);
    return !cell.empty() && ir::parse_float(cell.front() == '+' ? cell.substr(1) : cell, v) != ir::FloatText::Malformed;
  });
  if (headerless) {
    table.has_header = false;
    for (std::size_t c = 0; c < fields.size(); ++c) table.columns.push_back(std::to_string(c + 1));
  }
  // The cells of one data row, checked and appended.
  auto append_row = [&](const std::vector<Field>& row) {
    if (row.size() != table.columns.size())
      reader.fail(reader.record_line(), 0,
                  fmt::format("row has {} field{}, expected {} (one per header column)", row.size(),
                              row.size() == 1 ? "" : "s", table.columns.size()));
    for (std::size_t c = 0; c < row.size(); ++c) {
      const Field& f = row[c];
      std::string_view cell = trim(f.text);
      if (cell.empty())
        reader.fail(f.line, f.col, fmt::format("empty cell in column '{}'", table.columns[c]));
      std::string_view digits = cell.front() == '+' ? cell.substr(1) : cell;
      float v = 0;
      const ir::FloatText read = ir::parse_float(digits, v);
      if (read == ir::FloatText::Malformed)
        reader.fail(
            f.line, f.col,
            fmt::format("column '{}': cannot read '{}' as a number", table.columns[c], cell.substr(0, 40)));
      if (read == ir::FloatText::Overflow)
        reader.fail(f.line, f.col,
                    fmt::format("column '{}': {} is out of the range of f32", table.columns[c], cell));
      if (!options.allow_nan && !std::isfinite(v))
        reader.fail(f.line, f.col,
                    fmt::format("column '{}': {} is not a finite number", table.columns[c], cell));
      table.values.push_back(v);
    }
  };
  if (headerless) append_row(fields);
  for (const Field& f : headerless ? std::vector<Field>{} : fields) {
    std::string name(trim(f.text));
    if (name.empty())
      reader.fail(f.line, f.col,
                  fmt::format("empty column name in the header (column {})", table.columns.size() + 1));
    if (!seen.insert(name).second)
      reader.fail(f.line, f.col, fmt::format("duplicate column name '{}'", name));
    table.columns.push_back(std::move(name));
  }
  while (reader.record(fields)) {
    if (is_blank(fields)) continue;
    append_row(fields);
  }
  return table;
}

Table read(const std::string& path, const ReadOptions& options) {
  return parse(read_file(path), path, options);
}

std::string format(const std::vector<std::string>& columns, const float* values, std::size_t rows) {
  std::string out;
  // Quoted when needed, and when it starts with a byte order mark: a reader strips UTF-8's from
  // the start of a file (the first column's name would lose it) and refuses UTF-16's.
  auto cell = [](const std::string& name) {
    if (name.find_first_of(",\"\n\r") == std::string::npos && !name.starts_with("\xEF\xBB\xBF") &&
        !name.starts_with("\xFF\xFE") && !name.starts_with("\xFE\xFF"))
      return name;
    std::string q = "\"";
    for (char c : name) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  for (std::size_t c = 0; c < columns.size(); ++c) out += (c ? "," : "") + cell(columns[c]);
  out += '\n';
  // Every NaN is written `nan`: the sign and payload of a NaN are unspecified (README, the IR).
  auto number = [](float v) { return std::isnan(v) ? std::string("nan") : ir::format_float(v); };
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < columns.size(); ++c)
      out += (c ? "," : "") + number(values[r * columns.size() + c]);
    out += '\n';
  }
  return out;
}

// ---- cell texts -------------------------------------------------------------------------

std::size_t TextTable::column_index(std::string_view name) const {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return i;
  std::string choices;
  for (const auto& c : columns) choices += (choices.empty() ? "" : ", ") + c;
  throw Error(fmt::format("{}: no column named '{}' (columns: {})", file, name, choices));
}

TextTable parse_text(std::string_view text, std::string_view file) {
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM
  Reader reader(text, file);
  TextTable table;
  table.file = std::string(file);
  std::vector<Field> fields;
  while (reader.record(fields) && is_blank(fields)) {
  }
  if (fields.empty() || is_blank(fields)) reader.fail(1, 0, "empty file: expected a header line");
  std::unordered_set<std::string> seen;
  for (const Field& f : fields) {
    std::string name(trim(f.text));
    if (name.empty())
      reader.fail(f.line, f.col,
                  fmt::format("empty column name in the header (column {})", table.columns.size() + 1));
    if (!seen.insert(name).second) reader.fail(f.line, f.col, fmt::format("duplicate column name '{}'", name));
    table.columns.push_back(std::move(name));
  }
  while (reader.record(fields)) {
    if (is_blank(fields) && table.columns.size() > 1) continue;
    if (fields.size() != table.columns.size())
      reader.fail(reader.record_line(), 0,
                  fmt::format("row has {} field{}, expected {} (one per header column)", fields.size(),
                              fields.size() == 1 ? "" : "s", table.columns.size()));
    table.lines.push_back(reader.record_line());
    for (const Field& f : fields) table.cells.emplace_back(trim(f.text));
  }
  return table;
}

TextTable read_text(const std::string& path) { return parse_text(read_file(path), path); }

std::string format_row(std::span<const std::string> cells) {
  std::string out;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const std::string& c = cells[i];
    if (i) out += ',';
    if (c.find_first_of(",\"\n\r") == std::string::npos && c == trim(c) && !c.empty()) {
      out += c;
      continue;
    }
    out += '"';
    for (char ch : c) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    out += '"';
  }
  return out;
}

std::vector<std::string> parse_row(std::string_view record) {
  if (record.empty()) return {};
  Reader reader(record, "<row>");
  std::vector<Field> fields;
  reader.record(fields);
  std::vector<std::string> cells;
  for (Field& f : fields) cells.push_back(std::move(f.text));
  return cells;
}

}  // namespace evoc::csv
