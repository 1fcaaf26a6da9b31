/* The C API from C: load models, score rows (raw, probabilities, argmax), and every error path
 * (NULL pointers, wrong sizes, bad options, missing files, malformed text) as a status code
 * with a message. A plain C99 program: exit status 0 when every check passes. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "runtime/evoc.h"

static int failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

/* A call that must fail with `status` and leave a message containing `text`. */
#define CHECK_FAILS(call, status, text)               \
  do {                                                \
    CHECK((call) == (status));                        \
    CHECK(strstr(evoc_last_error(), (text)) != NULL); \
  } while (0)

static const char* golden(const char* name) {
  static char path[1024];
  snprintf(path, sizeof path, "%s/ir/golden/%s", EVOC_TESTS_DIR, name);
  return path;
}

static void test_identity(const evoc_options* options) {
  evoc_kernel* k = NULL;
  int64_t n_in = 0, n_out = 0;
  float x[6] = {1.5f, -0.0f, INFINITY, 3.0f, -2.25f, 1e-40f};
  float y[6] = {0};
  int i;
  CHECK(evoc_kernel_from_file(golden("01_identity.evir"), options, &k) == EVOC_OK);
  CHECK(k != NULL);
  CHECK(evoc_kernel_n_in(k, &n_in) == EVOC_OK && n_in == 2);
  CHECK(evoc_kernel_n_out(k, &n_out) == EVOC_OK && n_out == 2);
  CHECK(evoc_kernel_predict(k, x, 6, y, 6) == EVOC_OK);
  for (i = 0; i < 6; ++i) CHECK(memcmp(&x[i], &y[i], sizeof(float)) == 0);
  evoc_kernel_free(k);
}

static void test_classifier(evoc_options* options) {
  enum { N = 1000 };
  static float x[N * 4], logits[N * 3], p[N * 3], best[N];
  evoc_kernel *raw = NULL, *probabilities = NULL, *argmax = NULL;
  int r, c;
  for (r = 0; r < N * 4; ++r) x[r] = (float)((r * 37) % 101) / 17.0f - 2.0f;
  CHECK(evoc_kernel_from_file(golden("07_wine_like.evir"), options, &raw) == EVOC_OK);
  CHECK(evoc_options_set_output(options, EVOC_OUTPUT_PROBABILITIES) == EVOC_OK);
  CHECK(evoc_kernel_from_file(golden("07_wine_like.evir"), options, &probabilities) == EVOC_OK);
  CHECK(evoc_options_set_output(options, EVOC_OUTPUT_ARGMAX) == EVOC_OK);
  CHECK(evoc_kernel_from_file(golden("07_wine_like.evir"), options, &argmax) == EVOC_OK);
  CHECK(evoc_options_set_output(options, EVOC_OUTPUT_RAW) == EVOC_OK);
  CHECK(evoc_kernel_run(raw, x, N, 4, logits, 3) == EVOC_OK);
  CHECK(evoc_kernel_predict(probabilities, x, N * 4, p, N * 3) == EVOC_OK);
  CHECK(evoc_kernel_predict(argmax, x, N * 4, best, N) == EVOC_OK);
  for (r = 0; r < N; ++r) {
    const float* z = &logits[r * 3];
    int top = 0;
    float sum = 0;
    for (c = 1; c < 3; ++c)
      if (z[c] > z[top]) top = c;
    for (c = 0; c < 3; ++c) sum += p[r * 3 + c];
    CHECK(fabsf(sum - 1.0f) < 1e-5f);
    CHECK(best[r] == (float)top);
    CHECK(p[r * 3 + top] >= p[r * 3 + (top + 1) % 3]);
  }
  evoc_kernel_free(raw);
  evoc_kernel_free(probabilities);
  evoc_kernel_free(argmax);
}

static void test_errors(evoc_options* options) {
  static const char bad_text[] =
      "evir 1\nmodule \"m\" inputs 1 outputs 1\ninput %0 \"x\"\n%1 = mull %0, %0\n";
  evoc_kernel* k = NULL;
  float x[8] = {0}, y[8] = {0};
  int64_t n = 0;

  CHECK_FAILS(evoc_kernel_from_file(NULL, options, &k), EVOC_ERROR_NULL_ARGUMENT, "path");
  CHECK_FAILS(evoc_kernel_from_file(golden("01_identity.evir"), options, NULL), EVOC_ERROR_NULL_ARGUMENT,
              "out");
  CHECK_FAILS(evoc_kernel_from_file("/nonexistent/model.evir", options, &k), EVOC_ERROR_FAILED,
              "/nonexistent/model.evir");
  CHECK(k == NULL);
  CHECK_FAILS(evoc_kernel_from_text(bad_text, sizeof bad_text - 1, options, &k), EVOC_ERROR_FAILED, "mull");
  CHECK_FAILS(evoc_kernel_load_library("/nonexistent/k.so", golden("01_identity.evir"), options, &k),
              EVOC_ERROR_FAILED, "cannot load");
  CHECK_FAILS(evoc_options_set_opt_level(options, 7), EVOC_ERROR_INVALID_ARGUMENT, "0..3");
  CHECK_FAILS(evoc_options_set_output(options, 9), EVOC_ERROR_INVALID_ARGUMENT, "unknown output");
  CHECK_FAILS(evoc_options_set_threads(options, -1), EVOC_ERROR_INVALID_ARGUMENT, "threads");
  CHECK_FAILS(evoc_options_set_threads(NULL, 1), EVOC_ERROR_NULL_ARGUMENT, "options");

  CHECK(evoc_kernel_from_file(golden("01_identity.evir"), options, &k) == EVOC_OK);
  CHECK(strcmp(evoc_last_error(), "") == 0);
  CHECK_FAILS(evoc_kernel_n_in(NULL, &n), EVOC_ERROR_NULL_ARGUMENT, "kernel");
  CHECK_FAILS(evoc_kernel_n_out(k, NULL), EVOC_ERROR_NULL_ARGUMENT, "out");
  CHECK_FAILS(evoc_kernel_predict(k, x, 3, y, 8), EVOC_ERROR_INVALID_ARGUMENT, "not whole rows");
  CHECK_FAILS(evoc_kernel_predict(k, x, 8, y, 6), EVOC_ERROR_INVALID_ARGUMENT, "room for 6");
  CHECK_FAILS(evoc_kernel_predict(k, NULL, 8, y, 8), EVOC_ERROR_NULL_ARGUMENT, "'x'");
  CHECK(evoc_kernel_predict(k, NULL, 0, NULL, 0) == EVOC_OK);
  CHECK(evoc_kernel_run(k, NULL, 0, 2, NULL, 2) == EVOC_OK);
  CHECK_FAILS(evoc_kernel_run(k, x, -1, 2, y, 2), EVOC_ERROR_INVALID_ARGUMENT, "negative");
  CHECK_FAILS(evoc_kernel_run(k, x, 2, 1, y, 2), EVOC_ERROR_INVALID_ARGUMENT, "smaller than the rows");
  CHECK_FAILS(evoc_kernel_run(k, x, 2, 2, NULL, 2), EVOC_ERROR_NULL_ARGUMENT, "'y'");
  evoc_kernel_free(k);
  evoc_kernel_free(NULL);
  evoc_options_free(NULL);
}

int main(void) {
  evoc_options* options = NULL;
  CHECK(evoc_options_create(&options) == EVOC_OK);
  CHECK(evoc_options_disable_cache(options, 1) == EVOC_OK);
  CHECK(evoc_options_set_threads(options, 2) == EVOC_OK);
  CHECK(evoc_options_set_opt_level(options, 2) == EVOC_OK);
  test_identity(NULL);
  test_identity(options);
  test_classifier(options);
  test_errors(options);
  CHECK(evoc_options_set_tiered(options, 1) == EVOC_OK);
  test_identity(options); /* tiered: the same rows from the -O0 code and, later, the -O2 code */
  CHECK_FAILS(evoc_options_set_tiered(NULL, 1), EVOC_ERROR_NULL_ARGUMENT, "'options'");
  evoc_options_free(options);
  if (failures)
    fprintf(stderr, "%d check(s) failed\n", failures);
  else
    printf("C API: all checks passed\n");
  return failures ? 1 : 0;
}
