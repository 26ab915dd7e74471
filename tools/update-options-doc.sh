#!/usr/bin/env bash
# Rewrite docs/options.md from the module's option declarations
# (lib/options-doc.nix), evaluated as tests/nix/eval does: with the vendored
# nixpkgs lib (NIT_VENDOR, default ../shared/vendor beside the repository).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
vendor=$(cd "${NIT_VENDOR:-$root/../shared/vendor}" && pwd)
tmp=$(mktemp "$root/docs/.options.md.XXXXXX")
trap 'rm -f "$tmp"' EXIT
nix-instantiate --eval --strict --json --read-write-mode "$root/tests/nix/eval/checks.nix" \
  --argstr vendor "$vendor" -A optionsDoc | python3 -c 'import json,sys; sys.stdout.write(json.load(sys.stdin))' >"$tmp"
mv "$tmp" "$root/docs/options.md"
trap - EXIT
