// evoc::Kernel: a compiled module, ready to score rows from any number of threads.
//
//   evoc::KernelOptions options;
//   options.output = evoc::Output::Probabilities;   // classifier post-processing
//   evoc::Kernel k = evoc::Kernel::from_file("wine.evir", options);
//   k.run(x, n, k.n_in(), y, k.n_out());              // rows are k.n_in() floats in, k.n_out() out
//
// A kernel comes from the JIT, from the on-disk cache (a shared object: a hit is one dlopen),
// or from a shared library built by `evoc compile --emit=so`. Large batches are split into
// tasks over a thread pool whose threads start once; small batches run on the calling thread.
// run() is const and keeps no state between calls, so one kernel serves many threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codegen/options.h"
#include "ir/module.h"
#include "runtime/postprocess.h"

namespace evoc {

/// Where a kernel runs.
enum class Device {
  Cpu,  ///< the host: JIT, cache or library code, vectorised over rows, on the thread pool
  Gpu,  ///< a CUDA GPU (runtime/gpu_kernel.h): PTX for the device's architecture, rows copied in and out
};

/// How to build and run a kernel.
struct KernelOptions {
  codegen::CodegenOptions codegen;  ///< optimisation level, fast-math, target CPU, symbol, ...
  unsigned threads = 0;             ///< threads per run() call (the caller included); 0: all hardware threads
  Output output = Output::Raw;      ///< classifier post-processing (needs a classifier module)
  std::string cache_dir;            ///< kernel cache directory; empty: $EVOC_CACHE_DIR; neither: no cache
  bool use_cache = true;            ///< false: never read or write the cache
  int64_t rows_per_task = 0;  ///< smallest share of a batch worth a thread; 0: derived from the model size
  /// Tiered compilation: when the kernel must be compiled (not a cache hit), compile it first at
  /// level 0 (a few milliseconds: rows through stack tiles, the fast back end), return at once,
  /// and compile it at `codegen.opt_level` on a background thread; run() switches to the
  /// optimised code when it is ready (and stores it in the cache, if there is one). Results are
  /// bit-identical at every level, so callers see only the speed change.
  bool tiered = false;
  /// Device::Gpu runs on CUDA GPU `gpu` (its PTX from the cache, keyed by the GPU's architecture,
  /// when there is one; tiering and `threads` do not apply). Throws evoc::Error from compile() where there
  /// is no CUDA driver or GPU.
  Device device = Device::Cpu;
  int gpu = 0;
};

/// Where a kernel's code came from.
enum class KernelSource {
  Jit,        ///< compiled in process by the JIT (no cache configured)
  CacheMiss,  ///< compiled to a shared object, stored in the cache, loaded
  CacheHit,   ///< loaded from the cache without compiling
  Library,    ///< loaded from a shared library given by the caller
  Gpu,        ///< compiled to PTX and loaded on a CUDA GPU (KernelOptions::device)
};

/// How a kernel was obtained.
struct KernelInfo {
  KernelSource source = KernelSource::Jit;
  codegen::CompileTimes compile_times;  ///< per phase; zero unless compiled
  double load_ms = 0;                   ///< cache hit or library: opening the shared object
  std::string path;                     ///< the shared object's path, for every source but Jit
  std::string symbol;                   ///< the kernel's symbol
};

/// A compiled module. Cheap to copy (copies share the code); thread-safe to run.
class Kernel {
 public:
  /// Compiles `m`, or loads it from the cache when `options` name one and it holds the kernel.
  /// Throws evoc::Error if the module does not verify, compilation fails, the cache directory
  /// cannot be used, or the output mode needs a classifier and `m` is not one.
  static Kernel compile(const ir::Module& m, const KernelOptions& options = {});
  /// Reads a module (text IR, `.evir`) and compiles it as compile() does.
  static Kernel from_file(const std::string& path, const KernelOptions& options = {});
  /// Loads a shared library built by `evoc compile --emit=so` from `m` (which gives the kernel
  /// symbol, the input and output counts and names). No compilation happens.
  static Kernel load_library(const std::string& library_path, const ir::Module& m,
                             const KernelOptions& options = {});

  /// Applies the module to `n` rows: row r reads x[r*x_stride + 0 .. n_in()) and writes
  /// y[r*y_stride + 0 .. n_out()); strides are in floats. n == 0 does nothing. Throws
  /// evoc::Error on a negative n, null buffers or strides smaller than a row.
  void run(const float* x, int64_t n, int64_t x_stride, float* y, int64_t y_stride) const {
    // The common case inline: valid arguments, a batch for the calling thread alone, code
    // that never changes (not tiered) and raw outputs. Everything else goes through run_state.
    if (direct_ && n > 0 && n < direct_rows_ && x && y && x_stride >= direct_n_in_ && y_stride >= direct_n_out_) {
      direct_(x, n, x_stride, y, y_stride);
      return;
    }
    run_state(x, n, x_stride, y, y_stride);
  }
  /// Contiguous rows in, contiguous rows out; x.size() must be a multiple of n_in().
  std::vector<float> run(std::span<const float> x) const;

  std::size_t n_in() const;   ///< floats per input row
  std::size_t n_out() const;  ///< floats per output row (after post-processing)
  const std::vector<std::string>& input_names() const;
  /// One name per output column: the module's outputs, the class names (from the module's
  /// `classes` metadata, comma separated, if present) for probabilities, "class" for argmax.
  const std::vector<std::string>& output_names() const;
  /// A classifier's class names in output order (from the module's `classes` metadata); empty
  /// for a regression.
  const std::vector<std::string>& class_names() const;
  /// The input value of level `text` of categorical input `input` (its code in the model's
  /// dictionary), NaN for a level the model does not know or a numeric input (see ir/schema.h).
  float level_code(std::size_t input, std::string_view text) const;
  const KernelInfo& info() const;
  /// Threads a run() call uses at most.
  unsigned threads() const;

  /// With KernelOptions::tiered: whether run() already uses the optimised code (always true
  /// for kernels that were not tiered).
  bool optimized() const;
  /// Blocks until the optimised code is in use and returns the time its compilation took;
  /// rethrows the error if it failed (the level-0 code then stays in use). Returns zeros for
  /// kernels that were not tiered.
  codegen::CompileTimes wait_optimized() const;

 private:
  struct State;
  explicit Kernel(std::shared_ptr<const State> state);
  /// run() beyond its inline case: argument errors, tiered or post-processed kernels, batches
  /// split over the pool.
  void run_state(const float* x, int64_t n, int64_t x_stride, float* y, int64_t y_stride) const;
  static Kernel finish(std::shared_ptr<State> state, const ir::Module& m, const KernelOptions& options);
  std::shared_ptr<const State> state_;
  // The inline path of run(): the kernel function when calling it directly is all run() does
  // for batches of fewer than direct_rows_ rows (null otherwise), and the row widths.
  codegen::KernelFn direct_ = nullptr;
  int64_t direct_rows_ = 0, direct_n_in_ = 0, direct_n_out_ = 0;
};

/// The name of a KernelSource ("jit", "cache miss", "cache hit", "library").
const char* source_name(KernelSource source);

}  // namespace evoc
