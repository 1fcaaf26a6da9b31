// File helpers: whole-file reads with clear errors, and atomic writes (temp file + rename),
// so that an interrupted write never leaves a half-written output behind.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace evoc {

/// Reads a whole file; throws evoc::Error "PATH: cannot read: REASON".
std::string read_file(const std::string& path);
/// Writes `data` to `path` atomically: a temp file `.NAME.tmpPID.RANDOM` in the same directory,
/// fsync, rename, fsync of the directory. Temp files of earlier writers of `path` whose process
/// no longer exists (killed mid-write) are removed first.
/// Throws evoc::Error "PATH: cannot write: REASON"; the destination is untouched on failure.
void write_file_atomic(const std::string& path, std::string_view data);

/// A fresh directory under the system temp directory (`PREFIX-PID-XXXXXX`), removed with
/// everything in it when the object dies. Directories `PREFIX-PID-*` of processes that no longer
/// exist (killed before their destructor ran) are removed when a new one is made.
/// Throws evoc::Error if it cannot be created.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "evoc");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  /// The path of `name` inside the directory.
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace evoc
