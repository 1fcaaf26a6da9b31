// Scores and permutation importance on labelled rows (see evaluate.h).
#include "runtime/evaluate.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <utility>

#include "runtime/postprocess.h"

namespace evoc {

metrics::Classification score_classifier(const ir::Module& m, const std::vector<int>& truth,
                                         const std::vector<float>& y) {
  const std::size_t c = class_count(m.n_out()), k = m.n_out(), n = truth.size();
  std::vector<float> p(n * c);
  postprocess(Output::Probabilities, k, y.data(), static_cast<int64_t>(k), static_cast<int64_t>(n), p.data(),
              static_cast<int64_t>(c), scores_of(m));
  return metrics::classify(truth, p.data(), c);
}

namespace {

/// (primary, secondary) of raw outputs `y`: log loss and accuracy, or R^2 and RMSE.
std::pair<double, double> score(const ir::Module& m, const Truth& truth, const std::vector<float>& y) {
  if (truth.classify) {
    const metrics::Classification s = score_classifier(m, truth.classes, y);
    return {s.log_loss, s.accuracy};
  }
  const metrics::Regression s = metrics::regress(truth.values, y.data(), m.n_out());
  return {s.r2, s.rmse};
}

}  // namespace

Importance permutation_importance(const ir::Module& m, Engine& engine, const std::vector<float>& x,
                                  const Truth& truth, int repeats, uint64_t seed) {
  const std::size_t n = truth.rows(), n_in = m.n_in(), k = m.n_out();
  std::vector<float> y(n * k);
  auto run = [&](const std::vector<float>& rows) {
    engine.run(rows.data(), static_cast<int64_t>(n), static_cast<int64_t>(n_in), y.data(), static_cast<int64_t>(k));
    return score(m, truth, y);
  };
  Importance result;
  std::tie(result.base_primary, result.base_secondary) = run(x);
  std::mt19937_64 rng(seed);
  std::vector<float> shuffled = x;
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n_in; ++i) {
    double primary = 0, secondary = 0;
    for (int rep = 0; rep < repeats; ++rep) {
      std::iota(order.begin(), order.end(), std::size_t{0});
      std::shuffle(order.begin(), order.end(), rng);
      for (std::size_t r = 0; r < n; ++r) shuffled[r * n_in + i] = x[order[r] * n_in + i];
      const auto [p, s] = run(shuffled);
      primary += p;
      secondary += s;
    }
    for (std::size_t r = 0; r < n; ++r) shuffled[r * n_in + i] = x[r * n_in + i];
    primary /= repeats;
    secondary /= repeats;
    result.columns.push_back(truth.classify
                                 ? ColumnImportance{i, primary - result.base_primary, result.base_secondary - secondary}
                                 : ColumnImportance{i, result.base_primary - primary, secondary - result.base_secondary});
  }
  std::stable_sort(result.columns.begin(), result.columns.end(),
                   [](const ColumnImportance& a, const ColumnImportance& b) { return a.primary > b.primary; });
  return result;
}

}  // namespace evoc
