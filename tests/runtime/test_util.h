// Helpers shared by the runtime tests: temporary directories and bitwise comparison of rows.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "ir/interpreter.h"
#include "ir/random_module.h"

namespace evoc::test {

/// A fresh directory under the system temp directory, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "evoc-runtime-test-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
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
