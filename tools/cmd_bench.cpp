// evoc bench MODEL: how fast a model runs on every engine, against what the machine allows.
//
//   evoc bench wine.evir [--batch 1,64,4096,1000000] [--threads N] [--min-time 0.2]
//                        [--checkpoint DIR]
//
// In one run, for each batch size: ns per row of the reference interpreter, of the C backend's
// output compiled by the system C compiler (`cc -O3 -march=native`, loaded with dlopen), of the
// JIT kernel on one thread and on all threads (evoc::Kernel), and of any engine registered with
// add_bench_engine (tools/bench_engines.h: LibTorch eager with --checkpoint DIR when the trainer
// is built); then the ratios to the one-thread JIT kernel. The roofline: bytes per row over the
// measured memory bandwidth and flops per row over the measured FMA peak (both measured with
// small C loops built by the same compiler), and the share of it the kernel reaches. Compile
// latency: cold per phase, and warm (a cache hit). Output is Markdown, ready for a README.
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "codegen/c_emitter.h"
#include "codegen/jit.h"
#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/interpreter.h"
#include "ir/liveness.h"
#include "ir/parser.h"
#include "ir/process.h"
#include "ir/random_module.h"
#include "ir/scalar.h"
#include "runtime/kernel.h"
#include "runtime/shared_library.h"
#include "runtime/thread_pool.h"
#include "tools/bench_engines.h"
#include "tools/commands.h"

namespace evoc::tools {

namespace {

using Clock = std::chrono::steady_clock;

/// n floats in a buffer aligned to a cache line (64 bytes), as LibTorch's CPU allocator aligns
/// tensors: every engine reads and writes rows in such buffers, which also removes a split
/// cache line per vector access from the kernels' figures.
class AlignedFloats {
 public:
  explicit AlignedFloats(std::size_t n, float fill = 0.0f)
      : data_(static_cast<float*>(std::aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64 + 64))) {
    if (!data_) throw Error(fmt::format("out of memory for {} floats", n));
    std::fill(data_, data_ + n, fill);
  }
  explicit AlignedFloats(const std::vector<float>& values) : AlignedFloats(values.size()) {
    std::copy(values.begin(), values.end(), data_);
  }
  AlignedFloats(const AlignedFloats&) = delete;
  AlignedFloats& operator=(const AlignedFloats&) = delete;
  ~AlignedFloats() { std::free(data_); }
  float* data() const { return data_; }

 private:
  float* data_;
};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<std::pair<std::string, BenchEngineFactory>>& extra_engines() {
  static std::vector<std::pair<std::string, BenchEngineFactory>> engines;
  return engines;
}

struct BenchArgs {
  std::string model;
  std::vector<int64_t> batches{1, 64, 4096, 1'000'000};
  unsigned threads = 0;
  double min_time = 0.2;
  std::string cc = "cc";
};

/// Compiles C `source` into shared library `so` with the C compiler and `flags` (words separated
/// by spaces), through the library's one way of running a program (no shell).
void build_c_library(const BenchArgs& args, const TempDir& dir, const std::string& name,
                     const std::string& source, const std::string& flags) {
  const std::string c = dir.file(name + ".c"), so = dir.file(name + ".so");
  write_file_atomic(c, source);
  std::vector<std::string> argv = split_command(args.cc);
  std::istringstream words(flags);
  for (std::string word; words >> word;) argv.push_back(word);
  for (const char* word : {"-shared", "-fPIC", "-o"}) argv.push_back(word);
  argv.push_back(so);
  argv.push_back(c);
  if (const auto [status, output] = run_process(argv); status != 0)
    throw Error(fmt::format("'{}' failed:\n{}", command_line(argv), output));
}

// ---- the machine ------------------------------------------------------------------------

/// C loops for the machine's limits: a streaming copy (memory bandwidth) and independent FMA
/// chains in the widest native vectors (FMA peak).
constexpr const char* kMachineC = R"(#include <stdint.h>
void evoc_bench_stream(const float* restrict a, float* restrict b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) b[i] = a[i] + 1.0f;
}
#if defined(__AVX512F__)
#define EVOC_VECTOR_BYTES 64
#elif defined(__AVX__)
#define EVOC_VECTOR_BYTES 32
#else
#define EVOC_VECTOR_BYTES 16
#endif
typedef float vf __attribute__((vector_size(EVOC_VECTOR_BYTES)));
enum { CHAINS = 12 };
/* Runs `iterations` steps of CHAINS independent fused multiply-adds; returns the flops. */
double evoc_bench_fma(int64_t iterations, float* sink) {
  vf acc[CHAINS];
  const vf a = (vf){0} + 0.999f, b = (vf){0} + 0.001f;
  for (int c = 0; c < CHAINS; ++c) acc[c] = (vf){0} + (float)c;
  for (int64_t i = 0; i < iterations; ++i)
    for (int c = 0; c < CHAINS; ++c) acc[c] = acc[c] * a + b;
  for (int c = 0; c < CHAINS; ++c) *sink += acc[c][0];
  return 2.0 * CHAINS * (EVOC_VECTOR_BYTES / 4) * (double)iterations;
}
)";

/// The measured limits of this machine.
struct Machine {
  std::string cpu;
  unsigned threads = 1;
  double bandwidth_1 = 0, bandwidth_all = 0;  ///< bytes per second, read + written
  double flops_1 = 0, flops_all = 0;          ///< FMA peak, flops per second
};

std::string cpu_name() {
  try {
    const std::string info = read_file("/proc/cpuinfo");
    const std::size_t at = info.find("model name");
    if (at != std::string::npos) {
      const std::size_t colon = info.find(':', at), end = info.find('\n', at);
      return info.substr(colon + 2, end - colon - 2);
    }
  } catch (const Error&) {
  }
  return "unknown CPU";
}

Machine measure_machine(const BenchArgs& args, const TempDir& dir, ThreadPool& pool) {
  build_c_library(args, dir, "machine", kMachineC, "-O3 -march=native -ffp-contract=fast");
  const SharedLibrary lib(dir.file("machine.so"));
  auto stream = reinterpret_cast<void (*)(const float*, float*, int64_t)>(lib.symbol("evoc_bench_stream"));
  auto fma = reinterpret_cast<double (*)(int64_t, float*)>(lib.symbol("evoc_bench_fma"));
  Machine machine{cpu_name(), pool.size()};

  const int64_t n = int64_t{1} << 25;  // 128 MiB per buffer: far beyond the caches
  const AlignedFloats a(static_cast<std::size_t>(n), 1.0f), b(static_cast<std::size_t>(n));
  // The best of a few passes of `pass`, which returns the bytes or flops it processed.
  auto best_rate = [](const std::function<double()>& pass) {
    double best = 0;
    for (int round = 0; round < 5; ++round) {
      const auto start = Clock::now();
      const double amount = pass();
      best = std::max(best, amount / seconds_since(start));
    }
    return best;
  };
  const unsigned threads = pool.size();
  machine.bandwidth_1 = best_rate([&] {
    stream(a.data(), b.data(), n);
    return 8.0 * static_cast<double>(n);
  });
  machine.bandwidth_all = best_rate([&] {
    const int64_t share = n / threads;
    pool.parallel_for(threads,
                      [&](std::size_t t) { stream(a.data() + t * share, b.data() + t * share, share); });
    return 8.0 * static_cast<double>(share * threads);
  });

  const int64_t iterations = 20'000'000;
  std::vector<float> sinks(threads);
  machine.flops_1 = best_rate([&] { return fma(iterations, &sinks[0]); });
  machine.flops_all = best_rate([&] {
    std::vector<double> flops(threads);
    pool.parallel_for(threads, [&](std::size_t t) { flops[t] = fma(iterations, &sinks[t]); });
    double total = 0;
    for (double f : flops) total += f;
    return total;
  });
  return machine;
}

// ---- the model --------------------------------------------------------------------------

/// An ir/scalar.h backend that counts floating-point arithmetic (add, sub, mul, div, sqrt).
struct FlopCounter {
  using V = int;
  using M = int;
  using I = int;
  long flops = 0;
  V c(float) { return 0; }
  I ci(int32_t) { return 0; }
  V add(V, V) { return ++flops, 0; }
  V sub(V, V) { return ++flops, 0; }
  V mul(V, V) { return ++flops, 0; }
  V div(V, V) { return ++flops, 0; }
  V sqrt(V) { return ++flops, 0; }
  V neg(V) { return 0; }
  V fabs(V) { return 0; }
  V floor(V) { return 0; }
  M lt(V, V) { return 0; }
  M gt(V, V) { return 0; }
  M eq(V, V) { return 0; }
  M is_nan(V) { return 0; }
  M or_(M, M) { return 0; }
  M and_(M, M) { return 0; }
  V select(M, V, V) { return 0; }
  I bits(V) { return 0; }
  V from_bits(I) { return 0; }
  I iadd(I, I) { return 0; }
  I isub(I, I) { return 0; }
  I iand(I, I) { return 0; }
  I ior(I, I) { return 0; }
  I ishl(I, int) { return 0; }
  I isra(I, int) { return 0; }
  I ftoi(V) { return 0; }
  V itof(I) { return 0; }
};

/// Floating-point operations per row over the values the outputs depend on.
long flops_per_row(const ir::Module& m) {
  const std::vector<bool> live = ir::live_values(m);
  FlopCounter count;
  for (std::size_t id = 0; id < m.values.size(); ++id) {
    if (!live[id]) continue;
    const ir::Value& v = m.values[id];
    if (v.op == ir::Op::Affine)
      ir::scalar::affine(count, 0, 1.0f, 0.0f);
    else if (v.op == ir::Op::Dot)
      ir::scalar::dot(
          count, v.args.size(), [](std::size_t) { return 0; }, v.imms.data(), 0.0f);
    else if (ir::is_unary(v.op))
      ir::scalar::unary(count, v.op, 0);
    else if (ir::is_binary(v.op))
      ir::scalar::binary(count, v.op, 0, 0);
  }
  return count.flops;
}

// ---- timing -----------------------------------------------------------------------------

/// Best ns per row of `run` on batches of `n` rows: rounds of repeated calls, each round at
/// least a tenth of `min_time`, until `min_time` has passed (a single call if it is slower).
double ns_per_row(const BenchRows& run, const float* x, float* y, int64_t n, double min_time) {
  run(x, n, y);  // warm up: page in the buffers, fill the caches
  int64_t calls = 1;
  double best = 0, total = 0;
  while (total < min_time) {
    const auto start = Clock::now();
    for (int64_t c = 0; c < calls; ++c) run(x, n, y);
    const double seconds = seconds_since(start);
    total += seconds;
    if (seconds < min_time / 10) {
      calls *= 2;
      continue;
    }
    const double per_row = seconds * 1e9 / static_cast<double>(calls * n);
    best = best == 0 ? per_row : std::min(best, per_row);
  }
  return best;
}

std::string format_ns(double ns) { return ns >= 100 ? fmt::format("{:.0f}", ns) : fmt::format("{:.3g}", ns); }

struct Engine {
  std::string name;
  BenchRows run;
};

/// Every engine of one model, and what keeps their code alive. Not movable: the engines'
/// functions point into it.
struct Engines {
  Engines(const BenchArgs& args, const TempDir& dir, const std::string& path, const ir::Module& m,
          unsigned threads)
      : interpreter(m), n_in(static_cast<int64_t>(m.n_in())), n_out(static_cast<int64_t>(m.n_out())) {
    list.push_back({"interpreter",
                    [this](const float* x, int64_t n, float* y) { interpreter.run(x, n, n_in, y, n_out); }});
    const std::string flags = fmt::format("-O3 -march=native {} -fno-trapping-math", codegen::kCExactFlags);
    build_c_library(args, dir, "model", codegen::emit_c(m, "evoc_bench_model"), flags);
    c_library.emplace(dir.file("model.so"));
    c_kernel = reinterpret_cast<codegen::KernelFn>(c_library->symbol("evoc_bench_model"));
    list.push_back({"C, cc -O3 -march=native",
                    [this](const float* x, int64_t n, float* y) { c_kernel(x, n, n_in, y, n_out); }});
    KernelOptions options;
    options.use_cache = false;
    options.threads = 1;
    jit_1.emplace(Kernel::compile(m, options));
    options.threads = threads;
    jit_all.emplace(Kernel::compile(m, options));
    jit_column = list.size();
    list.push_back(
        {"JIT, 1 thread", [this](const float* x, int64_t n, float* y) { jit_1->run(x, n, n_in, y, n_out); }});
    list.push_back({fmt::format("JIT, {} threads", jit_all->threads()),
                    [this](const float* x, int64_t n, float* y) { jit_all->run(x, n, n_in, y, n_out); }});
    exact_columns = list.size();
    for (const auto& [name, factory] : extra_engines())
      if (BenchEngine extra = factory(path, m); extra.run) {
        list.push_back({name, std::move(extra.run)});
        notes.push_back(fmt::format("{}: {}", name, extra.note));
      }
  }
  Engines(const Engines&) = delete;
  Engines& operator=(const Engines&) = delete;

  ir::Interpreter interpreter;
  std::optional<SharedLibrary> c_library;
  codegen::KernelFn c_kernel = nullptr;
  std::optional<Kernel> jit_1, jit_all;
  int64_t n_in, n_out;
  std::vector<Engine> list;        ///< the interpreter first
  std::size_t jit_column = 0;      ///< the one-thread JIT kernel, which the ratios compare with
  std::size_t exact_columns = 0;   ///< engines before this one match the interpreter bit for bit
  std::vector<std::string> notes;  ///< what each engine added with add_bench_engine computes
};

/// "yes" or "NO" per evoc engine: whether it matches the interpreter bit for bit on 4096 rows.
std::string check_exact(const Engines& engines, const ir::Module& m) {
  const int64_t n = 4096;
  const std::vector<float> x = ir::random_rows(1, n, m.n_in(), /*specials=*/true);
  std::vector<float> reference(n * m.n_out()), other(n * m.n_out());
  engines.list[0].run(x.data(), n, reference.data());
  std::string out;
  for (std::size_t e = 1; e < engines.exact_columns; ++e) {
    engines.list[e].run(x.data(), n, other.data());
    bool same = true;
    for (std::size_t i = 0; i < other.size(); ++i) same = same && ir::same_float(other[i], reference[i]);
    out += fmt::format("{}{} {}", e > 1 ? "; " : "", engines.list[e].name, same ? "yes" : "NO");
  }
  return out;
}

/// ns per row, [engine][batch].
std::vector<std::vector<double>> time_engines(const Engines& engines, const ir::Module& m,
                                              const BenchArgs& args) {
  std::vector<std::vector<double>> ns(engines.list.size(), std::vector<double>(args.batches.size()));
  for (std::size_t b = 0; b < args.batches.size(); ++b) {
    const int64_t n = args.batches[b];
    const AlignedFloats x(ir::random_rows(static_cast<uint64_t>(n), n, m.n_in(), /*specials=*/false));
    const AlignedFloats y(static_cast<std::size_t>(n) * m.n_out());
    for (std::size_t e = 0; e < engines.list.size(); ++e)
      ns[e][b] = ns_per_row(engines.list[e].run, x.data(), y.data(), n, args.min_time);
  }
  return ns;
}

/// Compile latency in milliseconds.
struct Latency {
  double setup_ms = 0;               ///< the JIT session, once per process
  codegen::CompileTimes cold;        ///< a JIT compile, per phase
  double miss_ms = 0;                ///< Kernel::compile into an empty cache (shared object linked by cc)
  double hit_ms = 0, dlopen_ms = 0;  ///< Kernel::compile from the cache, and its dlopen + dlsym
  double tiered_first_ms = 0;        ///< a tiered Kernel::compile: until the level-0 kernel runs
  double tiered_optimised_ms = 0;    ///< until it runs the -O2 code
};

Latency measure_latency(const ir::Module& m, const TempDir& dir) {
  Latency latency;
  latency.setup_ms = codegen::jit_setup();
  latency.cold = codegen::compile_jit(m).times();
  KernelOptions options;
  options.cache_dir = dir.file("cache");
  options.threads = 1;
  auto start = Clock::now();
  Kernel::compile(m, options);  // freed at once, so that the hit below really opens the file
  latency.miss_ms = seconds_since(start) * 1e3;
  start = Clock::now();
  const Kernel warm = Kernel::compile(m, options);
  latency.hit_ms = seconds_since(start) * 1e3;
  if (warm.info().source != KernelSource::CacheHit) throw Error("the second compile missed the kernel cache");
  latency.dlopen_ms = warm.info().load_ms;
  KernelOptions tiered;
  tiered.use_cache = false;
  tiered.threads = 1;
  tiered.tiered = true;
  start = Clock::now();
  const Kernel quick = Kernel::compile(m, tiered);
  latency.tiered_first_ms = seconds_since(start) * 1e3;
  quick.wait_optimized();
  latency.tiered_optimised_ms = seconds_since(start) * 1e3;
  return latency;
}

void print_report(const BenchArgs& args, const ir::Module& m, const Machine& machine, const Engines& engines,
                  const std::vector<std::vector<double>>& ns, const Latency& latency,
                  const std::string& exact) {
  const long flops = flops_per_row(m);
  const double bytes = 4.0 * static_cast<double>(m.n_in() + m.n_out());
  fmt::print("# evoc bench {}\n\n", args.model);
  fmt::print("model `{}`: {} inputs, {} outputs, {} values; {} flops and {} bytes per row\n\n", m.name,
             m.n_in(), m.n_out(), m.values.size(), flops, bytes);
  fmt::print(
      "machine: {}, {} threads; memory {:.1f} GB/s on 1 thread, {:.1f} GB/s on {}; FMA peak {:.1f} GFLOP/s "
      "on 1 thread, {:.1f} on {}; every engine reads and writes rows in 64-byte aligned buffers\n\n",
      machine.cpu, machine.threads, machine.bandwidth_1 / 1e9, machine.bandwidth_all / 1e9, machine.threads,
      machine.flops_1 / 1e9, machine.flops_all / 1e9, machine.threads);

  std::string batches, rule;
  for (int64_t n : args.batches) {
    batches += fmt::format(" batch {} |", n);
    rule += " ---: |";
  }
  fmt::print("| ns per row |{}\n| --- |{}\n", batches, rule);
  for (std::size_t e = 0; e < engines.list.size(); ++e) {
    std::string row;
    for (double v : ns[e]) row += " " + format_ns(v) + " |";
    fmt::print("| {} |{}\n", engines.list[e].name, row);
  }
  const std::size_t jit = engines.jit_column;
  fmt::print("\n| time of X / time of JIT, 1 thread |{}\n| --- |{}\n", batches, rule);
  for (std::size_t e = 0; e < engines.list.size(); ++e) {
    if (e == jit) continue;
    std::string row;
    for (std::size_t b = 0; b < args.batches.size(); ++b)
      row += fmt::format(" {:.2f} |", ns[e][b] / ns[jit][b]);
    fmt::print("| {} |{}\n", engines.list[e].name, row);
  }

  const double memory = bytes / machine.bandwidth_1 * 1e9, compute = flops / machine.flops_1 * 1e9;
  fmt::print(
      "\nroofline, 1 thread: {:.3g} ns/row for memory (bytes / bandwidth), {:.3g} for arithmetic "
      "(flops / FMA peak)\n\n",
      memory, compute);
  fmt::print("| JIT, 1 thread |{}\n| --- |{}\n| share of the roofline |", batches, rule);
  for (std::size_t b = 0; b < args.batches.size(); ++b)
    fmt::print(" {:.0f}% |", 100.0 * std::max(memory, compute) / ns[jit][b]);

  const codegen::CompileTimes& t = latency.cold;
  fmt::print(
      "\n\ncompile latency (-O2), ms: JIT set-up (once per process) {:.2f}; cold: IR generation {:.3f}, "
      "LLVM optimisation {:.3f}, machine code {:.3f}, JIT link {:.3f}, total {:.3f}; cold into the cache "
      "(shared object, linked by cc) {:.1f}; warm (cache hit) {:.3f}, of which dlopen {:.3f}; tiered: "
      "the -O0 kernel runs after {:.3f}, the -O2 code after {:.1f}\n",
      latency.setup_ms, t.ir_generation_ms, t.optimization_ms, t.machine_code_ms, t.link_ms, t.total_ms(),
      latency.miss_ms, latency.hit_ms, latency.dlopen_ms, latency.tiered_first_ms, latency.tiered_optimised_ms);
  fmt::print("\nbit for bit equal to the interpreter (4096 rows, NaN/Inf/-0/subnormal inputs included): {}\n",
             exact);
  for (const std::string& note : engines.notes) fmt::print("\n{}\n", note);
}

void bench(const BenchArgs& args) {
  const ir::Module m = ir::read_module(args.model);
  const TempDir dir("evoc-bench");
  ThreadPool& pool = ThreadPool::shared(args.threads);
  const Machine machine = measure_machine(args, dir, pool);
  const Latency latency = measure_latency(m, dir);
  const Engines engines(args, dir, args.model, m, pool.size());
  const std::string exact = check_exact(engines, m);
  const std::vector<std::vector<double>> ns = time_engines(engines, m, args);
  print_report(args, m, machine, engines, ns, latency, exact);
}

}  // namespace

void add_bench_engine(std::string name, BenchEngineFactory factory) {
  extra_engines().emplace_back(std::move(name), std::move(factory));
}

void register_bench_command(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "ns per row on every engine and batch size, the roofline, and compile latency (Markdown)");
  cmd->add_option("model", args->model, "model (.evir)")->required();
  cmd->add_option("--batch", args->batches, "batch sizes (rows per call)")
      ->delimiter(',')
      ->check(CLI::Range(int64_t{1}, int64_t{100'000'000}));
  cmd->add_option("--threads", args->threads,
                  "threads of the all-threads JIT column (0: all hardware threads)");
  cmd->add_option("--min-time", args->min_time, "seconds to time each cell for (best round wins)")
      ->check(CLI::Range(0.001, 60.0));
  cmd->add_option("--cc", args->cc, "C compiler for the C backend and the machine measurements");
#ifdef EVOC_HAVE_TRAINER
  register_torch_bench_engine(*cmd);
#else
  cmd->add_option_function<std::string>(
      "--checkpoint",
      [](const std::string&) {
        throw Error("--checkpoint: this evoc is built without the trainer (no LibTorch)");
      },
      "time LibTorch eager on a checkpoint's best network (needs the trainer)");
#endif
  cmd->callback([args] { bench(*args); });
}

}  // namespace evoc::tools
