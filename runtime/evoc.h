/* The evoc C API: load or compile a model and score rows, from C or any language with a C FFI.
 *
 *   evoc_kernel* k = NULL;
 *   if (evoc_kernel_from_file("wine.evir", NULL, &k) != EVOC_OK) {
 *     fprintf(stderr, "%s\n", evoc_last_error());
 *     return 1;
 *   }
 *   evoc_kernel_predict(k, x, n_rows * n_in, y, n_rows * n_out);
 *   evoc_kernel_free(k);
 *
 * Handles are opaque. Every function returns EVOC_OK (0) or one of the error codes below and
 * never lets an exception out; after an error, evoc_last_error() describes it (per thread), and
 * after a success it is "".
 * A kernel may be run from many threads at once; options and kernels are freed by their owner.
 */
#ifndef EVOC_H
#define EVOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Status codes. */
enum evoc_status {
  EVOC_OK = 0,
  EVOC_ERROR_NULL_ARGUMENT = 1,    /**< a required pointer argument is NULL */
  EVOC_ERROR_INVALID_ARGUMENT = 2, /**< a value out of range, or buffer sizes that do not fit */
  EVOC_ERROR_FAILED = 3,           /**< the operation failed: unreadable or invalid model, compilation,
                                        cache directory, shared library; see evoc_last_error() */
};

/** What a kernel writes per row (see evoc_options_set_output). */
enum evoc_output {
  EVOC_OUTPUT_RAW = 0,           /**< the model's outputs */
  EVOC_OUTPUT_PROBABILITIES = 1, /**< classifier: one probability per class */
  EVOC_OUTPUT_ARGMAX = 2,        /**< classifier: the most likely class index, as a float */
};

/** Where a kernel runs (see evoc_options_set_device). */
enum evoc_device {
  EVOC_DEVICE_CPU = 0, /**< the host (the default) */
  EVOC_DEVICE_GPU = 1, /**< a CUDA GPU: the driver is opened at run time; without one, creating the kernel fails */
};

typedef struct evoc_options evoc_options; /**< how to build and run a kernel */
typedef struct evoc_kernel evoc_kernel;   /**< a compiled model */

/** The message of the last call on this thread if it failed; "" after every call that returned
 *  EVOC_OK (each call clears it, so an old failure is never reported). Valid until the next call. */
const char* evoc_last_error(void);

/** New options with defaults: -O2, all hardware threads, raw outputs, cache from EVOC_CACHE_DIR. */
int evoc_options_create(evoc_options** out);
void evoc_options_free(evoc_options* options);
/** Threads per run call, the caller included (0: all hardware threads). */
int evoc_options_set_threads(evoc_options* options, int threads);
/** LLVM optimisation level, 0..3. */
int evoc_options_set_opt_level(evoc_options* options, int level);
/** Nonzero: tiered compilation. A kernel that must be compiled is compiled at level 0 first
 *  (milliseconds) and returned, then recompiled at the set level on a background thread;
 *  runs switch to the optimised code when it is ready. Outputs are identical at every level. */
int evoc_options_set_tiered(evoc_options* options, int tiered);
/** One of enum evoc_output. */
int evoc_options_set_output(evoc_options* options, int output);
/** One of enum evoc_device, and which GPU (0 for the first) for EVOC_DEVICE_GPU. */
int evoc_options_set_device(evoc_options* options, int device, int gpu_index);
/** The kernel cache directory; NULL or "" falls back to EVOC_CACHE_DIR. */
int evoc_options_set_cache_dir(evoc_options* options, const char* dir);
/** Nonzero: never read or write the kernel cache (compile in process). */
int evoc_options_disable_cache(evoc_options* options, int disable);

/** Compiles (or loads from the cache) the model in text IR file `path`. `options` may be NULL. */
int evoc_kernel_from_file(const char* path, const evoc_options* options, evoc_kernel** out);
/** As evoc_kernel_from_file, from the text IR itself (`size` bytes). */
int evoc_kernel_from_text(const char* text, size_t size, const evoc_options* options, evoc_kernel** out);
/** Loads a shared library built by `evoc compile --emit=so` from the model in `model_path`. */
int evoc_kernel_load_library(const char* library_path, const char* model_path, const evoc_options* options,
                             evoc_kernel** out);
void evoc_kernel_free(evoc_kernel* kernel);

/** Floats per input row and per output row (after post-processing). */
int evoc_kernel_n_in(const evoc_kernel* kernel, int64_t* out);
int evoc_kernel_n_out(const evoc_kernel* kernel, int64_t* out);

/** Classes of a classifier (0 for a regression); their names in output order. A name stays
 *  valid while the kernel lives. */
int evoc_kernel_n_classes(const evoc_kernel* kernel, int64_t* out);
int evoc_kernel_class_name(const evoc_kernel* kernel, int64_t index, const char** out);
/** The input value for level `text` of categorical input `input` of a model trained on a table:
 *  the level's code, or NaN for a level the model does not know (read as "other") or a numeric
 *  input. A missing cell of any input is NaN. */
int evoc_kernel_level_code(const evoc_kernel* kernel, int64_t input, const char* text, float* out);

/** Scores `n` rows: row r reads x[r*x_stride + 0..n_in) and writes y[r*y_stride + 0..n_out).
 *  Strides are in floats and at least a row. n == 0 does nothing and succeeds. */
int evoc_kernel_run(const evoc_kernel* kernel, const float* x, int64_t n, int64_t x_stride, float* y,
                    int64_t y_stride);
/** Scores contiguous rows: `x_count` floats (whole rows) in, room for `y_count` floats out.
 *  EVOC_ERROR_INVALID_ARGUMENT if x_count is not a multiple of n_in or y is too small. */
int evoc_kernel_predict(const evoc_kernel* kernel, const float* x, size_t x_count, float* y, size_t y_count);

#ifdef __cplusplus
}
#endif

#endif /* EVOC_H */
