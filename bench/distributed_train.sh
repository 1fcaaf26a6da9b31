#!/usr/bin/env bash
# Data-parallel training speed: epoch time of `evoc train --workers W` for W = 1, 2 and 4 on a
# generated table (200,000 rows by default: y = x0*x1 + x2 + noise, 8 features), at three batch
# sizes, in one run; the whole run's wall time (start-up, loading the table and the linear fit
# included); and, from rank 0's report, the time per exchange (the gradient sum of a step,
# waiting for the slower rank included).
#
#   bash bench/distributed_train.sh [BUILD_DIR]      (ROWS=..., EPOCHS=..., BATCHES="1024 4096 16384")
#
# Workers beyond the machine's cores are oversubscribed: they share cores, and their epoch
# time says so. The runs may evolve different networks (data-parallel ranks normalise with their
# shard's batch statistics, so a mutation's verdict can differ): the ops column says how big.
set -euo pipefail
build=${1:-build}
rows=${ROWS:-200000}
epochs=${EPOCHS:-10}
evoc="$build/tools/evoc"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

awk -v n="$rows" 'BEGIN {
  srand(7); print "x0,x1,x2,x3,x4,x5,x6,x7,y"
  for (i = 0; i < n; i++) {
    line = ""
    for (j = 0; j < 8; j++) { x[j] = 2 * rand() - 1; line = line sprintf("%.6f,", x[j]) }
    print line sprintf("%.6f", x[0] * x[1] + x[2] + 0.1 * (rand() - 0.5))
  }
}' > "$tmp/data.csv"

echo "rows $rows, epochs $epochs, cores $(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| batch | workers | s per epoch | speed-up | whole run, s | ops (mean over epochs) | exchanges | us per exchange |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
for batch in ${BATCHES:-1024 4096 16384}; do
  base=""
  for workers in 1 2 4; do
    start=$(date +%s.%N)
    "$evoc" train "$tmp/data.csv" --epochs "$epochs" --batch "$batch" --max-ops 8 --pool 16 --workers "$workers" \
      --history "$tmp/history.jsonl" -o "$tmp/model.evir" 2> "$tmp/err"
    whole=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
    epoch=$(awk -F'"seconds":' '{ split($2, a, /[,}]/); s += a[1]; n++ } END { printf "%.3f", s / n }' "$tmp/history.jsonl")
    ops=$(awk -F'"ops":' '{ split($2, a, /[,}]/); s += a[1]; n++ } END { printf "%.1f", s / n }' "$tmp/history.jsonl")
    [ -z "$base" ] && base=$epoch
    speedup=$(awk -v a="$base" -v b="$epoch" 'BEGIN { printf "%.2f", a / b }')
    exchanges=$(sed -n 's/.* \([0-9]*\) exchanges, .*/\1/p' "$tmp/err")
    each=$(sed -n 's/.*s in them (\([0-9.]*\) us each.*/\1/p' "$tmp/err")
    echo "| $batch | $workers | $epoch | ${speedup}x | $whole | $ops | ${exchanges:--} | ${each:--} |"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
