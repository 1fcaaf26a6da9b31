// AOT kernels against the reference interpreter: object + header built into a program by the
// system compiler, shared objects loaded with dlopen, cross-target emission, the `evoc compile`
// command, and the embed_service example (configured, built and run as a service author would,
// with a check that it links nothing of evoc, LLVM or LibTorch).
#include <doctest/doctest.h>

#include <dlfcn.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "codegen/aot.h"
#include "ir/error.h"
#include "ir/process.h"
#include "ir/file_util.h"
#include "ir/parser.h"
#include "tests/codegen/kernel_check.h"

namespace evoc {
namespace {

namespace fs = std::filesystem;
using codegen::EmitKind;
using codegen::emit_artifact;

const std::string kIrisModel = std::string(EVOC_SOURCE_DIR) + "/examples/models/iris.evir";
const std::string kIrisRows = std::string(EVOC_SOURCE_DIR) + "/examples/models/iris.csv";

/// A fresh directory under the build tree for one test.
fs::path work_dir(const std::string& name) {
  const fs::path dir = fs::path(EVOC_BINARY_DIR) / "codegen_aot_test" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

/// Runs a shell command; returns its exit status and standard output (stderr joins it).
std::pair<int, std::string> run(const std::string& command) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  while (std::size_t got = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, got);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

std::string shell_quoted(const fs::path& p) { return "'" + p.string() + "'"; }

codegen::CodegenOptions named(std::string symbol) {
  codegen::CodegenOptions o;
  o.symbol = std::move(symbol);
  return o;
}

// A driver that checks the header's constants, then applies the kernel to rows read from a
// binary file with strides n_in + 2 and n_out + 1, and writes the outputs densely.
constexpr const char* kDriver = R"(#include "kernel.h"
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
int main(int argc, char** argv) {
  static_assert(KERNEL_N_IN == EXPECTED_N_IN && KERNEL_N_OUT == EXPECTED_N_OUT, "counts");
  if (KERNEL_HASH != EXPECTED_HASH || std::strcmp(kernel_input_names[0], EXPECTED_NAME) != 0 ||
      kernel_input_names[KERNEL_N_IN] != nullptr) return 3;
  long n = std::atol(argv[1]);
  std::vector<float> dense(n * KERNEL_N_IN), x(n * (KERNEL_N_IN + 2) + 1), y(n * (KERNEL_N_OUT + 1) + 1);
  FILE* f = std::fopen(argv[2], "rb");
  if (std::fread(dense.data(), sizeof(float), dense.size(), f) != dense.size()) return 4;
  for (long r = 0; r < n; ++r)
    for (int i = 0; i < KERNEL_N_IN; ++i) x[r * (KERNEL_N_IN + 2) + i] = dense[r * KERNEL_N_IN + i];
  kernel(x.data(), n, KERNEL_N_IN + 2, y.data(), KERNEL_N_OUT + 1);
  FILE* out = std::fopen(argv[3], "wb");
  for (long r = 0; r < n; ++r) std::fwrite(&y[r * (KERNEL_N_OUT + 1)], sizeof(float), KERNEL_N_OUT, out);
  std::fclose(out);
}
)";

TEST_CASE("object + header: a C++ program built by the system compiler equals the interpreter") {
  std::vector<ir::Module> models{ir::read_module(kIrisModel)};
  for (uint64_t seed : {11, 12, 13, 14}) {
    ir::RandomModuleOptions o;
    o.n_in = 3 + seed % 5;
    o.n_out = 1 + seed % 4;
    o.n_values = 60;
    models.push_back(ir::random_module(seed, o));
  }
  for (const ir::Module& m : models) {
    CAPTURE(m.name);
    const fs::path dir = work_dir("program_" + m.name);
    write_file_atomic((dir / "kernel.o").string(), emit_artifact(m, EmitKind::Object, named("kernel")).data);
    write_file_atomic((dir / "kernel.h").string(), emit_artifact(m, EmitKind::Header, named("kernel")).data);
    write_file_atomic((dir / "driver.cpp").string(), kDriver);
    CHECK(run("nm -u " + shell_quoted(dir / "kernel.o")).second == "");  // no undefined symbols
    const std::string defines = fmt::format(
        "-DEXPECTED_N_IN={} -DEXPECTED_N_OUT={} -DEXPECTED_HASH={:#x}ULL '-DEXPECTED_NAME=\"{}\"'", m.n_in(),
        m.n_out(), ir::content_hash(m), m.input_names[0]);
    const auto [built, log] = run("c++ -std=c++17 -Wall -Werror " + defines + " -o " + shell_quoted(dir / "program") +
                                  " " + shell_quoted(dir / "driver.cpp") + " " + shell_quoted(dir / "kernel.o"));
    REQUIRE_MESSAGE(built == 0, log);
    const std::size_t n = 37;
    const test::Reference ref = test::reference(m, n, 99);
    write_file_atomic((dir / "x.bin").string(),
                      std::string_view(reinterpret_cast<const char*>(ref.x.data()), ref.x.size() * sizeof(float)));
    const auto [status, output] = run(shell_quoted(dir / "program") + " " + std::to_string(n) + " " +
                                      shell_quoted(dir / "x.bin") + " " + shell_quoted(dir / "y.bin"));
    REQUIRE_MESSAGE(status == 0, output);
    const std::string y = read_file((dir / "y.bin").string());
    REQUIRE(y.size() == ref.y.size() * sizeof(float));
    for (std::size_t i = 0; i < ref.y.size(); ++i) {
      float got;
      std::memcpy(&got, y.data() + i * sizeof(float), sizeof got);
      CHECK_MESSAGE(ir::same_float(got, ref.y[i]), "element ", i);
    }
  }
}

TEST_CASE("the header is valid C99 as well as C++") {
  const fs::path dir = work_dir("c_header");
  ir::Module m = ir::read_module(kIrisModel);
  m.input_names[1] = "quote\" backslash\\ tab\t é";
  write_file_atomic((dir / "iris.h").string(), emit_artifact(m, EmitKind::Header, named("iris")).data);
  write_file_atomic((dir / "use.c").string(),
                    "#include \"iris.h\"\nint main(void) { return IRIS_N_IN == 4 && IRIS_N_OUT == 3 && "
                    "iris_output_names[3] == 0 ? 0 : 1; }\n");
  const auto [status, log] = run("cc -std=c99 -Wall -Wextra -Werror -pedantic -c -o " + shell_quoted(dir / "use.o") + " " +
                                 shell_quoted(dir / "use.c"));
  CHECK_MESSAGE(status == 0, log);
}

TEST_CASE("a shared object loads with dlopen and equals the interpreter") {
  const ir::Module m = ir::read_module(kIrisModel);
  const fs::path dir = work_dir("shared_object");
  write_file_atomic((dir / "libiris.so").string(), emit_artifact(m, EmitKind::SharedObject, named("iris")).data);
  void* lib = dlopen((dir / "libiris.so").c_str(), RTLD_NOW | RTLD_LOCAL);
  REQUIRE_MESSAGE(lib != nullptr, dlerror());
  auto kernel = reinterpret_cast<codegen::KernelFn>(dlsym(lib, "iris"));
  REQUIRE(static_cast<bool>(kernel));
  const test::Reference ref = test::reference(m, 300, 5);
  for (int64_t n : {1, 3, 7, 8, 9, 64, 300}) CHECK(test::check_batch(m, kernel, ref, n, 3, 1) == "");
  dlclose(lib);
}

TEST_CASE("other targets: the vector width follows the CPU, foreign triples emit") {
  const ir::Module m = ir::read_module(kIrisModel);
  codegen::CodegenOptions o;
  o.cpu = "skylake-avx512";
  CHECK(emit_artifact(m, EmitKind::Asm, o).data.find("zmm") != std::string::npos);
  o.cpu = "haswell";
  const std::string avx2 = emit_artifact(m, EmitKind::Asm, o).data;
  CHECK(avx2.find("ymm") != std::string::npos);
  CHECK(avx2.find("zmm") == std::string::npos);
  CHECK(avx2.find("vfmadd") == std::string::npos);  // no contraction without --fast-math
  o.cpu = "x86-64";
  CHECK(emit_artifact(m, EmitKind::Asm, o).data.find("ymm") == std::string::npos);
  const fs::path dir = work_dir("baseline");
  write_file_atomic((dir / "k.o").string(), emit_artifact(m, EmitKind::Object, o).data);
  CHECK(run("nm -u " + shell_quoted(dir / "k.o")).second == "");  // floor expanded, no floorf
  codegen::CodegenOptions arm;
  arm.triple = "aarch64-linux-gnu";
  const std::string a64 = emit_artifact(m, EmitKind::Asm, arm).data;
  CHECK(a64.find("fmul\tv") != std::string::npos);
  CHECK(emit_artifact(m, EmitKind::Object, arm).data.substr(1, 3) == "ELF");
  const std::string ll = emit_artifact(m, EmitKind::Llvm, arm).data;
  CHECK(ll.find("target triple = \"aarch64") != std::string::npos);
  CHECK(ll.find("<4 x float>") != std::string::npos);
  CHECK(emit_artifact(test::transcendental_module(47), EmitKind::Llvm, arm).data.find("preserve_allcc") ==
        std::string::npos);
  CHECK(emit_artifact(test::transcendental_module(48), EmitKind::Llvm, arm).data.find("preserve_allcc") !=
        std::string::npos);
  arm.triple = "banana-unknown-linux";
  CHECK_THROWS_AS(emit_artifact(m, EmitKind::Object, arm), Error);
}

TEST_CASE("evoc compile writes every stage and reports its phases") {
  const fs::path dir = work_dir("cli");
  const std::string evoc = shell_quoted(EVOC_EXE) + " compile " + shell_quoted(kIrisModel) + " --name iris ";
  for (const char* emit : {"llvm", "asm", "obj", "header", "so"}) {
    const auto [status, log] = run(evoc + "--emit=" + emit + " -o " + shell_quoted(dir / (std::string("iris.") + emit)));
    CHECK_MESSAGE(status == 0, log);
    CHECK(fs::file_size(dir / (std::string("iris.") + emit)) > 0);
  }
  const auto [status, log] = run(evoc + "--emit=obj -o " + shell_quoted(dir / "timed.o") + " -O3 --time-passes");
  CHECK(status == 0);
  CHECK(log.find("machine code") != std::string::npos);
  CHECK(log.find("Pass execution timing report") != std::string::npos);
  CHECK(run(evoc + "--emit=obj").first != 0);  // a binary format needs -o
  CHECK(run(evoc + "--emit=obj -o " + shell_quoted(dir / "x.o") + " --name '1nvalid'").first != 0);
  CHECK(run(evoc + "--emit=asm --mcpu=no-such-cpu").second.find("unknown CPU 'no-such-cpu'") != std::string::npos);
}

TEST_CASE("embed_service: built with evoc_add_kernel, links nothing of evoc, predicts like the interpreter") {
  const fs::path dir = work_dir("embed_service");
  const std::string configure = std::string(CMAKE_EXE) + " -S " + shell_quoted(fs::path(EVOC_SOURCE_DIR) / "examples/embed_service") +
                                " -B " + shell_quoted(dir) + " -DEVOC_EXECUTABLE=" + shell_quoted(EVOC_EXE) +
                                " -DCMAKE_BUILD_TYPE=Release";
  const auto [configured, configure_log] = run(configure);
  REQUIRE_MESSAGE(configured == 0, configure_log);
  const auto [built, build_log] = run(std::string(CMAKE_EXE) + " --build " + shell_quoted(dir));
  REQUIRE_MESSAGE(built == 0, build_log);

  const auto [linked, libraries] = run("ldd " + shell_quoted(dir / "embed_service"));
  REQUIRE(linked == 0);
  for (std::string forbidden : {"LLVM", "evoc", "torch", "c10"})
    CHECK_MESSAGE(libraries.find(forbidden) == std::string::npos, forbidden, " in\n", libraries);

  const auto [status, output] = run(shell_quoted(dir / "embed_service") + " " + shell_quoted(kIrisRows));
  REQUIRE_MESSAGE(status == 0, output);
  const ir::Module m = ir::read_module(kIrisModel);
  std::istringstream lines(output), rows(read_file(kIrisRows));
  std::string line, row;
  std::getline(lines, line);
  CHECK(line == "prediction,setosa,versicolor,virginica");
  std::getline(rows, row);
  int checked = 0;
  while (std::getline(rows, row) && std::getline(lines, line)) {
    std::vector<float> x;
    std::istringstream cells(row);
    for (std::string cell; std::getline(cells, cell, ',');) x.push_back(std::strtof(cell.c_str(), nullptr));
    const std::vector<float> want = ir::interpret_row(m, x);
    std::istringstream got(line.substr(line.find(',') + 1));
    for (float w : want) {
      std::string cell;
      std::getline(got, cell, ',');
      CHECK_MESSAGE(ir::same_float(std::strtof(cell.c_str(), nullptr), w), row, " -> ", line);
    }
    ++checked;
  }
  CHECK(checked == 10);
}

}  // namespace
}  // namespace evoc

TEST_CASE("CC is split into words as a shell splits them") {
  using evoc::split_command;
  CHECK(split_command("cc") == std::vector<std::string>{"cc"});
  CHECK(split_command("  ccache   gcc ") == std::vector<std::string>{"ccache", "gcc"});
  CHECK(split_command("gcc -m64 'a b' \"c \\\"d\\\"\" e\\ f") ==
        std::vector<std::string>{"gcc", "-m64", "a b", "c \"d\"", "e f"});
  CHECK(split_command("").empty());
  CHECK_THROWS_WITH_AS(split_command("gcc 'x"), doctest::Contains("unterminated quote"), evoc::Error);
}
