// The C backend: emitted C for random modules and the golden modules, compiled by the system C
// compiler (warnings as errors) with the flags the emitter documents, equals the interpreter
// bit for bit (NaN, Inf, -0 and subnormal inputs included).
#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "codegen/c_emitter.h"
#include "codegen/options.h"
#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/parser.h"
#include "tests/runtime/test_util.h"

namespace evoc {
namespace {

std::vector<ir::Module> modules_to_check() {
  std::vector<ir::Module> modules;
  for (uint64_t seed = 1; seed <= 80; ++seed) {
    ir::RandomModuleOptions shape;
    shape.n_values = 6 + static_cast<uint32_t>(seed % 6) * 12;
    shape.n_in = 1 + static_cast<uint32_t>(seed % 5);
    shape.n_out = 1 + static_cast<uint32_t>(seed % 4);
    modules.push_back(ir::random_module(seed, shape));
  }
  for (const auto& e : std::filesystem::directory_iterator(std::string(EVOC_TESTS_DIR) + "/ir/golden"))
    if (e.path().extension() == ".evir") modules.push_back(ir::read_module(e.path().string()));
  return modules;
}

TEST_CASE("emitted C compiled by cc equals the interpreter bit for bit") {
  test::TempDir dir;
  const std::vector<ir::Module> modules = modules_to_check();
  std::string sources;
  for (std::size_t i = 0; i < modules.size(); ++i) {
    const std::string path = (dir.path() / fmt::format("kernel_{}.c", i)).string();
    write_file_atomic(path, codegen::emit_c(modules[i], fmt::format("kernel_{}", i)));
    sources += " " + path;
  }
  const std::string library = (dir.path() / "kernels.so").string();
  const std::string command =
      fmt::format("cc -O2 -march=native {} -Wall -Wextra -Werror -shared -fPIC -o {}{}",
                  codegen::kCExactFlags, library, sources);
  INFO(command);
  REQUIRE(std::system(command.c_str()) == 0);
  void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  REQUIRE(handle != nullptr);
  for (std::size_t i = 0; i < modules.size(); ++i) {
    const ir::Module& m = modules[i];
    auto kernel = reinterpret_cast<codegen::KernelFn>(dlsym(handle, fmt::format("kernel_{}", i).c_str()));
    const bool found = kernel != nullptr;
    REQUIRE(found);
    for (int64_t n : {1, 9, 257}) {
      const std::vector<float> x = ir::random_rows(i * 31 + n, n, m.n_in());
      std::vector<float> y(n * m.n_out());
      kernel(x.data(), n, m.n_in(), y.data(), m.n_out());
      const long diff = test::first_difference(y, test::interpret_rows(m, x, n));
      INFO("module ", m.name, " (kernel_", i, "), batch ", n, ", first difference at float ", diff);
      CHECK(diff == -1);
    }
  }
  dlclose(handle);
}

TEST_CASE("the C backend names the kernel as asked and rejects bad names") {
  const ir::Module m = ir::read_module(std::string(EVOC_TESTS_DIR) + "/ir/golden/07_wine_like.evir");
  const std::string c = codegen::emit_c(m, "wine_kernel");
  CHECK(c.find("void wine_kernel(const float* restrict x, int64_t n, int64_t x_stride, float* restrict y, "
               "int64_t y_stride)") != std::string::npos);
  CHECK(c.find("inputs:  alcohol, malic_acid, ash, flavanoids") != std::string::npos);
  CHECK_THROWS_WITH_AS(codegen::emit_c(m, "not a name"), doctest::Contains("not a C identifier"), Error);
}

}  // namespace
}  // namespace evoc
