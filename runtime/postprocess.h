// Classifier post-processing of a kernel's raw outputs (logits), row by row: class
// probabilities (softmax; a single logit is read as binary, sigmoid) or the winning class.
// A module whose metadata says `outputs` = `probabilities` (an ensemble, passes/link.h) already
// gives probabilities (of class 1 for a single output): they are copied, not transformed again.
// Also the one home of what a classifier module's outputs are (scores_of, class_labels), which
// the Kernel, `evoc run`, `evoc eval` and the ensemble's validation read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ir/module.h"

namespace evoc {

/// What a Kernel writes for each row.
enum class Output {
  Raw,            ///< the module's outputs as they are
  Probabilities,  ///< one probability per class: softmax of the outputs; sigmoid for one logit
  Argmax,         ///< one column: the index of the most likely class, as a float
};

/// The Output named "raw", "probabilities" or "argmax"; throws evoc::Error otherwise.
Output output_from_name(std::string_view name);

/// What a classifier module's outputs are.
enum class Scores {
  Logits,         ///< softmax (sigmoid for one) gives the probabilities
  Probabilities,  ///< the probabilities themselves (of class 1 for one output)
};

/// What `m`'s outputs are: probabilities when its metadata says `outputs` = `probabilities` (an
/// ensemble), else logits.
Scores scores_of(const ir::Module& m);

/// The score above which a single output predicts class 1: 0 for a logit, 0.5 for a probability.
inline float binary_threshold(Scores scores) { return scores == Scores::Probabilities ? 0.5f : 0.0f; }

/// Number of classes of a classifier with `n_logits` outputs (two for a single logit).
inline std::size_t class_count(std::size_t n_logits) { return n_logits == 1 ? 2 : n_logits; }

/// The class names of a classifier module: its `classes` metadata, else class_0, class_1, ...
/// (class_count of its outputs). Throws evoc::Error when the metadata names another number of
/// classes than its outputs give.
std::vector<std::string> class_labels(const ir::Module& m);

/// Columns written per row for `mode` on a module with `n_logits` outputs.
std::size_t output_width(Output mode, std::size_t n_logits);

/// Transforms `n` rows of `n_logits` scores (rows `in_stride` apart) into `n` rows of
/// output_width(mode) columns (rows `out_stride` apart). A NaN logit makes the row's
/// probabilities NaN; argmax ignores NaNs (class 0 if all are NaN). A single probability
/// argmaxes to class 1 when it is > 0.5, as a single logit does when it is > 0.
void postprocess(Output mode, std::size_t n_logits, const float* in, int64_t in_stride, int64_t n, float* out,
                 int64_t out_stride, Scores scores = Scores::Logits);

}  // namespace evoc
