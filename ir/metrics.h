// Scores of predictions against labels, accumulated in double: what `evoc eval` reports, what
// the trainer and `evoc link --validate` score with, and the one argmax (with its NaN rule) that
// every classifier's prediction goes through.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

namespace evoc::metrics {

/// The index of the largest of `k` scores: the first on ties; a NaN never wins (0 when all are
/// NaN, or when k is 0).
std::size_t argmax(const float* scores, std::size_t k);

/// The class a row of `n` classifier scores predicts: their argmax; a single score (a binary
/// classifier) predicts class 1 when it is above `threshold` (0 for a logit, 0.5 for a
/// probability) and class 0 otherwise, NaN included.
std::size_t predicted_class(const float* scores, std::size_t n, float threshold = 0.0f);

/// The share of rows whose predicted_class (rows of `n` scores, `stride` floats apart) equals
/// the class index `truth[r]` (a label that is not a whole number is never right); 0 for no rows.
double accuracy(const std::vector<double>& truth, const float* scores, std::size_t n, std::size_t stride,
                float threshold = 0.0f);

/// A classifier's scores.
struct Classification {
  std::size_t rows = 0;
  double accuracy = 0;
  double log_loss = 0;   ///< mean -ln p(true class), p clipped to [1e-15, 1]
  double macro_f1 = 0;   ///< mean F1 over the classes that occur in the labels or the predictions
  std::optional<double> roc_auc;  ///< two classes only: P(score of a positive > a negative), ties half
  std::vector<std::vector<std::size_t>> confusion;  ///< [true class][predicted class]
};

/// Scores `rows` rows of `k` class probabilities (row-major) against class indices `truth`.
/// The prediction of a row is its most probable class (argmax: the first on ties; NaNs never win).
Classification classify(const std::vector<int>& truth, const float* probabilities, std::size_t k);

/// A regression's scores.
struct Regression {
  std::size_t rows = 0;
  double r2 = 0;  ///< 1 - SSE / SST (0 when the labels are constant)
  double rmse = 0;
  double mae = 0;
};

/// Scores predictions (`stride` floats apart) against `truth`.
Regression regress(const std::vector<double>& truth, const float* predictions, std::size_t stride);

}  // namespace evoc::metrics
