// Classification and regression scores (see metrics.h).
#include "ir/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace evoc::metrics {

std::size_t argmax(const float* scores, std::size_t k) {
  std::size_t best = 0;
  for (std::size_t j = 1; j < k; ++j)
    if (scores[j] > scores[best] || (std::isnan(scores[best]) && !std::isnan(scores[j]))) best = j;
  return best;
}

std::size_t predicted_class(const float* scores, std::size_t n, float threshold) {
  if (n == 1) return scores[0] > threshold ? 1 : 0;
  return argmax(scores, n);
}

double accuracy(const std::vector<double>& truth, const float* scores, std::size_t n, std::size_t stride,
                float threshold) {
  if (truth.empty()) return 0;
  std::size_t correct = 0;
  for (std::size_t r = 0; r < truth.size(); ++r)
    correct += static_cast<double>(predicted_class(scores + r * stride, n, threshold)) == truth[r];
  return static_cast<double>(correct) / static_cast<double>(truth.size());
}

Classification classify(const std::vector<int>& truth, const float* p, std::size_t k) {
  Classification c;
  c.rows = truth.size();
  c.confusion.assign(k, std::vector<std::size_t>(k, 0));
  if (truth.empty() || k == 0) return c;
  double loss = 0;
  std::size_t correct = 0;
  for (std::size_t r = 0; r < truth.size(); ++r) {
    const float* row = p + r * k;
    const std::size_t best = argmax(row, k);
    const auto t = static_cast<std::size_t>(truth[r]);
    ++c.confusion[t][best];
    correct += best == t;
    double pt = row[t];
    if (!(pt >= 1e-15)) pt = 1e-15;  // NaN too
    loss -= std::log(std::min(pt, 1.0));
  }
  c.accuracy = static_cast<double>(correct) / static_cast<double>(c.rows);
  c.log_loss = loss / static_cast<double>(c.rows);
  double f1_sum = 0;
  std::size_t classes = 0;
  for (std::size_t j = 0; j < k; ++j) {
    std::size_t tp = c.confusion[j][j], actual = 0, predicted = 0;
    for (std::size_t i = 0; i < k; ++i) {
      actual += c.confusion[j][i];
      predicted += c.confusion[i][j];
    }
    if (actual == 0 && predicted == 0) continue;
    ++classes;
    f1_sum += 2.0 * static_cast<double>(tp) / static_cast<double>(actual + predicted);
  }
  c.macro_f1 = classes ? f1_sum / static_cast<double>(classes) : 0;
  if (k == 2) {
    // Mann-Whitney U over the score of class 1, with average ranks for ties.
    std::vector<std::size_t> order(truth.size());
    std::iota(order.begin(), order.end(), 0);
    auto score = [&](std::size_t r) {
      const float s = p[r * 2 + 1];
      return std::isnan(s) ? -INFINITY : s;
    };
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return score(a) < score(b); });
    double rank_sum = 0;
    std::size_t positives = 0;
    for (std::size_t i = 0; i < order.size();) {
      std::size_t j = i;
      while (j < order.size() && score(order[j]) == score(order[i])) ++j;
      const double rank = (static_cast<double>(i) + static_cast<double>(j) + 1) / 2;  // 1-based average
      for (std::size_t m = i; m < j; ++m)
        if (truth[order[m]] == 1) {
          rank_sum += rank;
          ++positives;
        }
      i = j;
    }
    const std::size_t negatives = truth.size() - positives;
    if (positives > 0 && negatives > 0)
      c.roc_auc = (rank_sum - static_cast<double>(positives) * (static_cast<double>(positives) + 1) / 2) /
                  (static_cast<double>(positives) * static_cast<double>(negatives));
  }
  return c;
}

Regression regress(const std::vector<double>& truth, const float* predictions, std::size_t stride) {
  Regression m;
  m.rows = truth.size();
  if (truth.empty()) return m;
  const double n = static_cast<double>(truth.size());
  double mean = 0;
  for (double y : truth) mean += y;
  mean /= n;
  double sse = 0, sst = 0, sae = 0;
  for (std::size_t r = 0; r < truth.size(); ++r) {
    const double e = static_cast<double>(predictions[r * stride]) - truth[r];
    sse += e * e;
    sae += std::fabs(e);
    sst += (truth[r] - mean) * (truth[r] - mean);
  }
  m.r2 = sst > 0 ? 1.0 - sse / sst : 0.0;
  m.rmse = std::sqrt(sse / n);
  m.mae = sae / n;
  return m;
}

}  // namespace evoc::metrics
