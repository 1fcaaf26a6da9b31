#!/usr/bin/env bash
# Builds and tests evoc under a sanitizer preset of CMakePresets.json.
#
#   scripts/sanitize.sh asan    AddressSanitizer + UndefinedBehaviorSanitizer, the whole suite,
#                               and each fuzz target fuzzed for EVOC_FUZZ_SECONDS (preset: 60)
#   scripts/sanitize.sh asan-trainer   the trainer's tests under ASan + UBSan, built with gcc
#                                      (LibTorch's headers do not compile with clang 19)
#   scripts/sanitize.sh tsan    ThreadSanitizer, the concurrency tests (runtime, C API, JIT)
#
# asan and tsan build with clang-19 and without the trainer (into build-asan/ or build-tsan/). Extra
# arguments go to ctest (e.g. -R test_ir). Environment: SANITIZE_JOBS (build jobs, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-}
case $preset in
  asan | asan-trainer | tsan) shift ;;
  *) echo "usage: scripts/sanitize.sh asan|asan-trainer|tsan [ctest arguments]" >&2; exit 2 ;;
esac
command -v clang++-19 >/dev/null || { echo "sanitize.sh: clang++-19 not found (apt-get install clang-19)" >&2; exit 2; }
cmake --preset "$preset"
cmake --build --preset "$preset" -j"${SANITIZE_JOBS:-2}"
# Child processes (evoc itself, the cache child) inherit the same options through the environment.
ctest --preset "$preset" "$@"
