// A strict CSV reader for numeric tables with a header (RFC 4180 quoting, CRLF accepted).
// Every problem is an evoc::ParseError naming file, line and column.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace evoc::csv {

/// A numeric table: column names and row-major values.
struct Table {
  std::vector<std::string> columns;
  std::vector<float> values;  ///< rows() * cols() floats, row-major
  bool has_header = true;     ///< false: the first line was data (ReadOptions::header_optional); columns are "1", "2", ...
  std::size_t rows() const { return columns.empty() ? 0 : values.size() / columns.size(); }
  std::size_t cols() const { return columns.size(); }
  float at(std::size_t r, std::size_t c) const { return values[r * columns.size() + c]; }
  /// Index of a column by name; throws evoc::Error naming the column and the choices.
  std::size_t column_index(std::string_view name) const;
};

/// Options of the reader.
struct ReadOptions {
  bool allow_nan = false;  ///< accept NaN / Inf cells ("nan", "inf", empty cells are never numbers)
  /// A first line whose every field is a number is data, not a header: the table then has no
  /// header (has_header false) and its columns are named by position, "1", "2", ...
  bool header_optional = false;
};

/// Parses CSV text. Ragged rows, non-numeric cells, unterminated quotes, an empty file or a
/// missing header are errors naming the line.
Table parse(std::string_view text, std::string_view file = "<input>", const ReadOptions& options = {});
/// Reads and parses a file.
Table read(const std::string& path, const ReadOptions& options = {});
/// Writes a table as CSV (header + shortest-round-trip floats; every NaN, whatever its sign
/// and payload, as `nan`).
std::string format(const std::vector<std::string>& columns, const float* values, std::size_t rows);

/// A table of cell texts (each trimmed of spaces and tabs), for typed reading: the trainer's
/// column kinds and the column schema of a model (ir/schema.h) interpret the cells.
struct TextTable {
  std::string file;                  ///< the file name errors give
  std::vector<std::string> columns;
  std::vector<std::string> cells;    ///< rows() * cols() texts, row-major
  std::vector<int> lines;            ///< the 1-based line where each row starts
  std::size_t rows() const { return lines.size(); }
  std::size_t cols() const { return columns.size(); }
  const std::string& at(std::size_t r, std::size_t c) const { return cells[r * columns.size() + c]; }
  /// Index of a column by name; throws evoc::Error naming the file, the column and the choices.
  std::size_t column_index(std::string_view name) const;
};

/// Parses CSV text into cell texts, with the header, quoting and row-length checks of parse().
TextTable parse_text(std::string_view text, std::string_view file = "<input>");
/// Reads and parses a file into cell texts.
TextTable read_text(const std::string& path);
/// One CSV record of `cells` (quoted where needed), without a line ending.
std::string format_row(std::span<const std::string> cells);
/// Splits one CSV record (as format_row writes it) into its cells; throws evoc::Error on an
/// unterminated quote.
std::vector<std::string> parse_row(std::string_view record);

}  // namespace evoc::csv
