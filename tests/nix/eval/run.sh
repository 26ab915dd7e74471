#!/usr/bin/env bash
# The evaluation harness: this flake, its template, its lib and the starter
# /etc/nixos, evaluated with the REAL nixpkgs lib (module system, types) and
# the REAL nixos-apple-silicon (vendored, see NIT_VENDOR), over a fixture
# that declares the NixOS options they touch with nixpkgs' types and
# defaults (tests/nix/nixos-fixture). Every check runs with
# import-from-derivation off. Prints "ok:"/"FAILED:" lines and a count.
#
# NIT_VENDOR: the folder holding nixpkgs-lib/ and nixos-apple-silicon/
# (default: ../shared/vendor beside the repository).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
vendor=${NIT_VENDOR:-$root/../shared/vendor}
if [ ! -d "$vendor/nixpkgs-lib/lib" ] || [ ! -d "$vendor/nixos-apple-silicon" ]; then
  echo "FAILED: eval harness: no vendored nixpkgs lib / nixos-apple-silicon in $vendor (set NIT_VENDOR)" >&2
  echo "eval: 0 passed, 1 failed"
  exit 1
fi
vendor=$(cd "$vendor" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

nixe() { # attribute, extra args...
  local a=$1
  shift
  nix-instantiate --eval --strict --json --read-write-mode --option allow-import-from-derivation false \
    "$here/checks.nix" --argstr vendor "$vendor" "$@" -A "$a"
}

# The starter /etc/nixos of each image, as the image writes it; then as
# first boot leaves it (installation.nix, the second installation's
# partitions of tests/nix/first-boot.sh) and after the user bumped the
# version in it.
if ! nixe etcNixos >"$work/etc.json" 2>"$work/err"; then
  echo "FAILED: eval harness: etcNixos: $(tail -n 5 "$work/err")" >&2
  echo "eval: 0 passed, 1 failed"
  exit 1
fi
python3 - "$work/etc.json" "$work/starter" <<'PY'
import json, os, re, sys
etc, out = json.load(open(sys.argv[1])), sys.argv[2]
recorded = """{
  nixosAsahi.installation = {
    espPartUuid = "aaaaaaaa-0000-4000-8000-000000000006";
    rootPartUuid = "aaaaaaaa-0000-4000-8000-000000000007";
  };
}
"""
for fs, files in etc.items():
    for variant in ["fresh", "recorded", "recorded-bumped"]:
        d = os.path.join(out, f"{fs}-{variant}")
        os.makedirs(d)
        for name, text in files.items():
            if variant == "recorded-bumped" and name == "configuration.nix":
                text, n = re.subn(r'version = "[^"]*";', 'version = "9.9.9";', text)
                assert n == 1, "no version line in configuration.nix"
            open(os.path.join(d, name), "w").write(text)
        if variant != "fresh":
            open(os.path.join(d, "installation.nix"), "w").write(recorded)
PY

mapfile -t names < <(nix-instantiate --eval --json -E \
  "builtins.attrNames (builtins.removeAttrs (import $here/checks.nix { vendor = \"$vendor\"; }) [ \"etcNixos\" \"expectFailure\" \"optionsDoc\" ])" |
  python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)))')
for n in "${names[@]}"; do
  if out=$(nixe "$n" --argstr starter "$work/starter" 2>&1) && [ "$(echo "$out" | tail -n 1)" = true ]; then
    passed=$((passed + 1))
    echo "ok: eval $n"
  else
    failed=$((failed + 1))
    echo "FAILED: eval $n: $(echo "$out" | grep -v '^ *at \|^ *… \|^$' | tail -n 4 | tr '\n' ' ')" >&2
  fi
done
for n in undeclared-option empty-mount-options unknown-format; do
  if out=$(nixe "expectFailure.$n" 2>&1); then
    failed=$((failed + 1))
    echo "FAILED: eval expectFailure.$n evaluated: $out" >&2
  else
    passed=$((passed + 1))
    echo "ok: eval expectFailure.$n fails: $(echo "$out" | grep -m1 'error:' | cut -c1-160)"
  fi
done
echo "eval: $passed passed, $failed failed"
[ "$failed" = 0 ]
