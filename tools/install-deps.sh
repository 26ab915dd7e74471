#!/usr/bin/env bash
# Install the Debian packages the tests need, only those that are missing, so
# a fresh Debian machine (as CI is) and a warm developer machine both work.
# Usage: tools/install-deps.sh [extra-package...]
set -euo pipefail

pkgs=(gdisk fdisk dosfstools mtools p7zip-full unzip zip python3 e2fsprogs
      btrfs-progs util-linux nix-bin time strace ca-certificates acl clang llvm shellcheck curl perl tar "$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: need root to install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi
