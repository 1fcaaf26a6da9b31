// Scores of predictions against labels, accumulated in double: what `evoc eval` reports.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

namespace evoc::metrics {

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
/// The prediction of a row is its most probable class (the first on ties; NaNs never win).
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
