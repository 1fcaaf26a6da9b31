// `evoc train` on many processes, on loopback: data-parallel runs hold the same network on every
// rank after every epoch (the run checks it) and give the same model run to run; islands
// exchange their best networks and say which were adopted; a rank killed with SIGKILL ends the
// run with a non-zero status, naming the rank, well within a minute, and `--resume` then
// finishes with the model of a run never interrupted, bit for bit; ranks that disagree (world
// size, options) or cannot meet (a port in use) are refused with a message.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ir/file_util.h"
#include "tests/cli/cli_runner.h"

using evoc::TempDir;
using evoc::test::spawn_evoc;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {


/// Waits for `pid` (at most `limit` seconds, then kills it); returns its exit status
/// (128 + signal if killed) and the seconds it took.
std::pair<int, double> wait_for(pid_t pid, double limit = 120) {
  const auto start = Clock::now();
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) != pid) {
    if (std::chrono::duration<double>(Clock::now() - start).count() > limit) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return {evoc::test::exit_status(status), std::chrono::duration<double>(Clock::now() - start).count()};
}

/// Runs `evoc ARGS` to the end, with the `env` entries added; returns the exit status, stderr
/// in `err`.
int run(const std::vector<std::string>& args, std::string& err, const TempDir& tmp,
        const std::vector<std::string>& env = {}) {
  const std::string log = tmp.file("stderr");
  const int status = wait_for(spawn_evoc(args, log, env)).first;
  err = evoc::read_file(log);
  return status;
}

/// The pid of the worker of launcher `parent` named `evoc rank RANK` (-1 if none).
pid_t worker_pid(pid_t parent, int rank) {
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const std::size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(line.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    fields >> state >> ppid;
    if (ppid != parent) continue;
    std::ifstream comm(e.path() / "comm");
    std::string command;
    std::getline(comm, command);
    if (command == "evoc rank " + std::to_string(rank)) return std::stoi(name);
  }
  return -1;
}

/// A TCP port nothing listens on right now.
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t size = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size);
  close(fd);
  return ntohs(addr.sin_port);
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

/// A small run: the built-in interaction task (2,000 rows), a few epochs.
std::vector<std::string> small_run(int epochs, const std::string& output) {
  return {"train", "--synthetic", "interaction", "--epochs", std::to_string(epochs), "--seed", "3", "--pool", "16",
          "-o", output};
}

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_CASE("data-parallel on 2 and 3 workers: one display, one model, the same model run to run") {
  TempDir tmp;
  for (int n : {2, 3}) {
    CAPTURE(n);
    std::string err;
    const std::string first = tmp.file("first.evir"), second = tmp.file("second.evir");
    // Every rank checks after every epoch that all ranks hold the same networks; a
    // difference ends the run with an error naming the epoch.
    REQUIRE(run(small_run(5, first) + std::vector<std::string>{"--workers", std::to_string(n)}, err, tmp) == 0);
    CAPTURE(err);
    CHECK(count(err, " 5/5 ") == 1);  // rank 0 alone reports
    CHECK(count(err, "wrote ") == 1);
    // The ranks step through the fused step, not LibTorch's autograd.
    CHECK(err.find(" 0 fused training steps") == std::string::npos);
    CHECK(err.find(" fused training steps") != std::string::npos);
    REQUIRE(run(small_run(5, second) + std::vector<std::string>{"--workers", std::to_string(n)}, err, tmp) == 0);
    CHECK(evoc::read_file(first) == evoc::read_file(second));
  }
  // Workers are forks of the launcher; workers that run the executable anew (the launcher's
  // way when it has threads already) train the same model.
  std::string err;
  const std::string forked = tmp.file("forked.evir"), executed = tmp.file("executed.evir");
  REQUIRE(run(small_run(4, forked) + std::vector<std::string>{"--workers", "2"}, err, tmp) == 0);
  REQUIRE(run(small_run(4, executed) + std::vector<std::string>{"--workers", "2"}, err, tmp, {"EVOC_LAUNCH=exec"}) == 0);
  CHECK(evoc::read_file(forked) == evoc::read_file(executed));
  // Two layers step through LibTorch's autograd, and its gradients are summed the same way.
  REQUIRE(run(small_run(3, tmp.file("layers.evir")) + std::vector<std::string>{"--workers", "2", "--layers", "2"}, err,
              tmp) == 0);
  CAPTURE(err);
  CHECK(err.find(" 0 fused training steps") != std::string::npos);
}

TEST_CASE("islands on 2 and 3 workers exchange their best networks and say which were adopted") {
  TempDir tmp;
  int adopted = 0;
  for (int n : {2, 3}) {
    CAPTURE(n);
    std::string err;
    const std::string out = tmp.file("islands.evir");
    REQUIRE(run(small_run(6, out) + std::vector<std::string>{"--workers", std::to_string(n), "--islands",
                                                              "--migrate-every", "2"},
                err, tmp) == 0);
    CAPTURE(err);
    CHECK(count(err, ": migration: ") == 3);  // after epochs 2, 4 and 6
    const std::string last = "island " + std::to_string(n - 1);
    CHECK(count(err, last + " kept its own") + count(err, last + " adopted island") == 3);
    adopted += count(err, " adopted island ");
    CHECK(count(err, "the output is island ") == 1);
    CHECK(fs::exists(out));
  }
  CHECK(adopted > 0);
}

TEST_CASE("--time-limit and SIGTERM stop every rank together, in both modes, with a model") {
  TempDir tmp;
  for (const bool islands : {false, true}) {
    CAPTURE(islands);
    std::vector<std::string> mode{"--workers", "2"};
    if (islands) mode = mode + std::vector<std::string>{"--islands", "--migrate-every", "1"};
    {
      // Ranks that stopped at different minibatches would wait on each other's exchanges until
      // the timeout: they decide together, at a step's exchange or at the end of an epoch.
      const std::string out = tmp.file(islands ? "limited_islands.evir" : "limited.evir");
      std::string err;
      const auto start = Clock::now();
      REQUIRE(run(small_run(100000, out) + mode + std::vector<std::string>{"--time-limit", "6s", "--timeout", "20"},
                  err, tmp) == 0);
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      CAPTURE(err);
      CHECK(seconds < 20);
      CHECK(err.find("time limit") != std::string::npos);
      CHECK(count(err, "wrote ") == 1);
      CHECK(fs::exists(out));
    }
    {
      const std::string name = islands ? "stopped_islands" : "stopped", out = tmp.file(name + ".evir"),
                        log = tmp.file(name + ".err");
      const pid_t launcher = spawn_evoc(small_run(100000, out) + mode + std::vector<std::string>{"--timeout", "20"}, log);
      // Stop once training is under way (a rank's first epoch line).
      const auto start = Clock::now();
      while ((!fs::exists(log) || evoc::read_file(log).find("epoch") == std::string::npos) &&
             std::chrono::duration<double>(Clock::now() - start).count() < 60)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      kill(launcher, SIGTERM);
      const auto [status, seconds] = wait_for(launcher, 60);
      const std::string err = evoc::read_file(log);
      CAPTURE(err);
      CHECK(status == 143);
      CHECK(seconds < 30);
      CHECK(err.find("SIGTERM: stopped after epoch") != std::string::npos);
      CHECK(err.find("error") == std::string::npos);
      CHECK(fs::exists(out));
    }
  }
}

TEST_CASE("a rank killed with SIGKILL ends the run within a minute; --resume finishes it bit for bit") {
  TempDir tmp;
  for (int n : {2, 3}) {
    CAPTURE(n);
    const std::vector<std::string> workers = {"--workers", std::to_string(n), "--checkpoint-every", "1"};
    const int epochs = 60;  // long enough that the kill lands while the run is going
    std::string err;
    const std::string full = tmp.file("full.evir"), cut = tmp.file("cut.evir"), resumed = tmp.file("resumed.evir");
    REQUIRE(run(small_run(epochs, full) + workers, err, tmp) == 0);

    const std::string checkpoint = tmp.file("checkpoint" + std::to_string(n));
    const std::string log = tmp.file("killed.err");
    const pid_t launcher = spawn_evoc(small_run(epochs, cut) + workers + std::vector<std::string>{"--checkpoint", checkpoint}, log);
    const auto start = Clock::now();
    while (!fs::exists(checkpoint + "/state.json") && Clock::now() - start < std::chrono::seconds(60))
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const int victim = n - 1;
    const pid_t pid = worker_pid(launcher, victim);
    REQUIRE(pid > 0);
    REQUIRE(kill(pid, SIGKILL) == 0);
    auto [status, seconds] = wait_for(launcher);
    err = evoc::read_file(log);
    CAPTURE(err);
    CHECK(status != 0);
    CHECK(status < 128);
    CHECK(seconds < 60);
    CHECK(err.find("worker rank " + std::to_string(victim)) != std::string::npos);
    CHECK(err.find("killed by signal 9") != std::string::npos);
    CHECK(err.find("lost rank " + std::to_string(victim)) != std::string::npos);
    CHECK_FALSE(fs::exists(cut));

    REQUIRE(run(small_run(epochs, resumed) + workers + std::vector<std::string>{"--checkpoint", checkpoint, "--resume", checkpoint},
                err, tmp) == 0);
    CHECK(err.find("resuming") != std::string::npos);
    CHECK(evoc::read_file(resumed) == evoc::read_file(full));
  }
}

// The rows dist-* of docs/bad-inputs.md that need more than one process.
TEST_CASE("islands checkpoint every island; after a kill, --resume finishes bit for bit") {
  TempDir tmp;
  const std::vector<std::string> islands = {"--workers", "2", "--islands", "--migrate-every", "2",
                                            "--checkpoint-every", "1"};
  const int epochs = 40;
  std::string err;
  const std::string full = tmp.file("full.evir"), cut = tmp.file("cut.evir"), resumed = tmp.file("resumed.evir");
  REQUIRE(run(small_run(epochs, full) + islands, err, tmp) == 0);

  const std::string checkpoint = tmp.file("checkpoint"), log = tmp.file("killed.err");
  const pid_t launcher = spawn_evoc(small_run(epochs, cut) + islands + std::vector<std::string>{"--checkpoint", checkpoint}, log);
  const auto start = Clock::now();
  while (!fs::exists(checkpoint + "/state.json") && Clock::now() - start < std::chrono::seconds(60))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const pid_t pid = worker_pid(launcher, 1);
  REQUIRE(pid > 0);
  REQUIRE(kill(pid, SIGKILL) == 0);
  const auto [status, seconds] = wait_for(launcher);
  CHECK(status != 0);
  CHECK(seconds < 60);
  CHECK_FALSE(fs::exists(cut));
  // Rank 0 wrote both islands' states.
  CHECK(evoc::read_file(checkpoint + "/state.json").find("\"islands\":[{") != std::string::npos);

  // Another number of ranks cannot take the islands up.
  const std::vector<std::string> three = {"--workers", "3", "--islands", "--migrate-every", "2", "--checkpoint-every", "1"};
  CHECK(run(small_run(epochs, resumed) + three + std::vector<std::string>{"--resume", checkpoint}, err, tmp) != 0);
  CHECK(err.find("a checkpoint of 2 islands; this run has 3 ranks") != std::string::npos);
  CHECK_FALSE(fs::exists(resumed));

  REQUIRE(run(small_run(epochs, resumed) + islands + std::vector<std::string>{"--checkpoint", checkpoint, "--resume", checkpoint},
              err, tmp) == 0);
  CAPTURE(err);
  CHECK(err.find("resuming") != std::string::npos);
  CHECK(evoc::read_file(resumed) == evoc::read_file(full));
}

TEST_CASE("ranks that cannot meet or disagree are refused, and nothing is written") {
  TempDir tmp;
  const std::string out = tmp.file("out.evir");
  auto rank = [&](int r, int size, int port, const std::vector<std::string>& extra, const std::string& log) {
    return spawn_evoc(small_run(3, out) + std::vector<std::string>{"-q", "--rank", std::to_string(r), "--world-size",
                                                               std::to_string(size), "--master",
                                                               "127.0.0.1:" + std::to_string(port), "--timeout", "10"} +
                     extra,
                 log);
  };
  SUBCASE("dist-port-in-use") {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(listen(fd, 4) == 0);
    socklen_t size = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size);
    const int port = ntohs(addr.sin_port);
    auto [status, seconds] = wait_for(rank(0, 2, port, {}, tmp.file("r0")));
    close(fd);
    const std::string err = evoc::read_file(tmp.file("r0"));
    CAPTURE(err);
    CHECK(status == 1);
    CHECK(err.find("--master 127.0.0.1:" + std::to_string(port) + ": rank 0 cannot listen there") != std::string::npos);
  }
  SUBCASE("dist-world-size-mismatch") {
    const int port = free_port();
    const pid_t r0 = rank(0, 2, port, {}, tmp.file("r0"));
    const pid_t r1 = rank(1, 3, port, {}, tmp.file("r1"));
    CHECK(wait_for(r0).first == 1);
    CHECK(wait_for(r1).first == 1);
    const std::string e0 = evoc::read_file(tmp.file("r0")), e1 = evoc::read_file(tmp.file("r1"));
    CAPTURE(e0);
    CAPTURE(e1);
    CHECK(e0.find("rank 1 was started with --world-size 3 but rank 0 with 2") != std::string::npos);
    CHECK(e1.find("--world-size 3: rank 0 of the run at 127.0.0.1:" + std::to_string(port) +
                  " was started with --world-size 2") != std::string::npos);
  }
  SUBCASE("dist-other-options") {
    const int port = free_port();
    const pid_t r0 = rank(0, 2, port, {}, tmp.file("r0"));
    const pid_t r1 = rank(1, 2, port, {"--lr", "0.02"}, tmp.file("r1"));
    CHECK(wait_for(r0).first == 1);
    CHECK(wait_for(r1).first == 1);
    const std::string e0 = evoc::read_file(tmp.file("r0")), e1 = evoc::read_file(tmp.file("r1"));
    CAPTURE(e0);
    CAPTURE(e1);
    CHECK(e0.find("rank 1 was started with other options than rank 0") != std::string::npos);
    CHECK(e1.find("rank 0 refused the run: rank 1 was started with other options") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(out));
}
