// GPU kernels through the CUDA driver API, opened at run time (see gpu_kernel.h). The few
// driver types and entry points used are declared here from the driver API's ABI, so building
// needs no CUDA headers either.
#include "runtime/gpu_kernel.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "codegen/aot.h"
#include "ir/error.h"
#include "ir/verifier.h"
#include "runtime/kernel_cache.h"

namespace evoc {
namespace {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st*;
using CUmodule = struct CUmod_st*;
using CUfunction = struct CUfunc_st*;
using CUstream = struct CUstream_st*;

constexpr CUresult CUDA_SUCCESS = 0;
constexpr int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;

/// The driver's entry points, resolved once per process.
struct Driver {
  CUresult (*cuInit)(unsigned) = nullptr;
  CUresult (*cuGetErrorString)(CUresult, const char**) = nullptr;
  CUresult (*cuDeviceGetCount)(int*) = nullptr;
  CUresult (*cuDeviceGet)(CUdevice*, int) = nullptr;
  CUresult (*cuDeviceGetAttribute)(int*, int, CUdevice) = nullptr;
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext*, CUdevice) = nullptr;
  CUresult (*cuCtxSetCurrent)(CUcontext) = nullptr;
  CUresult (*cuCtxSynchronize)() = nullptr;
  CUresult (*cuModuleLoadData)(CUmodule*, const void*) = nullptr;
  CUresult (*cuModuleUnload)(CUmodule) = nullptr;
  CUresult (*cuModuleGetFunction)(CUfunction*, CUmodule, const char*) = nullptr;
  CUresult (*cuMemAlloc)(CUdeviceptr*, std::size_t) = nullptr;
  CUresult (*cuMemFree)(CUdeviceptr) = nullptr;
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void*, std::size_t) = nullptr;
  CUresult (*cuMemcpyDtoH)(void*, CUdeviceptr, std::size_t) = nullptr;
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                             CUstream, void**, void**) = nullptr;
  std::string unavailable;  ///< why the driver cannot be used; empty when it can
  int devices = 0;
  std::mutex mutex;  ///< guards contexts
  std::unordered_map<int, CUcontext> contexts;
};

Driver* load_driver() {
  auto* d = new Driver;
  // Environment override for tests and unusual installs; the driver's soname otherwise.
  const char* name = std::getenv("EVOC_CUDA_DRIVER");
  void* handle = ::dlopen(name && *name ? name : "libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    d->unavailable = std::string("no CUDA driver: cannot load ") + (name && *name ? name : "libcuda.so.1") + " (" +
                     ::dlerror() + ")";
    return d;
  }
  bool complete = true;
  auto resolve = [&](auto& fn, const char* symbol) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(handle, symbol));
    if (!fn && complete) {
      complete = false;
      d->unavailable = std::string("the CUDA driver lacks ") + symbol;
    }
  };
  resolve(d->cuInit, "cuInit");
  resolve(d->cuGetErrorString, "cuGetErrorString");
  resolve(d->cuDeviceGetCount, "cuDeviceGetCount");
  resolve(d->cuDeviceGet, "cuDeviceGet");
  resolve(d->cuDeviceGetAttribute, "cuDeviceGetAttribute");
  resolve(d->cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  resolve(d->cuCtxSetCurrent, "cuCtxSetCurrent");
  resolve(d->cuCtxSynchronize, "cuCtxSynchronize");
  resolve(d->cuModuleLoadData, "cuModuleLoadData");
  resolve(d->cuModuleUnload, "cuModuleUnload");
  resolve(d->cuModuleGetFunction, "cuModuleGetFunction");
  resolve(d->cuMemAlloc, "cuMemAlloc_v2");
  resolve(d->cuMemFree, "cuMemFree_v2");
  resolve(d->cuMemcpyHtoD, "cuMemcpyHtoD_v2");
  resolve(d->cuMemcpyDtoH, "cuMemcpyDtoH_v2");
  resolve(d->cuLaunchKernel, "cuLaunchKernel");
  if (!complete) return d;
  if (CUresult r = d->cuInit(0); r != CUDA_SUCCESS) {
    const char* text = nullptr;
    d->cuGetErrorString(r, &text);
    d->unavailable = std::string("the CUDA driver failed to start: ") + (text ? text : "error " + std::to_string(r));
    return d;
  }
  if (d->cuDeviceGetCount(&d->devices) != CUDA_SUCCESS || d->devices == 0)
    d->unavailable = "no CUDA device: the driver is present but reports no GPU";
  return d;
}

/// The driver, loaded once (never unloaded); throws evoc::Error when it cannot be used.
Driver& driver() {
  static Driver* d = load_driver();
  if (!d->unavailable.empty()) throw Error(d->unavailable);
  return *d;
}

void check(CUresult r, const char* what) {
  if (r == CUDA_SUCCESS) return;
  const char* text = nullptr;
  driver().cuGetErrorString(r, &text);
  throw Error(std::string("CUDA: ") + what + " failed: " + (text ? text : "error " + std::to_string(r)));
}

/// Makes device `device`'s primary context current on this thread.
void use_device(int device) {
  Driver& d = driver();
  if (device < 0 || device >= d.devices)
    throw Error("no CUDA device " + std::to_string(device) + " (" + std::to_string(d.devices) + " present)");
  CUcontext context = nullptr;
  {
    std::lock_guard lock(d.mutex);
    CUcontext& slot = d.contexts[device];
    if (!slot) {
      CUdevice handle = 0;
      check(d.cuDeviceGet(&handle, device), "cuDeviceGet");
      check(d.cuDevicePrimaryCtxRetain(&slot, handle), "cuDevicePrimaryCtxRetain");
    }
    context = slot;
  }
  check(d.cuCtxSetCurrent(context), "cuCtxSetCurrent");
}

int attribute(int device, int which) {
  CUdevice handle = 0;
  check(driver().cuDeviceGet(&handle, device), "cuDeviceGet");
  int value = 0;
  check(driver().cuDeviceGetAttribute(&value, which, handle), "cuDeviceGetAttribute");
  return value;
}

/// The cache is an optimisation: when it cannot be used, PTX is compiled without it, and the
/// process says so once (in the words the CPU kernels use).
void warn_ptx_cache_unusable(const std::string& reason) {
  static std::once_flag once;
  std::call_once(once, [&] {
    std::fprintf(stderr, "evoc: warning: the kernel cache is not used: %s (kernels are compiled in memory)\n",
                 reason.c_str());
  });
}

}  // namespace

std::string gpu_ptx(const ir::Module& m, const codegen::CodegenOptions& options, const std::string& arch,
                    const std::string& cache_dir, bool* hit) {
  if (hit) *hit = false;
  ir::verify_or_throw(m, "gpu kernel");
  const std::string key = ptx_cache_key(m, options, arch);  // checks `arch`
  std::optional<KernelCache> cache;
  std::string path;
  if (!cache_dir.empty()) {
    try {
      cache.emplace(cache_dir);
      path = cache->entry_path_for_key(key, ".ptx");
      std::string why;
      if (std::optional<std::string> ptx = cache->load(path, key, why)) {
        if (hit) *hit = true;
        return *ptx;
      }
    } catch (const Error& e) {
      warn_ptx_cache_unusable(e.what());
      cache.reset();
    }
  }
  // Missing, or not an entry this cache wrote (truncated, modified, another user's, writable by
  // others): compiled again, and replaced.
  codegen::CodegenOptions gpu = options;
  gpu.cpu = arch;
  gpu.triple.clear();
  std::string ptx = codegen::emit_artifact(m, codegen::EmitKind::Ptx, gpu).data;
  if (cache) {
    try {
      cache->store(path, key, ptx);
    } catch (const Error& e) {
      warn_ptx_cache_unusable(e.what());
    }
  }
  return ptx;
}

bool gpu_available(std::string* why) {
  try {
    driver();
    return true;
  } catch (const Error& e) {
    if (why) *why = e.what();
    return false;
  }
}

struct GpuKernel::State {
  int device = 0;
  std::size_t n_in = 0, n_out = 0;
  std::string arch, ptx;
  bool ptx_from_cache = false;
  CUmodule module = nullptr;
  CUfunction function = nullptr;
  unsigned max_blocks = 0;  ///< grid size cap: enough blocks to fill every multiprocessor
  mutable std::mutex mutex;
  ~State() {
    if (module) driver().cuModuleUnload(module);
  }
};

GpuKernel::GpuKernel(std::unique_ptr<State> state) : state_(std::move(state)) {}
GpuKernel::GpuKernel(GpuKernel&&) noexcept = default;
GpuKernel& GpuKernel::operator=(GpuKernel&&) noexcept = default;
GpuKernel::~GpuKernel() = default;

GpuKernel GpuKernel::compile(const ir::Module& m, const codegen::CodegenOptions& options, int device,
                             const std::string& cache_dir) {
  ir::verify_or_throw(m, "gpu kernel");
  use_device(device);
  auto s = std::make_unique<State>();
  s->device = device;
  s->n_in = m.n_in();
  s->n_out = m.outputs.size();
  s->arch = "sm_" + std::to_string(attribute(device, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)) +
            std::to_string(attribute(device, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR));
  s->max_blocks = static_cast<unsigned>(std::max(1, attribute(device, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)) * 32);
  const std::string symbol = codegen::kernel_symbol(m, options);
  s->ptx = gpu_ptx(m, options, s->arch, cache_dir, &s->ptx_from_cache);
  check(driver().cuModuleLoadData(&s->module, s->ptx.c_str()), "loading the PTX (cuModuleLoadData)");
  check(driver().cuModuleGetFunction(&s->function, s->module, symbol.c_str()), "cuModuleGetFunction");
  return GpuKernel(std::move(s));
}

std::size_t GpuKernel::n_in() const { return state_->n_in; }
std::size_t GpuKernel::n_out() const { return state_->n_out; }
const std::string& GpuKernel::arch() const { return state_->arch; }
const std::string& GpuKernel::ptx() const { return state_->ptx; }
bool GpuKernel::ptx_from_cache() const { return state_->ptx_from_cache; }

void GpuKernel::run_device(uint64_t x, int64_t n, int64_t x_stride, uint64_t y, int64_t y_stride) const {
  if (n < 0) throw Error("run: negative row count " + std::to_string(n));
  if (n == 0) return;
  if (!x || !y) throw Error("run: null device buffer");
  if (x_stride < static_cast<int64_t>(state_->n_in) || y_stride < static_cast<int64_t>(state_->n_out))
    throw Error("run: strides must be at least the row widths");
  std::lock_guard lock(state_->mutex);
  use_device(state_->device);
  constexpr unsigned kThreads = 256;
  const auto blocks = static_cast<unsigned>(std::min<int64_t>((n + kThreads - 1) / kThreads, state_->max_blocks));
  CUdeviceptr xp = x, yp = y;
  void* args[] = {&xp, &n, &x_stride, &yp, &y_stride};
  check(driver().cuLaunchKernel(state_->function, blocks, 1, 1, kThreads, 1, 1, 0, nullptr, args, nullptr),
        "cuLaunchKernel");
  check(driver().cuCtxSynchronize(), "running the kernel");
}

void GpuKernel::run(const float* x, int64_t n, int64_t x_stride, float* y, int64_t y_stride) const {
  if (n < 0) throw Error("run: negative row count " + std::to_string(n));
  if (n == 0) return;
  if (!x || !y) throw Error("run: null buffer");
  const auto n_in = static_cast<int64_t>(state_->n_in), n_out = static_cast<int64_t>(state_->n_out);
  if (x_stride < n_in || y_stride < n_out) throw Error("run: strides must be at least the row widths");
  // The input goes over as it lies (strided rows included); the outputs come back dense and are
  // spread into the caller's rows when its stride is wider.
  const auto in_floats = static_cast<std::size_t>((n - 1) * x_stride + n_in);
  GpuBuffer in(std::max<std::size_t>(in_floats, 1), state_->device);
  GpuBuffer out(static_cast<std::size_t>(std::max<int64_t>(n * n_out, 1)), state_->device);
  in.upload(x, in_floats);
  run_device(in.device_pointer(), n, x_stride, out.device_pointer(), n_out);
  if (y_stride == n_out) {
    out.download(y, static_cast<std::size_t>(n * n_out));
    return;
  }
  std::vector<float> dense(static_cast<std::size_t>(n * n_out));
  out.download(dense.data(), dense.size());
  for (int64_t r = 0; r < n; ++r) std::copy_n(dense.data() + r * n_out, n_out, y + r * y_stride);
}

GpuBuffer::GpuBuffer(std::size_t floats, int device) : floats_(floats), device_(device) {
  use_device(device);
  CUdeviceptr p = 0;
  check(driver().cuMemAlloc(&p, std::max<std::size_t>(floats, 1) * sizeof(float)), "cuMemAlloc");
  pointer_ = p;
}
GpuBuffer::GpuBuffer(GpuBuffer&& o) noexcept
    : pointer_(std::exchange(o.pointer_, 0)), floats_(o.floats_), device_(o.device_) {}
GpuBuffer& GpuBuffer::operator=(GpuBuffer&& o) noexcept {
  std::swap(pointer_, o.pointer_);
  std::swap(floats_, o.floats_);
  std::swap(device_, o.device_);
  return *this;
}
GpuBuffer::~GpuBuffer() {
  if (!pointer_) return;
  use_device(device_);
  driver().cuMemFree(pointer_);
}
void GpuBuffer::upload(const float* data, std::size_t floats, std::size_t offset) {
  if (offset + floats > floats_) throw Error("GpuBuffer::upload past the end of the buffer");
  use_device(device_);
  check(driver().cuMemcpyHtoD(pointer_ + offset * sizeof(float), data, floats * sizeof(float)), "cuMemcpyHtoD");
}
void GpuBuffer::download(float* data, std::size_t floats, std::size_t offset) const {
  if (offset + floats > floats_) throw Error("GpuBuffer::download past the end of the buffer");
  use_device(device_);
  check(driver().cuMemcpyDtoH(data, pointer_ + offset * sizeof(float), floats * sizeof(float)), "cuMemcpyDtoH");
}
void GpuBuffer::synchronize(int device) {
  use_device(device);
  check(driver().cuCtxSynchronize(), "cuCtxSynchronize");
}

}  // namespace evoc
