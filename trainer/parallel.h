// The trainer's side of many-process training (internal to trainer/; includes torch): which
// rows of a minibatch this rank trains on, the exchange that makes every rank take the same
// optimiser step, and the hash that proves the ranks hold the same network.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "trainer/distributed.h"
#include "trainer/fused_step.h"
#include "trainer/network.h"

namespace evoc::trainer {

/// Data-parallel: the rows [first, first + count) of a minibatch of `size` rows that this
/// rank trains on (all of them without a cluster). Every rank gets size / N rows or one more.
std::pair<int64_t, int64_t> shard_of(int64_t size, const Cluster* cluster);

/// Sums over the ranks the gradients of `net`, each rank's weighted by `share` (its fraction
/// of the minibatch's rows), and the running normalisation statistics, weighted the same way:
/// afterwards every rank holds the gradient of the whole minibatch's mean loss and the same
/// statistics, so every rank takes the same optimiser step. The `n_extra` values at `extra`
/// travel in the same exchange and are summed unweighted (the ranks' votes to stop).
void sum_step(Cluster& cluster, Network& net, double share, float* extra = nullptr, int n_extra = 0);

/// sum_step for a fused step (trainer/fused_step.h): the gradients `g` (the scalars' only when
/// they are used) and the running statistics of `net`, in one exchange with the `n_extra` values
/// at `extra`.
void sum_fused_step(Cluster& cluster, Network& net, FusedGradients& g, double share, float* extra = nullptr,
                    int n_extra = 0);

/// 64-bit hash of the network's exact state (topology, parameters, moments, statistics, step).
uint64_t network_hash(const Network& net);

/// The seed of island `rank` (rank 0 keeps `seed`, so one island is the one-process run).
uint64_t island_seed(uint64_t seed, int rank);

}  // namespace evoc::trainer
