// File helpers: whole-file reads with clear errors, and the one output writer: atomic writes
// (temp file + rename) for files, so that an interrupted write never leaves a half-written
// output behind, and straight writes to devices and pipes, so that they are never replaced.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace evoc {

/// Reads a whole file; throws evoc::Error "PATH: cannot read: REASON". A regular file is read
/// to its end; when its bytes do not fit in memory the reason is "out of memory", never a
/// shortened text. A file that is not regular (a pipe, a device) has no size to trust: it is read
/// up to kMaxStreamBytes, and a NUL byte read from it stops the read at once ("not a text
/// file": /dev/zero and the like would never end).
std::string read_file(const std::string& path);
/// The most bytes read_file takes from a file that is not a regular file (1 GiB).
inline constexpr std::size_t kMaxStreamBytes = std::size_t{1} << 30;

/// The one function every output goes through (`-o`, `--emit`, `--history`, `--test-csv`,
/// checkpoints, the kernel cache). What happens depends on what is at `path`:
///   - `-`: standard output (stdio's buffer is flushed first);
///   - a regular file or nothing: written atomically: a temp file `.NAME.tmpPID.RANDOM` in the
///     same directory, fsync, rename over the file (which keeps its permission bits), fsync of
///     the directory. Temp files of earlier writers of `path` whose process no longer exists
///     (killed mid-write) are removed first;
///   - a symbolic link: followed; its final target is replaced as above and the link stays;
///   - a character device or a FIFO (/dev/null, /dev/stdout, a named pipe): written straight
///     through, never replaced;
///   - a directory, a block device or a socket: refused.
/// Every write and the close are checked. Throws evoc::Error "PATH: cannot write: REASON"
/// (e.g. "No space left on device"); a regular destination is untouched on failure.
void write_file_atomic(const std::string& path, std::string_view data);
/// Throws the evoc::Error write_file_atomic would give if `path` clearly cannot be written now
/// (a missing or read-only directory, a directory at the path, an unwritable device), so that a
/// long computation fails before it starts rather than at its end.
void check_output_writable(const std::string& path);

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
