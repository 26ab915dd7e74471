#!/usr/bin/env bash
# The sd-card format's layout against nixpkgs' sd-image.nix: builds a small
# image both ways and compares what sfdisk --json, our carve-partitions
# list --json and blkid read back (offsets, partition types, active flags,
# disk id, filesystem types, labels, volume ids). The reference is made with
# sd-image.nix's own commands (sfdisk script, mkfs.vfat, mke2fs), as
# released from 2020 until nixpkgs PR 477779 (2026) moved the active flag to
# FIRMWARE: the flag on the root, where U-Boot's distro boot looks for
# extlinux.conf. Differences are errors unless listed in `documented`
# (README "Differences from sd-image.nix").
#
# Usage: tests/layout/sd-image.sh   (MKIMAGE, CARVE: our binaries; default
# target/release/*, built if missing)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mkimage=${MKIMAGE:-$repo/target/release/mkimage}
carve=${CARVE:-$repo/target/release/carve-partitions}
if [ ! -x "$mkimage" ] || [ ! -x "$carve" ]; then
  (cd "$repo" && cargo build -q --release --bin mkimage --bin carve-partitions)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir -p root/etc firmware
echo nixos >root/etc/hostname
echo arm_64bit=1 >firmware/config.txt

# Ours: the format's own layout.
NIX_CONFIG=$'build-users-group =' nix-instantiate --eval --strict --json \
  -E "(import $repo/lib/formats/sd-card.nix).layout { seed = \"layout-check\"; firmwareSource = \"$work/firmware\"; rootSource = \"$work/root\"; }" >layout.json
SOURCE_DATE_EPOCH=315532800 "$mkimage" --layout layout.json --output ours.img 2>/dev/null

# sd-image.nix's build, its defaults (gap 8, firmwareSize 30, id 0x2178694e).
gap=8 firmwareSize=30 id=0x2178694e
mkfs.ext4 -q -L NIXOS_SD -d root root-fs.img 32M
rootSizeBlocks=$(du -B 512 --apparent-size root-fs.img | awk '{ print $1 }')
firmwareSizeBlocks=$((firmwareSize * 1024 * 1024 / 512))
truncate -s $((rootSizeBlocks * 512 + firmwareSizeBlocks * 512 + gap * 1024 * 1024)) ref.img
sfdisk --no-reread --no-tell-kernel -q ref.img <<SFDISK
label: dos
label-id: $id

start=${gap}M, size=$firmwareSizeBlocks, type=b
start=$((gap + firmwareSize))M, type=83, bootable
SFDISK
eval "$(partx ref.img -o START,SECTORS --nr 2 --pairs)"
dd conv=notrunc if=root-fs.img of=ref.img seek="$START" count="$SECTORS" status=none
eval "$(partx ref.img -o START,SECTORS --nr 1 --pairs)"
truncate -s $((SECTORS * 512)) firmware_part.img
mkfs.vfat --invariant -i "$id" -n FIRMWARE firmware_part.img >/dev/null
mcopy -i firmware_part.img firmware/config.txt ::/config.txt
dd conv=notrunc if=firmware_part.img of=ref.img seek="$START" count="$SECTORS" status=none

# What each tool reads back, as "key value" lines.
facts() {
  local img=$1
  sfdisk --json "$img" | python3 -c '
import json, sys
t = json.load(sys.stdin)["partitiontable"]
print("sfdisk.label", t["label"]); print("sfdisk.id", t["id"]); print("sfdisk.sectorsize", t["sectorsize"])
for i, p in enumerate(t["partitions"], 1):
    print(f"sfdisk.p{i}.start", p["start"]); print(f"sfdisk.p{i}.type", p["type"])
    print(f"sfdisk.p{i}.bootable", p.get("bootable", False))
    if i == 1: print(f"sfdisk.p{i}.size", p["size"])'
  "$carve" list --json "$img" | python3 -c '
import json, sys
t = json.load(sys.stdin)
print("carve.table", t["table"]); print("carve.diskSignature", t["diskSignature"])
for p in t["partitions"]:
    i = p["index"]; print(f"carve.p{i}.type", p["type"]); print(f"carve.p{i}.offset", p["offset"])'
  local n off size
  for n in 1 2; do
    eval "$(partx "$img" -o START,SECTORS --nr "$n" --pairs)"
    off=$((START * 512)) size=$((SECTORS * 512))
    blkid -p -O "$off" -S "$size" -o export "$img" 2>/dev/null |
      awk -v n="$n" -F= '$1 == "TYPE" || $1 == "LABEL" || $1 == "UUID" || $1 == "VERSION" { print "blkid.p" n "." $1, $2 }' |
      sort
  done
}
facts ours.img >ours.txt
facts ref.img >ref.txt

# Documented differences (README): FAT32 needs 34 MiB, so partition 1 is
# larger, the root starts 4 MiB later, and the filesystem is FAT32, not
# FAT16. The ext4 UUIDs are random in the reference.
documented='^(sfdisk\.p1\.size|sfdisk\.p2\.start|carve\.p2\.offset|blkid\.p1\.VERSION|blkid\.p2\.UUID)$'
fail=0
printf '%-22s %-24s %-24s %s\n' fact sd-image.nix ours result
while read -r key ref; do
  mine=$(awk -v k="$key" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' ours.txt)
  if [ "$mine" = "$ref" ]; then r=same
  elif [[ $key =~ $documented ]]; then r="differs (documented)"
  else r=DIFFERS; fail=1; fi
  printf '%-22s %-24s %-24s %s\n' "$key" "$ref" "$mine" "$r"
done <ref.txt
[ "$(wc -l <ours.txt)" = "$(wc -l <ref.txt)" ] || { echo "sd-image layout: the images have different numbers of facts" >&2; fail=1; }
[ "$fail" = 0 ] || { echo "sd-image layout: undocumented differences from sd-image.nix" >&2; exit 1; }
echo "sd-image layout: same as sd-image.nix but for the documented differences"
