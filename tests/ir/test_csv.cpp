// The CSV reader: header, quoting, CRLF, and errors with line numbers.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <limits>

#include "ir/csv.h"
#include "ir/error.h"

using namespace evoc;

namespace {
std::string error_of(std::string_view text, csv::ReadOptions o = {}) {
  try {
    csv::parse(text, "d.csv", o);
  } catch (const ParseError& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("header and rows") {
  auto t = csv::parse("a,b,c\n1,2,3\n4.5,-6,7e2\n");
  CHECK(t.columns == std::vector<std::string>{"a", "b", "c"});
  CHECK(t.rows() == 2);
  CHECK(t.at(1, 0) == 4.5f);
  CHECK(t.at(1, 2) == 700.0f);
  CHECK(t.column_index("b") == 1);
  CHECK_THROWS_WITH_AS(t.column_index("z"), "no column named 'z' (columns: a, b, c)", Error);
}

TEST_CASE("quoted fields, CRLF, BOM, blank lines, no final newline") {
  auto t = csv::parse("\xEF\xBB\xBF\"x, one\",\"say \"\"hi\"\"\"\r\n\"1\", 2 \r\n\r\n3,+4");
  CHECK(t.columns == std::vector<std::string>{"x, one", "say \"hi\""});
  CHECK(t.rows() == 2);
  CHECK(t.at(0, 0) == 1.0f);
  CHECK(t.at(0, 1) == 2.0f);
  CHECK(t.at(1, 1) == 4.0f);
  auto multi = csv::parse("\"two\nlines\",b\n1,2\n");
  CHECK(multi.columns[0] == "two\nlines");
}

TEST_CASE("errors name the line and column") {
  CHECK(error_of("") == "d.csv:1: error: empty file: expected a header line");
  CHECK(error_of("\n\n") == "d.csv:1: error: empty file: expected a header line");
  CHECK(error_of("a,b\n1,2\n3\n") == "d.csv:3: error: row has 1 field, expected 2 (one per header column)");
  CHECK(error_of("a,b\n1,2,3\n") == "d.csv:2: error: row has 3 fields, expected 2 (one per header column)");
  CHECK(error_of("a,b\n1,x\n") == "d.csv:2:3: error: column 'b': cannot read 'x' as a number");
  CHECK(error_of("a,b\r\n1,2\r\n3,\r\n") == "d.csv:3:3: error: empty cell in column 'b'");
  CHECK(error_of("a,b\n1,\"2\n") == "d.csv:2:3: error: unterminated quoted field");
  CHECK(error_of("a,a\n1,2\n") == "d.csv:1:3: error: duplicate column name 'a'");
  CHECK(error_of("a,,c\n") == "d.csv:1:3: error: empty column name in the header (column 2)");
  CHECK(error_of("a\n1e39\n") == "d.csv:2:1: error: column 'a': 1e39 is out of the range of f32");
  CHECK(error_of("a\nnan\n") == "d.csv:2:1: error: column 'a': nan is not a finite number");
  CHECK(error_of("a\n1\"2\n") == "d.csv:2:2: error: quote inside an unquoted field");
  CHECK(error_of("a\n\"1\"x\n") == "d.csv:2:4: error: unexpected character after a closing quote");
  CHECK(error_of("a\n12abc\n") == "d.csv:2:1: error: column 'a': cannot read '12abc' as a number");
}

TEST_CASE("NaN and Inf cells when allowed") {
  auto t = csv::parse("a,b\nnan,-inf\n", "d.csv", {.allow_nan = true});
  CHECK(std::isnan(t.at(0, 0)));
  CHECK(t.at(0, 1) == -INFINITY);
}

TEST_CASE("format writes a header and round-trips values") {
  const float v[] = {1.5f, -0.0f, 0.1f, 3e-20f};
  std::string text = csv::format({"p", "q, r"}, v, 2);
  CHECK(text == "p,\"q, r\"\n1.5,-0\n0.1,3e-20\n");
  auto t = csv::parse(text);
  CHECK(t.at(1, 1) == 3e-20f);
}

TEST_CASE("format writes every NaN as nan, whatever its sign and payload") {
  const float v[] = {std::bit_cast<float>(0x7fc00000u), std::bit_cast<float>(0xffc00000u),
                     std::bit_cast<float>(0x7f800001u), std::bit_cast<float>(0xffffffffu), -0.0f, -INFINITY};
  CHECK(csv::format({"a", "b", "c", "d", "e", "f"}, v, 1) == "a,b,c,d,e,f\nnan,nan,nan,nan,-0,-inf\n");
}

TEST_CASE("unreadable file") {
  CHECK_THROWS_WITH_AS(csv::read("/nonexistent.csv"),
                       "/nonexistent.csv: cannot read: No such file or directory", Error);
}

TEST_CASE("numbers below the smallest normal f32 round as IEEE rounds: denormals and zeros") {
  auto t = csv::parse("a,b,c,d\n1e-40,1e-46,-1e-320,1.4e-45\n");
  CHECK(t.at(0, 0) == 1e-40f);
  CHECK(std::fpclassify(t.at(0, 0)) == FP_SUBNORMAL);
  CHECK(t.at(0, 1) == 0.0f);
  CHECK(t.at(0, 2) == 0.0f);
  CHECK(std::signbit(t.at(0, 2)));
  CHECK(t.at(0, 3) == std::numeric_limits<float>::denorm_min());
  CHECK(error_of("a\n3.5e38\n") == "d.csv:2:1: error: column 'a': 3.5e38 is out of the range of f32");
  CHECK(error_of("a\n-1e39\n") == "d.csv:2:1: error: column 'a': -1e39 is out of the range of f32");
}

TEST_CASE("UTF-16 and NUL bytes: the file is not UTF-8") {
  CHECK(error_of(std::string("\xFF\xFE" "a\0\n\0", 6)).starts_with("d.csv:1:1: error: the file is UTF-16"));
  CHECK(error_of(std::string("\xFE\xFF" "\0a\0\n", 6)).starts_with("d.csv:1:1: error: the file is UTF-16"));
  CHECK(error_of(std::string("a,b\n1,2\n3,\0" "4\n", 13)).starts_with("d.csv:3:3: error: a NUL byte: the file is not UTF-8"));
}

TEST_CASE("an optional header: a first line of numbers is data") {
  auto t = csv::parse("1,2\n3,4\n", "d.csv", {.header_optional = true});
  CHECK_FALSE(t.has_header);
  CHECK(t.columns == std::vector<std::string>{"1", "2"});
  CHECK(t.rows() == 2);
  CHECK(t.at(0, 1) == 2.0f);
  auto named = csv::parse("a,2\n3,4\n", "d.csv", {.header_optional = true});
  CHECK(named.has_header);
  CHECK(named.rows() == 1);
  auto required = csv::parse("1,2\n3,4\n");
  CHECK(required.has_header);
  CHECK(required.rows() == 1);
  CHECK(error_of("1,2\n3\n", {.header_optional = true}) ==
        "d.csv:2: error: row has 1 field, expected 2 (one per header column)");
}

TEST_CASE("a column name that starts with a UTF-16 byte order mark is quoted, so the file reads back") {
  const std::vector<std::string> columns = {"\xFF\xFE" "a"};
  const float v = 1;
  const std::string text = csv::format(columns, &v, 1);
  CHECK(text.front() == '"');
  CHECK(csv::parse(text).columns == columns);
}
