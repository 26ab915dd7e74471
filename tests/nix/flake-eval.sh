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
# As git inputs they have a rev, narHash and lastModified, as GitHub inputs do.
for f in fake-nixpkgs fake-apple-silicon; do
  git -C "$work/$f" init -q
  git -C "$work/$f" add -A
  GIT_AUTHOR_DATE=@1700000000 GIT_COMMITTER_DATE=@1700000000 \
    git -C "$work/$f" -c user.name=t -c user.email=t@t commit -qm fixture
done
nixpkgs_rev=$(git -C "$work/fake-nixpkgs" rev-parse HEAD)

nixe() {
  nix --extra-experimental-features 'nix-command flakes' eval --offline --no-write-lock-file \
    --override-input nixpkgs "git+file://$work/fake-nixpkgs" \
    --override-input nixos-apple-silicon "git+file://$work/fake-apple-silicon" \
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
expect apps.aarch64-darwin builtins.attrNames '["create-release","publish","serve"]'
expect formatter builtins.attrNames "$all"
expect overlays builtins.attrNames '["default"]'
expect nixosModules builtins.attrNames '["default","image","nixos-asahi","nixos-asahi-image"]'
expect nixosConfigurations builtins.attrNames '["nixos-asahi-btrfs","nixos-asahi-ext4"]'
expect templates.default 't: builtins.pathExists (t.path + "/flake.nix")' true
expect lib 'l: l.volumeId { name = "nixos-asahi"; version = "0.2.0"; fs = "btrfs"; }' '"0x22196870"'
expect lib 'l: l.espUuid { name = "nixos-asahi"; version = "0.2.0"; fs = "btrfs"; }' '"2219-6870"'
# shellcheck disable=SC2016 # ${n} is Nix, not shell
expect lib 'l: builtins.all (n: l ? ${n}) ["mkAsahiPackage" "mkAsahiImage" "asahiSystem" "withPkgs" "diskLayout" "installerEntryArgs"]' true
# The starter flake.lock pins the inputs the flake was evaluated with: the
# git fixtures have a rev; self (a path: flake here) has none, so Nix will
# lock it on first use.
expect nixosModules.nixos-asahi 'm: builtins.mapAttrs (n: l: if l == null then null else { inherit (l) rev lastModified; }) m.nixosAsahi.starterFlake.locks.content' \
  "{\"nixos-apple-silicon\":{\"lastModified\":1700000000,\"rev\":\"$(git -C "$work/fake-apple-silicon" rev-parse HEAD)\"},\"nixpkgs\":{\"lastModified\":1700000000,\"rev\":\"$nixpkgs_rev\"}}"
expect nixosModules.nixos-asahi 'm: builtins.match "sha256-.*" m.nixosAsahi.starterFlake.locks.content.nixpkgs.narHash != null' true
echo "20 flake output checks"
