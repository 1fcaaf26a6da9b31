#!/usr/bin/env bash
# install_test.sh BUILD_DIR MODEL INPUT.csv [PYTHON]: installs the build into a temporary prefix, then from
# a project outside the source tree (in the same temporary directory):
#   1. CMake: find_package(evoc) + evoc::runtime; the C API and the C++ API JIT-compile MODEL and
#      score INPUT bit for bit as `evoc run` does; evoc_add_kernel builds the AOT kernel, same bits;
#   2. pkg-config + a plain `cc` line, the C API again;
#   3. ldd: the programs and bin/evoc load libevoc and no LibTorch; where the trainer is built,
#      `evoc train` from the prefix runs libexec/evoc/evoc-train;
#   4. with PYTHON (and NumPy): the installed Python module, from its site directory, scores the
#      rows as `evoc run` does.
set -euo pipefail
build=$1 model=$2 input=$3 python=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/evoc-install-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

step "cmake --install into $prefix"
cmake --install "$build" --prefix "$prefix" > "$tmp/install.log" || { cat "$tmp/install.log"; fail "install"; }
for f in bin/evoc include/evoc/evoc.h include/evoc/runtime/kernel.h lib/cmake/evoc/evocConfig.cmake \
         lib/cmake/evoc/evocConfigVersion.cmake lib/cmake/evoc/EvocKernel.cmake lib/pkgconfig/evoc.pc; do
  [[ -e $prefix/$f ]] || fail "$f is not installed"
done
soname=$(objdump -p "$prefix"/lib/libevoc.so | awk '/SONAME/ {print $2}')
[[ $soname == libevoc.so.* && -e $prefix/lib/$soname ]] || fail "libevoc.so has no versioned SONAME ($soname)"
echo "libevoc SONAME $soname"

"$prefix"/bin/evoc run "$model" -i "$input" --output raw -o "$tmp/expected.csv"
if ldd "$prefix"/bin/evoc | grep -Eiq 'libtorch|libc10'; then fail "bin/evoc loads LibTorch"; fi
if [[ -x $build/tools/evoc-train ]]; then
  step "evoc train from the prefix (libexec/evoc/evoc-train)"
  [[ -x $prefix/libexec/evoc/evoc-train ]] || fail "libexec/evoc/evoc-train is not installed"
  "$prefix"/bin/evoc train --synthetic xor --epochs 2 -o "$tmp/xor.evir" 2> "$tmp/train.log" ||
    { cat "$tmp/train.log"; fail "evoc train from the prefix"; }
  "$prefix"/bin/evoc verify "$tmp/xor.evir" || fail "the model evoc train wrote from the prefix"
fi

step "find_package(evoc) from an outside project"
cp -r "$here"/app "$tmp"/app
cmake -S "$tmp"/app -B "$tmp"/app-build -G Ninja -DCMAKE_PREFIX_PATH="$prefix" -DEVOC_TEST_MODEL="$model" \
  -DCMAKE_BUILD_TYPE=Release > "$tmp/configure.log" || { cat "$tmp/configure.log"; fail "configure"; }
cmake --build "$tmp"/app-build > "$tmp/build.log" || { cat "$tmp/build.log"; fail "build"; }
"$tmp"/app-build/check_c "$model" "$input" "$tmp/expected.csv"
"$tmp"/app-build/check_cpp "$model" "$input" "$tmp/expected.csv"
"$tmp"/app-build/check_aot "$input" "$tmp/expected.csv"

step "pkg-config and a plain cc line"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
[[ $(pkg-config --modversion evoc) == [0-9]*.[0-9]*.[0-9]* ]] || fail "pkg-config --modversion evoc"
# shellcheck disable=SC2046
cc -std=c99 -o "$tmp/check_pc" "$tmp"/app/check_c.c $(pkg-config --cflags --libs evoc) \
  -Wl,-rpath,"$(pkg-config --variable=libdir evoc)"
"$tmp"/check_pc "$model" "$input" "$tmp/expected.csv"

step "ldd"
for program in "$tmp"/app-build/check_c "$tmp"/app-build/check_cpp "$tmp"/check_pc; do
  libs=$(ldd "$program")
  grep -q "libevoc.so.* => $prefix/lib/" <<< "$libs" || { echo "$libs"; fail "$program does not load the installed libevoc"; }
  if grep -Eiq 'libtorch|libc10' <<< "$libs"; then echo "$libs"; fail "$program loads LibTorch"; fi
done
if ldd "$tmp"/app-build/check_aot | grep -Eq 'libevoc|libLLVM'; then fail "the AOT program loads evoc or LLVM"; fi
echo "ldd: libevoc from the prefix, no LibTorch; the AOT program needs neither"

site=$(ls -d "$prefix"/lib/python3*/site-packages 2>/dev/null | head -n1 || true)
if [[ -n $python && -d $site/evoc ]] && "$python" -c "import numpy" 2>/dev/null; then
  step "the installed Python module ($site)"
  PYTHONPATH=$site "$python" - "$model" "$input" "$tmp/expected.csv" "$prefix" <<'PY' || fail "installed Python module"
import sys, numpy as np, evoc
model, inp, expected, prefix = sys.argv[1:]
assert evoc.__file__.startswith(prefix), evoc.__file__
x = np.loadtxt(inp, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
want = np.array([[np.float32(float(c)) for c in l.split(",")] for l in open(expected).read().split()[1:]])
got = evoc.Kernel(model, use_cache=False).run(x)
assert np.array_equal(got.view(np.uint32), want.astype(np.float32).view(np.uint32)), "bits differ"
print(f"Python ({evoc.__file__}): {len(x)} rows match evoc run")
PY
fi
echo "PASS"
