// The evolving network on the LibTorch side (internal to trainer/; includes torch).
//
// A layer has `n_in` input columns and an ordered list of ops. Op k reads operands that are
// input columns, outputs of earlier ops, or its own trainable scalars, applies an IR op kind,
// and normalises the result; its output is column n_in + k. A linear head maps all columns to
// the layer's outputs. Layers stack, with an optional activation in between.
//
// The forward pass does not append one column per op. A Plan, derived once per topology,
// groups ops by depth (ops of one level only read earlier levels) and, within a level, by
// kind: each level is two gathers from the column buffer, one elementwise kernel per kind and
// one normalisation, so a forward pass costs O(levels) kernel launches instead of O(ops) and
// copies the buffer once per level instead of once per op. Evaluation mode accumulates each
// head in the IR's `dot` order, so the exported module differs from LibTorch only by the
// rounding of transcendentals.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/torch.h>

#include "trainer/random.h"
#include "trainer/trainer.h"

namespace evoc::trainer {

/// Where an operand of an op comes from: explicit kinds, so that column 0 is a column.
struct Operand {
  enum class Kind : uint8_t { Input, Op, Scalar };
  Kind kind = Kind::Input;
  int index = 0;  ///< input column, earlier op of the same layer, or the op's scalar slot (0, 1)
};

/// One op of a layer. `b` is unused for unary kinds.
struct OpNode {
  ir::Op kind = ir::Op::Add;
  Operand a, b;
};

/// A trainable tensor with its Adam moments (same shape), kept across topology changes.
struct Param {
  torch::Tensor value, m, v;
};

/// The per-topology schedule of a layer's forward pass (see the header comment).
struct Plan {
  struct Group {
    ir::Op kind;
    int64_t start, count;  ///< a run of same-kind ops within the level
  };
  struct Level {
    torch::Tensor ops;                 ///< [count] op indices, in buffer order
    torch::Tensor col_a, col_b;        ///< [count] buffer columns of the operands (0 for scalars)
    torch::Tensor scalar_a, scalar_b;  ///< [1, count] bool "operand is a scalar"; undefined if none is
    bool binary = false;               ///< some op of the level is binary
    std::vector<Group> groups;
  };
  std::vector<Level> levels;
  torch::Tensor buffer_to_natural;  ///< [columns] natural column of each buffer column
  torch::Tensor natural_to_buffer;  ///< [columns] buffer column of each natural column
};

/// One layer: topology, parameters and normalisation statistics.
struct Layer {
  int n_in = 0;
  int n_out = 0;
  std::vector<OpNode> ops;
  Param scalars;  ///< [ops, 2] scalar operands (slot 0 for operand a, 1 for b)
  Param weight;   ///< [n_out, n_in + ops] head weights over the natural columns
  Param bias;     ///< [n_out]
  torch::Tensor running_mean, running_var;  ///< [ops]; l2batch keeps the mean square in running_var
  std::shared_ptr<const Plan> plan;         ///< derived; reset by every topology edit

  int columns() const { return n_in + static_cast<int>(ops.size()); }
};

/// A whole network, with the input standardisation and (for regression) the output scaling.
struct Network {
  Norm norm = Norm::Batch;
  Activation activation = Activation::Tanh;
  std::vector<Layer> layers;
  torch::Tensor in_scale, in_shift;    ///< [features]: x_std = x * scale + shift
  torch::Tensor out_scale, out_shift;  ///< [outputs] regression only (undefined for classification)
  int64_t step = 0;                    ///< optimiser steps taken

  int total_ops() const;
  torch::Device device() const { return layers.front().weight.value.device(); }
};

/// Training mode normalises with batch statistics and updates the running ones;
/// evaluation mode uses the frozen statistics (the exported function); Recompute normalises
/// with the statistics of the rows it is given, as training mode does with a batch, and
/// freezes them (see recompute_statistics); it stops there, before the last layer's head, so
/// its Trace has no output.
enum class Mode { Train, Eval, Recompute };

/// What a forward pass produces.
struct Trace {
  torch::Tensor output;               ///< [rows, outputs] of the last layer, before output scaling
  std::vector<torch::Tensor> columns;  ///< per layer [rows, columns] in natural order (if asked)
  std::vector<torch::Tensor> heads;    ///< per layer head outputs, before the activation
};

/// A network with no ops: one linear layer or a stack; heads initialised uniformly in
/// +-1/sqrt(fan_in) from `random`.
Network make_network(int n_features, int n_outputs, int layers, int width, Norm norm,
                     Activation activation, Random& random, torch::Device device);
/// A deep copy (parameters, moments and statistics).
Network clone(const Network& net);

/// The forward pass on standardised rows; `keep_columns` fills Trace::columns.
Trace forward(Network& net, const torch::Tensor& x, Mode mode, bool keep_columns = false);
/// The seed's forward pass (one torch.cat per op), kept as the benchmark baseline.
torch::Tensor forward_naive(Network& net, const torch::Tensor& x, Mode mode);
/// Sets the frozen statistics of every op to those of the standardised rows `x` (the mean and
/// the population variance, or the mean square for l2batch), level by level: afterwards the
/// eval-mode forward on `x` is the training-mode forward on `x` as one batch. Called on the
/// training rows after training and after each mutation, it makes evaluation use what the
/// network was trained with, where momentum averages over an epoch lag behind parameters that
/// moved (and the errors compound through deep chains of normalised products). Networks the fused
/// step covers recompute in plain loops (fused_recompute_statistics).
void recompute_statistics(Network& net, const torch::Tensor& x);
/// Eval-mode outputs on raw feature rows (standardisation and output scaling included).
torch::Tensor predict_raw(Network& net, const torch::Tensor& raw);

/// An op kind applied elementwise (`b` ignored for unary kinds).
torch::Tensor apply_op(ir::Op kind, const torch::Tensor& a, const torch::Tensor& b);
/// Normalises op outputs `raw` [rows, count] of the ops `ops` of `layer` (see Mode).
torch::Tensor normalise(Layer& layer, Norm norm, const torch::Tensor& raw, const torch::Tensor& ops,
                        Mode mode);
/// The frozen normalisation of every op of a layer as an affine map a * v + b ([ops] each).
std::pair<torch::Tensor, torch::Tensor> frozen_norm(const Layer& layer, Norm norm);

/// Appends an op whose head column is zero (the network computes the same function);
/// `scalars` are the initial scalar operands, `mean` / `var` the initial running statistics.
void add_op(Layer& layer, const OpNode& op, std::array<float, 2> scalars, float mean, float var);
/// Removes op `k`, which no other op may read.
void remove_op(Layer& layer, int k);
/// Ops that no later op reads.
std::vector<bool> leaf_ops(const Layer& layer);
/// "mul(x0, op3)" with feature names for the first layer's inputs.
std::string describe(const Network& net, int layer, int k, const std::vector<std::string>& features);

/// Every trainable tensor of the network.
std::vector<Param*> params(Network& net);
/// One Adam / AdamW step on the gradients in `params(net)`, then clears them.
void optimizer_step(Network& net, Optimizer optimizer, float lr, float weight_decay);
/// Head weights and biases plus scalar operands in use.
int64_t count_parameters(const Network& net);

/// The network as an IR module (eval-mode semantics): input affines, ops, frozen
/// normalisation as affines, heads as dots, activations, output scaling.
ir::Module export_module(const Network& net, const std::string& name,
                         const std::vector<std::string>& inputs,
                         const std::vector<std::string>& outputs);

/// Exact (bitwise) serialisation, for checkpoints.
nlohmann::json network_to_json(const Network& net);
Network network_from_json(const nlohmann::json& j, torch::Device device);

}  // namespace evoc::trainer

namespace evoc::trainer {
/// The LibTorch side of a TrainedNetwork.
struct TrainedNetwork::Impl {
  Network net;
};
}  // namespace evoc::trainer
