#!/usr/bin/env bash
# The trainer's quality report: `evoc train` (default, and linear with --max-ops 0), the
# prototype grow_ref.py and scikit-learn (LogisticRegression / Ridge, MLP(64),
# HistGradientBoosting) on the same held-out rows of every CSV of DATA_DIR and the built-in
# tasks; mean ± sd over seeds, as one Markdown table on stdout (progress on stderr).
# See scripts/quality_report.py for the protocol.
#
# usage: scripts/quality_report.sh [DATA_DIR] [options]
#   --build DIR        evoc's build folder (default build)
#   --out DIR          results folder; a rerun skips finished cells (default: a temporary folder)
#   --sets a,b         a subset of the data sets (file stems, interaction, xor)
#   --seeds 1,2,3      seeds (default 1,2,3)
#   --epochs N         epochs of evoc and of the prototype (default 100)
#   --models LIST      evoc,evoc_grown,evoc_linear,prototype,linear,mlp,hgb (default all)
#   --evoc-flags "..." extra `evoc train` flags for the evoc default column
#   --ensemble K       add a column for `evoc train --ensemble K` (with the --evoc-flags)
#   --workers 2,4      add a column for each `evoc train --workers N` (data-parallel)
#   --timeout S        seconds per training run (default 900)
#   --table-only       print the table of the results in --out without training
# Needs Debian's python3-sklearn and python3-torch (installed with apt-get when missing; the
# project itself needs neither).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data=$root/../shared/data
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then data=$1; shift; fi
build=$root/build
out=
args=()
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
[ -d "$data" ] || { echo "quality_report: $data: no such folder" >&2; exit 1; }
evoc=$build/tools/evoc
[ -x "$evoc" ] || { echo "quality_report: $evoc: not built (cmake --build $build --target evoc)" >&2; exit 1; }
prototype=$(cd "$data/.." && pwd)/reference/grow_ref.py
[ -f "$prototype" ] || { echo "quality_report: $prototype: the prototype is missing" >&2; exit 1; }

missing=()
/usr/bin/python3 -c 'import sklearn' 2>/dev/null || missing+=(python3-sklearn)
/usr/bin/python3 -c 'import torch' 2>/dev/null || missing+=(python3-torch)
if [ ${#missing[@]} -gt 0 ]; then
  echo "quality_report: installing ${missing[*]}" >&2
  sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi

if [ -z "$out" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
echo "# evoc quality report ($(date -u '+%Y-%m-%d %H:%M UTC'), evoc $(git -C "$root" rev-parse --short HEAD))"
echo
/usr/bin/python3 "$root/scripts/quality_report.py" --evoc "$evoc" --data "$data" --prototype "$prototype" \
  --out "$out" ${args[@]+"${args[@]}"}
