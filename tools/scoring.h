// Scoring a model on a labelled file, shared by `evoc eval` (tools/cmd_run.cpp) and `evoc
// inspect --importance` (tools/cmd_ir.cpp).
#pragma once

#include <string>

#include "ir/module.h"

namespace evoc::tools {

/// Permutation importance of each input column of `m` on the labelled CSV `path` (its target
/// column `target`, or the model's `target` metadata, or the last column): the rise in log loss
/// and the drop in accuracy (a classifier), or the drop in R^2 and the rise in RMSE (a
/// regression), when the column's values are shuffled across the rows, averaged over
/// `repeats` seeded shuffles; a table sorted by the first, as text.
std::string permutation_importance(const ir::Module& m, const std::string& path, const std::string& target,
                                   const std::string& engine, int repeats = 3);

}  // namespace evoc::tools
