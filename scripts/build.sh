#!/usr/bin/env bash
# Configures and builds evoc into build/ (Release with debug info, Ninja, ccache).
# Extra arguments go to CMake's configure step, e.g. -DEVOC_BUILD_TRAINER=OFF.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${EVOC_BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
cmake --build "$BUILD_DIR" -j"$(nproc)"
