// Scoring a model on labelled rows, as `evoc eval` and `evoc inspect --importance` do: a
// classifier through its class probabilities (ir/metrics.h), a regression through its first
// output, and the permutation importance of each input column. The command-line tools only read
// the files and print what these return.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ir/metrics.h"
#include "ir/module.h"
#include "runtime/engine.h"

namespace evoc {

/// The labels of a set of rows: class indices for a classifier, values for a regression.
struct Truth {
  bool classify = false;
  std::vector<int> classes;    ///< classify: the class index of each row
  std::vector<double> values;  ///< otherwise: the target value of each row
  std::size_t rows() const { return classify ? classes.size() : values.size(); }
};

/// Scores a classifier's raw outputs `y` (m.n_out() per row, one row per label) through its
/// class probabilities (softmax of logits, or the probabilities an ensemble gives).
metrics::Classification score_classifier(const ir::Module& m, const std::vector<int>& truth,
                                         const std::vector<float>& y);

/// The permutation importance of one input column: how much worse the model scores when the
/// column's values are shuffled across the rows. A classifier: the rise in log loss (primary)
/// and the drop in accuracy; a regression: the drop in R^2 (primary) and the rise in RMSE.
struct ColumnImportance {
  std::size_t input = 0;  ///< the input's index in the module
  double primary = 0, secondary = 0;
};

/// Every input's importance, the most important (largest primary) first, and the scores of the
/// unshuffled rows (log loss and accuracy, or R^2 and RMSE).
struct Importance {
  double base_primary = 0, base_secondary = 0;
  std::vector<ColumnImportance> columns;
};

/// Runs `m` with `engine` on the `truth.rows()` rows of `x` (m.n_in() floats a row), then again
/// with each input column shuffled (`repeats` seeded shuffles a column, averaged).
Importance permutation_importance(const ir::Module& m, Engine& engine, const std::vector<float>& x,
                                  const Truth& truth, int repeats, uint64_t seed = 20261130);

}  // namespace evoc
