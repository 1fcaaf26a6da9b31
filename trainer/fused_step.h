// A minibatch step of the common network without LibTorch's per-op dispatch.
//
// One training step of a small network through LibTorch is ~150 dispatches and an autograd
// graph over tensors of a few hundred floats: microseconds of arithmetic, a millisecond of
// overhead. For the network the default options grow (one layer, on the CPU) this file runs the
// same step in plain loops over a [columns x rows] buffer, on the float data of the network's
// own tensors: the training-mode forward pass (forward(Mode::Train): batch statistics, running
// statistics updated), the loss (mean squared error or cross-entropy), its gradients, and the
// Adam / AdamW step (optimizer_step); the recomputation of the frozen statistics over the
// training rows (recompute_statistics), three times an epoch; and the evaluation forward pass
// over the validation rows (forward(Mode::Eval): 14% of an epoch through LibTorch, 6% here).
// The forward pass is float, as LibTorch's; op kinds compute with the IR's scalar semantics
// (ir/scalar.h), so transcendentals differ from LibTorch's by a few ulp. Gradients w.r.t. columns accumulate in double. The derivative of every kind is one
// case of one function, with LibTorch's conventions where calculus leaves a choice (min / max
// split ties, relu'(0) = 0). Data-parallel ranks take it too, each on its share of a minibatch
// (their gradients summed by sum_fused_step, trainer/parallel.h). What it does not cover (several
// layers, a GPU) trains through LibTorch, unchanged; tests/trainer/test_fused_step.cpp holds the two equal.
#pragma once

#include <cstdint>
#include <vector>

#include "trainer/network.h"

namespace evoc::trainer {

/// Whether fused steps cover `net`: one layer, CPU, contiguous float parameters and statistics.
bool fused_step_covers(const Network& net);
/// ... and rows `x` of standardised features: on the CPU, float (fused steps read them through
/// a contiguous copy).
bool fused_step_covers(const Network& net, const torch::Tensor& x);

/// The targets of the training rows: standardised values (regression) or class labels.
struct StepTargets {
  const float* values = nullptr;
  const int64_t* labels = nullptr;
};

/// Gradients of the mean minibatch loss, in the row-major shapes of Layer::scalars, weight and
/// bias. `scalars_used` is whether LibTorch's autograd gives the scalars a gradient at all (some
/// op differentiable in a scalar operand): only then does the optimiser step them.
struct FusedGradients {
  std::vector<float> scalars, weight, bias;
  bool scalars_used = false;
};

/// Scratch memory of fused steps (kept between steps to avoid allocations).
struct FusedWorkspace {
  std::vector<float> columns;   ///< [columns][rows]: inputs, then normalised op outputs
  std::vector<float> raw;       ///< [ops][rows] op outputs before normalisation
  std::vector<double> grads;    ///< [columns][rows] loss gradient w.r.t. every column
  std::vector<float> outputs;   ///< [rows][outputs]
  std::vector<float> centre, scale;  ///< [ops] the batch normalisation: z = (raw - centre) * scale
};

/// The training-mode forward pass of `net` on rows `rows[0..count)` of the standardised
/// features `x` ([rows of the split][n_in], row-major), the mean loss and its gradients into
/// `g`; updates the running statistics as forward(Mode::Train) does. Returns the loss (a
/// float, as LibTorch computes it). Requires fused_step_covers(net) and count >= 2.
double fused_gradients(Network& net, const float* x, const int64_t* rows, int64_t count, Task task,
                       StepTargets targets, FusedGradients& g, FusedWorkspace& w);

/// optimizer_step with the gradients `g` instead of LibTorch's (advances net.step).
void fused_optimizer_step(Network& net, const FusedGradients& g, Optimizer optimizer, float lr, float weight_decay);

/// recompute_statistics for a network fused steps cover, on `n` standardised rows `x`
/// ([n][n_in], row-major): op by op in natural order, each op's statistics over the rows, then its
/// output normalised with them frozen (as the evaluation forward pass does) for the ops after it.
void fused_recompute_statistics(Network& net, const float* x, int64_t n);

/// forward(Mode::Eval) for a network fused steps cover, on `n` standardised rows `x`
/// ([n][n_in], row-major), into `out` ([n][n_out]): op by op in the IR's scalar semantics,
/// normalised with the frozen statistics, then the head in the IR's `dot` order. It computes
/// what the exported module computes from the standardised rows, bit for bit; LibTorch's
/// evaluation differs from it where ops are transcendental, by a few ulp. Rows are split over
/// LibTorch's intra-op threads in blocks.
void fused_eval_outputs(const Network& net, const float* x, int64_t n, float* out);

}  // namespace evoc::trainer
