// File helpers: whole-file reads with clear errors, and atomic writes (temp file + rename),
// so that an interrupted write never leaves a half-written output behind.
#pragma once

#include <string>
#include <string_view>

namespace evoc {

/// Reads a whole file; throws evoc::Error "PATH: cannot read: REASON".
std::string read_file(const std::string& path);
/// Writes `data` to `path` atomically: a temp file in the same directory, fsync, rename.
/// Throws evoc::Error "PATH: cannot write: REASON"; the destination is untouched on failure.
void write_file_atomic(const std::string& path, std::string_view data);

}  // namespace evoc
