// The one way evoc runs another program (ir/process.h) and its one hash (ir/hash.h).
#include <doctest/doctest.h>

#include <string>

#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/hash.h"
#include "ir/process.h"

using namespace evoc;

TEST_CASE("run_process: exit status, output in the log, arguments passed as words") {
  TempDir dir("evoc-test-process");
  const std::string log = dir.file("out.log");
  // A path with a space and a quote is one argument: no shell splits or interprets it.
  const std::string odd = dir.file("it's a file");
  write_file_atomic(odd, "content\n");
  CHECK(run_process({"cat", odd}, log) == 0);
  CHECK(read_file(log) == "content\n");
  CHECK(run_process({"sh", "-c", "echo to-stderr >&2; exit 3"}, log) == 3);
  CHECK(read_file(log) == "to-stderr\n");
  CHECK(run_process({"sh", "-c", "kill -9 $$"}, log) == 128 + 9);
  CHECK_THROWS_WITH_AS(run_process({"/nonexistent/evoc-no-such-program"}, log),
                       doctest::Contains("cannot run '/nonexistent/evoc-no-such-program'"), Error);
  CHECK_THROWS_AS(run_process({}, log), Error);
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
