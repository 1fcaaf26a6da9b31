// evoc_gpu_bench: ns per row of a model's GPU kernel against its CPU kernels.
//
//   evoc_gpu_bench MODEL.evir... [--rows 1000000,100000000]
//
// For each model and batch: the CPU kernel (evoc::Kernel, JIT, no cache) on one thread and on
// every hardware thread; the GPU kernel (evoc::GpuKernel) with the host-to-device and
// device-to-host copies counted (rows from host memory, as `evoc run --engine gpu`), and with
// the rows already on the device (copies not counted). Each figure is the best of 3 runs after
// a warm-up (one run for batches over 10M rows). Needs a CUDA GPU; scripts/gpu_check.sh runs it.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "ir/error.h"
#include "ir/parser.h"
#include "ir/random_module.h"
#include "runtime/gpu_kernel.h"
#include "runtime/kernel.h"

namespace evoc {
namespace {

using Clock = std::chrono::steady_clock;

double best_ns_per_row(int64_t rows, const std::function<void()>& run) {
  run();  // warm-up (first launch, page faults)
  const int repeats = rows > 10'000'000 ? 1 : 3;
  double best = 1e300;
  for (int i = 0; i < repeats; ++i) {
    const auto start = Clock::now();
    run();
    best = std::min(best, std::chrono::duration<double, std::nano>(Clock::now() - start).count());
  }
  return best / static_cast<double>(rows);
}

std::vector<int64_t> parse_rows(const std::string& list) {
  std::vector<int64_t> rows;
  std::size_t at = 0;
  while (at <= list.size()) {
    const std::size_t comma = std::min(list.find(',', at), list.size());
    rows.push_back(std::stoll(list.substr(at, comma - at)));
    at = comma + 1;
  }
  return rows;
}

int run(int argc, char** argv) {
  std::vector<std::string> models;
  std::vector<int64_t> batches{1'000'000, 100'000'000};
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--rows") == 0 && i + 1 < argc)
      batches = parse_rows(argv[++i]);
    else
      models.push_back(argv[i]);
  }
  if (models.empty()) throw Error("usage: evoc_gpu_bench MODEL.evir... [--rows 1000000,100000000]");
  std::string why;
  if (!gpu_available(&why)) throw Error(why);
  fmt::print("| model | ops | rows | CPU 1 thread | CPU all threads | GPU, copies counted | GPU, rows on device | "
             "GPU / CPU all (on device) |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const std::string& path : models) {
    const ir::Module m = ir::read_module(path);
    KernelOptions one, all;
    one.threads = 1;
    one.use_cache = all.use_cache = false;
    const Kernel cpu1 = Kernel::compile(m, one), cpu_all = Kernel::compile(m, all);
    const GpuKernel gpu = GpuKernel::compile(m);
    const auto n_in = static_cast<int64_t>(m.n_in()), n_out = static_cast<int64_t>(m.outputs.size());
    for (int64_t n : batches) {
      const std::vector<float> x = ir::random_rows(7, static_cast<std::size_t>(n), static_cast<std::size_t>(n_in), false);
      std::vector<float> y(static_cast<std::size_t>(n * n_out));
      const double t1 = best_ns_per_row(n, [&] { cpu1.run(x.data(), n, n_in, y.data(), n_out); });
      const double tall = best_ns_per_row(n, [&] { cpu_all.run(x.data(), n, n_in, y.data(), n_out); });
      const double tcopy = best_ns_per_row(n, [&] { gpu.run(x.data(), n, n_in, y.data(), n_out); });
      GpuBuffer dx(x.size()), dy(y.size());
      dx.upload(x.data(), x.size());
      const double tdev = best_ns_per_row(n, [&] { gpu.run_device(dx.device_pointer(), n, n_in, dy.device_pointer(), n_out); });
      fmt::print("| {} | {} | {} | {:.3g} | {:.3g} | {:.3g} | {:.3g} | {:.1f}x |\n", m.name, m.values.size() - m.n_in(), n,
                 t1, tall, tcopy, tdev, tall / tdev);
      std::fflush(stdout);
    }
  }
  fmt::print("\nns per row; {} ({})\n", "GPU kernels compiled for the device's architecture", "one thread per row");
  return 0;
}

}  // namespace
}  // namespace evoc

int main(int argc, char** argv) {
  try {
    return evoc::run(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "evoc_gpu_bench: {}\n", e.what());
    return 1;
  }
}
