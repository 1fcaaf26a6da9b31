// Small helpers shared by the subcommands: output to a file, a device or stdout.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ir/csv.h"
#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/module.h"

namespace evoc::tools {

/// Writes `data` to `path` through the one output writer (write_file_atomic: atomic for files,
/// straight through to devices and pipes), or to stdout when `path` is empty or "-".
inline void emit_output(const std::string& path, std::string_view data) {
  write_file_atomic(path.empty() ? std::string("-") : path, data);
}

/// The rows of `t` (read from `file`) as a row-major n x n_in matrix of `m`'s inputs. When the
/// header names every input, the columns are taken by name, in the model's order; the other
/// columns are left out, with a note on stderr naming them (except those in `expected_extra`,
/// such as a target column). A header that lacks some input is an error naming them. Columns
/// are taken by position (the first n_in) only for a file without a header or when
/// `by_position`. `command` prefixes the note.
inline std::vector<float> select_inputs(const ir::Module& m, const csv::Table& t, const std::string& file,
                                        bool by_position, std::string_view command,
                                        const std::vector<std::string>& expected_extra = {}) {
  const std::size_t n_in = m.n_in();
  std::vector<std::size_t> cols;
  if (by_position || !t.has_header) {
    if (t.cols() < n_in)
      throw Error(fmt::format("{}: has {} columns but model '{}' takes {} inputs", file, t.cols(), m.name, n_in));
    for (std::size_t i = 0; i < n_in; ++i) cols.push_back(i);
  } else {
    std::vector<std::string> missing;
    for (const std::string& name : m.input_names) {
      const auto at = std::find(t.columns.begin(), t.columns.end(), name);
      if (at == t.columns.end()) missing.push_back(name);
      else cols.push_back(static_cast<std::size_t>(at - t.columns.begin()));
    }
    if (!missing.empty()) {
      auto list = [](const std::vector<std::string>& names) {
        std::string out;
        for (const auto& n : names) out += (out.empty() ? "'" : ", '") + n + "'";
        return out;
      };
      if (t.cols() < n_in)
        throw Error(fmt::format("{}: has {} columns but model '{}' takes {} inputs (no column named {})", file,
                                t.cols(), m.name, n_in, list(missing)));
      throw Error(fmt::format("{}: no column{} named {} (columns: {}); model '{}' reads its inputs by name "
                              "(--by-position takes the first {} columns instead)",
                              file, missing.size() == 1 ? "" : "s", list(missing), fmt::join(t.columns, ", "),
                              m.name, n_in));
    }
    std::vector<std::string> ignored;
    for (std::size_t c = 0; c < t.cols(); ++c)
      if (std::find(cols.begin(), cols.end(), c) == cols.end() &&
          std::find(expected_extra.begin(), expected_extra.end(), t.columns[c]) == expected_extra.end())
        ignored.push_back(t.columns[c]);
    if (!ignored.empty())
      fmt::print(stderr, "evoc {}: note: {}: column{} {} not among the inputs of model '{}': ignored\n", command,
                 file, ignored.size() == 1 ? "" : "s", fmt::join(ignored, ", "), m.name);
  }
  std::vector<float> x(t.rows() * n_in);
  for (std::size_t r = 0; r < t.rows(); ++r)
    for (std::size_t i = 0; i < n_in; ++i) x[r * n_in + i] = t.at(r, cols[i]);
  return x;
}

}  // namespace evoc::tools
