// A helper process for the cache test: compiles random module SEED with the kernel cache in
// DIR, checks the kernel against the interpreter, and prints how the kernel was obtained.
// Exit status 0 on success.
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "ir/interpreter.h"
#include "ir/random_module.h"
#include "runtime/kernel.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s CACHE_DIR SEED\n", argv[0]);
    return 2;
  }
  try {
    evoc::ir::RandomModuleOptions shape;
    shape.n_values = 200;
    const evoc::ir::Module m = evoc::ir::random_module(std::strtoull(argv[2], nullptr, 10), shape);
    evoc::KernelOptions options;
    options.cache_dir = argv[1];
    options.threads = 1;
    const evoc::Kernel k = evoc::Kernel::compile(m, options);
    const int64_t n = 100;
    const std::vector<float> x = evoc::ir::random_rows(1, n, m.n_in());
    std::vector<float> expected(n * m.n_out());
    evoc::ir::interpret(m, x.data(), n, m.n_in(), expected.data(), m.n_out());
    const std::vector<float> y = k.run(x);
    for (std::size_t i = 0; i < y.size(); ++i)
      if (!evoc::ir::same_float(y[i], expected[i])) {
        std::fprintf(stderr, "output %zu differs from the interpreter\n", i);
        return 1;
      }
    std::printf("%s\n", evoc::source_name(k.info().source));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
