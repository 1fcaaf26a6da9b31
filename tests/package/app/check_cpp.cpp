// check_cpp MODEL INPUT.csv EXPECTED.csv: compiles MODEL through the C++ API (evoc::Kernel),
// scores the rows of INPUT and compares them bit for bit with EXPECTED (what `evoc run` wrote).
#include <cstdio>
#include <vector>

#include <ir/error.h>
#include <runtime/kernel.h>

#include "rows.h"

int main(int argc, char** argv) try {
  if (argc != 4) return 2;
  size_t nx, ny, x_cols, y_cols;
  float* x = read_rows(argv[2], &nx, &x_cols);
  float* want = read_rows(argv[3], &ny, &y_cols);
  evoc::KernelOptions options;
  options.use_cache = false;
  const evoc::Kernel k = evoc::Kernel::from_file(argv[1], options);
  if (k.n_in() != x_cols || k.n_out() != y_cols || k.output_names().size() != y_cols) {
    std::fprintf(stderr, "kernel is %zu -> %zu, files have %zu and %zu columns\n", k.n_in(), k.n_out(), x_cols,
                 y_cols);
    return 1;
  }
  const std::vector<float> y = k.run(std::span<const float>(x, nx));
  const int failed = y.size() != ny || same_bits("C++ API", y.data(), want, ny);
  if (!failed) std::printf("C++ API: %zu rows match evoc run (%s)\n", nx / x_cols, evoc::source_name(k.info().source));
  std::free(x);
  std::free(want);
  return failed;
} catch (const evoc::Error& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
