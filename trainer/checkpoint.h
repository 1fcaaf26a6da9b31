// The state of a training run between two epochs and its checkpoint, the file that holds it
// (internal to trainer/; includes torch). This is the one place that defines what a checkpoint
// directory contains and what each entry of its state.json means:
//
//   DIR/state.json   one JSON object (below), written atomically
//   DIR/best.evir    the text IR exported from the `best` network, with the run's summary
//   DIR/lock         the pid of the run using the directory (flock-ed while it runs)
//
//   version            1
//   fingerprint        the options that shape the run's trajectory (a --resume must match)
//   data_hash          FNV-1a of the data set's names and values (a --resume must match)
//   epoch              epochs completed, 0 <= epoch <= kMaxEpochs
//   accepted, reverted mutations accepted and reverted so far (their sum at most epoch)
//   random, growth     the std::mt19937_64 states of the minibatch order and of the mutations
//   net                the network being trained (see network_to_json for a network's schema)
//   pending            whether a mutation awaits its verdict; then `before` is its parent
//   evolved, best_val, best_epoch
//                      the best evolved network so far, its validation loss and epoch
//   stale              epochs since the validation loss last improved by --min-gain
//   has_linear         whether the linear model of the run trains alongside; then
//   linear, linear_best, linear_best_val, linear_best_epoch
//                      that model and the best of it so far
//   best               the network the run outputs now (evolved or linear: see `choose`; in an
//                      islands run, the best island's)
//   islands            islands runs only (`--islands`): the state of ranks 1, 2, ... in order, each
//                      an object of the entries above (rank 0's are the top level) with the same
//                      version, fingerprint, data_hash and epoch, `best` its own output, and no
//                      `islands`; written by rank 0 after gathering them, so that every island
//                      resumes exactly
//
// Reading validates every entry (types, ranges, the topology and the tensor shapes of every
// network, that the networks agree with each other) and fails with one message,
// `FILE: not a valid checkpoint: WHY`, before any of it is used.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "trainer/network.h"

namespace evoc::trainer {

/// The file of a checkpoint directory that holds the run state.
inline constexpr const char* kStateFile = "state.json";
/// The file of a checkpoint directory that holds the exported output network.
inline constexpr const char* kBestFile = "best.evir";
/// The checkpoint format this build writes and reads.
inline constexpr int kCheckpointVersion = 1;
/// The most epochs a run may have (so that epoch counters never overflow).
inline constexpr int kMaxEpochs = 1'000'000'000;

/// The best network seen so far by validation loss on one line of evolution (the evolved
/// network, or the linear model of the same run).
struct BestNetwork {
  Network net;
  double val_loss = 0;
  int epoch = 0;
  /// Keeps a copy of `candidate` if `loss` is lower than the best so far; returns whether it did.
  bool offer(const Network& candidate, double loss, int at_epoch);
};

/// The complete state of a run between two epochs: what a checkpoint holds.
struct RunState {
  Network net;
  Random random;  ///< the initialisation and the minibatch order
  Random growth;  ///< the mutations
  int epoch = 0;  ///< epochs completed
  int accepted = 0, reverted = 0;
  bool pending = false;  ///< a mutation was made and awaits its verdict
  Network before;        ///< the network (and optimizer state) before it, trained alongside
  BestNetwork best;      ///< the best evolved network
  int stale = 0;  ///< epochs since the validation loss last improved on the best by --min-gain
  /// The linear model of the same run (only when ops may grow), and the best of it seen.
  bool has_linear = false;
  Network linear;
  BestNetwork linear_best;
  /// The linear model's L2 penalty, as chosen before the first epoch (negative: not known, as
  /// after --resume; derived from the data, so not saved: choosing again gives the same).
  double linear_penalty = -1;
};

/// What state.json holds: the run, what it must be resumed with, and the output network.
struct Checkpoint {
  std::string fingerprint;
  uint64_t data_hash = 0;
  RunState run;
  Network output;  ///< the network best.evir is exported from (`best` in the file)
  std::vector<Checkpoint> islands;  ///< islands runs: ranks 1, 2, ... (this one is rank 0's)
};

/// The checkpoint as state.json's object (exact: tensors bit for bit, generator states whole).
nlohmann::json checkpoint_to_json(const Checkpoint& checkpoint);
/// Reads and validates state.json text; `file` names it in errors. Throws evoc::Error
/// "FILE: not a valid checkpoint: WHY" for anything that is not a complete, consistent checkpoint.
Checkpoint checkpoint_from_text(const std::string& text, const std::string& file, torch::Device device);
/// Reads and validates DIR/state.json (a missing directory or file is its own error).
Checkpoint read_checkpoint(const std::string& dir, torch::Device device);
/// Writes DIR/state.json and then DIR/best.evir, each atomically; creates DIR if needed.
void write_checkpoint(const std::string& dir, const Checkpoint& checkpoint, const std::string& best_evir);

/// A checkpoint directory in use by a run: created if needed (an error, before any training,
/// when it cannot be: a file in the way, a file above it, an unwritable parent) and locked with
/// flock on DIR/lock, which holds the pid of the run; a second run on the same directory fails at
/// once naming that pid. The lock goes with the process (also when it is killed).
class CheckpointLock {
 public:
  explicit CheckpointLock(const std::string& dir);
  ~CheckpointLock();
  CheckpointLock(const CheckpointLock&) = delete;
  CheckpointLock& operator=(const CheckpointLock&) = delete;

 private:
  int fd_ = -1;
};

/// Throws evoc::Error (without a file name) unless every index the forward pass takes from the
/// network's topology is in range and every tensor has the shape that topology implies.
void check_network(const Network& net);

}  // namespace evoc::trainer
