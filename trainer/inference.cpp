// Inference on a trained network outside a training run: load_network rebuilds the best
// network of a checkpoint (the `best` entry of DIR/state.json, which save_checkpoint in
// evolve.cpp writes together with DIR/best.evir), checks that it is consistent before any
// forward pass indexes it, and TrainedNetwork runs the trainer's eval-mode forward on it.
#include <cstring>
#include <filesystem>

#include <fmt/core.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "ir/error.h"
#include "ir/file_util.h"
#include "trainer/network.h"

namespace evoc::trainer {

namespace {

constexpr const char* kStateFile = "state.json";  // as save_checkpoint writes it
constexpr int kStateVersion = 1;

/// Throws unless `t` is a float tensor of exactly `shape`.
void require_shape(const torch::Tensor& t, std::vector<int64_t> shape, const std::string& what) {
  if (!t.defined() || t.scalar_type() != torch::kFloat || t.sizes().vec() != shape)
    throw Error(fmt::format("{} has shape [{}], expected [{}]", what,
                            t.defined() ? fmt::format("{}", fmt::join(t.sizes(), ", ")) : "none",
                            fmt::join(shape, ", ")));
}

/// Throws unless every index the forward pass takes from the network's topology is in range
/// and every tensor has the shape that topology implies.
void check_network(const Network& net) {
  if (net.layers.empty()) throw Error("the network has no layers");
  if (!net.in_scale.defined() || net.in_scale.dim() != 1 || net.in_scale.numel() < 1)
    throw Error("in_scale is not a vector over the inputs");
  const int64_t features = net.in_scale.size(0);
  require_shape(net.in_scale, {features}, "in_scale");
  require_shape(net.in_shift, {features}, "in_shift");
  int64_t n_in = features;
  for (std::size_t l = 0; l < net.layers.size(); ++l) {
    const Layer& layer = net.layers[l];
    const std::string at = fmt::format("layer {}", l);
    if (layer.n_in != n_in)
      throw Error(fmt::format("{} reads {} columns, but {} come in", at, layer.n_in, n_in));
    if (layer.n_out < 1) throw Error(fmt::format("{} has no outputs", at));
    const auto ops = static_cast<int64_t>(layer.ops.size());
    for (int64_t k = 0; k < ops; ++k) {
      const OpNode& op = layer.ops[k];
      if (!ir::is_unary(op.kind) && !ir::is_binary(op.kind))
        throw Error(fmt::format("{} op {}: '{}' is not an evolved op kind", at, k, ir::op_name(op.kind)));
      for (const Operand* o : {&op.a, &op.b}) {
        if (o == &op.b && !ir::is_binary(op.kind)) break;
        const int limit = o->kind == Operand::Kind::Input    ? layer.n_in
                          : o->kind == Operand::Kind::Op     ? static_cast<int>(k)
                          : o->kind == Operand::Kind::Scalar ? 2
                                                             : 0;
        if (o->index < 0 || o->index >= limit)
          throw Error(fmt::format("{} op {}: operand {} (kind {}) is out of range", at, k, o->index,
                                  static_cast<int>(o->kind)));
      }
    }
    require_shape(layer.scalars.value, {ops, 2}, at + " scalars");
    require_shape(layer.weight.value, {layer.n_out, layer.n_in + ops}, at + " weight");
    require_shape(layer.bias.value, {layer.n_out}, at + " bias");
    require_shape(layer.running_mean, {ops}, at + " running_mean");
    require_shape(layer.running_var, {ops}, at + " running_var");
    n_in = layer.n_out;
  }
  if (net.out_scale.defined() || net.out_shift.defined()) {
    require_shape(net.out_scale, {n_in}, "out_scale");
    require_shape(net.out_shift, {n_in}, "out_shift");
  }
}

}  // namespace

std::shared_ptr<const TrainedNetwork> load_network(const std::string& checkpoint_dir, int threads) {
  if (threads < 1) throw Error("load_network: threads must be at least 1");
  const std::string path = (std::filesystem::path(checkpoint_dir) / kStateFile).string();
  if (!std::filesystem::is_directory(checkpoint_dir))
    throw Error(fmt::format("{}: no such checkpoint directory", checkpoint_dir));
  if (!std::filesystem::exists(path))
    throw Error(fmt::format("{}: not found: {} is not a checkpoint (evoc train --checkpoint DIR writes one)",
                            path, checkpoint_dir));
  auto impl = std::make_unique<TrainedNetwork::Impl>();
  try {
    const nlohmann::json j = nlohmann::json::parse(read_file(path));
    if (!j.is_object()) throw Error("not a JSON object");
    if (const int version = j.value("version", 0); version != kStateVersion)
      throw Error(fmt::format("version {}, this evoc reads version {}", version, kStateVersion));
    impl->net = network_from_json(j.at("best"), torch::kCPU);
    check_network(impl->net);
  } catch (const std::exception& e) {  // JSON errors, evoc::Error from the checks, c10::Error
    throw Error(fmt::format("{}: corrupt checkpoint: {}", path, e.what()));
  }
  torch::set_num_threads(threads);
  return std::make_shared<const TrainedNetwork>(std::move(impl));
}

void TrainedNetwork::predict(const float* x, int64_t n, float* y) const {
  Network& net = impl_->net;
  torch::Tensor raw =
      torch::from_blob(const_cast<float*>(x), {n, n_features()}, torch::kFloat).to(net.device());
  torch::Tensor out = predict_raw(net, raw).to(torch::kCPU).contiguous();
  std::memcpy(y, out.data_ptr<float>(), static_cast<std::size_t>(out.numel()) * sizeof(float));
}

int64_t TrainedNetwork::n_features() const { return impl_->net.in_scale.size(0); }
int64_t TrainedNetwork::n_outputs() const { return impl_->net.layers.back().n_out; }
int TrainedNetwork::ops() const { return impl_->net.total_ops(); }

}  // namespace evoc::trainer
