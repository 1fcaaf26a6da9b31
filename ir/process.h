// Running another program (the system C compiler, for `--emit=so`, the kernel cache and the
// benchmark's C baselines): argv as given, no shell, so paths with spaces or quotes are safe.
#pragma once

#include <string>
#include <vector>

namespace evoc {

/// Runs `argv` (argv[0] searched on PATH) with stdout and stderr both written to the file `log`
/// and returns its exit status (128 + the signal number if a signal ended it). Throws
/// evoc::Error when the program cannot be started.
int run_process(const std::vector<std::string>& argv, const std::string& log);

/// The C compiler driver: $CC when set and not empty, else "cc".
std::string c_compiler();

/// `argv` as one line for messages, each word quoted when it holds a space or a quote.
std::string command_line(const std::vector<std::string>& argv);

}  // namespace evoc
