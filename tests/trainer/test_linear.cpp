// The run's linear model is the penalised optimum, not an approximation of it: ridge regression
// against its closed form, and logistic regression at a stationary point of its loss. (LibTorch
// defines a CHECK macro of its own: the assertions here are spelt DOCTEST_CHECK.)
#include <doctest/doctest.h>

#include "trainer/linear.h"

using namespace evoc::trainer;

namespace {

/// Rows of standardised-looking features with a linear signal and noise (double precision).
std::pair<torch::Tensor, torch::Tensor> rows(int64_t n, int64_t features, uint64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor x = torch::randn({n, features}, torch::kDouble);
  torch::Tensor w = torch::linspace(-1, 1, features, torch::kDouble);
  return {x, x.matmul(w) + 0.3 * torch::randn({n}, torch::kDouble)};
}

}  // namespace

TEST_CASE("linear: ridge regression equals its closed form") {
  auto [x, y] = rows(300, 8, 1);
  for (double penalty : {1.0, 1e-2, 1e-5}) {
    const LinearFit fit = fit_linear(x.to(torch::kFloat), y.to(torch::kFloat), Task::Regress, 1, penalty);
    // Minimises mean((x w + b - y)^2) + penalty / 2 |w|^2 with b unpenalised: centre, then
    // (2/n Xc^T Xc + penalty I) w = 2/n Xc^T yc.
    const double n = static_cast<double>(x.size(0));
    const torch::Tensor xf = x.to(torch::kFloat).to(torch::kDouble), yf = y.to(torch::kFloat).to(torch::kDouble);
    const torch::Tensor xc = xf - xf.mean(0), yc = yf - yf.mean();
    const torch::Tensor a = 2 / n * xc.t().matmul(xc) + penalty * torch::eye(x.size(1), torch::kDouble);
    const torch::Tensor w = torch::linalg_solve(a, 2 / n * xc.t().matmul(yc));
    const torch::Tensor b = yf.mean() - xf.mean(0).matmul(w);
    const double weight_error = (fit.weight.squeeze(0) - w).abs().max().item<double>();
    const double bias_error = (fit.bias.squeeze(0) - b).abs().item<double>();
    INFO("penalty " << penalty << ": weight error " << weight_error << ", bias error " << bias_error);
    DOCTEST_CHECK(weight_error < 1e-5);
    DOCTEST_CHECK(bias_error < 1e-5);
  }
}

TEST_CASE("linear: logistic regression stops at a stationary point of the penalised loss") {
  auto [x, signal] = rows(400, 6, 2);
  const torch::Tensor xf = x.to(torch::kFloat);
  torch::Tensor y = (signal > 0.3).to(torch::kLong) + (signal > -0.3).to(torch::kLong);  // 3 classes
  for (double penalty : {1e-1, 1e-3, 1e-5}) {
    const LinearFit fit = fit_linear(xf, y, Task::Classify, 3, penalty);
    torch::Tensor w = fit.weight.clone().requires_grad_(true), b = fit.bias.clone().requires_grad_(true);
    torch::Tensor loss = torch::nn::functional::cross_entropy(torch::addmm(b, xf.to(torch::kDouble), w.t()), y) +
                         0.5 * penalty * w.square().sum();
    loss.backward();
    const double gradient = std::max(w.grad().abs().max().item<double>(), b.grad().abs().max().item<double>());
    INFO("penalty " << penalty << ": largest gradient " << gradient);
    DOCTEST_CHECK(gradient < 1e-6);
  }
}
