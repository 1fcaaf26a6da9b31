// Nothing lost: `evoc compile` and `evoc train --checkpoint` killed with SIGKILL at random
// moments, many times. Afterwards every output (object, header, shared library, model,
// checkpoint) is either absent or complete: byte for byte what an uninterrupted run writes, or
// for checkpoints, a state `--resume` continues from to the same final model as a run that was
// never interrupted. Temporary files of the atomic writes (`.NAME.tmpPID...`) and temporary
// directories (`evoc-PID-...`) may remain right after a kill; they are never taken for outputs,
// and the next run that writes the same output (or makes a temporary directory) removes them.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.h"
#include "ir/file_util.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/random_module.h"

using evoc::test::run_evoc;
using evoc::TempDir;
using evoc::test::spawn_evoc;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;


/// Runs `evoc ARGS` to completion; returns the exit status and the seconds it took.
std::pair<int, double> run_to_end(const std::vector<std::string>& args) {
  const auto start = Clock::now();
  const pid_t pid = spawn_evoc(args);
  int status = 0;
  waitpid(pid, &status, 0);
  return {evoc::test::exit_status(status), std::chrono::duration<double>(Clock::now() - start).count()};
}

/// Runs `evoc ARGS`, kills it with SIGKILL after `seconds` (unless it ended first), reaps it.
/// Returns true if the kill landed before the process ended.
bool run_and_kill(const std::vector<std::string>& args, double seconds) {
  const pid_t pid = spawn_evoc(args);
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  int status = 0;
  while (Clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return WIFSIGNALED(status);
}

/// Temporary files of atomic writes left in `dir` (hidden files with ".tmp" in their name).
int leftover_temporaries(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with(".") && name.find(".tmp") != std::string::npos) ++n;
  }
  return n;
}

/// Temporary directories `evoc-PID-*` in the system temp directory whose process is gone.
int stale_temp_dirs() {
  int n = 0;
  for (const auto& e : fs::directory_iterator(fs::temp_directory_path())) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with("evoc-")) continue;
    const std::size_t dash = name.find('-', 5);
    if (dash == std::string::npos) continue;
    const std::string pid = name.substr(5, dash - 5);
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (kill(std::stoi(pid), 0) != 0 && errno == ESRCH) ++n;
  }
  return n;
}

/// Number of kills per test: EVOC_KILL_RUNS, default 12.
int kill_runs() {
  const char* env = std::getenv("EVOC_KILL_RUNS");
  return env ? std::max(1, std::atoi(env)) : 12;
}

}  // namespace

TEST_CASE("kill -9 during evoc compile: each output is complete or absent") {
  TempDir tmp;
  // A model big enough that compiling it takes a while, so that kills land in every phase.
  evoc::ir::RandomModuleOptions big;
  big.n_in = 16;
  big.n_out = 4;
  big.n_values = 1500;
  const std::string model = tmp.file("big.evir");
  evoc::write_file_atomic(model, evoc::ir::print_module(evoc::ir::random_module(7, big)));

  struct Emit {
    std::string kind, file;
  };
  const std::vector<Emit> emits = {{"obj", "k.o"}, {"header", "k.h"}, {"llvm", "k.ll"}, {"so", "k.so"}};
  std::srand(12345);
  int killed = 0, complete = 0, absent = 0, temporaries = 0;
  for (const Emit& e : emits) {
    CAPTURE(e.kind);
    const fs::path ref_dir = tmp.path() / ("ref_" + e.kind);
    fs::create_directory(ref_dir);
    auto args = [&](const fs::path& dir) {
      return std::vector<std::string>{"compile", model, "--emit=" + e.kind, "-o", (dir / e.file).string()};
    };
    const auto [status, seconds] = run_to_end(args(ref_dir));
    REQUIRE(status == 0);
    const std::string reference = evoc::read_file((ref_dir / e.file).string());
    if (e.kind == "so") {
      // A shared library is not byte-reproducible everywhere (the linker's build id): compare sizes.
      CHECK(reference.substr(0, 4) == "\x7f" "ELF");
    }
    for (int i = 0; i < kill_runs(); ++i) {
      const fs::path dir = tmp.path() / (e.kind + "_" + std::to_string(i));
      fs::create_directory(dir);
      const double at = seconds * 1.1 * (std::rand() / (RAND_MAX + 1.0));
      killed += run_and_kill(args(dir), at);
      const int left = leftover_temporaries(dir);
      temporaries += left;
      const fs::path out = dir / e.file;
      if (!fs::exists(out)) {
        ++absent;
      } else {
        ++complete;
        const std::string got = evoc::read_file(out.string());
        CAPTURE(at);
        if (e.kind == "so")
          CHECK(got.size() == reference.size());
        else
          CHECK(got == reference);
      }
      if (left > 0) {
        // The next writer of the same output removes what the killed one left.
        REQUIRE(run_to_end(args(dir)).first == 0);
        CHECK(leftover_temporaries(dir) == 0);
      }
    }
  }
  MESSAGE("compile: " << killed << " kills landed; outputs afterwards: " << complete << " complete, " << absent
                      << " absent, none partial; " << temporaries << " temporary files left by the kills");
  CHECK(killed > 0);
  // Temporary directories of killed `--emit=so` runs are gone once another one has run.
  REQUIRE(run_to_end({"compile", model, "--emit=so", "-o", tmp.file("last.so")}).first == 0);
  CHECK(stale_temp_dirs() == 0);
}

TEST_CASE("kill -9 during evoc train --checkpoint: checkpoints complete or absent, --resume finishes the run") {
  if (run_evoc("train --help").status != 0) {
    MESSAGE("evoc train is not in this build: the training kill test is skipped");
    return;
  }
  TempDir tmp;
  const std::vector<std::string> common = {"train", "--synthetic", "xor", "--epochs", "6", "--checkpoint-every",
                                           "1",     "--threads",   "1",   "--seed",   "3", "-q"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = common;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  // The run never interrupted: its model is what every resumed run must end with.
  const auto [status, seconds] = run_to_end(with({"-o", tmp.file("reference.evir")}));
  REQUIRE(status == 0);
  const std::string reference = evoc::read_file(tmp.file("reference.evir"));

  std::srand(4242);
  int killed = 0, with_checkpoint = 0, temporaries = 0;
  for (int i = 0; i < kill_runs(); ++i) {
    const fs::path dir = tmp.path() / ("run_" + std::to_string(i));
    const fs::path ck = dir / "checkpoint";
    fs::create_directory(dir);
    const std::string model = (dir / "model.evir").string();
    const double at = seconds * 1.1 * (std::rand() / (RAND_MAX + 1.0));
    CAPTURE(at);
    killed += run_and_kill(with({"--checkpoint", ck.string(), "-o", model}), at);
    temporaries += leftover_temporaries(dir) + (fs::exists(ck) ? leftover_temporaries(ck) : 0);
    // Each output present is complete.
    if (fs::exists(model)) CHECK(evoc::read_file(model) == reference);
    if (fs::exists(ck / "best.evir")) CHECK_NOTHROW(evoc::ir::read_module((ck / "best.evir").string()));
    if (!fs::exists(ck / "state.json")) continue;
    ++with_checkpoint;
    // --resume continues from the last complete checkpoint to the same final model.
    const std::string resumed = (dir / "resumed.evir").string();
    const auto [resume_status, unused] = run_to_end(with({"--resume", ck.string(), "--checkpoint", ck.string(), "-o", resumed}));
    CHECK(resume_status == 0);
    if (resume_status == 0) CHECK(evoc::read_file(resumed) == reference);
    // The resumed run rewrote the checkpoint and removed what the killed one left in it.
    CHECK(leftover_temporaries(ck) == 0);
  }
  MESSAGE("train: " << killed << " kills landed; " << with_checkpoint << " runs resumed from their checkpoint; "
                    << temporaries << " temporary files left by the kills");
  CHECK(killed > 0);
}
