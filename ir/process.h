// Running another program (the system C compiler, for `--emit=so`, the kernel cache and the
// benchmark's C baselines; CUDA's ptxas): argv as given, no shell, so paths with spaces or quotes
// are safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace evoc {

/// How a program ended and what it printed.
struct ProcessResult {
  int status = 0;      ///< exit status (128 + the signal number if a signal ended it)
  std::string output;  ///< its stdout and stderr together (the first 64 KiB)
};

/// Runs `argv` (argv[0] searched on PATH) and returns its status and output, read through a
/// pipe (not a file: with a full temporary directory the reason would be lost with the file).
/// Throws evoc::Error when the program cannot be started.
ProcessResult run_process(const std::vector<std::string>& argv);

/// The words of a command line held in a variable such as CC ("ccache gcc" -> ccache, gcc), split
/// at blanks outside single or double quotes, as a shell would (without expansions). Throws
/// evoc::Error on an unterminated quote.
std::vector<std::string> split_command(std::string_view command);

/// The C compiler driver as argv words: $CC split into words (as make and CMake do) when set and
/// not blank, else {"cc"}.
std::vector<std::string> c_compiler();

/// `argv` as one line for messages, each word quoted when it holds a space or a quote.
std::string command_line(const std::vector<std::string>& argv);

}  // namespace evoc
