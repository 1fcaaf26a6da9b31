#!/usr/bin/env bash
# The benchmark report: every engine on models of 10 to 1,000 ops, in one Markdown file.
#
# Trains (fixed seeds, with checkpoints) on the real data sets (iris, wine, breast_cancer,
# diabetes) and on the built-in `interaction` task grown to about 10, 100 and 1,000 IR ops;
# optimises each model (`evoc opt -O2`, exact); runs `evoc bench MODEL --checkpoint DIR`, which
# times in one process LibTorch eager (the trainer's eval forward on the checkpoint's best
# network, 1 thread), the interpreter, the C backend under `cc -O3 -march=native`, and the JIT
# kernel on 1 and on all threads, at batch 1, 64, 4096 and 1,000,000; then writes a summary
# (ratios of the one-thread JIT kernel to the others, roofline share, compile latency) and
# every model's full bench output, with the machine, its load and the commands.
#
# usage: scripts/bench_report.sh [BUILD_DIR] [DATA_DIR] [OUT]
#   defaults: build-bench, ../shared/data, bench/RESULTS.md ('-' for stdout)
#   environment: MIN_TIME (seconds per cell, default 0.2), BATCHES (default 1,64,4096,1000000),
#                MODELS (a subset of the names below, space-separated)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-bench}
data=${2:-$root/../shared/data}
out=${3:-$root/bench/RESULTS.md}
min_time=${MIN_TIME:-0.2}
batches=${BATCHES:-1,64,4096,1000000}
evoc=$build/tools/evoc
[ -x "$evoc" ] || { echo "bench_report.sh: $evoc not found: build the evoc target first" >&2; exit 1; }
evoc=$(cd "$build/tools" && pwd)/evoc
"$evoc" bench --help | grep -q -- --checkpoint ||
  { echo "bench_report.sh: $evoc has no LibTorch engine (built with EVOC_BUILD_TRAINER=OFF)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The models: NAME and the `evoc train` arguments that make it. The interaction task has 5
# inputs; its IR has about 7 + 1.75 * ops values besides the inputs (input affines, each op
# with its frozen normalisation and the constants of its scalar operands, the head, the output
# scaling), so --max-ops 2, 44 and 570 give about 10, 100 and 1,000. Growth fills the budget in
# one step (--grow = --max-ops), a mutation that lowers the validation loss is accepted
# (--min-gain 0 --significance 0), and nothing is pruned for being weak (--prune-below 0).
# Every model is the evolved network, never the run's linear fallback
# (--fallback-significance -1): the benchmark is about kernels of grown networks.
evolved="--fallback-significance -1"
grow_flags="--prune-below 0 --min-gain 0 --significance 0 --ops add,sub,mul,max,tanh $evolved"
declare -A train_args=(
  [iris]="$data/iris.csv --epochs 60 $evolved"
  [wine]="$data/wine.csv --epochs 60 $evolved"
  [breast_cancer]="$data/breast_cancer.csv --epochs 60 $evolved"
  [diabetes]="$data/diabetes.csv --epochs 60 $evolved"
  [synthetic-10]="--synthetic interaction --epochs 10 --max-ops 2 $grow_flags"
  [synthetic-100]="--synthetic interaction --epochs 10 --max-ops 44 --grow 44 --pool 8 $grow_flags"
  [synthetic-1000]="--synthetic interaction --epochs 8 --max-ops 570 --grow 570 --pool 4 $grow_flags"
)
models=${MODELS:-"iris wine breast_cancer diabetes synthetic-10 synthetic-100 synthetic-1000"}

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
cores=$(nproc)
flags=$(lscpu | sed -n 's/^Flags: *//p' | tr ' ' '\n' | grep -E '^(avx2|fma|avx512f|avx512bw|avx512vl)$' | paste -sd' ' || true)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u +%s)

# meta FILE KEY: a metadata entry of a model.
meta() { sed -n "s/^meta \"$2\" \"\(.*\)\"$/\1/p" "$1"; }
# ops_of FILE: values besides the inputs (the ops the kernel computes).
ops_of() { "$evoc" inspect "$1" | sed -n 's/.*(\([0-9]*\) besides inputs).*/\1/p'; }

for name in $models; do
  [ -n "${train_args[$name]+x}" ] || { echo "bench_report.sh: unknown model '$name'" >&2; exit 1; }
  echo "bench_report.sh: $name: train" >&2
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086
  "$evoc" train ${train_args[$name]} --seed 1 --checkpoint "$work/$name.ckpt" -o "$work/$name.evir" --quiet
  t1=$(date +%s.%N)
  "$evoc" opt "$work/$name.evir" -O2 -o "$work/$name.opt.evir"
  echo "bench_report.sh: $name: bench ($(ops_of "$work/$name.opt.evir") ops)" >&2
  # From the work directory, so that the notes name the files as the commands above do.
  (cd "$work" && "$evoc" bench "$name.opt.evir" --checkpoint "$name.ckpt" --batch "$batches" --min-time "$min_time" \
    > "$name.md")
  echo "$t0 $t1" | awk '{ printf "%.1f", $2 - $1 }' > "$work/$name.train_seconds"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
elapsed=$(( $(date -u +%s) - started ))

# row FILE TABLE ENGINE: the cells of ENGINE's row in the table whose header starts with TABLE.
row() {
  awk -v table="$2" -v engine="$3" '
    index($0, "| " table) == 1 { inside = 1; next }
    inside && !/^\|/ { inside = 0 }
    inside && index($0, "| " engine " |") == 1 {
      n = split($0, cells, "|"); line = ""
      for (i = 3; i < n; ++i) { gsub(/ /, "", cells[i]); line = line (i > 3 ? " " : "") cells[i] }
      print line; exit
    }' "$1"
}
# ratio R: R rounded to 3 significant digits (at most 2 decimals), with a times sign.
ratio() { awk -v r="$1" 'BEGIN { printf(r >= 100 ? "%.0f×" : r >= 10 ? "%.1f×" : "%.2f×", r) }'; }
# latency FILE: "cold total ms / warm ms" from the compile latency line.
latency() {
  sed -n 's/.*JIT link [0-9.]*, total \([0-9.]*\);.*warm (cache hit) \([0-9.]*\),.*/\1 \2/p' "$1"
}

report() {
  echo "# evoc bench: every engine, batch 1 to 1,000,000"
  echo
  local version dirty
  version=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')
  # Changes to files other than the report itself (and its temporary copy, being written).
  dirty=$(git -C "$root" status --porcelain -- . ':!bench/RESULTS.md' ':!bench/RESULTS.md.tmp' 2>/dev/null | head -1)
  [ -n "$dirty" ] && version="$version plus uncommitted changes"
  echo "Made by \`scripts/bench_report.sh\` ($(date -u '+%Y-%m-%d %H:%M UTC'), evoc $version, ${elapsed} s in all). Per model:"
  echo
  echo '```'
  echo "evoc train DATA --seed 1 --checkpoint M.ckpt -o M.evir [size flags below]"
  echo "evoc opt M.evir -O2 -o M.opt.evir"
  echo "evoc bench M.opt.evir --checkpoint M.ckpt --batch $batches --min-time $min_time"
  echo '```'
  echo
  echo "Machine: $cpu, $cores cores ($(lscpu | sed -n 's/^Thread(s) per core: *//p') thread per core), flags: ${flags:-none of avx2/fma/avx512}."
  echo "Load average (1, 5, 15 min) before: $load_before; after: $load_after. The machine is shared: on 2 cores a load"
  echo "above 2 means other processes competed for the CPU during the run, which inflates the slower"
  echo "figures more than the faster ones and the all-threads column most of all. Each model's"
  echo "\"machine:\" line gives the memory bandwidth and FMA peak measured on 1 and on all threads in"
  echo "that run: where all threads measure no more than one, the other cores were busy and the"
  echo "all-threads JIT column shows the load, not the kernel."
  echo
  echo "## Summary"
  echo
  echo "Each batch cell: ns per row of the JIT kernel on one thread, then how many times longer"
  echo "LibTorch eager, the interpreter and the gcc -O3 C take for the same rows (time of X / time of"
  echo "JIT, 1 thread; above 1 the JIT kernel is faster). Roofline: the one-thread kernel's share of"
  echo "max(bytes / bandwidth, flops / FMA peak) at the largest batch. Compile: a cold JIT compile"
  echo "(every phase) and a warm load from the kernel cache, ms. ops: values besides the inputs after"
  echo "-O2. Every model's full tables (JIT on all threads included) follow the summary."
  echo
  IFS=, read -r -a bs <<< "$batches"
  header="| model | ops |"
  rule="| --- | ---: |"
  for b in "${bs[@]}"; do header="$header batch $b: JIT ns · LibTorch× · interp× · gcc× |"; rule="$rule ---: |"; done
  echo "$header roofline | compile cold / warm |"
  echo "$rule ---: | ---: |"
  for name in $models; do
    f=$work/$name.md
    read -r -a jit <<< "$(row "$f" "ns per row" "JIT, 1 thread")"
    read -r -a torch <<< "$(row "$f" "time of X" "LibTorch eager, 1 thread")"
    read -r -a interp <<< "$(row "$f" "time of X" "interpreter")"
    read -r -a gcc <<< "$(row "$f" "time of X" "C, cc -O3 -march=native")"
    line="| $name | $(ops_of "$work/$name.opt.evir") |"
    for i in "${!bs[@]}"; do
      line="$line ${jit[i]} · $(ratio "${torch[i]}") · $(ratio "${interp[i]}") · $(ratio "${gcc[i]}") |"
    done
    share=$(row "$f" "JIT, 1 thread" "share of the roofline" | awk '{ print $NF }')
    read -r cold warm <<< "$(latency "$f")"
    echo "$line $share | $cold / $warm ms |"
  done
  echo
  echo "## Per model"
  for name in $models; do
    echo
    echo "### $name"
    echo
    echo "\`evoc train ${train_args[$name]//$data/DATA} --seed 1\` (trained in $(cat "$work/$name.train_seconds") s):"
    echo "$(meta "$work/$name.evir" trainer.ops) evolved ops, test $(sed -n 's/^meta "trainer.test_\([a-z0-9]*\)" "\(.*\)"$/\1 \2/p' "$work/$name.evir")."
    echo
    sed -e '1{/^# /d}' "$work/$name.md"
  done
  # The trainer's epoch time (bench/trainer_epoch.sh --write), kept from the file being replaced.
  if [ "$out" != "-" ] && [ -f "$out" ] && grep -q '^## Trainer epoch time' "$out"; then
    echo
    sed -n '/^## Trainer epoch time/,$p' "$out"
  fi
}

if [ "$out" = "-" ]; then
  report
else
  mkdir -p "$(dirname "$out")"
  report > "$out.tmp" && mv "$out.tmp" "$out"
  echo "bench_report.sh: wrote $out" >&2
fi
