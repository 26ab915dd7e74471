#!/usr/bin/env bash
# Evaluate this flake's outputs (names, lib, templates) with fake nixpkgs and
# nixos-apple-silicon inputs (tests/nix/fake-*, fixtures): no network, no
# nixpkgs. Checks the output structure the issue asks for; builds nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A copy without target/ and .git, so the flake source stays small.
mkdir "$work/flake"
(cd "$root" && cp -r flake.nix flake.lock lib modules templates tests tools package.nix Cargo.toml Cargo.lock "$work/flake/")
cp -r "$root/tests/nix/fake-nixpkgs" "$root/tests/nix/fake-apple-silicon" "$work/"

nixe() {
  nix --extra-experimental-features 'nix-command flakes' eval --offline --no-write-lock-file \
    --override-input nixpkgs "path:$work/fake-nixpkgs" \
    --override-input nixos-apple-silicon "path:$work/fake-apple-silicon" \
    --json "path:$work/flake#$1" --apply "$2" 2>"$work/err" || { cat "$work/err" >&2; return 1; }
}
expect() {
  local got
  got=$(nixe "$1" "$2")
  if [ "$got" != "$3" ]; then
    echo "flake-eval: $1 ($2): expected $3, got $got" >&2
    exit 1
  fi
}

# x86_64-darwin is left out on purpose (see flake.nix).
all='["aarch64-darwin","aarch64-linux","x86_64-linux"]'
expect packages builtins.attrNames "$all"
expect packages.x86_64-linux builtins.attrNames '["default","nixos-image-tools"]'
expect packages.aarch64-darwin builtins.attrNames '["default","nixos-image-tools"]'
expect packages.aarch64-linux builtins.attrNames '["default","nixos-asahi-btrfs","nixos-asahi-ext4","nixos-asahi-image-btrfs","nixos-asahi-image-ext4","nixos-image-tools"]'
expect checks builtins.attrNames "$all"
expect checks.x86_64-linux builtins.attrNames '["nixos-image-tools","packaging-btrfs","packaging-ext4"]'
expect checks.aarch64-darwin builtins.attrNames '["nixos-image-tools"]'
expect checks.aarch64-linux builtins.attrNames '["nixos-asahi-btrfs","nixos-asahi-ext4","nixos-image-tools","packaging-btrfs","packaging-ext4"]'
expect devShells.x86_64-linux builtins.attrNames '["default"]'
expect apps.aarch64-darwin builtins.attrNames '["create-release"]'
expect formatter builtins.attrNames "$all"
expect overlays builtins.attrNames '["default"]'
expect nixosModules builtins.attrNames '["default","nixos-asahi","nixos-asahi-image"]'
expect nixosConfigurations builtins.attrNames '["nixos-asahi-btrfs","nixos-asahi-ext4"]'
expect templates.default 't: builtins.pathExists (t.path + "/flake.nix")' true
expect lib 'l: l.volumeId { name = "nixos-asahi"; version = "0.2.0"; fs = "btrfs"; }' '"0x22196870"'
expect lib 'l: l.espUuid { name = "nixos-asahi"; version = "0.2.0"; fs = "btrfs"; }' '"2219-6870"'
# shellcheck disable=SC2016 # ${n} is Nix, not shell
expect lib 'l: builtins.all (n: l ? ${n}) ["mkAsahiPackage" "mkAsahiImage" "asahiSystem" "withPkgs" "diskLayout" "installerEntryArgs"]' true
echo "18 flake output checks"
