// Inference on a trained network outside a training run: load_network rebuilds the output
// network of a checkpoint (the `best` entry of DIR/state.json, written together with
// DIR/best.evir; see checkpoint.h), which read_checkpoint validates before any forward pass
// indexes it, and TrainedNetwork runs the trainer's eval-mode forward on it.
#include <cstring>
#include <filesystem>

#include <fmt/core.h>

#include "ir/error.h"
#include "trainer/checkpoint.h"

namespace evoc::trainer {

std::shared_ptr<const TrainedNetwork> load_network(const std::string& checkpoint_dir, int threads) {
  if (threads < 1) throw Error("load_network: threads must be at least 1");
  const std::string path = (std::filesystem::path(checkpoint_dir) / kStateFile).string();
  if (!std::filesystem::is_directory(checkpoint_dir))
    throw Error(fmt::format("{}: no such checkpoint directory", checkpoint_dir));
  if (!std::filesystem::exists(path))
    throw Error(fmt::format("{}: not found: {} is not a checkpoint (evoc train --checkpoint DIR writes one)",
                            path, checkpoint_dir));
  auto impl = std::make_unique<TrainedNetwork::Impl>();
  impl->net = read_checkpoint(checkpoint_dir, torch::kCPU).output;
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
