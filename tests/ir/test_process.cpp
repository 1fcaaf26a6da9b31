// The one way evoc runs another program (ir/process.h) and its one hash (ir/hash.h).
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/hash.h"
#include "ir/process.h"

using namespace evoc;

TEST_CASE("run_process: exit status, output through the pipe, arguments passed as words") {
  TempDir dir("evoc-test-process");
  // A path with a space and a quote is one argument: no shell splits or interprets it.
  const std::string odd = dir.file("it's a file");
  write_file_atomic(odd, "content\n");
  ProcessResult r = run_process({"cat", odd});
  CHECK(r.status == 0);
  CHECK(r.output == "content\n");
  r = run_process({"sh", "-c", "echo to-stderr >&2; exit 3"});
  CHECK(r.status == 3);
  CHECK(r.output == "to-stderr\n");
  CHECK(run_process({"sh", "-c", "kill -9 $$"}).status == 128 + 9);
  CHECK_THROWS_WITH_AS(run_process({"/nonexistent/evoc-no-such-program"}),
                       doctest::Contains("cannot run '/nonexistent/evoc-no-such-program'"), Error);
  CHECK_THROWS_AS(run_process({}), Error);
}

TEST_CASE("c_compiler splits CC into words, as make and CMake do") {
  ::setenv("CC", "ccache gcc -m64", 1);
  CHECK(c_compiler() == std::vector<std::string>{"ccache", "gcc", "-m64"});
  ::setenv("CC", "  ", 1);
  CHECK(c_compiler() == std::vector<std::string>{"cc"});
  ::unsetenv("CC");
  CHECK(c_compiler() == std::vector<std::string>{"cc"});
}

TEST_CASE("command_line quotes words with spaces and quotes") {
  CHECK(command_line({"cc", "-O3", "-o", "a b.so"}) == "cc -O3 -o 'a b.so'");
  CHECK(command_line({"x", "it's"}) == "x 'it'\\''s'");
}

TEST_CASE("fnv1a: the standard FNV-1a 64 values, seeds and word steps") {
  // Published test vectors of FNV-1a 64.
  CHECK(fnv1a("") == 0xcbf29ce484222325ull);
  CHECK(fnv1a("a") == 0xaf63dc4c8601ec8cull);
  CHECK(fnv1a("foobar") == 0x85944171f73967e8ull);
  CHECK(fnv1a("a", 1) != fnv1a("a"));
  CHECK(fnv1a_mix(kFnv1aOffsetBasis, 'a') == fnv1a("a"));
  static_assert(fnv1a("a") == 0xaf63dc4c8601ec8cull, "usable at compile time");
}
