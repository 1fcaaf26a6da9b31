// evoc::Kernel (see kernel.h): where the code comes from (JIT, cache, library), and how run()
// splits a batch into tasks and applies the classifier post-processing tile by tile.
#include "runtime/kernel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "codegen/aot.h"
#include "codegen/jit.h"
#include "ir/error.h"
#include "ir/parser.h"
#include "runtime/gpu_kernel.h"
#include "ir/schema.h"
#include "runtime/kernel_cache.h"
#include "runtime/shared_library.h"
#include "runtime/thread_pool.h"

namespace evoc {

/// The optimised code of a tiered kernel, compiled on a background thread. `function` is
/// published (release) only after the code that backs it is owned here.
struct TierUp {
  std::atomic<codegen::KernelFn> function{nullptr};
  std::optional<codegen::JitKernel> jit;
  std::optional<SharedLibrary> library;
  codegen::CompileTimes times;
  std::exception_ptr error;
  std::shared_future<void> done;
  std::thread thread;
};

struct Kernel::State {
  codegen::KernelFn function = nullptr;
  std::optional<codegen::JitKernel> jit;  ///< owns the code of a JIT kernel
  std::optional<SharedLibrary> library;   ///< owns the code of a cached or AOT kernel
  std::unique_ptr<TierUp> tier_up;        ///< tiered kernels: the optimised code, when ready
  std::unique_ptr<GpuKernel> gpu;         ///< KernelOptions::device == Gpu: the device kernel
  std::size_t n_in = 0, n_logits = 0, n_out = 0;
  Output output = Output::Raw;
  Scores scores = Scores::Logits;  ///< what the module's outputs are, for the post-processing
  std::vector<std::string> input_names, output_names;
  std::vector<std::string> class_names;  ///< a classifier's classes, in output order
  std::optional<ir::Schema> schema;      ///< the column schema of a model trained on a table
  KernelInfo info;
  ThreadPool* pool = nullptr;
  int64_t rows_per_task = 0;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  /// The last copy of a tiered kernel waits for its background compilation.
  ~State() {
    if (tier_up && tier_up->thread.joinable()) tier_up->thread.join();
  }
  /// Takes the shared object and looks the kernel up in it.
  void load(SharedLibrary so);
  /// Throws evoc::Error unless the loaded shared object was compiled from `m`.
  void check_model(const ir::Module& m) const;
  /// The code run() calls: the optimised code of a tiered kernel once it is ready.
  codegen::KernelFn code() const {
    if (tier_up)
      if (codegen::KernelFn f = tier_up->function.load(std::memory_order_acquire)) return f;
    return function;
  }
  void run_rows(const float* x, int64_t n, int64_t x_stride, float* y, int64_t y_stride) const;
};

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

/// Rows per post-processing tile: the kernel writes a tile's logits to a thread-local buffer.
constexpr int64_t kTileRows = 256;

/// Rows of a task are a multiple of this, so that SIMD steps stay full.
constexpr int64_t kTaskGranule = 64;

/// About 2^18 value evaluations per task: tens of microseconds, well above the cost of
/// waking a worker.
int64_t default_rows_per_task(const ir::Module& m) {
  const int64_t values = std::max<int64_t>(1, static_cast<int64_t>(m.values.size()));
  return std::clamp<int64_t>((int64_t{1} << 18) / values, 256, 65536);
}

/// The output column names for `mode`; throws if `mode` needs a classifier and `m` is not one.
std::vector<std::string> column_names(const ir::Module& m, Output mode) {
  if (mode == Output::Raw) return m.output_names;
  const char* what = mode == Output::Argmax ? "argmax" : "probabilities";
  const std::string task = m.meta("task");
  if (!task.empty() && task != "classify")
    throw Error(
        fmt::format("module '{}': output '{}' needs a classifier, but its task is '{}'", m.name, what, task));
  if (m.n_out() == 0)
    throw Error(fmt::format("module '{}': output '{}' needs at least one output", m.name, what));
  std::vector<std::string> classes = class_labels(m);  // throws when the metadata names too many or few
  if (mode == Output::Argmax) return {"class"};
  return classes;
}

}  // namespace

void Kernel::State::load(SharedLibrary so) {
  info.path = so.path();
  library.emplace(std::move(so));
  function = reinterpret_cast<codegen::KernelFn>(library->symbol(info.symbol));
}

void Kernel::State::check_model(const ir::Module& m) const {
  // A kernel of another model (even one of the same name and symbol) reads and writes rows of
  // other widths.
  const std::string hash_symbol = codegen::content_hash_symbol(info.symbol);
  const auto* hash = static_cast<const uint64_t*>(library->find(hash_symbol));
  if (!hash)
    throw Error(fmt::format("{}: no symbol '{}': not a library built by 'evoc compile --emit=so'", library->path(),
                            hash_symbol));
  if (*hash != ir::content_hash(m))
    throw Error(fmt::format("{}: built from another model (content hash {:016x}) than module '{}' ({:016x})",
                            library->path(), *hash, m.name, ir::content_hash(m)));
}

void Kernel::State::run_rows(const float* x, int64_t n, int64_t x_stride, float* y, int64_t y_stride) const {
  if (gpu) {
    // One launch for the whole batch; post-processing on the host.
    if (output == Output::Raw) return gpu->run(x, n, x_stride, y, y_stride);
    std::vector<float> logits(static_cast<std::size_t>(n) * n_logits);
    const auto width = static_cast<int64_t>(n_logits);
    gpu->run(x, n, x_stride, logits.data(), width);
    postprocess(output, n_logits, logits.data(), width, n, y, y_stride, scores);
    return;
  }
  const codegen::KernelFn function = code();
  if (output == Output::Raw) {
    function(x, n, x_stride, y, y_stride);
    return;
  }
  thread_local std::vector<float> logits;
  logits.resize(static_cast<std::size_t>(kTileRows) * n_logits);
  const auto width = static_cast<int64_t>(n_logits);
  for (int64_t r = 0; r < n; r += kTileRows) {
    const int64_t rows = std::min(kTileRows, n - r);
    function(x + r * x_stride, rows, x_stride, logits.data(), width);
    postprocess(output, n_logits, logits.data(), width, rows, y + r * y_stride, y_stride, scores);
  }
}

Kernel Kernel::finish(std::shared_ptr<State> state, const ir::Module& m, const KernelOptions& options) {
  state->n_in = m.n_in();
  state->n_logits = m.n_out();
  state->output = options.output;
  state->scores = scores_of(m);
  state->n_out = output_width(options.output, m.n_out());
  state->input_names = m.input_names;
  state->class_names = ir::class_names(m);
  if (state->class_names.empty() && m.meta("task") == "classify") state->class_names = class_labels(m);
  state->schema = ir::read_schema(m);
  state->pool = &ThreadPool::shared(options.threads);
  state->rows_per_task = options.rows_per_task > 0 ? options.rows_per_task : default_rows_per_task(m);
  return Kernel(std::move(state));
}

namespace {

/// The cache is an optimisation: when it cannot be used (a directory that cannot be created or
/// written, a full disk), kernels are compiled in memory, and the process says so once.
void warn_cache_unusable(const std::string& reason) {
  static std::once_flag once;
  std::call_once(once, [&] {
    fmt::print(stderr, "evoc: warning: the kernel cache is not used: {} (kernels are compiled in memory)\n",
               reason);
  });
}

/// Stores a freshly compiled shared object in the cache (warning once if it cannot be written)
/// and loads it from its bytes, never from the file.
SharedLibrary store_and_load(const std::string& cache_dir, const std::string& path, const std::string& key,
                             const std::string& so) {
  try {
    KernelCache(cache_dir).store(path, key, so);
  } catch (const Error& e) {
    warn_cache_unusable(e.what());
  }
  return SharedLibrary::from_bytes(so, path);
}

/// Starts the background compilation of a tiered kernel at the requested level: into the cache
/// when `cache_path` is set, else with the JIT.
void start_tier_up(TierUp& t, const ir::Module& m, const codegen::CodegenOptions& options,
                   const std::string& cache_dir, const std::string& cache_path) {
  std::promise<void> finished;
  t.done = finished.get_future().share();
  t.thread = std::thread([&t, m, options, cache_dir, cache_path, finished = std::move(finished)]() mutable {
    try {
      codegen::KernelFn f = nullptr;
      if (cache_path.empty()) {
        t.jit.emplace(codegen::compile_jit(m, options));
        t.times = t.jit->times();
        f = t.jit->function();
      } else {
        codegen::Artifact so = codegen::emit_artifact(m, codegen::EmitKind::SharedObject, options);
        t.times = so.times;
        t.library.emplace(store_and_load(cache_dir, cache_path, cache_key(m, options), so.data));
        f = reinterpret_cast<codegen::KernelFn>(t.library->symbol(codegen::kernel_symbol(m, options)));
      }
      t.function.store(f, std::memory_order_release);
    } catch (...) {
      t.error = std::current_exception();
    }
    finished.set_value();
  });
}

}  // namespace

Kernel Kernel::compile(const ir::Module& m, const KernelOptions& options) {
  auto state = std::make_shared<State>();
  state->output_names = column_names(m, options.output);
  KernelInfo& info = state->info;
  info.symbol = codegen::kernel_symbol(m, options.codegen);
  if (options.device == Device::Gpu) {
    const auto start = Clock::now();
    // The PTX goes through the cache (keyed by the device's architecture); loading it does not.
    const std::string dir = options.use_cache ? resolve_cache_dir(options.cache_dir) : "";
    state->gpu = std::make_unique<GpuKernel>(GpuKernel::compile(m, options.codegen, options.gpu, dir));
    info.source = KernelSource::Gpu;
    info.load_ms = ms_since(start);
    KernelOptions one_thread = options;
    one_thread.threads = 1;  // the device runs the rows; the host thread only waits
    return finish(std::move(state), m, one_thread);
  }
  std::string dir = options.use_cache ? resolve_cache_dir(options.cache_dir) : "";
  std::optional<KernelCache> cache;
  if (!dir.empty()) {
    // A directory that cannot be written is still read: its hits are served, and kernels it
    // lacks are compiled and run without being stored (store_and_load warns once).
    try {
      cache.emplace(dir);
    } catch (const Error& e) {
      warn_cache_unusable(e.what());
      cache.reset();
      dir.clear();
    }
  }
  const bool tiered = options.tiered && options.codegen.opt_level > 0;
  auto tier_up = [&](const std::string& cache_path) {
    codegen::CodegenOptions quick = options.codegen;
    quick.opt_level = 0;
    state->jit.emplace(codegen::compile_jit(m, quick));
    state->function = state->jit->function();
    info.source = KernelSource::Jit;
    info.compile_times = state->jit->times();
    state->tier_up = std::make_unique<TierUp>();
    start_tier_up(*state->tier_up, m, options.codegen, dir, cache_path);
    return finish(std::move(state), m, options);
  };
  if (dir.empty()) {
    if (tiered) return tier_up("");
    state->jit.emplace(codegen::compile_jit(m, options.codegen));
    state->function = state->jit->function();
    info.source = KernelSource::Jit;
    info.compile_times = state->jit->times();
    return finish(std::move(state), m, options);
  }

  const std::string path = cache->entry_path(m, options.codegen);
  const std::string key = cache_key(m, options.codegen);
  std::string why;
  const auto start = Clock::now();
  if (std::optional<std::string> so = cache->load(path, key, why)) {
    try {
      state->load(SharedLibrary::from_bytes(*so, path));
      state->check_model(m);
      info.source = KernelSource::CacheHit;
      info.load_ms = ms_since(start);
      return finish(std::move(state), m, options);
    } catch (const Error&) {
      state->library.reset();  // an unusable entry (e.g. from another machine): rebuild it
    }
  }
  // Missing, or not an entry this cache wrote (truncated, modified, another user's, writable by
  // others): compiled again, and replaced.
  if (tiered) return tier_up(path);
  codegen::Artifact so = codegen::emit_artifact(m, codegen::EmitKind::SharedObject, options.codegen);
  state->load(store_and_load(dir, path, key, so.data));
  info.source = KernelSource::CacheMiss;
  info.compile_times = so.times;
  return finish(std::move(state), m, options);
}

Kernel Kernel::from_file(const std::string& path, const KernelOptions& options) {
  return compile(ir::read_module(path), options);
}

Kernel Kernel::load_library(const std::string& library_path, const ir::Module& m,
                            const KernelOptions& options) {
  auto state = std::make_shared<State>();
  state->output_names = column_names(m, options.output);
  state->info.source = KernelSource::Library;
  state->info.symbol = codegen::kernel_symbol(m, options.codegen);
  const auto start = Clock::now();
  state->load(SharedLibrary(library_path));
  state->info.load_ms = ms_since(start);
  state->check_model(m);
  return finish(std::move(state), m, options);
}

Kernel::Kernel(std::shared_ptr<const State> state) : state_(std::move(state)) {
  const State& s = *state_;
  if (!s.tier_up && s.output == Output::Raw) {
    direct_ = s.function;
    // Batches the pool would not split: all of them on one thread, else below two tasks.
    direct_rows_ = s.pool->size() == 1 ? std::numeric_limits<int64_t>::max() : 2 * s.rows_per_task;
    direct_n_in_ = static_cast<int64_t>(s.n_in);
    direct_n_out_ = static_cast<int64_t>(s.n_out);
  }
}

void Kernel::run_state(const float* x, int64_t n, int64_t x_stride, float* y, int64_t y_stride) const {
  const State& s = *state_;
  if (n < 0) throw Error(fmt::format("run: negative row count {}", n));
  if (n == 0) return;
  if (!x || !y) throw Error(fmt::format("run: {} buffer is null", !x ? "input" : "output"));
  if (x_stride < static_cast<int64_t>(s.n_in) || y_stride < static_cast<int64_t>(s.n_out))
    throw Error(fmt::format("run: strides ({}, {}) are smaller than the rows ({} in, {} out)", x_stride,
                            y_stride, s.n_in, s.n_out));
  const int64_t threads = s.pool->size();
  if (threads == 1 || n < 2 * s.rows_per_task) {
    s.run_rows(x, n, x_stride, y, y_stride);
    return;
  }
  // At least rows_per_task rows per task, and a few tasks per thread to even out the load.
  int64_t rows = std::max(s.rows_per_task, (n + 4 * threads - 1) / (4 * threads));
  rows = (rows + kTaskGranule - 1) / kTaskGranule * kTaskGranule;
  const auto tasks = static_cast<std::size_t>((n + rows - 1) / rows);
  s.pool->parallel_for(tasks, [&](std::size_t task) {
    const int64_t begin = static_cast<int64_t>(task) * rows;
    s.run_rows(x + begin * x_stride, std::min(rows, n - begin), x_stride, y + begin * y_stride, y_stride);
  });
}

std::vector<float> Kernel::run(std::span<const float> x) const {
  const std::size_t n_in = state_->n_in;
  if (n_in == 0 ? !x.empty() : x.size() % n_in != 0)
    throw Error(fmt::format("run: {} input floats are not whole rows of {}", x.size(), n_in));
  const std::size_t n = n_in == 0 ? 0 : x.size() / n_in;
  std::vector<float> y(n * state_->n_out);
  if (n > 0) run(x.data(), static_cast<int64_t>(n), n_in, y.data(), state_->n_out);
  return y;
}

std::size_t Kernel::n_in() const { return state_->n_in; }
std::size_t Kernel::n_out() const { return state_->n_out; }
const std::vector<std::string>& Kernel::input_names() const { return state_->input_names; }
const std::vector<std::string>& Kernel::output_names() const { return state_->output_names; }
const KernelInfo& Kernel::info() const { return state_->info; }
unsigned Kernel::threads() const { return state_->pool->size(); }

bool Kernel::optimized() const {
  const TierUp* t = state_->tier_up.get();
  return !t || t->function.load(std::memory_order_acquire) != nullptr;
}

codegen::CompileTimes Kernel::wait_optimized() const {
  const TierUp* t = state_->tier_up.get();
  if (!t) return {};
  t->done.wait();
  if (t->error) std::rethrow_exception(t->error);
  return t->times;
}

const char* source_name(KernelSource source) {
  switch (source) {
    case KernelSource::Jit:
      return "jit";
    case KernelSource::CacheMiss:
      return "cache miss";
    case KernelSource::CacheHit:
      return "cache hit";
    case KernelSource::Library:
      return "library";
    case KernelSource::Gpu:
      return "gpu";
  }
  return "?";
}

const std::vector<std::string>& Kernel::class_names() const { return state_->class_names; }

float Kernel::level_code(std::size_t input, std::string_view text) const {
  if (input >= state_->n_in)
    throw Error(fmt::format("level_code: input {} is out of range (the kernel has {})", input, state_->n_in));
  if (!state_->schema || state_->schema->columns[input].kind != ir::ColumnKind::Categorical)
    return std::numeric_limits<float>::quiet_NaN();
  return state_->schema->encode(input, text, "", 0);
}

}  // namespace evoc
