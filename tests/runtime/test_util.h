// Helpers shared by the runtime tests: temporary directories and bitwise comparison of rows.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "ir/file_util.h"
#include "ir/interpreter.h"
#include "ir/random_module.h"

namespace evoc::test {

/// A fresh temporary directory, removed with the object.
struct TempDir : evoc::TempDir {
  TempDir() : evoc::TempDir("evoc-runtime-test") {}
};

/// Index of the first element where `a` and `b` differ (same_float), or -1.
inline long first_difference(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!ir::same_float(a[i], b[i])) return static_cast<long>(i);
  return -1;
}

/// The interpreter's outputs for `n` contiguous rows.
inline std::vector<float> interpret_rows(const ir::Module& m, const std::vector<float>& x, int64_t n) {
  std::vector<float> y(n * m.n_out());
  ir::interpret(m, x.data(), n, m.n_in(), y.data(), m.n_out());
  return y;
}

}  // namespace evoc::test
