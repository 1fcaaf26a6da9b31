// Training on many processes: the ranks of a run meet over LibTorch's distributed engine (c10d:
// a TCP store for the rendezvous, a Gloo process group for the collectives), and a launcher
// starts N workers of this executable on one machine.
//
// Conventions are torchrun's: MASTER_ADDR, MASTER_PORT, RANK and WORLD_SIZE (or the flags
// --master HOST:PORT, --rank, --world-size); rank 0 hosts the store unless a launcher does. At
// the start every rank posts its world size and options fingerprint and rank 0 compares them,
// so a rank started with other options is refused before any training. Collectives that fail
// (a peer died, or did not answer within the timeout, the only timeout that applies to Gloo in
// LibTorch 1.13) throw a LostRank error naming the ranks whose heartbeat stopped.
//
// Sums are computed as an all-gather followed by a sum in rank order, so every rank holds the
// same bits and a run with N ranks is reproducible run to run. Sums and all-gathers (every
// training step makes one) run Gloo's ring all-gather in the calling thread, on a Gloo context
// of their own beside the process group (same device, same store), busy-polling when the ranks
// fit the machine's cores: 20-35 us between two processes instead of the process group's
// 0.5-1 ms. Broadcasts and barriers (rare) go through the process group.
//
// This header is free of LibTorch, like trainer.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ir/error.h"

namespace evoc::trainer {

/// Where this process stands in a multi-process run, and how to reach the others.
struct ClusterOptions {
  int rank = 0;
  int world_size = 1;
  std::string master_host = "127.0.0.1";  ///< the store's host (rank 0's machine, or the launcher's)
  int master_port = 29500;
  bool store_by_launcher = false;  ///< the launcher hosts the store: rank 0 connects as a client
  /// The network interface the Gloo device binds (GLOO_SOCKET_IFNAME, e.g. "eth0"); empty: the
  /// loopback address when the master is local, else the address of this machine's host name.
  std::string interface;
  double timeout_seconds = 30;  ///< rendezvous, and each collective
};

/// A rank, or every rank but one, was lost during a run.
class LostRank : public Error {
 public:
  explicit LostRank(const std::string& message) : Error(message) {}
};

/// The other ranks of this run, and the collectives the trainer uses.
class Cluster {
 public:
  /// Joins the run: connects to (or, as rank 0, hosts) the store, checks that every rank was
  /// started with the same world size and `fingerprint` (rank 0 refuses a mismatch; the others
  /// learn of it from rank 0), and creates the Gloo process group. Throws Error naming the flag
  /// or rank at fault: a port in use, an unreachable master, a mismatch, a rank that never came.
  static std::unique_ptr<Cluster> join(const ClusterOptions& options, const std::string& fingerprint);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  int rank() const;
  int size() const;

  /// Element-wise sums over all ranks, in place; the same bits on every rank.
  void sum(float* data, std::size_t n);
  void sum(double* data, std::size_t n);
  /// `text` of rank `root`, on every rank.
  std::string broadcast(const std::string& text, int root = 0);
  /// Every rank's `text`, indexed by rank.
  std::vector<std::string> all_gather(const std::string& text);
  /// Throws Error("... differ after WHAT ...") unless every rank passes the same `hash`.
  void check_same(uint64_t hash, const std::string& what);
  /// Waits for every rank.
  void barrier();

  /// The exchanges this rank has made so far, and the wall time spent in them (waiting for
  /// slower ranks included).
  struct Stats {
    int64_t exchanges = 0;
    double seconds = 0;
  };
  Stats stats() const;

  struct Impl;

 private:
  explicit Cluster(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The cluster options of this process from the torchrun environment variables, overridden by
/// the flags that are set (rank < 0, world_size < 1, master empty: unset). Throws Error naming
/// the variable or flag with a malformed value.
ClusterOptions cluster_options(int rank, int world_size, const std::string& master, double timeout_seconds);
/// True when this process was started as one rank of a run (RANK set, or --rank given).
bool started_as_rank(int rank_flag);

/// What launch_workers returned to: a worker, or the launcher once its workers ended.
struct [[nodiscard]] Launch {
  bool worker = false;  ///< this process is a worker: it goes on as its rank (RANK etc. are set)
  int signal = 0;       ///< the launcher: SIGINT or SIGTERM passed on to the workers, or 0
};

/// Starts `workers` ranks of one run on this machine, with the same arguments: hosts their store
/// on 127.0.0.1 on a free port and gives them the torchrun variables. Each worker is a fork of
/// this process (which must call this before it starts threads of its own, else a worker runs
/// this executable anew; EVOC_LAUNCH=exec asks for that), and returns from here with
/// Launch::worker set. The launcher forwards SIGINT and SIGTERM and waits. When a worker fails,
/// it says which (its exit status or signal), gives the others `timeout_seconds` (plus a grace
/// period) to notice and end, then kills those left. Throws Error naming the first worker that
/// failed and how. Returns the signal passed on to the workers, after which they stopped early
/// and rank 0 wrote the model; 0 if none came.
Launch launch_workers(int workers, double timeout_seconds);

}  // namespace evoc::trainer
