// Assertions for the fuzz targets: a violated property prints what was expected and aborts, so
// that libFuzzer records the input as a crash (and a regression replay fails loudly).
#pragma once

#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

/// Aborts with `message` (a stream expression) when `cond` is false.
#define FUZZ_CHECK(cond, message)                                                      \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      std::cerr << __FILE__ << ":" << __LINE__ << ": property violated: " << #cond     \
                << "\n" << message << std::endl;                                       \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)

/// Aborts with `message` unconditionally.
#define FUZZ_FAIL(message) FUZZ_CHECK(false, message)

/// True if the property named `name` is listed in EVOC_FUZZ_SKIP (comma-separated): a long run
/// can step over an open, reported finding instead of stopping at every input that hits it.
inline bool fuzz_skipped(std::string_view name) {
  static const std::string skip = [] {
    const char* env = std::getenv("EVOC_FUZZ_SKIP");
    return "," + std::string(env ? env : "") + ",";
  }();
  return skip.find("," + std::string(name) + ",") != std::string::npos;
}
