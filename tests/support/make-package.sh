#!/usr/bin/env bash
# A small real package, as a Nix package output holds it, without Nix:
# mkimage → carve-partitions asahi-package → gen-installer-data entry.
# usage: make-package.sh BIN_DIR OUT_DIR NAME VERSION FS [ROOT_RANDOM_MIB]
#   OUT_DIR gets NAME-VERSION-FS.zip, .manifest.json, installer_data-VERSION-FS.json;
#   ROOT_RANDOM_MIB (default 0) adds that much incompressible data to the root.
# Needs trixie's mke2fs/mkfs.btrfs first on PATH (tools/trixie-tools.sh).
set -euo pipefail
bin=$1 out=$2 name=$3 version=$4 fs=$5 random_mib=${6:-0}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
work=$(mktemp -d "${TMPDIR:-/tmp}/make-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
esp=$work/esp root=$work/root
mkdir -p "$esp/EFI/BOOT" "$esp/m1n1" "$esp/loader/entries" "$root/etc" "$out"
printf 'EFI %s %s\n' "$name" "$version" > "$esp/EFI/BOOT/BOOTAA64.EFI"
head -c 20000 /dev/urandom > "$esp/m1n1/boot.bin"
printf 'timeout 5\n' > "$esp/loader/loader.conf"
printf '%s %s %s\n' "$name" "$version" "$fs" > "$root/etc/os-release"
head -c 200000 /dev/urandom > "$root/etc/noise"
if [ "$random_mib" -gt 0 ]; then
  head -c "$((random_mib << 20))" /dev/urandom > "$root/big"
fi
cat > "$work/layout.json" <<JSON
{"table": "gpt", "sectorSize": 512, "seed": "$name-$version-$fs", "size": "auto",
 "partitions": [
   {"name": "ESP", "type": "esp", "size": "64MiB",
    "content": {"fs": "vfat", "source": "$esp", "label": "ESP"}},
   {"name": "nixos", "type": "linux", "size": "auto",
    "content": {"fs": "$fs", "source": "$root", "label": "nixos"}}]}
JSON
base=$name-$version-$fs
"$bin/mkimage" --layout "$work/layout.json" --output "$work/disk.img" >/dev/null
# --root-sha256: the tests compare what the installer path unpacks with it.
"$bin/carve-partitions" asahi-package "$work/disk.img" --esp esp --root nixos \
  --output "$out/$base.zip" --manifest "$out/$base.manifest.json" --root-sha256 >/dev/null
"$bin/gen-installer-data" entry --manifest "$out/$base.manifest.json" \
  --name "$name" --version "$version" --fs "$fs" --package-url "$base.zip" \
  --output "$work/entry.json" >/dev/null
"$bin/gen-installer-data" merge --into "$out/installer_data-$version-$fs.json" "$work/entry.json" >/dev/null
