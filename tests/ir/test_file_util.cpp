// Atomic writes and temporary directories: what a killed writer leaves behind is removed by the
// next one, and only that.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <iterator>
#include <string>

#include "ir/error.h"
#include "ir/file_util.h"

namespace fs = std::filesystem;
using evoc::TempDir;

namespace {

/// The pid of a process that has exited and been reaped.
pid_t dead_pid() {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) _exit(0);
  int status = 0;
  waitpid(pid, &status, 0);
  return pid;
}

void touch(const fs::path& p) { evoc::write_file_atomic(p.string(), "partial"); }

}  // namespace

TEST_CASE("write_file_atomic writes, replaces, and leaves no temporary file") {
  TempDir dir("evoc-test-atomic");
  const std::string out = dir.file("model.evir");
  evoc::write_file_atomic(out, "first");
  evoc::write_file_atomic(out, "second");
  CHECK(evoc::read_file(out) == "second");
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);
}

TEST_CASE("write_file_atomic fails cleanly on an unwritable path") {
  TempDir dir("evoc-test-atomic");
  CHECK_THROWS_AS(evoc::write_file_atomic(dir.file("missing/sub/out.evir"), "x"), evoc::Error);
  CHECK_THROWS_WITH(evoc::write_file_atomic(dir.str(), "x"), doctest::Contains("cannot write"));
}

TEST_CASE("write_file_atomic removes the temporaries of dead writers of the same path, and only those") {
  TempDir dir("evoc-test-atomic");
  const pid_t dead = dead_pid();
  const fs::path stale = dir.path() / (".model.evir.tmp" + std::to_string(dead) + ".12345");
  const fs::path alive = dir.path() / ".model.evir.tmp1.777";  // pid 1 is always alive
  const fs::path other = dir.path() / (".other.evir.tmp" + std::to_string(dead) + ".1");
  const fs::path mine = dir.path() / (".model.evir.tmp" + std::to_string(getpid()) + ".5");
  const fs::path odd = dir.path() / ".model.evir.tmpabc.1";
  for (const auto& p : {stale, alive, other, mine, odd}) touch(p);
  evoc::write_file_atomic(dir.file("model.evir"), "complete");
  CHECK_FALSE(fs::exists(stale));
  CHECK(fs::exists(alive));
  CHECK(fs::exists(other));  // another output's temporary: left to its own next writer
  CHECK(fs::exists(mine));   // this process's own: it may still be writing it
  CHECK(fs::exists(odd));
  CHECK(evoc::read_file(dir.file("model.evir")) == "complete");
}

TEST_CASE("TempDir removes directories of its prefix left by dead processes") {
  const fs::path base = fs::temp_directory_path();
  const std::string prefix = "evoc-test-sweep";
  const fs::path stale = base / (prefix + "-" + std::to_string(dead_pid()) + "-abcdef");
  const fs::path alive = base / (prefix + "-1-abcdef");
  fs::create_directories(stale / "sub");
  touch(stale / "sub" / "k.o");
  fs::create_directories(alive);
  {
    TempDir fresh(prefix);
    CHECK(fs::is_directory(fresh.path()));
    CHECK(fresh.path().filename().string().starts_with(prefix + "-" + std::to_string(getpid()) + "-"));
    CHECK_FALSE(fs::exists(stale));
    CHECK(fs::exists(alive));
  }
  fs::remove_all(alive);
}

TEST_CASE("read_file: files whose size says nothing, and devices without an end") {
  // /proc files report size 0: read to their end all the same.
  CHECK(evoc::read_file("/proc/self/status").find("Pid:") != std::string::npos);
  CHECK_THROWS_WITH(evoc::read_file("/dev/zero"),
                    "/dev/zero: cannot read: not a text file (a NUL byte at offset 0, read from a device or pipe)");
  CHECK(evoc::read_file("/dev/null").empty());
}

TEST_CASE("write_file_atomic: symbolic links are followed, devices written into, directories refused") {
  TempDir dir("evoc-test-atomic");
  evoc::write_file_atomic(dir.file("target"), "old");
  fs::create_symlink("target", dir.path() / "link");
  fs::create_symlink("link", dir.path() / "link2");  // a chain of links
  evoc::write_file_atomic(dir.file("link2"), "new");
  CHECK(fs::is_symlink(fs::symlink_status(dir.path() / "link")));
  CHECK(fs::is_symlink(fs::symlink_status(dir.path() / "link2")));
  CHECK(evoc::read_file(dir.file("target")) == "new");
  evoc::write_file_atomic("/dev/null", "into the device");
  CHECK(fs::is_character_file(fs::symlink_status("/dev/null")));
  CHECK_THROWS_WITH(evoc::write_file_atomic("/dev/full", "x"), "/dev/full: cannot write: No space left on device");
  CHECK_THROWS_WITH(evoc::write_file_atomic(dir.str(), "x"), doctest::Contains("cannot write: Is a directory"));
  CHECK_THROWS_WITH(evoc::check_output_writable(dir.file("missing/out")),
                    doctest::Contains("cannot write: No such file or directory"));
  CHECK_NOTHROW(evoc::check_output_writable(dir.file("link2")));
  CHECK_NOTHROW(evoc::check_output_writable("/dev/null"));
  CHECK_THROWS_WITH(evoc::check_output_writable(dir.str()), doctest::Contains("cannot write: Is a directory"));
}
