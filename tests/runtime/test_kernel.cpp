// evoc::Kernel: bit-exact with the interpreter on random modules (strided rows, untouched
// padding), big batches split over the pool, many threads sharing one kernel, classifier
// post-processing, argument checks, and loading an `--emit=so` library.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <thread>

#include "codegen/aot.h"
#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/metrics.h"
#include "ir/parser.h"
#include "runtime/kernel.h"
#include "tests/runtime/test_util.h"

namespace evoc {
namespace {

KernelOptions no_cache(unsigned threads = 1) {
  KernelOptions options;
  options.use_cache = false;
  options.threads = threads;
  return options;
}

/// Runs `k` on `n` rows stored `pad` floats apart beyond their width; checks the outputs
/// against the interpreter and that the padding of the output rows is untouched.
void check_against_interpreter(const Kernel& k, const ir::Module& m, int64_t n, uint64_t seed, int64_t pad) {
  const int64_t n_in = m.n_in(), n_out = m.n_out();
  const int64_t xs = n_in + pad, ys = n_out + pad;
  std::vector<float> rows = ir::random_rows(seed, n, n_in);
  std::vector<float> x(n * xs, 7.0f);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < n_in; ++i) x[r * xs + i] = rows[r * n_in + i];
  const float canary = -12345.678f;
  std::vector<float> y(n * ys, canary);
  k.run(x.data(), n, xs, y.data(), ys);
  std::vector<float> got(n * n_out);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t o = 0; o < n_out; ++o) got[r * n_out + o] = y[r * ys + o];
    for (int64_t o = n_out; o < ys; ++o) REQUIRE(y[r * ys + o] == canary);
  }
  const long diff = test::first_difference(got, test::interpret_rows(m, rows, n));
  INFO("module seed ", seed, ", batch ", n, ", first difference at float ", diff);
  CHECK(diff == -1);
}

TEST_CASE("a kernel equals the interpreter bit for bit on random modules") {
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    ir::RandomModuleOptions shape;
    shape.n_values = 8 + static_cast<uint32_t>(seed % 5) * 20;
    shape.n_in = 1 + static_cast<uint32_t>(seed % 7);
    shape.n_out = 1 + static_cast<uint32_t>(seed % 3);
    const ir::Module m = ir::random_module(seed, shape);
    KernelOptions options = no_cache();
    options.codegen.opt_level = seed % 2 ? 2 : 0;
    const Kernel k = Kernel::compile(m, options);
    CHECK(k.info().source == KernelSource::Jit);
    for (int64_t n : {1, 7, 64, 1000}) check_against_interpreter(k, m, n, seed * 1000 + n, seed % 3);
  }
}

TEST_CASE("big batches are split over the pool and give the same rows") {
  ir::RandomModuleOptions shape;
  shape.n_values = 60;
  const ir::Module m = ir::random_module(77, shape);
  KernelOptions options = no_cache(4);
  options.rows_per_task = 100;  // many tasks, of uneven luck with the last one
  const Kernel k = Kernel::compile(m, options);
  CHECK(k.threads() == 4);
  for (int64_t n : {199, 200, 201, 100'003}) check_against_interpreter(k, m, n, 5000 + n, 1);
}

TEST_CASE("many threads run one kernel at once") {
  ir::RandomModuleOptions shape;
  shape.n_values = 40;
  const ir::Module m = ir::random_module(99, shape);
  KernelOptions options = no_cache(3);
  options.rows_per_task = 256;
  const Kernel k = Kernel::compile(m, options);
  constexpr int kThreads = 8;
  const int64_t sizes[] = {1, 5, 64, 300, 2000, 20'000};
  std::vector<std::vector<float>> inputs, expected;
  for (int64_t n : sizes) {
    inputs.push_back(ir::random_rows(static_cast<uint64_t>(n), n, m.n_in()));
    expected.push_back(test::interpret_rows(m, inputs.back(), n));
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int iteration = 0; iteration < 40; ++iteration) {
        const std::size_t which = static_cast<std::size_t>(t + iteration) % std::size(sizes);
        const std::vector<float> y = k.run(inputs[which]);
        if (test::first_difference(y, expected[which]) != -1) ++mismatches;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(mismatches == 0);
}

ir::Module wine() { return ir::read_module(std::string(EVOC_TESTS_DIR) + "/ir/golden/07_wine_like.evir"); }

TEST_CASE("probabilities are the softmax of the outputs, argmax the best class") {
  const ir::Module m = wine();
  const int64_t n = 3000;  // several post-processing tiles, over two threads
  const std::vector<float> x = ir::random_rows(3, n, m.n_in(), /*specials=*/false);
  const std::vector<float> logits = test::interpret_rows(m, x, n);

  KernelOptions options = no_cache(2);
  options.rows_per_task = 512;
  options.output = Output::Probabilities;
  const Kernel probabilities = Kernel::compile(m, options);
  CHECK(probabilities.n_out() == 3);
  CHECK(probabilities.output_names() == std::vector<std::string>{"class_0", "class_1", "class_2"});
  options.output = Output::Argmax;
  const Kernel argmax = Kernel::compile(m, options);
  CHECK(argmax.n_out() == 1);
  CHECK(argmax.output_names() == std::vector<std::string>{"class"});

  const std::vector<float> p = probabilities.run(x), best = argmax.run(x);
  for (int64_t r = 0; r < n; ++r) {
    const float* z = &logits[r * 3];
    const int expected_best = z[0] >= z[1] && z[0] >= z[2] ? 0 : (z[1] >= z[2] ? 1 : 2);
    if (std::isnan(z[0]) || std::isnan(z[1]) || std::isnan(z[2])) continue;
    const double top = std::max({z[0], z[1], z[2]});
    double sum = 0;
    for (int c = 0; c < 3; ++c) sum += std::exp(z[c] - top);
    for (int c = 0; c < 3; ++c)
      REQUIRE(p[r * 3 + c] == doctest::Approx(std::exp(z[c] - top) / sum).epsilon(1e-5));
    REQUIRE(best[r] == static_cast<float>(expected_best));
  }
}

TEST_CASE("classifier outputs need a classifier; one logit means two classes") {
  ir::Module m = ir::make_module("logit", 1);
  ir::add_output(m, ir::add_affine(m, 0, 2.0f, 0.0f), "logit");
  KernelOptions options = no_cache();
  options.output = Output::Probabilities;
  const Kernel k = Kernel::compile(m, options);
  CHECK(k.n_out() == 2);
  const std::vector<float> p = k.run(std::vector<float>{0.0f, 1.0f});
  CHECK(p[0] == doctest::Approx(0.5));
  CHECK(p[1] == doctest::Approx(0.5));
  CHECK(p[3] == doctest::Approx(1.0 / (1.0 + std::exp(-2.0))));
  options.output = Output::Argmax;
  CHECK(Kernel::compile(m, options).run(std::vector<float>{-1.0f, 3.0f}) == std::vector<float>{0.0f, 1.0f});

  m.set_meta("task", "regress");
  CHECK_THROWS_WITH_AS(Kernel::compile(m, options), doctest::Contains("needs a classifier"), Error);
  m.set_meta("task", "classify");
  m.set_meta("classes", "a,b,c");
  CHECK_THROWS_WITH_AS(Kernel::compile(m, options), doctest::Contains("names 3 classes"), Error);
}

TEST_CASE("a module whose outputs are probabilities (an ensemble) is not transformed again") {
  // Three probabilities (as passes/link.h writes them), and one probability of class 1.
  ir::Module m = ir::make_module("probabilities", 3);
  for (ir::ValueId i = 0; i < 3; ++i) ir::add_output(m, ir::add_affine(m, i, 1.0f, 0.0f), "p" + std::to_string(i));
  m.set_meta("task", "classify");
  m.set_meta("outputs", "probabilities");
  KernelOptions options = no_cache();
  options.output = Output::Probabilities;
  const std::vector<float> x = {0.25f, 0.5f, 0.25f, 0.7f, 0.1f, 0.2f};
  CHECK(Kernel::compile(m, options).run(x) == x);
  options.output = Output::Argmax;
  CHECK(Kernel::compile(m, options).run(x) == std::vector<float>{1.0f, 0.0f});
  ir::Module binary = ir::make_module("binary", 1);
  ir::add_output(binary, ir::add_affine(binary, 0, 1.0f, 0.0f), "p");
  binary.set_meta("outputs", "probabilities");
  options.output = Output::Probabilities;
  CHECK(Kernel::compile(binary, options).run(std::vector<float>{0.25f, 0.75f}) ==
        std::vector<float>{0.75f, 0.25f, 0.25f, 0.75f});
  options.output = Output::Argmax;  // class 1 above 0.5, not above 0
  CHECK(Kernel::compile(binary, options).run(std::vector<float>{0.25f, 0.5f, 0.75f}) ==
        std::vector<float>{0.0f, 0.0f, 1.0f});
}

TEST_CASE("a kernel's argmax follows metrics::argmax's NaN rule") {
  // Three logits straight from the inputs: NaN never wins, all NaN is class 0.
  ir::Module m = ir::make_module("nan_argmax", 3);
  for (ir::ValueId i = 0; i < 3; ++i) ir::add_output(m, ir::add_affine(m, i, 1.0f, 0.0f), "z" + std::to_string(i));
  KernelOptions options = no_cache();
  options.output = Output::Argmax;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> x = {nan, -5, -7, -1, nan, -2, nan, nan, nan, 4, 4, 1};
  const std::vector<float> best = Kernel::compile(m, options).run(x);
  REQUIRE(best.size() == 4);
  for (std::size_t r = 0; r < 4; ++r)
    CHECK(best[r] == static_cast<float>(metrics::argmax(&x[r * 3], 3)));
  CHECK(best == std::vector<float>{1, 0, 0, 0});
}

TEST_CASE("run checks its arguments") {
  const Kernel k = Kernel::compile(wine(), no_cache());
  std::vector<float> x(8), y(6);
  CHECK_NOTHROW(k.run(nullptr, 0, 4, nullptr, 3));
  CHECK_THROWS_WITH_AS(k.run(x.data(), -1, 4, y.data(), 3), doctest::Contains("negative row count"), Error);
  CHECK_THROWS_WITH_AS(k.run(nullptr, 2, 4, y.data(), 3), doctest::Contains("input buffer is null"), Error);
  CHECK_THROWS_WITH_AS(k.run(x.data(), 2, 3, y.data(), 3), doctest::Contains("smaller than the rows"), Error);
  CHECK_THROWS_WITH_AS(k.run(std::vector<float>(7)), doctest::Contains("not whole rows"), Error);
}

TEST_CASE("a shared library from --emit=so loads through the same interface") {
  test::TempDir dir;
  const ir::Module m = wine();
  const std::string so = (dir.path() / "wine.so").string();
  write_file_atomic(so, codegen::emit_artifact(m, codegen::EmitKind::SharedObject).data);
  const Kernel k = Kernel::load_library(so, m, no_cache());
  CHECK(k.info().source == KernelSource::Library);
  CHECK(k.info().symbol == "evoc_wine");
  check_against_interpreter(k, m, 333, 8, 2);
  CHECK_THROWS_WITH_AS(Kernel::load_library((dir.path() / "missing.so").string(), m),
                       doctest::Contains("cannot load"), Error);
}

TEST_CASE("a shared library is checked against the model it is loaded with") {
  test::TempDir dir;
  const ir::Module m = wine();
  const std::string so = (dir.path() / "wine.so").string();
  write_file_atomic(so, codegen::emit_artifact(m, codegen::EmitKind::SharedObject).data);
  // Another model of the same name (so the same kernel symbol) with one output instead of three.
  ir::Module other = m;
  other.outputs.resize(1);
  other.output_names.resize(1);
  REQUIRE(other.name == m.name);
  CHECK_THROWS_WITH_AS(Kernel::load_library(so, other, no_cache()), doctest::Contains("built from another model"),
                       Error);
  // A shared object without the content hash (the C compiler's libm): not an evoc library.
  const std::string libm = "/lib/x86_64-linux-gnu/libm.so.6";
  if (std::filesystem::exists(libm))
    CHECK_THROWS_WITH_AS(Kernel::load_library(libm, m, no_cache()), doctest::Contains("no symbol"), Error);
}

TEST_CASE("a library path without a slash is a file in the working directory, never a search") {
  test::TempDir dir;
  const ir::Module m = wine();
  write_file_atomic((dir.path() / "wine.so").string(),
                    codegen::emit_artifact(m, codegen::EmitKind::SharedObject).data);
  const std::filesystem::path previous = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  CHECK_NOTHROW(Kernel::load_library("wine.so", m, no_cache()));
  // libm is on the library path; "libm.so.6" names ./libm.so.6, which does not exist.
  CHECK_THROWS_WITH_AS(Kernel::load_library("libm.so.6", m, no_cache()), doctest::Contains("cannot load"), Error);
  std::filesystem::current_path(previous);
}

}  // namespace
}  // namespace evoc
