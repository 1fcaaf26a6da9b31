// evoc train --ensemble K: K runs of the trainer, one per seed, linked into one module.
#pragma once

#include <string>

#include "trainer/trainer.h"

namespace evoc::tools {

/// What `evoc train --ensemble` adds to a training run.
struct EnsembleTrainOptions {
  int members = 0;          ///< K >= 1 (0: no ensemble)
  std::string members_dir;  ///< when set, each member is also written here (member-I.evir)
  bool requested() const { return members != 0 || !members_dir.empty(); }
};

/// Checks the flags (throws evoc::Error naming the flag: K < 1, --members-dir without
/// --ensemble or not a directory, options --ensemble does not support), makes --members-dir
/// (not its parents) if absent, then trains member i (i = 0..K-1) with o.seed + i, which seeds
/// its initialisation and evolution, on its split of trainer::ensemble_splits (one test split
/// for all members; member i validates on fold i of the other rows and trains on the rest, so
/// that every row trains all members but at most one; with o.validation_data every member
/// validates on those rows and trains on all others), with the inputs standardised by the
/// statistics of all rows outside the test split (the same constants in every member, which
/// the link then computes once); `workers` members train at the same time, on threads of this
/// process (each member is what training it alone, with its split, gives). Links the members
/// (passes::link_modules: the mean of their class probabilities, or of their outputs) and
/// writes the ensemble to `output`, and each member to --members-dir. Reports (unless `quiet`)
/// each member and every member's score against the ensemble's on the same rows, those no
/// member trained on: the rows of o.validation_data when set, else the test split; warns
/// (always) when the ensemble is worse than its best member there, and says (unless `quiet`)
/// when there are no such rows.
void train_ensemble(const trainer::Dataset& data, const trainer::Options& o, const EnsembleTrainOptions& e,
                    int workers, const std::string& output, bool quiet);

}  // namespace evoc::tools
