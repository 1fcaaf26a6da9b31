#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU and its driver (under 5 minutes there):
# builds what it needs (no trainer), runs the differential test (interpreter == GPU kernel bit
# for bit on every golden module and 1,000 random modules, batches 1 .. 1M) and the benchmark
# (ns per row at 1M and 100M rows against the one-thread and all-thread CPU kernels, with the
# host-device copies counted and not counted), and prints one table.
#
#   bash scripts/gpu_check.sh [BUILD_DIR]      (default build-gpu)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build-gpu}
if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1'; then
  echo "gpu_check: no CUDA driver (libcuda.so.1) on this machine; nothing to check" >&2
  exit 2
fi
bash scripts/bootstrap.sh
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEVOC_BUILD_TRAINER=OFF >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target test_gpu evoc_gpu_bench evoc_codegen_bench
echo "gpu_check: differential test"
EVOC_GPU_RANDOM_MODULES=1000 "$BUILD_DIR/tests/runtime/test_gpu" --success=false
models=$(mktemp -d)
trap 'rm -rf "$models"' EXIT
for ops in 30 100 1000; do "$BUILD_DIR/bench/evoc_codegen_bench" --print "$ops" >"$models/net$ops.evir"; done
echo "gpu_check: benchmark"
"$BUILD_DIR/bench/evoc_gpu_bench" "$models"/net30.evir "$models"/net100.evir "$models"/net1000.evir \
  --rows 1000000,100000000
