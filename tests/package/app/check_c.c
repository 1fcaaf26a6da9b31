/* check_c MODEL INPUT.csv EXPECTED.csv: compiles MODEL through the C API (evoc.h), scores the
 * rows of INPUT and compares them bit for bit with EXPECTED (what `evoc run` wrote). */
#include <evoc.h>

#include "rows.h"

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  size_t nx, ny, x_cols, y_cols;
  float* x = read_rows(argv[2], &nx, &x_cols);
  float* want = read_rows(argv[3], &ny, &y_cols);
  evoc_options* options = NULL;
  evoc_kernel* k = NULL;
  if (evoc_options_create(&options) != EVOC_OK || evoc_options_disable_cache(options, 1) != EVOC_OK ||
      evoc_kernel_from_file(argv[1], options, &k) != EVOC_OK) {
    fprintf(stderr, "%s\n", evoc_last_error());
    return 1;
  }
  int64_t n_in = 0, n_out = 0;
  evoc_kernel_n_in(k, &n_in);
  evoc_kernel_n_out(k, &n_out);
  if ((size_t)n_in != x_cols || (size_t)n_out != y_cols) {
    fprintf(stderr, "kernel is %lld -> %lld, files have %zu and %zu columns\n", (long long)n_in,
            (long long)n_out, x_cols, y_cols);
    return 1;
  }
  float* y = (float*)malloc(ny * sizeof(float));
  if (evoc_kernel_predict(k, x, nx, y, ny) != EVOC_OK) {
    fprintf(stderr, "%s\n", evoc_last_error());
    return 1;
  }
  int failed = same_bits("C API", y, want, ny);
  if (!failed) printf("C API: %zu rows match evoc run\n", nx / x_cols);
  evoc_kernel_free(k);
  evoc_options_free(options);
  free(x);
  free(y);
  free(want);
  return failed;
}
