// evoc_trainer_bench: epoch time against op count, for the seed's per-op forward pass (one
// torch.cat per op) and the levelled one (ops grouped by depth and kind), in the same run.
//
//   evoc_trainer_bench [--ops 10,100,500] [--rows 2000] [--batch 64] [--repeat 3] [--threads 1]
//
// Each network is a random topology over the built-in interaction task (operands drawn
// uniformly from earlier columns, kinds add and mul, every head column trained); one epoch is
// forward, backward and an Adam step per minibatch. Prints a Markdown table (median of the
// repeats) and the largest difference between the two passes' training-mode outputs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "trainer/network.h"

namespace {

using namespace evoc::trainer;

/// A one-layer network with `ops` random add/mul ops and small random head weights.
Network random_network(int features, int ops, Random& random) {
  Network net = make_network(features, 1, 1, 1, Norm::Batch, Activation::None, random, torch::kCPU);
  Layer& layer = net.layers[0];
  for (int k = 0; k < ops; ++k) {
    auto column = [&] {
      int c = static_cast<int>(random.below(static_cast<uint64_t>(layer.columns())));
      return c < layer.n_in ? Operand{Operand::Kind::Input, c} : Operand{Operand::Kind::Op, c - layer.n_in};
    };
    OpNode op{random.below(2) ? evoc::ir::Op::Add : evoc::ir::Op::Mul, column(), column()};
    add_op(layer, op, {0.0f, 0.0f}, 0.0f, 1.0f);
  }
  torch::NoGradGuard no_grad;
  layer.weight.value.normal_(0, 0.01);
  return net;
}

template <class Forward>
double epoch_seconds(Network& net, const torch::Tensor& x, const torch::Tensor& y, int64_t batch, Forward&& fwd) {
  auto start = std::chrono::steady_clock::now();
  for (int64_t b = 0; b + batch <= x.size(0); b += batch) {
    torch::Tensor out = fwd(net, x.narrow(0, b, batch));
    torch::mse_loss(out.squeeze(1), y.narrow(0, b, batch)).backward();
    optimizer_step(net, Optimizer::Adam, 1e-3f, 0.0f);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int levels(const Network& net) {
  const Layer& layer = net.layers[0];
  std::vector<int> depth(layer.ops.size());
  int deepest = 0;
  for (std::size_t k = 0; k < layer.ops.size(); ++k) {
    int d = 0;
    for (const Operand& o : {layer.ops[k].a, layer.ops[k].b})
      if (o.kind == Operand::Kind::Op) d = std::max(d, depth[o.index]);
    depth[k] = d + 1;
    deepest = std::max(deepest, depth[k]);
  }
  return deepest;
}

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> out;
  std::size_t start = 0;
  while (start < s.size()) {
    std::size_t end = std::min(s.find(',', start), s.size());
    out.push_back(std::stoi(s.substr(start, end - start)));
    start = end + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> op_counts = {10, 100, 500};
  int rows = 2000, batch = 64, repeat = 3, threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--ops") op_counts = parse_list(value);
    else if (flag == "--rows") rows = std::stoi(value);
    else if (flag == "--batch") batch = std::stoi(value);
    else if (flag == "--repeat") repeat = std::stoi(value);
    else if (flag == "--threads") threads = std::stoi(value);
    else {
      fmt::print(stderr, "evoc_trainer_bench: unknown flag '{}'\n", flag);
      return 2;
    }
  }
  torch::set_num_threads(threads);
  Dataset data = make_synthetic("interaction", static_cast<std::size_t>(rows));
  const auto features = static_cast<int64_t>(data.n_features());
  torch::Tensor x = torch::tensor(data.features).reshape({static_cast<int64_t>(rows), features});
  x = (x - x.mean(0)) / x.std(0);
  torch::Tensor y = torch::tensor(data.target);

  fmt::print("rows {}, batch {}, threads {}, median of {} epochs\n\n", rows, batch, threads, repeat);
  fmt::print("| ops | levels | naive per-op cat (s/epoch) | levelled (s/epoch) | speed-up | max output diff |\n");
  fmt::print("| ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (int ops : op_counts) {
    Random random(7);
    Network net = random_network(static_cast<int>(features), ops, random);
    Network naive_net = clone(net), levelled_net = clone(net);
    double diff;
    {
      torch::NoGradGuard no_grad;
      diff = (forward_naive(naive_net, x, Mode::Train) - forward(levelled_net, x, Mode::Train).output)
                 .abs().max().item<double>();
    }
    std::vector<double> naive, levelled;
    for (int r = 0; r < repeat; ++r) {
      naive.push_back(epoch_seconds(naive_net, x, y, batch, [](Network& n, const torch::Tensor& b) {
        return forward_naive(n, b, Mode::Train);
      }));
      levelled.push_back(epoch_seconds(levelled_net, x, y, batch, [](Network& n, const torch::Tensor& b) {
        return forward(n, b, Mode::Train).output;
      }));
    }
    std::sort(naive.begin(), naive.end());
    std::sort(levelled.begin(), levelled.end());
    double a = naive[naive.size() / 2], b = levelled[levelled.size() / 2];
    fmt::print("| {} | {} | {:.4f} | {:.4f} | {:.1f}x | {:.2g} |\n", ops, levels(net), a, b, a / b, diff);
    std::fflush(stdout);
  }
  return 0;
}
