#!/usr/bin/env bash
# The trainer's measurements, as Markdown tables:
#   1. real data sets (iris, wine, breast_cancer: test accuracy; diabetes: test R^2), 5 seeds,
#      the evolved network (pooled growth, --pool 64) against the same trainer with --max-ops 0
#      (a linear model) and with random growth (--pool 1), on the same splits (same seeds);
#   2. the built-in tasks (x0*x1 + x2: R^2; xor: accuracy), evolved against linear;
#   3. epoch time against op count, the naive per-op forward pass against the levelled one;
#   4. data-parallel training: the evolved network's test metric with --workers 1, 2 and 4
#      ($WORKERS), same seeds (each N is reproducible, not equal to another N).
#
# usage: scripts/trainer_report.sh [BUILD_DIR] [DATA_DIR]   (extra `evoc train` flags in $TRAIN_FLAGS)
set -euo pipefail

build=${1:-build-trainer}
data=${2:-../shared/data}
evoc=$build/tools/evoc
bench=$build/trainer/evoc_trainer_bench
seeds=${SEEDS:-"1 2 3 4 5"}
workers=${WORKERS:-"1 2 4"}
flags=${TRAIN_FLAGS:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run NAME SOURCE... : trains quietly, prints "METRIC OPS PARAMETERS" from the model's metadata.
run() {
  local model=$work/model.evir
  # shellcheck disable=SC2086
  "$evoc" train "$@" --test-fraction 0.15 $flags -o "$model" --quiet
  local metric ops params
  metric=$(sed -n 's/^meta "trainer.test_[a-z0-9]*" "\(.*\)"$/\1/p' "$model")
  ops=$(sed -n 's/^meta "trainer.ops" "\(.*\)"$/\1/p' "$model")
  params=$(sed -n 's/^meta "trainer.parameters" "\(.*\)"$/\1/p' "$model")
  echo "$metric $ops $params"
}

# stats: reads "metric ops params" lines, prints "mean±sd | mean ops | mean params".
stats() {
  awk '{ m[NR] = $1; s += $1; o += $2; p += $3 }
       END { mean = s / NR; for (i = 1; i <= NR; ++i) v += (m[i] - mean) ^ 2;
             printf "%.3f ± %.3f | %.1f | %.0f", mean, sqrt(v / NR), o / NR, p / NR }'
}

echo "## Real data sets: test metric (mean ± sd over seeds: $seeds), ops, parameters"
echo
echo "| data set | metric | evolved (pool 64) | ops | params | random growth (pool 1) | ops | params | linear (--max-ops 0) | ops | params |"
echo "| --- | --- | --- | ---: | ---: | --- | ---: | ---: | --- | ---: | ---: |"
for set in iris wine breast_cancer diabetes; do
  metric=accuracy
  [ "$set" = diabetes ] && metric=r2
  row="| $set | $metric"
  for config in "--pool 64" "--pool 1" "--max-ops 0"; do
    # shellcheck disable=SC2086
    cell=$(for seed in $seeds; do run "$data/$set.csv" --seed "$seed" $config; done | stats)
    row="$row | $cell"
  done
  echo "$row |"
done

echo
echo "## Built-in tasks (mean ± sd over seeds: $seeds): interaction y = x0*x1 + x2 + noise (R^2), xor (accuracy)"
echo
echo "| task | model | test metric | ops | params |"
echo "| --- | --- | --- | ---: | ---: |"
for task in interaction xor; do
  for config in "--pool 64" "--pool 1" "--max-ops 0"; do
    # shellcheck disable=SC2086
    cell=$(for seed in $seeds; do run --synthetic "$task" --seed "$seed" $config; done | stats)
    echo "| $task | $config | $cell |"
  done
done
echo
echo "## Epoch time against op count"
echo
"$bench" --ops 10,100,500 --repeat 3
echo
echo "## Data-parallel training: test metric (mean ± sd over seeds: $seeds) by --workers"
echo
header="| data set | metric"
rule="| --- | ---"
for n in $workers; do header="$header | --workers $n | ops"; rule="$rule | --- | ---:"; done
echo "$header |"
echo "$rule |"
for set in iris wine breast_cancer diabetes; do
  metric=accuracy
  [ "$set" = diabetes ] && metric=r2
  row="| $set | $metric"
  for n in $workers; do
    cell=$(for seed in $seeds; do run "$data/$set.csv" --seed "$seed" --workers "$n"; done | stats | cut -d'|' -f1-2)
    row="$row | $cell"
  done
  echo "$row |"
done
