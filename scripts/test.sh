#!/usr/bin/env bash
# The test command: installs what is missing, builds everything, runs every test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/build.sh "$@"
ctest --test-dir "${EVOC_BUILD_DIR:-build}" --output-on-failure -j2 --timeout 1500
