// The run's linear model: full-batch L-BFGS with an L2 penalty chosen by cross-validation.
// See linear.h.
#include "trainer/linear.h"

#include <cmath>
#include <limits>

#include "ir/error.h"
#include "trainer/network.h"

namespace evoc::trainer {

namespace {

torch::Tensor loss_of(const torch::Tensor& w, const torch::Tensor& b, const torch::Tensor& x,
                      const torch::Tensor& y, Task task) {
  torch::Tensor out = torch::addmm(b, x, w.t());  // linear_outputs(), differentiable in w and b
  if (task == Task::Classify) return torch::nn::functional::cross_entropy(out, y);
  return (out.squeeze(1) - y).square().mean();
}

}  // namespace

std::vector<double> linear_penalties() {
  std::vector<double> p;
  for (int e = 0; e <= 10; ++e) p.push_back(std::pow(10.0, -0.5 * e));  // 1 ... 1e-5
  return p;
}

LinearFit fit_linear(const torch::Tensor& x_in, const torch::Tensor& y_in, Task task, int outputs, double penalty,
                     const LinearFit* warm) {
  torch::Tensor x = x_in.to(torch::kDouble);
  torch::Tensor y = task == Task::Classify ? y_in : y_in.to(torch::kDouble);
  auto options = x.options();
  torch::Tensor w = warm ? warm->weight.clone() : torch::zeros({outputs, x.size(1)}, options);
  torch::Tensor b = warm ? warm->bias.clone() : torch::zeros({outputs}, options);
  w.requires_grad_(true);
  b.requires_grad_(true);
  torch::optim::LBFGS opt({w, b}, torch::optim::LBFGSOptions(1)
                                      .max_iter(200)
                                      .max_eval(1000)
                                      .history_size(20)
                                      .tolerance_grad(1e-7)
                                      .tolerance_change(1e-12)
                                      .line_search_fn("strong_wolfe"));
  auto closure = [&] {
    opt.zero_grad();
    torch::Tensor loss = loss_of(w, b, x, y, task) + 0.5 * penalty * w.square().sum();
    loss.backward();
    return loss;
  };
  opt.step(closure);
  LinearFit fit{w.detach(), b.detach(), penalty};
  if (!torch::isfinite(fit.weight).all().item<bool>() || !torch::isfinite(fit.bias).all().item<bool>())
    throw Error("the linear model's fit diverged (non-finite weights)");
  return fit;
}

double linear_loss(const LinearFit& fit, const torch::Tensor& x, const torch::Tensor& y, Task task) {
  torch::NoGradGuard no_grad;
  torch::Tensor yy = task == Task::Classify ? y : y.to(torch::kDouble);
  return loss_of(fit.weight, fit.bias, x.to(torch::kDouble), yy, task).item<double>();
}

double choose_penalty(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& val_x,
                      const torch::Tensor& val_y, Task task, int outputs, int folds) {
  const std::vector<double> penalties = linear_penalties();
  std::vector<double> score(penalties.size(), 0.0);
  auto sweep = [&](const torch::Tensor& tx, const torch::Tensor& ty, const torch::Tensor& vx, const torch::Tensor& vy,
                   double weight) {
    LinearFit previous;
    for (std::size_t i = 0; i < penalties.size(); ++i) {  // strongest penalty first, warm starts
      LinearFit fit = fit_linear(tx, ty, task, outputs, penalties[i], i ? &previous : nullptr);
      double loss = linear_loss(fit, vx, vy, task);
      score[i] += weight * (std::isfinite(loss) ? loss : std::numeric_limits<double>::max() / 16);
      previous = fit;
    }
  };
  if (folds < 2) {
    sweep(x, y, val_x, val_y, 1.0);
  } else {
    torch::Tensor all_x = torch::cat({x, val_x}), all_y = torch::cat({y, val_y});
    const int64_t n = all_x.size(0);
    for (int f = 0; f < folds; ++f) {
      // Fold f holds the rows r with r % folds == f: the rows are in a random order already.
      torch::Tensor r = torch::arange(n, torch::TensorOptions().dtype(torch::kLong).device(all_x.device()));
      torch::Tensor held = r.remainder(folds).eq(f);
      torch::Tensor in = r.masked_select(held.logical_not()), out = r.masked_select(held);
      if (out.numel() == 0 || in.numel() < 2) continue;
      sweep(all_x.index_select(0, in), all_y.index_select(0, in), all_x.index_select(0, out),
            all_y.index_select(0, out), static_cast<double>(out.numel()) / static_cast<double>(n));
    }
  }
  std::size_t best = 0;
  for (std::size_t i = 1; i < penalties.size(); ++i)
    if (score[i] < score[best] * (1 - 1e-9)) best = i;
  return penalties[best];
}

torch::Tensor linear_outputs(const LinearFit& fit, const torch::Tensor& x) {
  return torch::addmm(fit.bias.to(x.dtype()), x, fit.weight.to(x.dtype()).t());
}

void set_linear_head(Network& net, const LinearFit& fit) {
  if (net.layers.size() != 1) throw Error("internal: a linear fit goes into a network of one layer");
  torch::NoGradGuard no_grad;
  Layer& layer = net.layers[0];
  layer.weight.value.zero_();
  layer.weight.value.narrow(1, 0, layer.n_in).copy_(fit.weight.to(layer.weight.value.options()));
  layer.bias.value.copy_(fit.bias.to(layer.bias.value.options()));
  for (Param* p : {&layer.weight, &layer.bias, &layer.scalars}) {
    if (!p->value.defined()) continue;
    p->m.zero_();
    p->v.zero_();
  }
  net.step = 0;
}

}  // namespace evoc::trainer
