// evoc_codegen_bench: how fast compiled kernels score rows, and how fast they compile.
//
//   evoc_codegen_bench [--quick]      the tables below (--quick: fewer runs, no 1,000,000 rows)
//   evoc_codegen_bench --print OPS    the benchmark model of about OPS ops, as IR text
//   evoc_codegen_bench --scale [MAX]  table 3 only, up to MAX outputs and 10 x MAX ops (default 10,000)
//
// Models: network-shaped modules (see network_model: dots with activations, element-wise ops,
// every op kind) of about 10, 30, 100 and 1,000 live ops; dead ops are removed first so that
// every counted op is executed. (ir::random_module's graphs are a poor benchmark: deep random
// chains saturate to NaN or constants, which LLVM then folds away.) One thread.
//
// Table 1, throughput: ns per row for the interpreter and the JIT kernel (-O0, -O2 (the default)
// and -O3, see CodegenOptions::opt_level) at batch 1, 64, 4096 and 1,000,000 rows. Each figure
// is the best of several timed runs of at least 20 ms (the machine may be shared). The
// interpreter's per-row cost does not depend on the batch, so at 1,000,000 rows it is measured
// on the first 100,000 rows for the 1,000-op model.
// Table 2, compile latency: the phases of compile_jit (median of 7 compiles after the one-time
// JIT set-up) at -O0 to -O3, with the compiling thread's CPU time beside the wall time.
// Table 3, compile time at scale (one compile each, -O2): modules of 1,000 to 10,000 outputs
// (wide_model: each output a small dot of inputs and earlier values) and network models of
// 12,500 to 100,000 ops, and the exponent of a power law fitted to each series. Compile time must
// grow about linearly with both (huge kernels are compiled in parts of bounded size, lower.cpp).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "codegen/jit.h"
#include "ir/interpreter.h"
#include "ir/printer.h"
#include "ir/random_module.h"

namespace evoc {
namespace {

using Clock = std::chrono::steady_clock;

double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

/// `m` without the values no output depends on.
ir::Module live_part(ir::Module m) {
  std::vector<bool> keep(m.values.size(), false);
  for (ir::ValueId o : m.outputs) keep[o] = true;
  for (std::size_t id = m.values.size(); id-- > 0;)
    if (keep[id])
      for (ir::ValueId a : m.values[id].args) keep[a] = true;
  ir::compact(m, keep);
  return m;
}

std::size_t op_count(const ir::Module& m) { return m.values.size() - m.n_in(); }

/// A network-shaped module: 16 normalised inputs, then dots of recent values (mostly followed by
/// tanh, sigmoid or relu), element-wise binary ops, and bounded uses of the other kinds
/// (exp(-v*v), log(|v| + 1), sqrt|v|, ...), read by 4 outputs. Grown until `ops` ops are live.
ir::Module network_model(std::size_t ops) {
  for (std::size_t budget = ops;; budget += std::max<std::size_t>(1, budget / 20)) {
    ir::Rng rng(ops);
    ir::Module m = ir::make_module("net" + std::to_string(ops), 16);
    std::vector<ir::ValueId> pool;
    for (ir::ValueId i = 0; i < 16; ++i) pool.push_back(ir::add_affine(m, i, rng.uniform(0.5f, 2.0f), rng.uniform(-1, 1)));
    auto recent = [&] { return pool[pool.size() - 1 - rng.below(std::min<std::size_t>(pool.size(), 24))]; };
    const ir::Op activations[] = {ir::Op::Tanh, ir::Op::Sigmoid, ir::Op::Relu};
    const ir::Op binaries[] = {ir::Op::Add, ir::Op::Sub, ir::Op::Mul, ir::Op::Min, ir::Op::Max};
    while (m.values.size() - 16 < budget) {
      const float r = rng.uniform();
      ir::ValueId v;
      if (r < 0.45f) {
        std::vector<ir::ValueId> args;
        std::vector<float> weights;
        const std::size_t k = 2 + rng.below(7);
        for (std::size_t t = 0; t < k; ++t) {
          args.push_back(recent());
          weights.push_back(rng.uniform(-1, 1) / std::sqrt(static_cast<float>(k)));
        }
        v = ir::add_dot(m, args, weights, rng.uniform(-0.5f, 0.5f));
        if (rng.chance(0.8f)) v = ir::add_unary(m, activations[rng.below(3)], v);
      } else if (r < 0.7f) {
        v = ir::add_binary(m, binaries[rng.below(5)], recent(), recent());
      } else if (r < 0.8f) {
        v = ir::add_unary(m, ir::Op::Exp, ir::add_unary(m, ir::Op::Neg, ir::add_unary(m, ir::Op::Square, recent())));
      } else if (r < 0.88f) {
        v = ir::add_unary(m, ir::Op::Log, ir::add_affine(m, ir::add_unary(m, ir::Op::Abs, recent()), 1.0f, 1.0f));
      } else if (r < 0.94f) {
        v = ir::add_unary(m, ir::Op::Sqrt, ir::add_unary(m, ir::Op::Abs, recent()));
      } else {
        v = ir::add_binary(m, ir::Op::Div, recent(), ir::add_affine(m, ir::add_unary(m, ir::Op::Square, recent()), 1.0f, 1.0f));
      }
      pool.push_back(v);
    }
    for (int o = 0; o < 4; ++o) ir::add_output(m, pool[pool.size() - 1 - o], "y" + std::to_string(o));
    m = live_part(std::move(m));
    if (op_count(m) >= ops) return m;
  }
}

struct Phases {
  double ir = 0, opt = 0, mc = 0, link = 0, wall = 0, cpu = 0;
};

/// EVOC_BENCH_TIME_PASSES=1: LLVM's pass timings of every compile on stderr.
const bool kTimePasses = std::getenv("EVOC_BENCH_TIME_PASSES") != nullptr;

Phases median_compile(const ir::Module& m, int level, int count) {
  std::vector<Phases> runs;
  for (int i = 0; i < count; ++i) {
    codegen::CodegenOptions options;
    options.opt_level = level;
    options.time_passes = kTimePasses;
    const double c0 = cpu_ms();
    const auto start = Clock::now();
    codegen::JitKernel k = codegen::compile_jit(m, options);
    Phases p;
    p.wall = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    p.cpu = cpu_ms() - c0;
    p.ir = k.times().ir_generation_ms;
    p.opt = k.times().optimization_ms;
    p.mc = k.times().machine_code_ms;
    p.link = k.times().link_ms;
    if (kTimePasses) fmt::print(stderr, "{}\n", k.times().pass_report);
    runs.push_back(p);
  }
  std::sort(runs.begin(), runs.end(), [](const Phases& a, const Phases& b) { return a.wall < b.wall; });
  return runs[runs.size() / 2];
}

/// A module with `outputs` outputs: 16 inputs, and per output a dot of 4 recent values (inputs
/// or earlier dots) followed by tanh or a binary op, about 2 ops per output.
ir::Module wide_model(std::size_t outputs) {
  ir::Rng rng(outputs);
  ir::Module m = ir::make_module("wide" + std::to_string(outputs), 16);
  std::vector<ir::ValueId> pool;
  for (ir::ValueId i = 0; i < 16; ++i) pool.push_back(i);
  for (std::size_t o = 0; o < outputs; ++o) {
    std::vector<ir::ValueId> args;
    std::vector<float> weights;
    for (int t = 0; t < 4; ++t) {
      args.push_back(pool[pool.size() - 1 - rng.below(std::min<std::size_t>(pool.size(), 32))]);
      weights.push_back(rng.uniform(-1, 1));
    }
    ir::ValueId v = ir::add_dot(m, args, weights, rng.uniform(-0.5f, 0.5f));
    v = rng.chance(0.5f) ? ir::add_unary(m, ir::Op::Tanh, v) : ir::add_binary(m, ir::Op::Max, v, pool[rng.below(16)]);
    pool.push_back(v);
    ir::add_output(m, v, "y" + std::to_string(o));
  }
  return m;
}

/// The exponent k of the least-squares fit time = c * size^k on a log-log scale.
double fitted_exponent(const std::vector<std::pair<double, double>>& points) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& [size, ms] : points) {
    const double x = std::log(size), y = std::log(ms);
    sx += x, sy += y, sxx += x * x, sxy += x * y;
  }
  const double n = static_cast<double>(points.size());
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

/// Table 3 (see the file comment): one -O2 compile per model, wide models of max/10 .. max
/// outputs and network models of max .. 10 x max ops, with the exponent of the fitted power law
/// (compile CPU time against outputs, and against ops).
void scale_table(std::size_t max_outputs) {
  fmt::print("Compile time at scale, ms (one compile at -O2, after the JIT set-up)\n\n");
  fmt::print("| model | outputs | ops | IR generation | LLVM optimisation | machine code | total (wall) | CPU |\n");
  fmt::print("|---|---:|---:|---:|---:|---:|---:|---:|\n");
  std::vector<std::pair<double, double>> wide_wall, wide_cpu, network_wall, network_cpu;
  auto row = [](const char* kind, const ir::Module& m) {
    const Phases p = median_compile(m, 2, 1);
    fmt::print("| {} | {} | {} | {:.0f} | {:.0f} | {:.0f} | {:.0f} | {:.0f} |\n", kind, m.n_out(), op_count(m), p.ir,
               p.opt, p.mc, p.wall, p.cpu);
    std::fflush(stdout);
    return p;
  };
  for (std::size_t divisor : {10, 5, 2, 1}) {
    const ir::Module m = wide_model(std::max<std::size_t>(1, max_outputs / divisor));
    const Phases p = row("wide", m);
    wide_wall.emplace_back(static_cast<double>(m.n_out()), p.wall);
    wide_cpu.emplace_back(static_cast<double>(m.n_out()), p.cpu);
  }
  for (std::size_t divisor : {8, 4, 2, 1}) {
    const ir::Module m = network_model(std::max<std::size_t>(1, 10 * max_outputs / divisor));
    const Phases p = row("network", m);
    network_wall.emplace_back(static_cast<double>(op_count(m)), p.wall);
    network_cpu.emplace_back(static_cast<double>(op_count(m)), p.cpu);
  }
  fmt::print("\nFitted exponent k of time = c * n^k: outputs (wide) {:.2f} CPU, {:.2f} wall; ops (network) {:.2f} CPU, "
             "{:.2f} wall\n",
             fitted_exponent(wide_cpu), fitted_exponent(wide_wall), fitted_exponent(network_cpu),
             fitted_exponent(network_wall));
}

/// Best ns/row of `run(rows)` over `reps` timed runs of at least 20 ms each. Small batches are
/// run many times between two readings of the clock, which would otherwise dominate batch 1.
template <class Run>
double ns_per_row(Run&& run, int64_t rows, int reps) {
  const int64_t calls = std::max<int64_t>(1, 4096 / rows);
  double best = 1e300;
  for (int rep = 0; rep < reps; ++rep) {
    int64_t done = 0;
    const auto start = Clock::now();
    double elapsed = 0;
    do {
      for (int64_t c = 0; c < calls; ++c) run(rows);
      done += calls * rows;
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    } while (elapsed < 0.02);
    best = std::min(best, elapsed * 1e9 / static_cast<double>(done));
  }
  return best;
}


}  // namespace
}  // namespace evoc

int main(int argc, char** argv) {
  using namespace evoc;
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int reps = quick ? 1 : 5;
  const std::vector<int64_t> batches = quick ? std::vector<int64_t>{1, 64, 4096} : std::vector<int64_t>{1, 64, 4096, 1000000};
  if (argc > 2 && std::strcmp(argv[1], "--print") == 0) {
    fmt::print("{}", ir::print_module(network_model(std::stoul(argv[2]))));
    return 0;
  }
  const double setup_ms = codegen::jit_setup();
  if (argc > 1 && std::strcmp(argv[1], "--scale") == 0) {
    scale_table(argc > 2 ? std::stoul(argv[2]) : 10000);
    return 0;
  }

  std::vector<std::size_t> sizes{10, 30, 100, 1000};
  std::vector<ir::Module> models;
  for (std::size_t ops : sizes) models.push_back(network_model(ops));

  fmt::print("JIT set-up (once per process): {:.2f} ms\n\n", setup_ms);
  fmt::print("Throughput, ns/row (one thread; {} lanes)\n\n", codegen::compile_jit(models[0]).vector_width());
  fmt::print("| ops | batch | interpreter | JIT -O0 | JIT -O2 (default) | JIT -O3 | speed-up (default) |\n");
  fmt::print("|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const ir::Module& m : models) {
    const int64_t max_rows = batches.back();
    const std::vector<float> x = ir::random_rows(7, static_cast<std::size_t>(max_rows), m.n_in(), false);
    std::vector<float> y(static_cast<std::size_t>(max_rows) * m.n_out());
    const int64_t xs = static_cast<int64_t>(m.n_in()), ys = static_cast<int64_t>(m.n_out());
    codegen::CodegenOptions o0, o3;
    o0.opt_level = 0;
    o3.opt_level = 3;
    codegen::JitKernel kernel = codegen::compile_jit(m), kernel_o0 = codegen::compile_jit(m, o0),
                       kernel_o3 = codegen::compile_jit(m, o3);
    ir::Interpreter interp(m);
    for (int64_t batch : batches) {
      const int64_t interp_rows = op_count(m) >= 1000 ? std::min<int64_t>(batch, 100000) : batch;
      const double t_interp =
          ns_per_row([&](int64_t n) { interp.run(x.data(), n, xs, y.data(), ys); }, interp_rows, batch >= 100000 ? 1 : reps);
      const double t_o0 = ns_per_row([&](int64_t n) { kernel_o0(x.data(), n, xs, y.data(), ys); }, batch, reps);
      const double t_jit = ns_per_row([&](int64_t n) { kernel(x.data(), n, xs, y.data(), ys); }, batch, reps);
      const double t_o3 = ns_per_row([&](int64_t n) { kernel_o3(x.data(), n, xs, y.data(), ys); }, batch, reps);
      fmt::print("| {} | {} | {:.1f}{} | {:.2f} | {:.2f} | {:.2f} | {:.1f}x |\n", op_count(m), batch, t_interp,
                 interp_rows < batch ? "*" : "", t_o0, t_jit, t_o3, t_interp / t_jit);
    }
  }
  fmt::print("\n* measured on the first 100,000 rows\n\n");

  fmt::print("Compile latency, ms (median of 7, after the JIT set-up)\n\n");
  fmt::print("| ops | LLVM | IR generation | LLVM optimisation | machine code | JIT link | total (wall) | CPU |\n");
  fmt::print("|---:|---|---:|---:|---:|---:|---:|---:|\n");
  for (const ir::Module& m : models) {
    for (int level : {0, 1, 2, 3}) {
      const Phases p = median_compile(m, level, quick ? 3 : 7);
      fmt::print("| {} | -O{} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} |\n", op_count(m), level, p.ir,
                 p.opt, p.mc, p.link, p.wall, p.cpu);
    }
  }
  return 0;
}
