// The kernel cache: a second compile is a hit that runs no compiler; keys separate options;
// the environment variable; corrupt entries are rebuilt; several processes compiling the same
// model into one cache at once all succeed and leave one entry.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/random_module.h"
#include "runtime/kernel.h"
#include "runtime/kernel_cache.h"
#include "tests/runtime/test_util.h"

extern char** environ;

namespace evoc {
namespace {

ir::Module model(uint64_t seed = 11) {
  ir::RandomModuleOptions shape;
  shape.n_values = 200;
  return ir::random_module(seed, shape);
}

KernelOptions cached(const std::string& dir) {
  KernelOptions options;
  options.cache_dir = dir;
  options.threads = 1;
  return options;
}

std::vector<std::string> entries(const test::TempDir& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST_CASE("a second compile of the same model is a cache hit") {
  test::TempDir dir;
  const ir::Module m = model();
  const Kernel first = Kernel::compile(m, cached(dir.str()));
  CHECK(first.info().source == KernelSource::CacheMiss);
  CHECK(first.info().compile_times.total_ms() > 0);
  CHECK(std::filesystem::exists(first.info().path));

  const Kernel second = Kernel::compile(m, cached(dir.str()));
  CHECK(second.info().source == KernelSource::CacheHit);
  CHECK(second.info().path == first.info().path);
  CHECK(second.info().compile_times.total_ms() == 0);
  MESSAGE("cache miss: compile ", first.info().compile_times.total_ms(), " ms; cache hit: load ",
          second.info().load_ms, " ms");

  const std::vector<float> x = ir::random_rows(2, 500, m.n_in());
  CHECK(test::first_difference(second.run(x), test::interpret_rows(m, x, 500)) == -1);
  CHECK(entries(dir).size() == 1);

  KernelOptions other = cached(dir.str());
  other.codegen.opt_level = 1;
  const Kernel third = Kernel::compile(m, other);
  CHECK(third.info().source == KernelSource::CacheMiss);
  CHECK(third.info().path != first.info().path);
  CHECK(Kernel::compile(model(12), cached(dir.str())).info().source == KernelSource::CacheMiss);
  CHECK(entries(dir).size() == 3);
}

TEST_CASE("the cache directory defaults to EVOC_CACHE_DIR; use_cache turns it off") {
  test::TempDir dir;
  REQUIRE(setenv(kCacheDirVariable, dir.str().c_str(), 1) == 0);
  KernelOptions options;
  options.threads = 1;
  const Kernel k = Kernel::compile(model(), options);
  CHECK(k.info().source == KernelSource::CacheMiss);
  CHECK(std::filesystem::path(k.info().path).parent_path() == dir.path());
  options.use_cache = false;
  CHECK(Kernel::compile(model(), options).info().source == KernelSource::Jit);
  unsetenv(kCacheDirVariable);
  CHECK(resolve_cache_dir("") == "");
}

TEST_CASE("a corrupt cache entry is rebuilt") {
  test::TempDir dir;
  const ir::Module m = model();
  const std::string path = KernelCache(dir.str()).entry_path(m, {});
  write_file_atomic(path, "not a shared object");
  const Kernel k = Kernel::compile(m, cached(dir.str()));
  CHECK(k.info().source == KernelSource::CacheMiss);
  CHECK(Kernel::compile(m, cached(dir.str())).info().source == KernelSource::CacheHit);
}

TEST_CASE("an unusable cache directory is a clear error") {
  test::TempDir dir;
  const std::string file = (dir.path() / "file").string();
  write_file_atomic(file, "x");
  CHECK_THROWS_WITH_AS(Kernel::compile(model(), cached(file)), doctest::Contains("kernel cache directory"),
                       Error);
}

/// Starts `program args...` with its standard output in `out_path`; returns its pid.
pid_t spawn(const std::vector<std::string>& args, const std::string& out_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int error = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(error == 0);
  return pid;
}

TEST_CASE("processes compiling the same model into one cache at once all succeed") {
  test::TempDir dir, logs;
  constexpr int kProcesses = 4;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p)
    children.push_back(
        spawn({EVOC_CACHE_CHILD, dir.str(), "21"}, (logs.path() / std::to_string(p)).string()));
  int misses = 0;
  for (int p = 0; p < kProcesses; ++p) {
    int status = 0;
    REQUIRE(waitpid(children[p], &status, 0) == children[p]);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    const std::string source = read_file((logs.path() / std::to_string(p)).string());
    CHECK((source == "cache miss\n" || source == "cache hit\n"));
    misses += source == "cache miss\n";
  }
  CHECK(misses >= 1);
  CHECK(entries(dir).size() == 1);  // one entry, no temporary files left behind
  CHECK(Kernel::compile(model(21), cached(dir.str())).info().source == KernelSource::CacheHit);
}

}  // namespace
}  // namespace evoc
