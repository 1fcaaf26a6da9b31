// The kernel cache: a second compile is a hit that runs no compiler; keys separate options;
// the environment variable; corrupt, truncated, patched, foreign and loosely permitted entries
// are never loaded but rebuilt; an unusable cache directory means compiling in memory; several
// processes compiling the same model into one cache at once all succeed and leave one entry.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>

#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/random_module.h"
#include "runtime/kernel.h"
#include "runtime/kernel_cache.h"
#include "runtime/sha256.h"
#include "tests/runtime/elf_symbol.h"
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

std::vector<std::string> entries_of(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> entries(const test::TempDir& dir) { return entries_of(dir.str()); }

TEST_CASE("SHA-256 gives the FIPS 180-4 test vectors, whole or in pieces") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK(sha256_hex(two_blocks) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million(1000000, 'a');
  CHECK(sha256_hex(million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  Sha256 pieces;
  for (std::size_t at = 0; at < million.size(); at += 997) pieces.update(std::string_view(million).substr(at, 997));
  const auto digest = pieces.digest();
  CHECK(digest[0] == 0xcd);
  CHECK(digest[31] == 0xd0);
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

TEST_CASE("the cache key carries the code generator's revision, a hash derived from its sources") {
  const std::string_view revision = codegen::codegen_revision();
  CHECK(revision.size() == 16);
  CHECK(revision.find_first_not_of("0123456789abcdef") == std::string_view::npos);
  const std::string key = cache_key(model(), codegen::CodegenOptions{});
  CHECK(key.find("codegen " + std::string(revision) + "\n") != std::string::npos);
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

/// Compiles `m` with the cache in `dir`: a cache miss (the entry was rebuilt) whose outputs are
/// the interpreter's, after which the entry is a hit.
void check_rebuilt(const ir::Module& m, const std::string& dir) {
  const Kernel k = Kernel::compile(m, cached(dir));
  CHECK(k.info().source == KernelSource::CacheMiss);
  const std::vector<float> x = ir::random_rows(3, 300, m.n_in());
  CHECK(test::first_difference(k.run(x), test::interpret_rows(m, x, 300)) == -1);
  CHECK(Kernel::compile(m, cached(dir)).info().source == KernelSource::CacheHit);
}

TEST_CASE("a truncated, patched or loosely permitted entry is never loaded: it is rebuilt") {
  test::TempDir dir;
  const ir::Module m = model(31);
  const std::string path = Kernel::compile(m, cached(dir.str())).info().path;
  const std::string good = read_file(path);
  REQUIRE(good.size() > 12288);

  SUBCASE("truncated to a page, to three pages, to nothing") {
    for (std::size_t size : {std::size_t{4096}, std::size_t{12288}, std::size_t{0}}) {
      CAPTURE(size);
      REQUIRE(::truncate(path.c_str(), static_cast<off_t>(size)) == 0);
      check_rebuilt(m, dir.str());
      CHECK(read_file(path) == good);
    }
  }
  SUBCASE("a return (0xC3) or a trap (0xCC) patched at the kernel's entry") {
    const long at = test::symbol_file_offset(good, codegen::kernel_symbol(m, {}));
    REQUIRE(at > 0);
    for (char byte : {'\xC3', '\xCC'}) {
      std::string patched = good;
      patched[static_cast<std::size_t>(at)] = byte;
      write_file_atomic(path, patched);
      check_rebuilt(m, dir.str());
      CHECK(read_file(path) == good);
    }
  }
  SUBCASE("writable by its group or by others") {
    for (mode_t mode : {0664, 0646, 0666}) {
      CAPTURE(mode);
      REQUIRE(::chmod(path.c_str(), mode) == 0);
      check_rebuilt(m, dir.str());
      struct stat st {};
      REQUIRE(::stat(path.c_str(), &st) == 0);
      CHECK((st.st_mode & 022) == 0);
    }
  }
  SUBCASE("owned by another user") {
    if (::geteuid() != 0) {
      MESSAGE("skipped: changing a file's owner needs root");
      return;
    }
    REQUIRE(::chown(path.c_str(), 12345, 12345) == 0);
    check_rebuilt(m, dir.str());
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK(st.st_uid == 0);
  }
  SUBCASE("a symbolic link: replaced by an entry, its target untouched") {
    const std::string target = (dir.path() / "target").string();
    write_file_atomic(target, good);
    REQUIRE(::unlink(path.c_str()) == 0);
    REQUIRE(::symlink(target.c_str(), path.c_str()) == 0);
    check_rebuilt(m, dir.str());
    CHECK(!std::filesystem::is_symlink(path));
    CHECK(read_file(target) == good);
  }
  SUBCASE("the entry of another model copied over it") {
    const std::string other = Kernel::compile(model(32), cached(dir.str())).info().path;
    write_file_atomic(path, read_file(other));
    check_rebuilt(m, dir.str());
  }
}

TEST_CASE("an unusable cache directory means compiling in memory") {
  test::TempDir dir;
  const std::string file = (dir.path() / "file").string();
  write_file_atomic(file, "x");
  const ir::Module m = model();
  const std::vector<float> x = ir::random_rows(4, 100, m.n_in());
  for (const std::string& cache : {file, file + "/sub"}) {
    CAPTURE(cache);
    const Kernel k = Kernel::compile(m, cached(cache));
    CHECK(k.info().source == KernelSource::Jit);
    CHECK(test::first_difference(k.run(x), test::interpret_rows(m, x, 100)) == -1);
  }
  // An entry that cannot be written (here a directory stands in its place, as a full disk would
  // fail the write): the compiled kernel runs all the same.
  const std::string blocked = (dir.path() / "blocked").string();
  const std::string entry = KernelCache(blocked).entry_path(m, {});
  std::filesystem::create_directories(entry + "/sub");
  const Kernel unstored = Kernel::compile(m, cached(blocked));
  CHECK(unstored.info().source == KernelSource::CacheMiss);
  CHECK(test::first_difference(unstored.run(x), test::interpret_rows(m, x, 100)) == -1);
  CHECK(std::filesystem::is_directory(entry));
  if (::geteuid() == 0) {
    MESSAGE("skipped the read-only directory: root writes to it");
    return;
  }
  // A read-only directory still serves its hits; what it lacks is compiled and not stored.
  const std::string read_only = (dir.path() / "read_only").string();
  const std::string entry_file = Kernel::compile(m, cached(read_only)).info().path;
  std::filesystem::permissions(read_only, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  CHECK(Kernel::compile(m, cached(read_only)).info().source == KernelSource::CacheHit);
  const ir::Module other = model(41);
  const Kernel k = Kernel::compile(other, cached(read_only));
  CHECK(k.info().source == KernelSource::CacheMiss);
  const std::vector<float> x2 = ir::random_rows(4, 100, other.n_in());
  CHECK(test::first_difference(k.run(x2), test::interpret_rows(other, x2, 100)) == -1);
  CHECK(entries_of(read_only) == std::vector<std::string>{std::filesystem::path(entry_file).filename().string()});
  std::filesystem::permissions(read_only, std::filesystem::perms::owner_all);
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
