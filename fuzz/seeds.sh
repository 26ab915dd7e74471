#!/usr/bin/env bash
# Seed corpora for the fuzz targets, made by the real tools at test time
# (nothing binary is committed): tiny GPT/MBR disks at 512 and 4096-byte
# sectors (sgdisk, sfdisk, fdisk), FAT12/FAT16 filesystems with files
# (mkfs.vfat + mcopy), a package zip and manifest written by
# carve-partitions asahi-package, installer data and layouts as the tests
# write them.
#
#   fuzz/seeds.sh OUT_DIR [TOOLS_BIN]     (TOOLS_BIN: target/release)
set -euo pipefail
out=$1
bin=${2:-$(cd "$(dirname "$0")/.." && pwd)/target/release}
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
for t in partition_table fat zip_check installer_data manifest layout deflate_roundtrip; do
  mkdir -p "$out/$t"
done

# Partition tables.
truncate -s 96K "$w/gpt512"
sgdisk -a 1 -n1:34:+32K -t1:EF00 -c1:ESP -n2:0:0 -t2:8300 -c2:nixos "$w/gpt512" >/dev/null
printf 'label: dos\nstart=1, size=64, type=ef\nstart=65, type=83\n' | sfdisk -q "$w/mbr512"  2>/dev/null ||
  { truncate -s 96K "$w/mbr512"; printf 'label: dos\nstart=1, size=64, type=ef\nstart=65, type=83\n' | sfdisk -q "$w/mbr512"; }
truncate -s 256K "$w/gpt4096"
printf 'g\nn\n1\n\n+64K\nn\n2\n\n\nw\n' | fdisk -b 4096 "$w/gpt4096" >/dev/null 2>&1
cp "$w/gpt512" "$w/mbr512" "$w/gpt4096" "$out/partition_table/"

# FAT filesystems with a small tree (long names, subdirectories, a
# multi-cluster file, an empty file).
mkdir -p "$w/tree/EFI/BOOT" "$w/tree/m1n1"
printf 'boot' >"$w/tree/EFI/BOOT/BOOTAA64.EFI"
head -c 3000 /dev/urandom >"$w/tree/m1n1/boot.bin"
: >"$w/tree/empty"
printf 'x' >"$w/tree/A long file name.txt"
for spec in "12 128" "16 2200"; do
  set -- $spec
  rm -f "$w/fat$1"
  mkfs.vfat -F "$1" -s 1 -S 512 -n ESP -i 12CEA600 -C "$w/fat$1" "$2" >/dev/null
  (cd "$w/tree" && mcopy -s -i "$w/fat$1" ./* ::/)
  cp "$w/fat$1" "$out/fat/"
done

# A whole disk (FAT12 ESP + 4 KiB-aligned root) through asahi-package: the
# zip and its manifest.
truncate -s 1M "$w/disk"
sgdisk -a 8 -n1:40:+128K -t1:EF00 -c1:ESP -n2:0:+256K -t2:8300 -c2:nixos "$w/disk" >/dev/null
esp_start=$(sgdisk -i 1 "$w/disk" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
dd if="$w/fat12" of="$w/disk" bs=512 seek="$esp_start" conv=notrunc status=none
SOURCE_DATE_EPOCH=1700000000 "$bin/carve-partitions" asahi-package "$w/disk" \
  --esp 1 --root 2 -o "$w/p.zip" 2>/dev/null
cp "$w/disk" "$out/partition_table/disk"
cp "$w/p.zip" "$out/zip_check/"
cp "$w/p.manifest.json" "$out/manifest/"

python3 - "$out" <<'PY'
import json, os, sys, zipfile
out = sys.argv[1]
entry = {"name": "NixOS", "default_os_name": "NixOS", "boot_object": "m1n1.bin",
         "next_object": "m1n1/boot.bin", "package": "p.zip",
         "supported_fw": ["12.3", "12.3.1", "13.5"],
         "partitions": [
             {"name": "EFI", "type": "EFI", "size": "536870912B", "format": "fat",
              "volume_id": "0x12cea600", "source": "esp",
              "copy_firmware": True, "copy_installer_data": True},
             {"name": "Root", "type": "Linux", "size": "5GB", "expand": True,
              "image": "root.img"}]}
json.dump({"os_list": [entry]}, open(f"{out}/installer_data/spec.json", "w"))
json.dump({"os_list": [entry, dict(entry, package="https://example.invalid/q.zip")]},
          open(f"{out}/installer_data/two.json", "w"))
with zipfile.ZipFile(f"{out}/zip_check/python.zip", "w") as z:
    for n in ["esp/", "esp/m1n1/"]:
        z.writestr(zipfile.ZipInfo(n), b"")
    z.writestr("esp/m1n1/boot.bin", b"m1n1" * 100, zipfile.ZIP_DEFLATED)
    z.writestr("root.img", bytes(4096), zipfile.ZIP_DEFLATED)
layouts = [
    {"table": "gpt", "sectorSize": 512, "seed": "t", "size": "auto",
     "partitions": [{"name": "nixos", "type": "root-arm64", "size": "auto",
                     "content": {"fs": "ext4", "source": "root", "label": "nixos"}}]},
    {"table": "gpt", "sectorSize": 4096, "seed": "e", "size": "2GiB",
     "partitions": [{"name": "ESP", "type": "esp", "size": "512MiB",
                     "content": {"fs": "vfat", "source": "esp", "label": "ESP"}},
                    {"name": "nixos", "type": "linux", "size": "auto",
                     "content": {"fs": "btrfs", "source": "root"}}]},
    {"table": "mbr", "seed": "m", "partitions": [{"type": "0x83", "size": "1MiB"}]},
]
for i, l in enumerate(layouts):
    json.dump(l, open(f"{out}/layout/{i}.json", "w"))
open(f"{out}/deflate_roundtrip/text", "wb").write(b"\x05\x01\x00\x10" + b"NixOS " * 3000)
open(f"{out}/deflate_roundtrip/noise", "wb").write(b"\x00\x02\x00\x10" + os.urandom(9000))
PY
echo "seeds in $out: $(find "$out" -type f | wc -l) files"
