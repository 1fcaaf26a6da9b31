// Tiered kernels: a level-0 kernel right away, the optimised one from a background thread.
// Rows are bit-identical before, during and after the switch, from many threads at once; the
// optimised code lands in the cache when there is one; a kernel destroyed mid-compilation
// waits for it.
#include <atomic>
#include <thread>

#include "ir/random_module.h"
#include "runtime/kernel.h"
#include "tests/runtime/test_util.h"

namespace evoc {
namespace {

ir::Module model(uint64_t seed) {
  ir::RandomModuleOptions shape;
  shape.n_values = 300;
  shape.n_in = 9;
  shape.n_out = 3;
  return ir::random_module(seed, shape);
}

KernelOptions tiered(unsigned threads = 1) {
  KernelOptions options;
  options.use_cache = false;
  options.threads = threads;
  options.tiered = true;
  return options;
}

}  // namespace

TEST_CASE("a tiered kernel gives the interpreter's rows before, during and after the switch") {
  const ir::Module m = model(5);
  const int64_t n = 777;
  const std::vector<float> x = ir::random_rows(8, n, m.n_in());
  const std::vector<float> expected = test::interpret_rows(m, x, n);

  const Kernel k = Kernel::compile(m, tiered(2));
  CHECK(k.info().source == KernelSource::Jit);
  CHECK(k.info().compile_times.total_ms() > 0);
  // Several threads call the kernel while it switches to the optimised code, and on after it.
  std::atomic<int> mismatches{0}, calls_before{0}, calls_after{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int after = 0, i = 0; after < 50 && i < 1'000'000; ++i) {
        const bool optimised = k.optimized();
        if (test::first_difference(k.run(x), expected) != -1) ++mismatches;
        if (optimised) {
          ++after;
          ++calls_after;
        } else {
          ++calls_before;
        }
      }
    });
  const codegen::CompileTimes optimised = k.wait_optimized();
  for (std::thread& t : threads) t.join();
  CHECK(mismatches == 0);
  CHECK(k.optimized());
  CHECK(optimised.total_ms() > 0);
  CHECK(calls_before > 0);
  CHECK(calls_after == 200);
  MESSAGE("level 0 ready after ", k.info().compile_times.total_ms(), " ms; optimised after ", optimised.total_ms(),
          " ms more; ", calls_before.load(), " calls ran the level-0 code, ", calls_after.load(),
          " the optimised code");
}

TEST_CASE("kernels that are not tiered are optimised from the start") {
  KernelOptions options = tiered();
  options.tiered = false;
  const Kernel k = Kernel::compile(model(6), options);
  CHECK(k.optimized());
  CHECK(k.wait_optimized().total_ms() == 0);
  options.tiered = true;
  options.codegen.opt_level = 0;  // nothing to tier up to
  const Kernel k0 = Kernel::compile(model(6), options);
  CHECK(k0.optimized());
}

TEST_CASE("a tiered kernel stores its optimised code in the cache; the next compile is a hit") {
  test::TempDir dir;
  const ir::Module m = model(7);
  KernelOptions options = tiered();
  options.use_cache = true;
  options.cache_dir = dir.str();
  {
    const Kernel k = Kernel::compile(m, options);
    CHECK(k.info().source == KernelSource::Jit);
    k.wait_optimized();
  }
  const Kernel again = Kernel::compile(m, options);
  CHECK(again.info().source == KernelSource::CacheHit);
  CHECK(again.optimized());
  const std::vector<float> x = ir::random_rows(9, 100, m.n_in());
  CHECK(test::first_difference(again.run(x), test::interpret_rows(m, x, 100)) == -1);
}

TEST_CASE("a tiered kernel dropped during its background compilation") {
  for (uint64_t seed = 20; seed < 24; ++seed) {
    const Kernel k = Kernel::compile(model(seed), tiered());
    CHECK(k.n_in() == 9);
  }  // each destructor waits for the background thread; nothing leaks or crashes (ASan, TSan)
}

}  // namespace evoc
