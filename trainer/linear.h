// The run's linear model, fitted as the standard one is: full-batch L-BFGS on the training rows
// (softmax cross-entropy or squared error) with an L2 penalty on the weights (not the bias),
// the penalty chosen by k-fold cross-validation or on a validation split (internal to trainer/;
// includes torch).
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "trainer/trainer.h"

namespace evoc::trainer {

struct Network;

/// The penalties tried, in mean-loss units (loss + penalty / 2 * |W|^2): scikit-learn's
/// LogisticRegression(C) is penalty = 1 / (C * rows).
std::vector<double> linear_penalties();

/// A linear model's weights [outputs, features] and bias [outputs], in double.
struct LinearFit {
  torch::Tensor weight, bias;
  double penalty = 0;
};

/// Fits a linear model on standardised rows `x` [rows, features] to `y` (class labels, or
/// standardised values for regression) with the given penalty; `warm` (if defined) is the start.
LinearFit fit_linear(const torch::Tensor& x, const torch::Tensor& y, Task task, int outputs, double penalty,
                     const LinearFit* warm = nullptr);

/// The mean loss of a fit on rows `x`, `y` (cross-entropy or squared error, no penalty).
double linear_loss(const LinearFit& fit, const torch::Tensor& x, const torch::Tensor& y, Task task);

/// The penalty of linear_penalties() with the lowest mean validation loss over `folds` folds of
/// the rows (folds < 2: trained on `x`, validated on `val_x`); ties go to the larger penalty.
double choose_penalty(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& val_x,
                      const torch::Tensor& val_y, Task task, int outputs, int folds);

/// A fit's outputs (logits, or standardised values) on rows `x`, in x's type.
torch::Tensor linear_outputs(const LinearFit& fit, const torch::Tensor& x);

/// Writes a fit into the head of a one-layer network, as evolution starts: the input columns
/// take the fit, op columns (if any) start at zero, and every Adam moment and the step count
/// are cleared.
void set_linear_head(Network& net, const LinearFit& fit);

}  // namespace evoc::trainer
