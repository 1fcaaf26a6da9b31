/* check_aot INPUT.csv EXPECTED.csv: the kernel evoc_add_kernel compiled ahead of time (iris.h),
 * on the rows of INPUT, against EXPECTED (what `evoc run` wrote), bit for bit. */
#include "iris.h"

#include "rows.h"

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  size_t nx, ny, x_cols, y_cols;
  float* x = read_rows(argv[1], &nx, &x_cols);
  float* want = read_rows(argv[2], &ny, &y_cols);
  if (x_cols != IRIS_N_IN || y_cols != IRIS_N_OUT) return 1;
  float* y = (float*)malloc(ny * sizeof(float));
  iris(x, (int64_t)(nx / IRIS_N_IN), IRIS_N_IN, y, IRIS_N_OUT);
  int failed = same_bits("AOT kernel", y, want, ny);
  if (!failed) printf("AOT kernel (evoc_add_kernel): %zu rows match evoc run\n", nx / x_cols);
  free(x);
  free(y);
  free(want);
  return failed;
}
