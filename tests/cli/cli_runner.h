// Runs the evoc executable in a subprocess and captures its exit code, stdout and stderr.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "ir/file_util.h"

namespace evoc::test {

struct RunResult {
  int status = -1;  ///< exit code (128+signal if killed)
  std::string out, err;
};

/// Runs `evoc ARGS` through the shell (ARGS is shell text); stdout and stderr captured apart.
inline RunResult run_evoc(const std::string& args, const std::string& stdin_text = "") {
  TempDir tmp;
  const std::string in = tmp.file("stdin"), out = tmp.file("stdout"), err = tmp.file("stderr");
  write_file_atomic(in, stdin_text);
  const std::string cmd = std::string(EVOC_EXE) + " " + args + " <" + in + " >" + out + " 2>" + err;
  int raw = std::system(cmd.c_str());
  RunResult r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

}  // namespace evoc::test
