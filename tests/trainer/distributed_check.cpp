// The c10d plumbing on loopback, without the trainer: `distributed_check N [kill]` starts N
// ranks of itself through the launcher; each checks the sums (the same bits on every rank),
// a broadcast, an all-gather, the hash check, and a refused mismatch. With `kill`, the last
// rank kills itself with SIGKILL after a barrier, and the others must report it as lost.
#include <signal.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "trainer/distributed.h"

using namespace evoc::trainer;

namespace {

int fail(int rank, const std::string& what) {
  fmt::print(stderr, "rank {}: WRONG: {}\n", rank, what);
  return 1;
}

int worker(bool kill_last, bool latency) {
  auto cluster = Cluster::join(cluster_options(-1, -1, "", 20), "the same options");
  const int rank = cluster->rank(), n = cluster->size();
  if (latency) {
    std::vector<float> v(100, 1.0f);
    for (int i = 0; i < 100; ++i) cluster->sum(v.data(), v.size());
    const Cluster::Stats before = cluster->stats();
    const int rounds = 2000;
    for (int i = 0; i < rounds; ++i) cluster->sum(v.data(), v.size());
    const Cluster::Stats after = cluster->stats();
    if (rank == 0)
      fmt::print("{} ranks: {:.1f} us per sum of 100 floats\n", n,
                 1e6 * (after.seconds - before.seconds) / rounds);
    return 0;
  }
  if (kill_last) {
    cluster->barrier();
    if (rank == n - 1) raise(SIGKILL);
    try {
      float x = 1;
      for (int i = 0; i < 100; ++i) cluster->sum(&x, 1);
    } catch (const LostRank& e) {
      fmt::print(stderr, "rank {} saw: {}\n", rank, e.what());
      return 0;
    }
    return fail(rank, "no rank was lost");
  }
  std::vector<float> f = {static_cast<float>(rank + 1), 0.1f * static_cast<float>(rank)};
  cluster->sum(f.data(), f.size());
  float expect1 = 0, expect2 = 0;
  for (int r = 0; r < n; ++r) expect1 += static_cast<float>(r + 1), expect2 += 0.1f * static_cast<float>(r);
  if (f[0] != expect1 || f[1] != expect2) return fail(rank, fmt::format("float sum {} {}", f[0], f[1]));
  double d = 0.25 * rank;
  cluster->sum(&d, 1);
  if (d != 0.125 * n * (n - 1)) return fail(rank, fmt::format("double sum {}", d));
  std::string text = cluster->broadcast(rank == n - 1 ? "from the last rank" : "", n - 1);
  if (text != "from the last rank") return fail(rank, "broadcast: " + text);
  std::vector<std::string> all = cluster->all_gather(std::string(static_cast<std::size_t>(rank) * 3, 'x'));
  for (int r = 0; r < n; ++r)
    if (all[r] != std::string(static_cast<std::size_t>(r) * 3, 'x')) return fail(rank, "all_gather");
  cluster->check_same(42, "a check");
  bool refused = false;
  try {
    cluster->check_same(static_cast<uint64_t>(rank), "epoch 3");
  } catch (const evoc::Error& e) {
    refused = std::string(e.what()).find("after epoch 3") != std::string::npos;
  }
  if (!refused) return fail(rank, "differing hashes were not refused");
  fmt::print(stderr, "rank {} of {}: ok\n", rank, n);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: distributed_check WORKERS [kill]\n");
    return 2;
  }
  const bool kill_last = argc > 2 && std::string(argv[2]) == "kill";
  const bool latency = argc > 2 && std::string(argv[2]) == "latency";
  try {
    // The launcher returns in each worker it forks (Launch::worker), which goes on as its rank.
    if (!started_as_rank(-1) && !launch_workers(std::atoi(argv[1]), 20).worker) return 0;
    return worker(kill_last, latency);
  } catch (const std::exception& e) {
    // The launcher reports the rank that killed itself; anything else is wrong.
    bool expected = kill_last && std::string(e.what()).find("killed by signal 9") != std::string::npos;
    fmt::print(stderr, "{}{}\n", expected ? "launcher: " : "WRONG: ", e.what());
    return 1;
  }
}
