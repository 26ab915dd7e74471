#!/usr/bin/env bash
# The benchmark: the old packaging chain against ours on one generated disk
# image, mkimage against the bare mkfs it drives, deterministic-copy against
# cp -a. Installs what it needs (Debian, root), builds our tools, then runs
# bench/bench.py (see its header for what is measured and how).
#
#   bench/run.sh [--data-gib 5] [--root-gib N] [--levels "1 2 3 4 6"] [--dir DIR] [--warm] [--keep]
#   bench/run.sh --e2e [--data-gib 1.2] [--baseline-bin DIR [--pairs 5]] [--trees "bench realistic"] [--dir DIR] [--warm]
#
# --e2e: the whole path from a staged closure to a checked package instead,
# two derivations against one (bench/e2e.py).
#
# Needs about 4x --data-gib + --root-gib free in DIR (default
# /var/tmp/nixos-image-tools-bench, removed afterwards unless --keep), and
# takes about 15 minutes with the defaults on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export NIT_CACHE=${NIT_CACHE:-/var/cache/nixos-image-tools}
mkdir -p "$NIT_CACHE"
tools/install-deps.sh jq mawk
PATH="$(tools/trixie-tools.sh "$NIT_CACHE"):$PATH"
export PATH
cargo build --release -q
dir=/var/tmp/nixos-image-tools-bench
args=()
script=bench/bench.py
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    --e2e) script=bench/e2e.py; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
exec python3 "$script" --dir "$dir" --bin "$PWD/target/release" "${args[@]}"
