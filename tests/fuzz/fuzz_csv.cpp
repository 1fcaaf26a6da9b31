// libFuzzer target: the CSV reader. Any bytes are parsed three times: strictly, with NaN/Inf
// allowed, and with NaN/Inf allowed and the header optional. A rejection must be a located evoc::ParseError; an accepted table must be rectangular,
// finite unless NaN was allowed, and survive a round trip through csv::format (same column names,
// same floats bit for bit, NaN payloads aside).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "ir/csv.h"
#include "ir/error.h"
#include "ir/random_module.h"

using namespace evoc;

namespace {

// Parses `text`; returns false if it is rejected (after checking the rejection is well formed).
bool try_parse(std::string_view text, const csv::ReadOptions& options, csv::Table& table) {
  try {
    table = csv::parse(text, "fuzz.csv", options);
    return true;
  } catch (const ParseError& e) {
    FUZZ_CHECK(e.line >= 1, "CSV error without a line: " << e.what());
    FUZZ_CHECK(std::string_view(e.what()).starts_with("fuzz.csv:"), "unlocated error: " << e.what());
    return false;
  } catch (const Error& e) {
    FUZZ_FAIL("csv::parse threw a plain evoc::Error, not a ParseError: " << e.what());
  }
}

void check_table(const csv::Table& t, bool allow_nan) {
  FUZZ_CHECK(!t.columns.empty(), "a table without columns was accepted");
  FUZZ_CHECK(t.values.size() % t.cols() == 0, "ragged table: " << t.values.size() << " values, "
                                                               << t.cols() << " columns");
  for (const auto& name : t.columns) {
    FUZZ_CHECK(!name.empty(), "empty column name accepted");
    FUZZ_CHECK(t.column_index(name) < t.cols(), "column_index");
  }
  if (!allow_nan)
    for (float v : t.values) FUZZ_CHECK(std::isfinite(v), "non-finite value accepted in strict mode: " << v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  csv::Table strict, lenient;
  const bool strict_ok = try_parse(text, {}, strict);
  const bool lenient_ok = try_parse(text, {.allow_nan = true}, lenient);
  if (strict_ok) {
    FUZZ_CHECK(lenient_ok, "accepted strictly but rejected with NaN allowed");
    check_table(strict, false);
  }
  // With an optional header: the same bytes, the first line taken as data when it is all numbers.
  csv::Table optional;
  if (try_parse(text, {.allow_nan = true, .header_optional = true}, optional)) {
    check_table(optional, true);
    if (optional.has_header && lenient_ok)
      FUZZ_CHECK(optional.columns == lenient.columns && optional.values.size() == lenient.values.size(),
                 "an optional header read differently from a required one");
    if (!optional.has_header && lenient_ok)
      FUZZ_CHECK(optional.rows() == lenient.rows() + 1, "a headerless table lost or gained rows");
  }
  if (!lenient_ok) return 0;
  check_table(lenient, true);

  const std::string formatted = csv::format(lenient.columns, lenient.values.data(), lenient.rows());
  csv::Table again;
  try {
    again = csv::parse(formatted, "formatted.csv", {.allow_nan = true});
  } catch (const Error& e) {
    FUZZ_FAIL("csv::format wrote a table csv::parse rejects:\n" << e.what() << "\n--- formatted ---\n"
                                                                 << formatted);
  }
  FUZZ_CHECK(again.columns == lenient.columns, "column names changed in a round trip\n" << formatted);
  FUZZ_CHECK(again.values.size() == lenient.values.size(), "row count changed in a round trip\n" << formatted);
  for (std::size_t i = 0; i < again.values.size(); ++i)
    FUZZ_CHECK(ir::same_float(again.values[i], lenient.values[i]),
               "value " << i << " changed in a round trip: " << lenient.values[i] << " -> " << again.values[i]);
  return 0;
}
