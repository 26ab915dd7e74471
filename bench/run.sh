#!/usr/bin/env bash
# The benchmark: the old packaging chain against ours on one generated disk
# image, mkimage against the bare mkfs it drives, deterministic-copy against
# cp -a. Installs what it needs (Debian, root), builds our tools, then runs
# bench/bench.py (see its header for what is measured and how).
#
#   bench/run.sh [--data-gib 5] [--root-gib N] [--levels "1 2 3 4 6"] [--dir DIR] [--warm] [--keep]
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
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
exec python3 bench/bench.py --dir "$dir" --bin "$PWD/target/release" "${args[@]}"
