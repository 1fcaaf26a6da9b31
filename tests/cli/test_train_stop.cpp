// Stopping a training run: SIGTERM at random moments leaves either a complete, verifying model
// (and the exit status 143 with one line saying what was written, or 0 if the run had ended) or
// no file at all; --time-limit returns on time with a model; --early-stop ends a run that no
// longer improves; a second run on a locked checkpoint directory fails at once naming the
// holder; --threads far beyond the cores is not slower than one thread.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.h"
#include "ir/file_util.h"
#include "ir/parser.h"
#include "ir/verifier.h"

using evoc::test::run_evoc;
using evoc::TempDir;
using evoc::test::exit_status;
using evoc::test::spawn_evoc;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {


bool have_trainer() { return run_evoc("train --help").status == 0; }

/// The model at `path` parses and verifies.
bool verifies(const std::string& path) {
  try {
    return evoc::ir::verify_module(evoc::ir::read_module(path)).empty();
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

TEST_CASE("SIGTERM at random moments: a complete, verifying model or no file; exit 143 with one line") {
  if (!have_trainer()) return;
  TempDir tmp;
  // Epochs enough that training, not the process's start, takes most of a run.
  const std::vector<std::string> common = {"train", "--synthetic", "xor", "--epochs", "300", "--threads", "1"};
  // How long an uninterrupted run takes, to spread the signals over it.
  const auto start = Clock::now();
  REQUIRE(run_evoc("train --synthetic xor --epochs 300 -q -o " + tmp.file("whole.evir")).status == 0);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::srand(777);
  int stopped = 0, finished = 0, absent = 0;
  for (int i = 0; i < 20; ++i) {
    const std::string model = tmp.file("m" + std::to_string(i) + ".evir"), err = tmp.file("err" + std::to_string(i));
    std::vector<std::string> args = common;
    args.insert(args.end(), {"-o", model});
    const double at = seconds * 1.1 * (std::rand() / (RAND_MAX + 1.0));
    CAPTURE(at);
    const pid_t pid = spawn_evoc(args, err);
    std::this_thread::sleep_for(std::chrono::duration<double>(at));
    kill(pid, SIGTERM);
    int raw = 0;
    waitpid(pid, &raw, 0);
    const int status = exit_status(raw);
    const std::string log = evoc::read_file(err);
    CAPTURE(status);
    CAPTURE(log);
    CHECK((status == 143 || status == 0));
    if (!fs::exists(model)) {
      ++absent;
      CHECK(status == 143);  // killed before the handler was in place, or stopped before any model
      continue;
    }
    CHECK(verifies(model));
    if (status == 143) {
      ++stopped;
      CHECK(log.find("SIGTERM: stopped after epoch ") != std::string::npos);
      CHECK(log.find("wrote " + model) != std::string::npos);
    } else {
      ++finished;
    }
  }
  MESSAGE("SIGTERM: " << stopped << " runs stopped with a model, " << finished << " had finished, " << absent
                      << " left no file");
  CHECK(stopped > 0);
}

TEST_CASE("--time-limit 5s returns within 6 s with a model") {
  if (!have_trainer()) return;
  TempDir tmp;
  const auto start = Clock::now();
  const auto r = run_evoc("train --synthetic interaction --epochs 100000 --time-limit 5s -o " + tmp.file("m.evir"));
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  CAPTURE(r.err);
  CHECK(r.status == 0);
  CHECK(seconds < 6.0);
  CHECK(verifies(tmp.file("m.evir")));
  CHECK(r.err.find("(stopped: time limit)") != std::string::npos);
  MESSAGE("--time-limit 5s: returned after " << seconds << " s");
}

TEST_CASE("--early-stop ends a run that sets no new best validation loss") {
  if (!have_trainer()) return;
  TempDir tmp;
  // A linear model on the interaction task stops improving within a few epochs.
  const auto r = run_evoc("train --synthetic interaction --max-ops 0 --epochs 500 --early-stop 3 -o " +
                          tmp.file("m.evir"));
  CAPTURE(r.err);
  CHECK(r.status == 0);
  CHECK(r.err.find("(stopped: early stop)") != std::string::npos);
  CHECK(verifies(tmp.file("m.evir")));
}

TEST_CASE("a checkpoint directory in use: a second run fails at once, naming the holder's pid") {
  if (!have_trainer()) return;
  TempDir tmp;
  const std::string ck = tmp.file("ck");
  const pid_t holder = spawn_evoc({"train", "--synthetic", "xor", "--epochs", "100000", "--checkpoint", ck, "-o",
                              tmp.file("first.evir")},
                             tmp.file("first.err"));
  // Wait until the holder has taken the lock.
  for (int i = 0; i < 200 && !(fs::exists(ck + "/lock") && fs::file_size(ck + "/lock") > 0); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto start = Clock::now();
  const auto r = run_evoc("train -q --synthetic xor --epochs 1 --checkpoint " + ck + " -o " + tmp.file("second.evir"));
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  kill(holder, SIGTERM);
  int raw = 0;
  waitpid(holder, &raw, 0);
  CAPTURE(r.err);
  CHECK(r.status == 1);
  CHECK(r.err.find("in use by another training run (pid " + std::to_string(holder) + ")") != std::string::npos);
  CHECK(!fs::exists(tmp.file("second.evir")));
  CHECK(seconds < 10);
  // The holder, stopped by SIGTERM, wrote its model; the lock went with it.
  CHECK(exit_status(raw) == 143);
  CHECK(verifies(tmp.file("first.evir")));
  CHECK(run_evoc("train -q --synthetic xor --epochs 1 --checkpoint " + ck + " -o " + tmp.file("third.evir")).status ==
        0);
}

TEST_CASE("--threads far beyond the cores is not slower than one thread") {
  if (!have_trainer()) return;
  TempDir tmp;
  auto timed = [&](const std::string& threads) {
    const auto start = Clock::now();
    const auto r = run_evoc("train -q --synthetic interaction --epochs 4 --threads " + threads + " -o " +
                            tmp.file("t" + threads + ".evir"));
    CHECK(r.status == 0);
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  const double one = timed("1"), many = timed("1000");
  MESSAGE("4 epochs: --threads 1 " << one << " s, --threads 1000 " << many << " s");
  // Generous: the machine may be shared; before the cap, 1000 threads took 30 times as long.
  CHECK(many < 2.0 * one + 1.0);
}
