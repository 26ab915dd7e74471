#!/usr/bin/env bash
# Quick start: the whole packaging on a generated sample, no Nix needed.
#   1. generate an ESP tree (systemd-boot layout, m1n1/boot.bin) and a root tree
#   2. mkimage: GPT disk image with a FAT32 ESP and an ext4 root
#   3. carve-partitions asahi-package: installer zip + manifest
#   4. gen-installer-data entry + merge + check
#   5. read the zip back the way the installer does
# Usage: ./sample.sh [OUTPUT_DIR]   (default: ./sample-output, replaced)
set -euo pipefail
cd "$(dirname "$0")"
out=$(realpath -m "${1:-sample-output}")
export NIT_CACHE=${NIT_CACHE:-/var/cache/nixos-image-tools}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

tools/install-deps.sh
PATH="$(tools/trixie-tools.sh "$NIT_CACHE"):$PATH"
cargo build --release -q
bin=$PWD/target/release

rm -rf "$out"
mkdir -p "$out/esp" "$out/root"
# A small but realistic ESP: what the NixOS module lays out.
esp=$out/esp
mkdir -p "$esp/EFI/BOOT" "$esp/EFI/systemd" "$esp/EFI/nixos" "$esp/loader/entries" "$esp/m1n1"
head -c 150000 /dev/zero | tr '\0' 'B' > "$esp/EFI/BOOT/BOOTAA64.EFI"
cp "$esp/EFI/BOOT/BOOTAA64.EFI" "$esp/EFI/systemd/systemd-bootaa64.efi"
head -c 3000000 /dev/urandom > "$esp/EFI/nixos/00000000000000000000000000000000-linux-6.12-Image.efi"
head -c 2000000 /dev/urandom > "$esp/EFI/nixos/11111111111111111111111111111111-initrd-linux-6.12-initrd.efi"
head -c 80000 /dev/urandom > "$esp/m1n1/boot.bin"
printf 'timeout 5\ndefault nixos-generation-1.conf\n' > "$esp/loader/loader.conf"
printf 'title NixOS\nlinux /EFI/nixos/00000000000000000000000000000000-linux-6.12-Image.efi\ninitrd /EFI/nixos/11111111111111111111111111111111-initrd-linux-6.12-initrd.efi\noptions root=LABEL=nixos\n' \
  > "$esp/loader/entries/nixos-generation-1.conf"
# A root tree: some real files from the host.
mkdir -p "$out/root/etc" "$out/root/usr/share"
echo nixos > "$out/root/etc/hostname"
cp -r /usr/share/doc "$out/root/usr/share/" 2>/dev/null || true

cat > "$out/layout.json" <<JSON
{"table": "gpt", "sectorSize": 512, "seed": "sample-0.1.0-ext4", "size": "auto",
 "partitions": [
   {"name": "ESP", "type": "esp", "size": "64MiB",
    "content": {"fs": "vfat", "source": "$esp", "label": "ESP"}},
   {"name": "nixos", "type": "linux", "size": "auto",
    "content": {"fs": "ext4", "source": "$out/root", "label": "nixos"}}]}
JSON

set -x
"$bin/mkimage" --layout "$out/layout.json" --output "$out/disk.img" --report "$out/report.json"
"$bin/carve-partitions" list "$out/disk.img"
"$bin/carve-partitions" asahi-package "$out/disk.img" --esp esp --root nixos \
  --output "$out/sample-0.1.0-ext4.zip" --manifest "$out/sample-0.1.0-ext4.manifest.json" \
  --root-sha256
"$bin/gen-installer-data" entry --manifest "$out/sample-0.1.0-ext4.manifest.json" \
  --name sample --version 0.1.0 --fs ext4 --package-url https://example.invalid/os/ \
  --output "$out/entry.json"
"$bin/gen-installer-data" merge --into "$out/installer_data.json" "$out/entry.json"
"$bin/gen-installer-data" check "$out/installer_data.json" --package "$out/sample-0.1.0-ext4.zip"
unzip -tq "$out/sample-0.1.0-ext4.zip"
root_sha=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["members"][-1]["sha256"])' "$out/sample-0.1.0-ext4.manifest.json")
python3 tests/support/installer_check.py "$out/sample-0.1.0-ext4.zip" "$out/installed-esp" "$root_sha"
diff -r -x vendorfw "$esp" "$out/installed-esp"
set +x
echo "sample: OK — $out/sample-0.1.0-ext4.zip ($(stat -c %s "$out/sample-0.1.0-ext4.zip") bytes), $out/installer_data.json"
