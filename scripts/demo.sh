#!/usr/bin/env bash
# The main job, end to end: install what is missing, build, then train an evolving network on a
# built-in task with feature interactions (y = x0*x1 + x2 + noise), optimise it, compile it with
# the JIT, and score the held-out test rows through the compiled kernel.
# Outputs go to out/demo/ (EVOC_DEMO_DIR to change).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/build.sh "$@" >/dev/null
evoc=${EVOC_BUILD_DIR:-build}/tools/evoc
out=${EVOC_DEMO_DIR:-out/demo}
mkdir -p "$out"

step() { printf '\n== %s\n' "$*"; }

step "train: evolve a network on the built-in 'interaction' task"
"$evoc" train --synthetic interaction --epochs 40 --seed 1 --test-fraction 0.15 -o "$out/model.evir" --test-csv "$out/test.csv"

step "optimise (-O3: exact cleanups plus zero-weight dropping and affine folding)"
"$evoc" opt "$out/model.evir" -O3 --stats -o "$out/model.opt.evir"

step "the optimised model, as text IR"
"$evoc" fmt "$out/model.opt.evir" | grep -v '^meta "trainer\.'

step "compile ahead of time: object file and C header for a service"
"$evoc" compile "$out/model.opt.evir" --emit=obj -o "$out/model.o" --name interaction
"$evoc" compile "$out/model.opt.evir" --emit=header -o "$out/model.h" --name interaction
grep -E '^(void|#define)' "$out/model.h" | head -8

step "score the held-out test rows: reference interpreter, then the JIT-compiled kernel"
"$evoc" eval "$out/model.opt.evir" -i "$out/test.csv" --engine interp --repeat 20
"$evoc" eval "$out/model.opt.evir" -i "$out/test.csv" --engine jit --repeat 20

step "first test rows through the compiled kernel"
head -6 "$out/test.csv" > "$out/head.csv"
"$evoc" run "$out/model.opt.evir" -i "$out/head.csv" --by-name --engine jit -o "$out/head.pred.csv"
sed -i "1s/[^,]*/predicted_&/g" "$out/head.pred.csv"
paste -d, "$out/head.csv" "$out/head.pred.csv" | sed "s/,/\t/g"
