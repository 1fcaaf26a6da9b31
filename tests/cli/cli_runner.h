// Runs the evoc executable in a subprocess and captures its exit code, stdout and stderr.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "ir/file_util.h"

namespace evoc::test {

struct RunResult {
  int status = -1;  ///< exit code (128+signal if killed)
  std::string out, err;
};

/// The exit code of a wait status, or 128 + the signal that ended the process.
inline int exit_status(int raw) { return WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw); }

/// Starts `evoc ARGS` (no shell) with stdout discarded, stderr to the file `err` (discarded when
/// empty) and the `env` entries ("NAME=value") added; returns its pid without waiting.
inline pid_t spawn_evoc(const std::vector<std::string>& args, const std::string& err = "",
                        const std::vector<std::string>& env = {}) {
  std::vector<char*> argv{const_cast<char*>(EVOC_EXE)};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("spawn_evoc: fork failed");
  if (pid == 0) {
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
    const int null = ::open("/dev/null", O_WRONLY);
    const int log = err.empty() ? null : ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(null, 1);
    dup2(log, 2);
    execv(EVOC_EXE, argv.data());
    _exit(127);
  }
  return pid;
}

/// Runs `evoc ARGS` through the shell (ARGS is shell text); stdout and stderr captured apart.
inline RunResult run_evoc(const std::string& args, const std::string& stdin_text = "") {
  TempDir tmp;
  const std::string in = tmp.file("stdin"), out = tmp.file("stdout"), err = tmp.file("stderr");
  write_file_atomic(in, stdin_text);
  const std::string cmd = std::string(EVOC_EXE) + " " + args + " <" + in + " >" + out + " 2>" + err;
  int raw = std::system(cmd.c_str());
  RunResult r;
  r.status = exit_status(raw);
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

}  // namespace evoc::test
