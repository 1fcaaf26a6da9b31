// Small helpers shared by the subcommands: output to a file (atomically) or stdout.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include <fmt/core.h>

#include "ir/file_util.h"

namespace evoc::tools {

/// Writes `data` to `path` atomically, or to stdout when `path` is empty or "-".
inline void emit_output(const std::string& path, std::string_view data) {
  if (path.empty() || path == "-") {
    std::fwrite(data.data(), 1, data.size(), stdout);
    std::fflush(stdout);
  } else {
    write_file_atomic(path, data);
  }
}

}  // namespace evoc::tools
