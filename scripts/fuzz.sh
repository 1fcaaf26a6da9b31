#!/usr/bin/env bash
# Builds and runs the libFuzzer targets of tests/fuzz with clang++-19 (ASan + UBSan + libFuzzer).
#
#   scripts/fuzz.sh build                  compile every target into build-fuzz/
#   scripts/fuzz.sh run TARGET SECONDS     fuzz one target for SECONDS on its working corpus
#   scripts/fuzz.sh replay                 run every target once over its regression inputs
#   scripts/fuzz.sh ci [SECONDS]           build, replay, then fuzz each target SECONDS (default 20)
#   scripts/fuzz.sh merge TARGET           minimise the working corpus into tests/fuzz/corpus/TARGET
#   scripts/fuzz.sh mutate checkpoint SECONDS [SEED]
#                                          the checkpoint reader (LibTorch, so gcc: no libFuzzer),
#                                          mutation-fuzzed by the replay driver of a CMake build
#                                          (MUTATE_BUILD_DIR, default build-asan-trainer, else build)
#   build-fuzz/bin/print_case FILE...      the module and rows differential inputs decode to
#
# Targets: parser (IR text, round trip), csv (CSV reader), differential (interpreter vs the O2
# optimiser), differential_jit (interpreter vs O2 vs the O2 JIT kernel).
# A working corpus lives in build-fuzz/corpus/TARGET; it starts from the seeds (golden IR files,
# tests/fuzz/seeds, tests/fuzz/corpus) and the regression inputs of tests/fuzz/regressions.
# Crashes are written to build-fuzz/crashes/TARGET. Fuzzers run under `nice -n 19`.
# Environment: FUZZ_BUILD_DIR (default build-fuzz), FUZZ_JOBS (compile jobs, default 2),
# FUZZ_FLAGS (extra libFuzzer flags).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
JOBS=${FUZZ_JOBS:-2}
CXX=${FUZZ_CXX:-clang++-19}
TARGETS=(parser csv differential differential_jit)

die() { echo "fuzz.sh: $*" >&2; exit 2; }
command -v "$CXX" >/dev/null || die "$CXX not found (apt-get install clang-19 libclang-rt-19-dev)"
LAUNCHER=""
command -v ccache >/dev/null && LAUNCHER=ccache

# UBSan: no vptr (LLVM has no RTTI), no function (it reads the 8 bytes before a callee, which
# faults on a JIT kernel that starts a page).
SAN="-fsanitize=address,undefined -fno-sanitize=vptr,function -fno-sanitize-recover=undefined"
CXXFLAGS="-std=c++20 -O1 -g -fno-omit-frame-pointer -ffp-contract=off $SAN -I$ROOT -I$ROOT/tests/fuzz"
LLVM_INC=$(llvm-config-19 --includedir 2>/dev/null || echo /usr/lib/llvm-19/include)
LLVM_LIB=$(llvm-config-19 --libdir 2>/dev/null || echo /usr/lib/llvm-19/lib)
LLVM_DEFS="-D_GNU_SOURCE -D__STDC_CONSTANT_MACROS -D__STDC_FORMAT_MACROS -D__STDC_LIMIT_MACROS"

# compile SRC OBJ [extra flags...]: one translation unit, instrumented for coverage.
compile() {
  local src=$1 obj=$2
  shift 2
  mkdir -p "$(dirname "$obj")"
  nice -n 19 $LAUNCHER "$CXX" $CXXFLAGS -fsanitize=fuzzer-no-link "$@" -c "$src" -o "$obj"
}
export -f compile
export CXX CXXFLAGS LAUNCHER

# objects LIST_NAME DIR [extra flags]: compiles DIR/*.cpp into $BUILD/obj/DIR, in parallel.
objects() {
  local dir=$1
  shift
  local srcs=("$ROOT/$dir"/*.cpp)
  printf '%s\n' "${srcs[@]}" |
    xargs -P "$JOBS" -I{} bash -c 'compile "$1" "$2/$(basename "$1" .cpp).o" '"$*" _ {} "$BUILD/obj/$dir"
}

build() {
  mkdir -p "$BUILD/bin"
  echo "fuzz.sh: compiling ir/, passes/ and codegen/ with $CXX ($SAN)"
  objects ir
  objects passes
  objects codegen -isystem "$LLVM_INC" $LLVM_DEFS
  local ir_objs=("$BUILD"/obj/ir/*.o) pass_objs=("$BUILD"/obj/passes/*.o) cg_objs=("$BUILD"/obj/codegen/*.o)
  local t
  for t in parser csv differential; do
    compile "$ROOT/tests/fuzz/fuzz_$t.cpp" "$BUILD/obj/fuzz/fuzz_$t.o"
  done
  # The optimiser tests' shrinker reduces a failing differential case to its smallest subgraph.
  compile "$ROOT/tests/passes/differential.cpp" "$BUILD/obj/fuzz/shrink.o"
  compile "$ROOT/tests/fuzz/fuzz_differential.cpp" "$BUILD/obj/fuzz/fuzz_differential_jit.o" -DEVOC_FUZZ_JIT
  local link="nice -n 19 $CXX $CXXFLAGS -fsanitize=fuzzer"
  $link "$BUILD/obj/fuzz/fuzz_parser.o" "${ir_objs[@]}" -lfmt -o "$BUILD/bin/fuzz_parser"
  $link "$BUILD/obj/fuzz/fuzz_csv.o" "${ir_objs[@]}" -lfmt -o "$BUILD/bin/fuzz_csv"
  $link "$BUILD/obj/fuzz/fuzz_differential.o" "$BUILD/obj/fuzz/shrink.o" "${pass_objs[@]}" "${ir_objs[@]}" -lfmt \
    -o "$BUILD/bin/fuzz_differential"
  $link "$BUILD/obj/fuzz/fuzz_differential_jit.o" "$BUILD/obj/fuzz/shrink.o" "${cg_objs[@]}" "${pass_objs[@]}" "${ir_objs[@]}" \
    -L"$LLVM_LIB" -Wl,-rpath,"$LLVM_LIB" -lLLVM-19 -lfmt -o "$BUILD/bin/fuzz_differential_jit"
  # print_case: the module and rows a differential input decodes to, for reading crashes.
  nice -n 19 "$CXX" $CXXFLAGS -fsanitize=fuzzer-no-link "$ROOT/tests/fuzz/print_case.cpp" "${ir_objs[@]}" -lfmt \
    -o "$BUILD/bin/print_case"
  echo "fuzz.sh: built ${TARGETS[*]} and print_case in $BUILD/bin"
}

# The seed inputs of a target, one path per line.
seeds() {
  case $1 in
    parser) ls "$ROOT"/tests/ir/golden/*.evir "$ROOT"/tests/passes/golden/*.evir \
              "$ROOT"/tests/passes/golden/*.expected 2>/dev/null ;;
    csv) ls "$ROOT"/tests/fuzz/seeds/csv/* 2>/dev/null ;;
    differential | differential_jit) ls "$ROOT"/tests/fuzz/seeds/differential/* 2>/dev/null || true ;;
  esac
  ls "$ROOT/tests/fuzz/corpus/$1"/* "$ROOT/tests/fuzz/regressions/$1"/* 2>/dev/null || true
}

# Dictionary of IR keywords for the parser target.
dict_flag() {
  if [[ $1 == parser ]]; then echo "-dict=$ROOT/tests/fuzz/evir.dict"; fi
  if [[ $1 == csv ]]; then echo "-dict=$ROOT/tests/fuzz/csv.dict"; fi
}

run() {
  local t=$1 secs=$2
  local bin="$BUILD/bin/fuzz_$t"
  [[ -x $bin ]] || die "$bin is not built (scripts/fuzz.sh build)"
  local corpus="$BUILD/corpus/$t" crashes="$BUILD/crashes/$t"
  mkdir -p "$corpus" "$crashes"
  seeds "$t" | while read -r f; do cp -n "$f" "$corpus/" 2>/dev/null || true; done
  echo "fuzz.sh: fuzzing $t for ${secs}s (corpus $corpus)"
  # shellcheck disable=SC2046,SC2086
  nice -n 19 "$bin" "$corpus" -max_total_time="$secs" -timeout=10 -rss_limit_mb=3072 \
    -artifact_prefix="$crashes/" -print_final_stats=1 $(dict_flag "$t") ${FUZZ_FLAGS:-}
}

replay() {
  local t status=0
  for t in "${TARGETS[@]}"; do
    local dir="$ROOT/tests/fuzz/regressions/$t"
    [[ -d $dir ]] && compgen -G "$dir/*" >/dev/null || continue
    echo "fuzz.sh: replaying $(ls "$dir" | wc -l) regression inputs of $t"
    "$BUILD/bin/fuzz_$t" "$dir"/* >"$BUILD/replay_$t.log" 2>&1 || {
      status=1
      echo "fuzz.sh: $t FAILED on a regression input:" >&2
      tail -40 "$BUILD/replay_$t.log" >&2
    }
  done
  return $status
}

merge() {
  local t=$1 out="$ROOT/tests/fuzz/corpus/$1"
  mkdir -p "$out"
  nice -n 19 "$BUILD/bin/fuzz_$t" -merge=1 "$out" "$BUILD/corpus/$t" $(dict_flag "$t")
}

# mutate TARGET SECONDS [SEED]: the replay driver's mutation mode (tests/fuzz/replay_main.cpp).
mutate() {
  local t=$1 secs=$2 seed=${3:-1} dir=${MUTATE_BUILD_DIR:-}
  if [[ -z $dir ]]; then
    dir=build-asan-trainer
    [[ -x $dir/tests/fuzz/fuzz_$t ]] || dir=build
  fi
  local bin="$dir/tests/fuzz/fuzz_$t"
  [[ -x $bin ]] || die "$bin is not built (scripts/sanitize.sh asan-trainer, or scripts/build.sh)"
  echo "fuzz.sh: mutating $t inputs for ${secs}s with $bin (crashes in $BUILD/crashes/$t)"
  nice -n 19 "$bin" --mutate "$secs" --seed "$seed" --crashes "$BUILD/crashes/$t" \
    "$ROOT/tests/fuzz/seeds/$t" "$ROOT/tests/fuzz/regressions/$t"
}

case ${1:-} in
  build) build ;;
  mutate) [[ $# -ge 3 ]] || die "usage: fuzz.sh mutate TARGET SECONDS [SEED]"; mutate "$2" "$3" "${4:-}" ;;
  run) [[ $# -eq 3 ]] || die "usage: fuzz.sh run TARGET SECONDS"; run "$2" "$3" ;;
  replay) replay ;;
  merge) [[ $# -eq 2 ]] || die "usage: fuzz.sh merge TARGET"; merge "$2" ;;
  ci)
    secs=${2:-20}
    build
    replay
    for t in "${TARGETS[@]}"; do run "$t" "$secs"; done
    ;;
  *) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0"; exit 2 ;;
esac
