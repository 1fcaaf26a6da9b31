// Helpers shared by the IR tests.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace evoc::test {

/// Files under tests/ir/golden, sorted.
inline std::vector<std::filesystem::path> golden_files(const std::string& sub = "ir/golden") {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(std::string(EVOC_TESTS_DIR) + "/" + sub))
    if (e.path().extension() == ".evir") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace evoc::test
