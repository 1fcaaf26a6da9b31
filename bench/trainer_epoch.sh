#!/usr/bin/env bash
# Epoch time of `evoc train` against the prototype (../shared/reference/grow_ref.py), one thread
# each, on the same rows, batch, candidate pool and op budget, run back to back: prints the
# Markdown section "## Trainer epoch time" of bench/RESULTS.md (with --write, replaces that
# section of the file up to its "### Where an epoch's time goes" notes, which are kept;
# scripts/bench_report.sh keeps the whole section when it rewrites the rest).
#
# The data: 4,000 rows of 10 standard normal features, y = x0*x1 + sin(x2) + x3 + noise (seed 0).
# Both split it 20% test, 20% validation, 60% training (2,400 rows, 38 minibatches of 64). Both
# grow 2 ops of the prototype's kinds (add, mul) per epoch up to the budget; evoc is told to
# accept every mutation that lowers the validation loss at all (--significance 0 --min-gain 0
# --prune-below 0), so that its op count climbs to the budget as the prototype's does. Each epoch evoc trains its network and, while a
# mutation is pending, the parent on the same minibatches; the prototype trains one network.
# Reported: mean seconds per epoch over the epochs (evoc: its --history; the prototype: its
# own sec_per_epoch), and the mean op count over the epochs (evoc) / the final one (prototype,
# which prints no more: each epoch it trains its best network so far plus the 2 ops grown after
# it, up to B); evoc's epochs that ended at B - 1 ops or more separately.
#
# usage: bench/trainer_epoch.sh [BUILD_DIR] [--write]   (EPOCHS, BUDGETS override the defaults)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
write=${2:-}
evoc=$build/tools/evoc
prototype=${PROTOTYPE:-$root/../shared/reference/grow_ref.py}
epochs=${EPOCHS:-40}
budgets=${BUDGETS:-"10 20"}
[ -x "$evoc" ] || { echo "trainer_epoch: $evoc: not built" >&2; exit 1; }
[ -f "$prototype" ] || { echo "trainer_epoch: $prototype: the prototype is missing" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 - "$work/reg.csv" <<'EOF'
import sys
import numpy as np
r = np.random.RandomState(0)
n = 4000
x = r.randn(n, 10).astype(np.float32)
y = x[:, 0] * x[:, 1] + np.sin(x[:, 2]) + x[:, 3] + 0.1 * r.randn(n)
with open(sys.argv[1], 'w') as f:
    f.write(','.join(['x%d' % i for i in range(10)] + ['y']) + '\n')
    for i in range(n):
        f.write(','.join('%.6g' % v for v in x[i]) + ',%.6g\n' % y[i])
EOF

# evoc_epoch BUDGET: "ms_per_epoch mean_ops ms_per_epoch_near_budget" from the run's history
# (the last: epochs that ended with at least BUDGET - 1 ops; "-" if none did).
evoc_epoch() {
  "$evoc" train "$work/reg.csv" --task regress --epochs "$epochs" --pool 64 --batch 64 --seed 1 --threads 1 \
    --max-ops "$1" --grow 2 --ops add,mul --significance 0 --min-gain 0 --prune-below 0 --fallback-significance -1 \
    --test-fraction 0.2 --validation-fraction 0.2 --history "$work/h.jsonl" -o "$work/m.evir" --quiet
  /usr/bin/python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
full = [r["seconds"] for r in rows if r["ops"] >= int(sys.argv[2]) - 1]
print("%.2f %.1f %s" % (1000 * sum(r["seconds"] for r in rows) / len(rows), sum(r["ops"] for r in rows) / len(rows),
                        "%.2f (%d epochs)" % (1000 * sum(full) / len(full), len(full)) if full else "-"))
' "$work/h.jsonl" "$1"
}

# prototype_epoch BUDGET: "ms_per_epoch final_ops".
prototype_epoch() {
  /usr/bin/python3 "$prototype" "$work/reg.csv" --task reg --epochs "$epochs" --pool 64 --batch 64 --seed 1 \
    --max-ops "$1" --grow 2 | /usr/bin/python3 -c '
import json, sys
r = json.loads(sys.stdin.read().strip().splitlines()[-1])
print("%.2f %d" % (1000 * r["sec_per_epoch"], r["ops"]))
'
}

section() {
  local load_before load_after
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "## Trainer epoch time"
  echo
  echo "Made by \`bench/trainer_epoch.sh\` ($(date -u '+%Y-%m-%d %H:%M UTC'), evoc $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'))."
  echo "One thread each, run back to back; 4,000-row regression (y = x0*x1 + sin(x2) + x3 + noise), both on"
  echo "the same 2,400 training rows, batch 64, pool 64, $epochs epochs, 2 ops grown per epoch up to the budget:"
  echo
  echo '```'
  echo "evoc train reg.csv --task regress --epochs $epochs --pool 64 --batch 64 --seed 1 --threads 1 --max-ops B --grow 2 --ops add,mul \\"
  echo "  --significance 0 --min-gain 0 --prune-below 0 --fallback-significance -1 --test-fraction 0.2 --validation-fraction 0.2"
  echo "grow_ref.py reg.csv --task reg --epochs $epochs --pool 64 --batch 64 --seed 1 --max-ops B --grow 2"
  echo '```'
  echo
  echo "| op budget B | evoc ms/epoch | evoc ops (mean over epochs) | evoc ms/epoch at >= B-1 ops | prototype ms/epoch | prototype ops (final) | prototype / evoc |"
  echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for b in $budgets; do
    read -r e_ms e_ops e_full <<< "$(evoc_epoch "$b")"
    read -r p_ms p_ops <<< "$(prototype_epoch "$b")"
    echo "| $b | $e_ms | $e_ops | $e_full | $p_ms | $p_ops | $(awk -v p="$p_ms" -v e="$e_ms" 'BEGIN { printf "%.1f×", p / e }') |"
  done
  load_after=$(cut -d' ' -f1-3 /proc/loadavg)
  echo
  echo "Load average (1, 5, 15 min) before: $load_before; after: $load_after ($(nproc) cores; a load above"
  echo "the core count means other processes shared the CPU). An evoc epoch trains two networks while a"
  echo "mutation is pending (the network and its parent, on the same minibatches), the prototype one."
}

if [ "$write" = "--write" ]; then
  out=$root/bench/RESULTS.md
  text=$(section)
  if grep -q '^## Trainer epoch time' "$out"; then
    # Replace the section's measured part: up to its "### Where an epoch's time goes" notes (kept).
    TEXT="$text" awk '/^## Trainer epoch time/ { skip = 1; print ENVIRON["TEXT"]; next }
                      skip && /^### Where an epoch/ { skip = 0; print "" }
                      !skip { print }' "$out" > "$out.tmp"
  else
    # The file without its trailing blank lines, one blank line, the section.
    { awk 'NF { while (blank-- > 0) print ""; blank = 0; print; next } { ++blank }' "$out"
      echo; echo "$text"; } > "$out.tmp"
  fi
  mv "$out.tmp" "$out"
  echo "trainer_epoch.sh: wrote the section to $out" >&2
else
  section
fi
