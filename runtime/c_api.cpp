// The C API (see evoc.h): handles wrap evoc::KernelOptions and evoc::Kernel; every entry point
// catches everything and turns it into a status code plus the thread's last error message.
#include "runtime/evoc.h"

#include <exception>
#include <new>
#include <string>

#include "ir/error.h"
#include "ir/parser.h"
#include "runtime/kernel.h"

struct evoc_options {
  evoc::KernelOptions options;
};

struct evoc_kernel {
  evoc::Kernel kernel;
};

namespace {

thread_local std::string g_last_error;

int fail(int status, std::string message) {
  g_last_error = std::move(message);
  return status;
}

/// Runs `body`, mapping exceptions to EVOC_ERROR_FAILED.
template <class Body>
int guarded(Body&& body) {
  try {
    g_last_error.clear();
    return body();
  } catch (const std::bad_alloc&) {
    return fail(EVOC_ERROR_FAILED, "out of memory");
  } catch (const std::exception& e) {
    return fail(EVOC_ERROR_FAILED, e.what());
  } catch (...) {
    return fail(EVOC_ERROR_FAILED, "unknown error");
  }
}

/// A success: clears the last error, so that evoc_last_error() never reports an old failure
/// after a call that succeeded.
int ok() {
  g_last_error.clear();
  return EVOC_OK;
}

int null_argument(const char* function, const char* name) {
  return fail(EVOC_ERROR_NULL_ARGUMENT, std::string(function) + ": '" + name + "' is NULL");
}

int invalid(const char* function, const std::string& why) {
  return fail(EVOC_ERROR_INVALID_ARGUMENT, std::string(function) + ": " + why);
}

evoc::KernelOptions options_or_default(const evoc_options* options) {
  return options ? options->options : evoc::KernelOptions{};
}

int make_kernel(evoc_kernel** out, evoc::Kernel kernel) {
  *out = new evoc_kernel{std::move(kernel)};
  return ok();
}

}  // namespace

extern "C" {

const char* evoc_last_error(void) { return g_last_error.c_str(); }

int evoc_options_create(evoc_options** out) {
  if (!out) return null_argument(__func__, "out");
  return guarded([&] {
    *out = new evoc_options{};
    return ok();
  });
}

void evoc_options_free(evoc_options* options) { delete options; }

int evoc_options_set_threads(evoc_options* options, int threads) {
  if (!options) return null_argument(__func__, "options");
  if (threads < 0 || threads > 4096)
    return invalid(__func__, "threads must be 0..4096, got " + std::to_string(threads));
  options->options.threads = static_cast<unsigned>(threads);
  return ok();
}

int evoc_options_set_opt_level(evoc_options* options, int level) {
  if (!options) return null_argument(__func__, "options");
  if (level < 0 || level > 3) return invalid(__func__, "level must be 0..3, got " + std::to_string(level));
  options->options.codegen.opt_level = level;
  return ok();
}

int evoc_options_set_tiered(evoc_options* options, int tiered) {
  if (!options) return null_argument(__func__, "options");
  options->options.tiered = tiered != 0;
  return ok();
}

int evoc_options_set_device(evoc_options* options, int device, int gpu_index) {
  if (!options) return null_argument(__func__, "options");
  if (device != EVOC_DEVICE_CPU && device != EVOC_DEVICE_GPU)
    return invalid(__func__, "device must be EVOC_DEVICE_CPU or EVOC_DEVICE_GPU, got " + std::to_string(device));
  if (gpu_index < 0) return invalid(__func__, "gpu_index must be at least 0, got " + std::to_string(gpu_index));
  options->options.device = device == EVOC_DEVICE_GPU ? evoc::Device::Gpu : evoc::Device::Cpu;
  options->options.gpu = gpu_index;
  return ok();
}

int evoc_options_set_output(evoc_options* options, int output) {
  if (!options) return null_argument(__func__, "options");
  switch (output) {
    case EVOC_OUTPUT_RAW:
      options->options.output = evoc::Output::Raw;
      return ok();
    case EVOC_OUTPUT_PROBABILITIES:
      options->options.output = evoc::Output::Probabilities;
      return ok();
    case EVOC_OUTPUT_ARGMAX:
      options->options.output = evoc::Output::Argmax;
      return ok();
  }
  return invalid(__func__, "unknown output " + std::to_string(output));
}

int evoc_options_set_cache_dir(evoc_options* options, const char* dir) {
  if (!options) return null_argument(__func__, "options");
  return guarded([&] {
    options->options.cache_dir = dir ? dir : "";
    return ok();
  });
}

int evoc_options_disable_cache(evoc_options* options, int disable) {
  if (!options) return null_argument(__func__, "options");
  options->options.use_cache = disable == 0;
  return ok();
}

int evoc_kernel_from_file(const char* path, const evoc_options* options, evoc_kernel** out) {
  if (!path) return null_argument(__func__, "path");
  if (!out) return null_argument(__func__, "out");
  *out = nullptr;
  return guarded(
      [&] { return make_kernel(out, evoc::Kernel::from_file(path, options_or_default(options))); });
}

int evoc_kernel_from_text(const char* text, size_t size, const evoc_options* options, evoc_kernel** out) {
  if (!text) return null_argument(__func__, "text");
  if (!out) return null_argument(__func__, "out");
  *out = nullptr;
  return guarded([&] {
    const evoc::ir::Module m = evoc::ir::parse_module(std::string_view(text, size), "<text>");
    return make_kernel(out, evoc::Kernel::compile(m, options_or_default(options)));
  });
}

int evoc_kernel_load_library(const char* library_path, const char* model_path, const evoc_options* options,
                             evoc_kernel** out) {
  if (!library_path) return null_argument(__func__, "library_path");
  if (!model_path) return null_argument(__func__, "model_path");
  if (!out) return null_argument(__func__, "out");
  *out = nullptr;
  return guarded([&] {
    const evoc::ir::Module m = evoc::ir::read_module(model_path);
    return make_kernel(out, evoc::Kernel::load_library(library_path, m, options_or_default(options)));
  });
}

void evoc_kernel_free(evoc_kernel* kernel) { delete kernel; }

int evoc_kernel_n_in(const evoc_kernel* kernel, int64_t* out) {
  if (!kernel) return null_argument(__func__, "kernel");
  if (!out) return null_argument(__func__, "out");
  *out = static_cast<int64_t>(kernel->kernel.n_in());
  return ok();
}

int evoc_kernel_n_out(const evoc_kernel* kernel, int64_t* out) {
  if (!kernel) return null_argument(__func__, "kernel");
  if (!out) return null_argument(__func__, "out");
  *out = static_cast<int64_t>(kernel->kernel.n_out());
  return ok();
}

int evoc_kernel_n_classes(const evoc_kernel* kernel, int64_t* out) {
  if (!kernel) return null_argument(__func__, "kernel");
  if (!out) return null_argument(__func__, "out");
  *out = static_cast<int64_t>(kernel->kernel.class_names().size());
  return EVOC_OK;
}

int evoc_kernel_class_name(const evoc_kernel* kernel, int64_t index, const char** out) {
  if (!kernel) return null_argument(__func__, "kernel");
  if (!out) return null_argument(__func__, "out");
  const auto& names = kernel->kernel.class_names();
  if (index < 0 || index >= static_cast<int64_t>(names.size()))
    return invalid(__func__, "class index " + std::to_string(index) + " is out of range (the kernel has " +
                                 std::to_string(names.size()) + " classes)");
  *out = names[static_cast<std::size_t>(index)].c_str();
  return EVOC_OK;
}

int evoc_kernel_level_code(const evoc_kernel* kernel, int64_t input, const char* text, float* out) {
  if (!kernel) return null_argument(__func__, "kernel");
  if (!text) return null_argument(__func__, "text");
  if (!out) return null_argument(__func__, "out");
  if (input < 0 || input >= static_cast<int64_t>(kernel->kernel.n_in()))
    return invalid(__func__, "input " + std::to_string(input) + " is out of range (the kernel has " +
                                 std::to_string(kernel->kernel.n_in()) + " inputs)");
  return guarded([&] {
    *out = kernel->kernel.level_code(static_cast<std::size_t>(input), text);
    return EVOC_OK;
  });
}

int evoc_kernel_run(const evoc_kernel* kernel, const float* x, int64_t n, int64_t x_stride, float* y,
                    int64_t y_stride) {
  if (!kernel) return null_argument(__func__, "kernel");
  if (n < 0) return invalid(__func__, "negative row count " + std::to_string(n));
  if (n == 0) return ok();
  if (!x) return null_argument(__func__, "x");
  if (!y) return null_argument(__func__, "y");
  const auto n_in = static_cast<int64_t>(kernel->kernel.n_in()),
             n_out = static_cast<int64_t>(kernel->kernel.n_out());
  if (x_stride < n_in || y_stride < n_out)
    return invalid(__func__, "strides (" + std::to_string(x_stride) + ", " + std::to_string(y_stride) +
                                 ") are smaller than the rows (" + std::to_string(n_in) + " in, " +
                                 std::to_string(n_out) + " out)");
  return guarded([&] {
    kernel->kernel.run(x, n, x_stride, y, y_stride);
    return ok();
  });
}

int evoc_kernel_predict(const evoc_kernel* kernel, const float* x, size_t x_count, float* y, size_t y_count) {
  if (!kernel) return null_argument(__func__, "kernel");
  const std::size_t n_in = kernel->kernel.n_in(), n_out = kernel->kernel.n_out();
  if (n_in == 0) return invalid(__func__, "the model has no inputs; use evoc_kernel_run");
  if (x_count % n_in != 0)
    return invalid(__func__,
                   std::to_string(x_count) + " input floats are not whole rows of " + std::to_string(n_in));
  const std::size_t n = x_count / n_in;
  if (y_count < n * n_out)
    return invalid(__func__, "output has room for " + std::to_string(y_count) + " floats, " +
                                 std::to_string(n) + " rows need " + std::to_string(n * n_out));
  if (n == 0) return ok();
  if (!x) return null_argument(__func__, "x");
  if (!y) return null_argument(__func__, "y");
  return guarded([&] {
    kernel->kernel.run(x, static_cast<int64_t>(n), static_cast<int64_t>(n_in), y,
                       static_cast<int64_t>(n_out));
    return ok();
  });
}

}  // extern "C"
