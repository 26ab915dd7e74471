#!/usr/bin/env bash
# First boot: register the image's store paths in the Nix database and make
# the running system generation 1 of the system profile, as nixos-install
# does; then `nix-copy-closure` + `switch-to-configuration` and
# `nixos-rebuild` work on the first try. Needs nix-store and nix-env on PATH.
set -euo pipefail
reg=/nix-path-registration
[ -f "$reg" ] || exit 0
nix-store --load-db <"$reg"
nix-env -p /nix/var/nix/profiles/system --set "$(readlink -f /run/current-system)"
rm -f "$reg"
