// Helpers shared by the trainer's tests.
#pragma once

#include <filesystem>
#include <string>

#include "ir/file_util.h"

namespace evoc::test {

/// The path of an empty directory `name` (not created) inside this process's own temporary
/// directory (evoc::TempDir, removed at exit), so that runs of the tests at the same time, from
/// one checkout or several, never share a checkpoint directory.
inline std::string fresh_dir(const std::string& name) {
  static const TempDir root("evoc-trainer-test");
  const std::string dir = root.file(name);
  std::filesystem::remove_all(dir);
  return dir;
}

}  // namespace evoc::test
