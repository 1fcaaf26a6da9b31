// The strict numeric CSV reader and writer.
#include "ir/csv.h"

#include <charconv>
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
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM
  Reader reader(text, file);
  Table table;
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
    if (!seen.insert(name).second)
      reader.fail(f.line, f.col, fmt::format("duplicate column name '{}'", name));
    table.columns.push_back(std::move(name));
  }
  while (reader.record(fields)) {
    if (is_blank(fields)) continue;
    if (fields.size() != table.columns.size())
      reader.fail(reader.record_line(), 0,
                  fmt::format("row has {} field{}, expected {} (one per header column)", fields.size(),
                              fields.size() == 1 ? "" : "s", table.columns.size()));
    for (std::size_t c = 0; c < fields.size(); ++c) {
      const Field& f = fields[c];
      std::string_view cell = trim(f.text);
      if (cell.empty())
        reader.fail(f.line, f.col, fmt::format("empty cell in column '{}'", table.columns[c]));
      std::string_view digits = cell.front() == '+' ? cell.substr(1) : cell;
      float v = 0;
      auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
      if (ec == std::errc::invalid_argument || p != digits.data() + digits.size())
        reader.fail(
            f.line, f.col,
            fmt::format("column '{}': cannot read '{}' as a number", table.columns[c], cell.substr(0, 40)));
      if (ec == std::errc::result_out_of_range)
        reader.fail(f.line, f.col,
                    fmt::format("column '{}': {} is out of the range of f32", table.columns[c], cell));
      if (!options.allow_nan && !std::isfinite(v))
        reader.fail(f.line, f.col,
                    fmt::format("column '{}': {} is not a finite number", table.columns[c], cell));
      table.values.push_back(v);
    }
  }
  return table;
}

Table read(const std::string& path, const ReadOptions& options) {
  return parse(read_file(path), path, options);
}

std::string format(const std::vector<std::string>& columns, const float* values, std::size_t rows) {
  std::string out;
  // Quoted when needed, and when it starts with a UTF-8 byte order mark, which a reader strips
  // from the start of a file (the first column's name would lose it).
  auto cell = [](const std::string& name) {
    if (name.find_first_of(",\"\n\r") == std::string::npos && !name.starts_with("\xEF\xBB\xBF")) return name;
    std::string q = "\"";
    for (char c : name) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  for (std::size_t c = 0; c < columns.size(); ++c) out += (c ? "," : "") + cell(columns[c]);
  out += '\n';
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < columns.size(); ++c)
      out += (c ? "," : "") + ir::format_float(values[r * columns.size() + c]);
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

std::string format_row(const std::vector<std::string>& cells) {
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
