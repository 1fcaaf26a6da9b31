// evoc::GpuKernel: a module compiled to PTX (codegen's NVPTX back end) and run on an NVIDIA GPU
// through the CUDA driver API.
//
//   evoc::GpuKernel k = evoc::GpuKernel::compile(m);      // throws if there is no driver or GPU
//   k.run(x, n, k.n_in(), y, k.n_out());                  // host rows: copied in and out
//   k.run_device(dx, n, x_stride, dy, y_stride);          // rows already on the device
//
// The driver (libcuda.so.1) is opened with dlopen on first use: nothing links against CUDA, so
// evoc builds and runs unchanged where there is none, and asking for a GPU kernel there gives
// a clear error. The PTX is compiled for the device's own architecture (sm_NN from its compute
// capability) and loaded with cuModuleLoadData, which JIT-assembles it in the driver. Results
// equal the interpreter's, as for every engine (see README, "The IR").
//
// The PTX comes from gpu_ptx: from the kernel cache when one is given (keyed by the module, the
// options and the architecture; see kernel_cache.h), else from the NVPTX back end. Only loading
// it needs the driver, so the PTX and its caching work on machines without a GPU.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "codegen/options.h"
#include "ir/module.h"

namespace evoc {

/// Whether a CUDA driver and at least one GPU are present; otherwise false, with the reason in
/// `why` (when given).
bool gpu_available(std::string* why = nullptr);

/// The PTX of `m` for GPU architecture `arch` (e.g. "sm_90"; codegen::gpu_codegen_options).
/// With `cache_dir` not empty, the kernel cache there is used: a verified entry is returned
/// without compiling (`*hit` true when given), otherwise the PTX is compiled and stored (an
/// entry that fails its check, truncated or modified, is replaced, never returned). A cache that
/// cannot be used is skipped with a warning on stderr once per process, as for CPU kernels.
/// Throws evoc::Error: a module that does not verify, an `arch` that is not a GPU architecture.
std::string gpu_ptx(const ir::Module& m, const codegen::CodegenOptions& options, const std::string& arch,
                    const std::string& cache_dir, bool* hit = nullptr);

/// A kernel on a CUDA device. Movable, not copyable; run() serialises on the kernel's device.
class GpuKernel {
 public:
  /// Compiles `m` for GPU `device` (its architecture chosen from the device; the PTX from
  /// gpu_ptx, through the kernel cache in `cache_dir` when it is not empty) and loads it.
  /// Throws evoc::Error: no driver, no such device, a module that does not verify, a load failure.
  static GpuKernel compile(const ir::Module& m, const codegen::CodegenOptions& options = {}, int device = 0,
                           const std::string& cache_dir = "");

  /// Host rows in and out (the kernel ABI of codegen/options.h): the rows are copied to the
  /// device, the kernel runs, the outputs are copied back. n == 0 does nothing.
  void run(const float* x, int64_t n, int64_t x_stride, float* y, int64_t y_stride) const;
  /// Rows already in device memory (CUdeviceptr values): no copies; returns when done.
  void run_device(uint64_t x, int64_t n, int64_t x_stride, uint64_t y, int64_t y_stride) const;

  std::size_t n_in() const;
  std::size_t n_out() const;
  const std::string& arch() const;  ///< the device architecture the code was built for, e.g. "sm_90"
  const std::string& ptx() const;   ///< the PTX that was loaded
  bool ptx_from_cache() const;      ///< whether that PTX was a kernel cache hit

  GpuKernel(GpuKernel&&) noexcept;
  GpuKernel& operator=(GpuKernel&&) noexcept;
  ~GpuKernel();

 private:
  struct State;
  explicit GpuKernel(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

/// Device memory for callers of run_device (and for tests and benchmarks): `floats` floats on
/// the kernel's device, freed with the object.
class GpuBuffer {
 public:
  GpuBuffer(std::size_t floats, int device = 0);
  GpuBuffer(GpuBuffer&&) noexcept;
  GpuBuffer& operator=(GpuBuffer&&) noexcept;
  ~GpuBuffer();
  uint64_t device_pointer() const { return pointer_; }
  void upload(const float* data, std::size_t floats, std::size_t offset = 0);
  void download(float* data, std::size_t floats, std::size_t offset = 0) const;
  /// Waits for the device's outstanding work.
  static void synchronize(int device = 0);

 private:
  uint64_t pointer_ = 0;
  std::size_t floats_ = 0;
  int device_ = 0;
};

}  // namespace evoc
