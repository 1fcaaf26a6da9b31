// The linker: several modules of one task (ensemble members) into one module whose outputs
// combine theirs, then optimised, so that what the members share (the input standardisation,
// identical ops) is computed once and a kernel reads each row once for all of them.
//
//   std::vector<passes::LinkMember> members = {{ir::read_module("a.evir"), "a.evir"}, ...};
//   ir::Module ensemble = passes::link_modules(members, {.combine = passes::Combine::Mean});
//
// Members' inputs are matched by name (the first member's order is the ensemble's); they must
// agree on the inputs, the task, the classes, the target and the column schema. The result is an
// ordinary module: every engine, pipeline and emitter takes it unchanged.
//
// What the outputs are (a mean is `sum_i (w_i / W) * s_i`, a vote `(sum_i w_i * s_i) / W`, sums
// in a dot's order, W = sum_i w_i; weights default to 1):
//   regression, mean   s_i = member i's output (outputs matched by name)
//   classify, mean     s_i = member i's class probabilities: softmax of its logits (max
//                      subtracted, exp, summed left to right, times the reciprocal of the sum), sigmoid of a single
//                      logit; a member whose metadata says its outputs are probabilities is
//                      taken as it is
//   classify, vote     s_i = 1 for the class member i ranks first (the first of equal scores;
//                      infinite scores count as +-FLT_MAX), 0 for the others; a single logit
//                      votes for class 1 when it is > 0 (a probability: when it is > 0.5)
// A classifier ensemble's outputs are class probabilities (vote shares for a vote), one per
// class, or the probability of class 1 for a binary classifier with a single output; its
// metadata says so (`outputs` = `probabilities`), and the runtime's post-processing then reads
// them as probabilities instead of logits. A NaN score from any member makes the row's outputs NaN.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ir/module.h"
#include "passes/pass_manager.h"

namespace evoc::passes {

/// How members' outputs combine (see the file comment).
enum class Combine { Mean, Vote };

/// The Combine named "mean" or "vote"; throws evoc::Error otherwise.
Combine combine_from_name(std::string_view name);
const char* combine_name(Combine combine);

/// One member and the name errors and the report use for it (e.g. its file).
struct LinkMember {
  ir::Module module;
  std::string label;
};

/// How to link.
struct LinkOptions {
  Combine combine = Combine::Mean;
  std::vector<float> weights;  ///< one per member, finite, >= 0, not all 0; empty: all 1
  std::string task;            ///< "classify" or "regress"; empty: the members' `task` metadata
  std::string name;            ///< the ensemble module's name; empty: "ensemble"
  OptLevel level = OptLevel::O2;  ///< the optimisation of each member and of the result
};

/// Links `members` (at least one). Throws evoc::Error naming the member (its label) and what it
/// disagrees on, or the bad option. The result verifies and carries the metadata above plus
/// `ensemble.*` entries: the combination, each member's size, and what was computed once.
ir::Module link_modules(std::span<const LinkMember> members, const LinkOptions& options = {});

}  // namespace evoc::passes
