#!/usr/bin/env bash
# Installs every Debian 12 package evoc needs to build, test and run. Idempotent: installs
# only what is missing. Needs root (or sudo) when something is missing.
set -euo pipefail

packages=(
  cmake ninja-build g++ ccache pkg-config git
  llvm-19-dev clang-19 libclang-rt-19-dev
  libtorch-dev libgloo-dev
  libfmt-dev doctest-dev libcli11-dev nlohmann-json3-dev libbenchmark-dev
  pybind11-dev python3-dev python3-numpy python3-sklearn
  graphviz
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all ${#packages[@]} packages present"
  exit 0
fi

echo "bootstrap: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "bootstrap: need root to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q "${missing[@]}"
