// The ensemble's validation report, shared by `evoc link --validate` (a CSV file) and
// `evoc train --ensemble` (the rows no member trained on): each member's score and the
// ensemble's on the same rows, and a warning when the ensemble is worse than its best member.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "ir/csv.h"
#include "ir/module.h"
#include "passes/link.h"

namespace evoc::tools {

/// Scores every member and `ensemble` on the rows of `table` (inputs matched by name; `target`
/// is the index of the target column): accuracy for a classifier, R^2 (first output) for a
/// regressor. Prints (when `scores`) a heading naming `where`, one line per member and one for
/// the ensemble to stderr, and (always) "`command`: warning: ..." when the ensemble scores below
/// its best member.
/// Returns true in that case. A missing input column is an error naming `where`.
bool compare_with_members(const std::vector<passes::LinkMember>& members, const ir::Module& ensemble,
                          const csv::Table& table, std::size_t target, const std::string& where,
                          const std::string& command, bool scores = true);

}  // namespace evoc::tools
