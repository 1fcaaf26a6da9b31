// The rows of docs/bad-inputs.md on the kernel cache, on loading libraries and on NaN outputs.
// Through the C API: a cache entry that this cache did not write (truncated, patched, loosely permitted,
// another user's) is never loaded but compiled again and replaced, and the kernel's outputs are
// the interpreter's; an unusable cache directory means compiling in memory; a library is
// checked against its model, and a bare library name is a file, never a search. Through the
// command line: a NaN output prints `nan` whatever its sign, on every engine.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "codegen/aot.h"
#include "ir/file_util.h"
#include "ir/interpreter.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/random_module.h"
#include "cli_runner.h"
#include "runtime/evoc.h"
#include "tests/runtime/elf_symbol.h"

/// The ids of the rows below (the table test of test_bad_inputs.cpp checks them against the doc).
extern const std::set<std::string> kKernelRowIds;
const std::set<std::string> kKernelRowIds = {
    "cache-truncated-entry", "cache-patched-entry", "cache-loose-permissions", "cache-foreign-owner",
    "cache-unwritable-dir",  "library-other-model", "library-bare-name",   "nan-sign"};

namespace {

const std::string kModelPath = std::string(EVOC_TESTS_DIR) + "/ir/golden/02_binary.evir";

/// Compiles the model through the C API with the cache in `dir`, checks its outputs against the
/// interpreter; returns the status.
int compile_and_check(const std::string& dir) {
  const evoc::ir::Module m = evoc::ir::read_module(kModelPath);
  evoc_options* o = nullptr;
  REQUIRE(evoc_options_create(&o) == EVOC_OK);
  REQUIRE(evoc_options_set_cache_dir(o, dir.c_str()) == EVOC_OK);
  REQUIRE(evoc_options_set_threads(o, 1) == EVOC_OK);
  evoc_kernel* k = nullptr;
  const int status = evoc_kernel_from_file(kModelPath.c_str(), o, &k);
  evoc_options_free(o);
  if (status != EVOC_OK) return status;
  const std::vector<float> x = {1.5f, -2.0f, 0.25f, 3.0f, -0.0f, 7.0f};
  std::vector<float> y(3 * m.n_out()), expected(3 * m.n_out());
  CHECK(evoc_kernel_predict(k, x.data(), x.size(), y.data(), y.size()) == EVOC_OK);
  evoc::ir::interpret(m, x.data(), 3, m.n_in(), expected.data(), m.n_out());
  for (std::size_t i = 0; i < y.size(); ++i) CHECK(evoc::ir::same_float(y[i], expected[i]));
  evoc_kernel_free(k);
  return status;
}

/// The only entry of cache directory `dir`.
std::string only_entry(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().string());
  REQUIRE(names.size() == 1);
  return names[0];
}

/// Fills a cache, spoils its entry with `spoil`, and checks that the next kernel is right and the
/// entry was written again.
void check_spoiled_entry(const std::function<void(const std::string&, const std::string&)>& spoil) {
  evoc::TempDir dir("evoc-bad-cache");
  REQUIRE(compile_and_check(dir.str()) == EVOC_OK);
  const std::string entry = only_entry(dir.str());
  const std::string good = evoc::read_file(entry);
  spoil(entry, good);
  CHECK(compile_and_check(dir.str()) == EVOC_OK);
  CHECK(only_entry(dir.str()) == entry);
  CHECK(evoc::read_file(entry) == good);
  struct stat st {};
  REQUIRE(::stat(entry.c_str(), &st) == 0);
  CHECK((st.st_mode & 022) == 0);
  CHECK(st.st_uid == ::geteuid());
}

}  // namespace

TEST_CASE("bad kernel cache entries and libraries: never executed, rebuilt or refused") {
  std::set<std::string> ran;
  auto row = [&](const char* id) {
    ran.insert(id);
    return std::string(id);
  };
  {
    const std::string id = row("cache-truncated-entry");
    CAPTURE(id);
    check_spoiled_entry([](const std::string& entry, const std::string&) {
      REQUIRE(::truncate(entry.c_str(), 4096) == 0);
    });
  }
  {
    const std::string id = row("cache-patched-entry");
    CAPTURE(id);
    check_spoiled_entry([](const std::string& entry, const std::string& good) {
      const long at = evoc::test::symbol_file_offset(good, "evoc_binary");
      REQUIRE(at > 0);
      std::string patched = good;
      patched[static_cast<std::size_t>(at)] = '\xC3';  // ret: the kernel would return at once
      evoc::write_file_atomic(entry, patched);
    });
  }
  {
    const std::string id = row("cache-loose-permissions");
    CAPTURE(id);
    check_spoiled_entry([](const std::string& entry, const std::string&) { REQUIRE(::chmod(entry.c_str(), 0666) == 0); });
  }
  {
    const std::string id = row("cache-foreign-owner");
    CAPTURE(id);
    if (::geteuid() == 0)
      check_spoiled_entry([](const std::string& entry, const std::string&) {
        REQUIRE(::chown(entry.c_str(), 12345, 12345) == 0);
      });
    else
      MESSAGE(id << ": skipped (changing a file's owner needs root)");
  }
  {
    const std::string id = row("cache-unwritable-dir");
    CAPTURE(id);
    evoc::TempDir dir("evoc-bad-cache");
    const std::string file = dir.file("a_file");
    evoc::write_file_atomic(file, "x");
    CHECK(compile_and_check(file + "/cache") == EVOC_OK);
    CHECK(evoc::read_file(file) == "x");
  }
  // Libraries: 02_binary.evir built with --emit=so, loaded with another model of the same name.
  evoc::TempDir dir("evoc-bad-library");
  const evoc::ir::Module m = evoc::ir::read_module(kModelPath);
  evoc::write_file_atomic(dir.file("binary.so"),
                          evoc::codegen::emit_artifact(m, evoc::codegen::EmitKind::SharedObject).data);
  evoc::ir::Module other = m;
  other.outputs.resize(1);
  other.output_names.resize(1);
  evoc::write_file_atomic(dir.file("other.evir"), evoc::ir::print_module(other));
  evoc_kernel* k = nullptr;
  {
    const std::string id = row("library-other-model");
    CAPTURE(id);
    CHECK(evoc_kernel_load_library(dir.file("binary.so").c_str(), dir.file("other.evir").c_str(), nullptr, &k) ==
          EVOC_ERROR_FAILED);
    CHECK(std::string(evoc_last_error()).find("built from another model") != std::string::npos);
    CHECK(k == nullptr);
  }
  {
    const std::string id = row("library-bare-name");
    CAPTURE(id);
    // libm is on the library path, but "libm.so.6" names a file of the working directory.
    CHECK(evoc_kernel_load_library("libm.so.6", kModelPath.c_str(), nullptr, &k) == EVOC_ERROR_FAILED);
    CHECK(std::string(evoc_last_error()).find("./libm.so.6") != std::string::npos);
    CHECK(k == nullptr);
  }
  {
    // NaN sign and payload are unspecified (README): -nan from neg(nan) prints as nan.
    const std::string id = row("nan-sign");
    CAPTURE(id);
    evoc::write_file_atomic(dir.file("nan.evir"),
                            "evir 1\nmodule \"n\" inputs 1 outputs 2\ninput %0 \"a\"\n%1 = neg %0\n"
                            "output %0 \"y\"\noutput %1 \"z\"\n");
    evoc::write_file_atomic(dir.file("nan.csv"), "a\nnan\n-nan\n");
    for (const char* engine : {"interp", "jit"}) {
      CAPTURE(engine);
      const auto r = evoc::test::run_evoc("run " + dir.file("nan.evir") + " -i " + dir.file("nan.csv") +
                                          " --allow-nan --engine " + engine + " -o -");
      CHECK(r.status == 0);
      CHECK(r.out == "y,z\nnan,nan\nnan,nan\n");
    }
  }
  CHECK(ran == kKernelRowIds);
}
