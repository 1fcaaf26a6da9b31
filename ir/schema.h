// The column schema of a model trained on a table: how each raw CSV column becomes one float
// input of the kernel, and what the classes of a classifier are called.
//
// The compiled kernel stays a function of floats. A numeric column enters as its value, a
// missing cell (empty, NA, NaN, nan, ?, null) as NaN; a categorical column enters as the code of
// its level (its index in the column's dictionary), and a missing cell or a level the
// dictionary lacks as NaN, which the model reads as "other". Inside the module, `fillnan`
// replaces a NaN by the training median, `isnan` gives the missing indicator and `eq` the
// one-hot columns of the levels, so the interpreter, the JIT and the C backend all apply the
// same preprocessing.
//
// The schema travels in the module's metadata, one entry per input and one for the classes:
//   meta "column.<input name>" "numeric"
//   meta "column.<input name>" "categorical north,south,\"a, b\""   (levels as one CSV record)
//   meta "classes" "no,yes"                                         (one CSV record)
//   meta "dropped" "customer_id,constant"                           (columns the trainer left out)
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/csv.h"
#include "ir/module.h"

namespace evoc::ir {

/// How a raw column enters the kernel.
enum class ColumnKind { Numeric, Categorical };

/// One raw column (one module input).
struct ColumnSchema {
  std::string name;
  ColumnKind kind = ColumnKind::Numeric;
  std::vector<std::string> levels;  ///< categorical: the dictionary; level i has code i
};

/// The raw columns of a model, one per input, in input order.
struct Schema {
  std::vector<ColumnSchema> columns;
  bool empty() const { return columns.empty(); }
  /// The kernel input for one cell of column `c`: the number (NaN if missing) or the level code
  /// (NaN if missing or not in the dictionary). Throws evoc::Error naming `file`:`line` and the
  /// column when a numeric column's cell is not a number.
  float encode(std::size_t c, std::string_view cell, std::string_view file, int line) const;
};

/// Whether a cell means "missing": empty, NA, N/A, NaN, nan, ?, null, NULL, None.
bool is_missing_cell(std::string_view cell);
/// A cell read as a number; nullopt if it is not one (missing cells are not numbers).
std::optional<float> parse_number(std::string_view cell);

/// The schema of `m`, from its `column.*` metadata; nullopt when it has none (a model over
/// plain numeric inputs). Throws evoc::Error when the entries are malformed or incomplete.
std::optional<Schema> read_schema(const Module& m);
/// Writes the schema into the metadata of `m` (one `column.*` entry per input).
void write_schema(Module& m, const Schema& schema);

/// The class names of a classifier (the `classes` metadata, one CSV record); empty if none.
std::vector<std::string> class_names(const Module& m);
/// Sets the `classes` metadata.
void set_class_names(Module& m, const std::vector<std::string>& names);

/// The rows of a raw table as the module's inputs (row-major, n_in floats per row), columns
/// matched by the input names and cells encoded by the schema. Throws evoc::Error naming the
/// file, the line and the column on a missing column or an unreadable cell.
std::vector<float> encode_table(const Schema& schema, const csv::TextTable& table);

}  // namespace evoc::ir
