#!/usr/bin/env bash
# The test command: installs what is missing, builds everything, runs every test suite; then
# the whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer with each fuzz target
# fuzzed for a bounded time (60 s), the trainer's tests under the same sanitizers (gcc), and the
# concurrency tests under ThreadSanitizer.
#
#   EVOC_SANITIZERS=off   skip the three sanitizer builds (the plain suite only)
# Extra arguments go to CMake's configure step of the plain build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/build.sh "$@"
ctest --test-dir "${EVOC_BUILD_DIR:-build}" --output-on-failure -j2 --timeout 1500
if [[ ${EVOC_SANITIZERS:-on} != off ]]; then
  echo "test.sh: the suite under ASan + UBSan, with bounded fuzzing"
  bash scripts/sanitize.sh asan
  echo "test.sh: the trainer's tests under ASan + UBSan (gcc)"
  bash scripts/sanitize.sh asan-trainer
  echo "test.sh: the concurrency tests under TSan"
  bash scripts/sanitize.sh tsan
fi
