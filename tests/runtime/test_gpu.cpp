// The GPU back end. Everywhere: PTX for every golden module and 200 random modules is well
// formed for sm_80 and sm_90 (assembled by ptxas when it is installed) and keeps IEEE semantics
// (no fused multiply-add, no flush-to-zero, no approximate instructions); without a CUDA driver
// the runtime says so. Where a GPU is present (scripts/gpu_check.sh): the GPU kernel equals the
// interpreter bit for bit (NaN where NaN) on the same modules, batches 1 .. 1M. The kernel
// cache holds PTX by architecture (no GPU needed): a second request is a hit with the same text,
// another architecture is another entry, a truncated, patched or swapped entry is recompiled and
// replaced, and a module's CPU and GPU entries live side by side.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <regex>

#include "codegen/aot.h"
#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/interpreter.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/random_module.h"
#include "runtime/evoc.h"
#include "runtime/gpu_kernel.h"
#include "runtime/kernel.h"
#include "runtime/kernel_cache.h"
#include "tests/runtime/test_util.h"

namespace evoc {
namespace {

namespace fs = std::filesystem;

std::vector<ir::Module> golden_modules() {
  std::vector<ir::Module> modules;
  std::vector<fs::path> paths;
  for (const char* dir : {"ir/golden", "passes/golden"})
    for (const auto& entry : fs::directory_iterator(fs::path(EVOC_TESTS_DIR) / dir))
      if (entry.path().extension() == ".evir") paths.push_back(entry.path());
  std::sort(paths.begin(), paths.end());
  for (const auto& p : paths) modules.push_back(ir::read_module(p.string()));
  return modules;
}

/// Random-module shapes cycling with the seed (as the JIT's differential test).
ir::Module random_case(uint64_t seed) {
  ir::RandomModuleOptions o;
  o.n_in = 1 + static_cast<uint32_t>(seed % 7);
  o.n_out = 1 + static_cast<uint32_t>(seed / 7 % 4);
  o.n_values = 6 + static_cast<uint32_t>(seed * 13 % 40);
  o.depth_bias = static_cast<float>(seed % 3) * 0.4f;
  return ir::random_module(seed, o);
}

std::vector<ir::Module> all_cases(std::size_t random_count) {
  std::vector<ir::Module> modules = golden_modules();
  for (uint64_t seed = 1; seed <= random_count; ++seed) modules.push_back(random_case(seed));
  return modules;
}

/// PTX text without its module header (.version, .target, .address_size), to append to another.
std::string without_header(const std::string& ptx) {
  std::string out;
  std::size_t at = 0;
  while (at < ptx.size()) {
    const std::size_t end = std::min(ptx.find('\n', at), ptx.size());
    const std::string_view line(ptx.data() + at, end - at);
    if (!line.starts_with(".version") && !line.starts_with(".target") && !line.starts_with(".address_size"))
      out.append(line).push_back('\n');
    at = end + 1;
  }
  return out;
}

TEST_CASE("PTX keeps IEEE semantics and assembles for sm_80 and sm_90") {
  const std::vector<ir::Module> modules = all_cases(200);
  const bool have_ptxas = !codegen::find_ptxas().empty();
  if (!have_ptxas) MESSAGE("ptxas not found: PTX checked as text only, not assembled");
  // Everything IEEE: fma only where written (never: the IR has no fused op), .rn on every
  // multiply, add and divide, no flush-to-zero, no approximations.
  // A plain mul.f32 / add.f32 / sub.f32 (without .rn) is one ptxas may fuse into an fma.
  const std::regex forbidden(
      R"(\bfma\.|\.ftz\b|\.approx\b|\bex2\.|\blg2\.|\b(mul|add|sub)\.f32\b)");
  for (const std::string arch : {"sm_80", "sm_90"}) {
    // One PTX file per module would run ptxas 400 times: the kernels go into one file each
    // arch, under distinct symbols, and ptxas checks them in one run.
    std::string combined;
    for (std::size_t i = 0; i < modules.size(); ++i) {
      codegen::CodegenOptions o;
      o.cpu = arch;
      o.symbol = "k" + std::to_string(i);
      const std::string ptx = codegen::emit_artifact(modules[i], codegen::EmitKind::Ptx, o).data;
      INFO("module ", i, " (", modules[i].name, ") for ", arch);
      CHECK(ptx.find(".target " + arch) != std::string::npos);
      CHECK(ptx.find(".entry k" + std::to_string(i)) != std::string::npos);
      CHECK_FALSE(std::regex_search(ptx, forbidden));
      combined += i == 0 ? ptx : without_header(ptx);
    }
    if (have_ptxas) {
      std::string cubin;
      CHECK_NOTHROW(cubin = codegen::assemble_ptx(combined, arch));
      CHECK(cubin.compare(0, 4, "\x7f" "ELF") == 0);
    }
  }
}

TEST_CASE("GPU architectures are checked") {
  const ir::Module m = golden_modules().front();
  codegen::CodegenOptions o;
  for (const char* bad : {"sm_9", "x86-64", "sm_", "sm_90b", "compute_90"}) {
    o.cpu = bad;
    CHECK_THROWS_WITH_AS(codegen::emit_artifact(m, codegen::EmitKind::Ptx, o), doctest::Contains("not a CUDA GPU architecture"),
                         Error);
  }
  o.cpu = "sm_90a";
  CHECK(codegen::emit_artifact(m, codegen::EmitKind::Ptx, o).data.find(".target sm_90a") != std::string::npos);
}

/// The files in `dir` whose names end in `suffix`.
std::vector<std::string> entries_ending(const std::string& dir, std::string_view suffix) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().ends_with(suffix)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

/// The PTX of `m` for `arch` straight from the back end, without the cache.
std::string fresh_ptx(const ir::Module& m, const std::string& arch, codegen::CodegenOptions o = {}) {
  o.cpu = arch;
  return codegen::emit_artifact(m, codegen::EmitKind::Ptx, o).data;
}

TEST_CASE("the kernel cache keeps GPU PTX by architecture") {
  test::TempDir dir;
  const ir::Module m = random_case(5);
  bool hit = true;
  const std::string sm90 = gpu_ptx(m, {}, "sm_90", dir.str(), &hit);
  CHECK_FALSE(hit);
  CHECK(sm90 == fresh_ptx(m, "sm_90"));
  const std::string path = KernelCache(dir.str()).entry_path_for_key(ptx_cache_key(m, {}, "sm_90"), ".ptx");
  CHECK(entries_ending(dir.str(), "") == std::vector<std::string>{fs::path(path).filename().string()});

  CHECK(gpu_ptx(m, {}, "sm_90", dir.str(), &hit) == sm90);
  CHECK(hit);

  // Another architecture is another entry; the first is still served.
  const std::string sm80 = gpu_ptx(m, {}, "sm_80", dir.str(), &hit);
  CHECK_FALSE(hit);
  CHECK(sm80 != sm90);
  CHECK(sm80.find(".target sm_80") != std::string::npos);
  CHECK(entries_ending(dir.str(), ".ptx").size() == 2);
  CHECK(gpu_ptx(m, {}, "sm_80", dir.str(), &hit) == sm80);
  CHECK(hit);
  CHECK(gpu_ptx(m, {}, "sm_90", dir.str(), &hit) == sm90);
  CHECK(hit);

  // Options that change the code (the symbol) and other modules are other entries.
  codegen::CodegenOptions named;
  named.symbol = "score";
  CHECK(gpu_ptx(m, named, "sm_90", dir.str(), &hit).find(".entry score") != std::string::npos);
  CHECK_FALSE(hit);
  gpu_ptx(random_case(6), {}, "sm_90", dir.str(), &hit);
  CHECK_FALSE(hit);
  CHECK(entries_ending(dir.str(), ".ptx").size() == 4);

  // No directory: no cache, the same text.
  CHECK(gpu_ptx(m, {}, "sm_90", "", &hit) == sm90);
  CHECK_FALSE(hit);
  // A bad architecture is refused before the cache is touched.
  CHECK_THROWS_WITH_AS(gpu_ptx(m, {}, "sm_9", dir.str()), doctest::Contains("not a CUDA GPU architecture"), Error);
  CHECK(entries_ending(dir.str(), "").size() == 4);

  if (!codegen::find_ptxas().empty()) {
    const std::string cubin = codegen::assemble_ptx(gpu_ptx(m, {}, "sm_90", dir.str(), &hit), "sm_90");
    CHECK(hit);
    CHECK(cubin.compare(0, 4, "\x7f" "ELF") == 0);
  } else {
    MESSAGE("ptxas not found: the cached PTX is not assembled");
  }
}

TEST_CASE("a truncated, patched or swapped PTX entry is recompiled and replaced, never used") {
  test::TempDir dir;
  const ir::Module m = random_case(9);
  bool hit = true;
  const std::string good = gpu_ptx(m, {}, "sm_90", dir.str(), &hit);
  const std::string path = KernelCache(dir.str()).entry_path_for_key(ptx_cache_key(m, {}, "sm_90"), ".ptx");
  const std::string entry = read_file(path);
  REQUIRE(entry.size() > good.size());
  CHECK(entry.starts_with(good));  // the PTX, then the trailer

  /// The entry at `path` now holds `bad`: the next request must not return it.
  auto check_replaced = [&](const std::string& bad, const char* what) {
    INFO(what);
    write_file_atomic(path, bad);
    REQUIRE(::chmod(path.c_str(), 0644) == 0);
    CHECK(gpu_ptx(m, {}, "sm_90", dir.str(), &hit) == good);
    CHECK_FALSE(hit);
    CHECK(read_file(path) == entry);
    CHECK(gpu_ptx(m, {}, "sm_90", dir.str(), &hit) == good);
    CHECK(hit);
  };
  check_replaced(entry.substr(0, entry.size() / 2), "truncated");
  check_replaced(entry.substr(0, entry.size() - 1), "last byte missing");
  std::string patched = entry;
  const std::size_t at = patched.find(".target sm_90");
  REQUIRE(at != std::string::npos);
  patched[at + 12] = '1';  // .target sm_91
  check_replaced(patched, "patched");
  // The sm_80 entry of the same module, in the sm_90 place: its trailer names another key.
  gpu_ptx(m, {}, "sm_80", dir.str());
  const std::string sm80_path = KernelCache(dir.str()).entry_path_for_key(ptx_cache_key(m, {}, "sm_80"), ".ptx");
  check_replaced(read_file(sm80_path), "another architecture's entry");
  // Writable by others.
  REQUIRE(::chmod(path.c_str(), 0666) == 0);
  CHECK(gpu_ptx(m, {}, "sm_90", dir.str(), &hit) == good);
  CHECK_FALSE(hit);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 022) == 0);
}

TEST_CASE("a module's CPU and GPU cache entries live side by side") {
  test::TempDir dir;
  const ir::Module m = random_case(12);
  CHECK(cache_key(m, {}) != ptx_cache_key(m, {}, "sm_90"));
  KernelOptions cpu;
  cpu.cache_dir = dir.str();
  cpu.threads = 1;
  CHECK(Kernel::compile(m, cpu).info().source == KernelSource::CacheMiss);
  bool hit = true;
  const std::string ptx = gpu_ptx(m, {}, "sm_90", dir.str(), &hit);
  CHECK_FALSE(hit);
  CHECK(entries_ending(dir.str(), ".so").size() == 1);
  CHECK(entries_ending(dir.str(), ".ptx").size() == 1);
  CHECK(entries_ending(dir.str(), "").size() == 2);
  const Kernel again = Kernel::compile(m, cpu);
  CHECK(again.info().source == KernelSource::CacheHit);
  const std::vector<float> x = ir::random_rows(4, 100, m.n_in());
  CHECK(test::first_difference(again.run(x), test::interpret_rows(m, x, 100)) == -1);
  CHECK(gpu_ptx(m, {}, "sm_90", dir.str(), &hit) == ptx);
  CHECK(hit);

  // Where there is no driver, Device::Gpu fails before compiling: nothing is added.
  if (!gpu_available()) {
    KernelOptions gpu = cpu;
    gpu.device = Device::Gpu;
    CHECK_THROWS_WITH_AS(Kernel::compile(random_case(13), gpu), doctest::Contains("CUDA"), Error);
    CHECK(entries_ending(dir.str(), "").size() == 2);
  }
}

TEST_CASE("Without a CUDA driver the GPU runtime gives a clear error") {
  std::string why;
  if (gpu_available(&why)) {
    MESSAGE("a GPU is present: the missing-driver path is not checked in this process");
    return;
  }
  CHECK((why.find("no CUDA driver") != std::string::npos || why.find("no CUDA device") != std::string::npos ||
         why.find("CUDA driver failed") != std::string::npos));
  const ir::Module m = golden_modules().front();
  CHECK_THROWS_WITH_AS(GpuKernel::compile(m), doctest::Contains("CUDA"), Error);
  KernelOptions options;
  options.device = Device::Gpu;
  CHECK_THROWS_WITH_AS(Kernel::compile(m, options), doctest::Contains("CUDA"), Error);
  // The C API: the device is an option; creating the kernel is what fails, with the reason.
  evoc_options* o = nullptr;
  REQUIRE(evoc_options_create(&o) == EVOC_OK);
  CHECK(evoc_options_set_device(o, 7, 0) == EVOC_ERROR_INVALID_ARGUMENT);
  CHECK(evoc_options_set_device(o, EVOC_DEVICE_GPU, -1) == EVOC_ERROR_INVALID_ARGUMENT);
  CHECK(evoc_options_set_device(o, EVOC_DEVICE_GPU, 0) == EVOC_OK);
  evoc_kernel* k = nullptr;
  const std::string path = std::string(EVOC_TESTS_DIR) + "/ir/golden/02_binary.evir";
  CHECK(evoc_kernel_from_file(path.c_str(), o, &k) == EVOC_ERROR_FAILED);
  CHECK(std::string(evoc_last_error()).find("CUDA") != std::string::npos);
  CHECK(k == nullptr);
  evoc_options_free(o);
}

TEST_CASE("GPU kernels equal the interpreter bit for bit (needs a GPU)") {
  std::string why;
  if (!gpu_available(&why)) {
    MESSAGE("skipped: ", why);
    return;
  }
  const char* count_env = std::getenv("EVOC_GPU_RANDOM_MODULES");
  const std::size_t count = count_env ? std::strtoul(count_env, nullptr, 10) : 200;
  const std::vector<ir::Module> modules = all_cases(count);
  std::size_t checked_rows = 0;
  for (std::size_t i = 0; i < modules.size(); ++i) {
    const ir::Module& m = modules[i];
    const GpuKernel k = GpuKernel::compile(m);
    ir::Interpreter interp(m);
    // Batches 1 .. 1M over the modules: every module gets small and odd batches, every 50th a
    // million rows, with padded strides on some.
    std::vector<int64_t> batches{1, 7, 1000};
    if (i % 50 == 0) batches.push_back(1000000);
    for (int64_t n : batches) {
      const int64_t x_stride = static_cast<int64_t>(m.n_in()) + (n % 3 == 1 ? 2 : 0);
      const int64_t y_stride = static_cast<int64_t>(m.n_out()) + (i % 2);
      const std::vector<float> x = ir::random_rows(i * 7919 + static_cast<uint64_t>(n), static_cast<std::size_t>(n),
                                                   static_cast<std::size_t>(x_stride));
      std::vector<float> want(static_cast<std::size_t>(n * y_stride), 0.0f), got(want.size(), 0.0f);
      interp.run(x.data(), n, x_stride, want.data(), y_stride);
      k.run(x.data(), n, x_stride, got.data(), y_stride);
      for (int64_t r = 0; r < n; ++r)
        for (int64_t o = 0; o < static_cast<int64_t>(m.n_out()); ++o) {
          const std::size_t at = static_cast<std::size_t>(r * y_stride + o);
          if (!ir::same_float(want[at], got[at]))
            FAIL("module ", i, " (", k.arch(), ") batch ", n, " row ", r, " output ", o, ": interpreter ", want[at],
                 ", GPU ", got[at], "\n", ir::print_module(m));
        }
      checked_rows += static_cast<std::size_t>(n);
    }
  }
  MESSAGE("GPU == interpreter on ", modules.size(), " modules, ", checked_rows, " rows");
  // evoc::Kernel with Device::Gpu gives the CPU kernel's outputs, raw and post-processed.
  for (std::size_t i = 0; i < 20; ++i) {
    const ir::Module& m = modules[modules.size() - 1 - i];
    KernelOptions gpu, cpu;
    gpu.device = Device::Gpu;
    cpu.use_cache = false;
    const std::vector<float> x = ir::random_rows(i, 5000, m.n_in());
    const std::vector<float> want = Kernel::compile(m, cpu).run(x), got = Kernel::compile(m, gpu).run(x);
    REQUIRE(want.size() == got.size());
    for (std::size_t j = 0; j < want.size(); ++j)
      if (!ir::same_float(want[j], got[j])) FAIL("evoc::Kernel on the GPU, module ", i, " value ", j);
  }
}

}  // namespace
}  // namespace evoc
