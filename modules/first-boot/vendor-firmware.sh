#!/usr/bin/env bash
# At each boot, before udev loads drivers: unpack the Mac's firmware, which
# the Asahi installer put on the ESP as vendorfw/firmware.cpio, into
# /lib/firmware. On first boot also copy the cpio to /etc/nixos/firmware/,
# where the starter configuration builds it into the system from then on.
#
# Environment: ESP_PARTUUID (the installation's ESP, when recorded),
# ESP_UUID (its volume id, XXXX-XXXX), FIRST_BOOT (the first-boot marker).
# Needs blkid, mount, umount, cpio on PATH. /boot is not mounted yet.
set -uo pipefail
prog=vendor-firmware
say() { printf '%s: %s\n' "$prog" "$*" >&2; }

# The ESP: the one the boot chain names (m1n1 passes the partition UUID the
# Asahi installer set, and it holds even when two ESPs share a volume id),
# else the recorded one, else by volume id.
esp=""
dt=/proc/device-tree/chosen/asahi,efi-system-partition
if [ -r "$dt" ]; then
  partuuid=$(tr -d '\000' <"$dt")
  [ -n "$partuuid" ] && esp=$(blkid -c /dev/null -l -o device -t PARTUUID="$partuuid" || true)
fi
if [ -z "$esp" ] && [ -n "${ESP_PARTUUID:-}" ]; then
  esp=$(blkid -c /dev/null -l -o device -t PARTUUID="$ESP_PARTUUID" || true)
fi
if [ -z "$esp" ] && [ -n "${ESP_UUID:-}" ]; then
  esp=$(blkid -c /dev/null -U "$ESP_UUID" || true)
fi
if [ -z "$esp" ]; then
  say "no ESP found: no vendor firmware loaded"
  exit 0
fi

mnt=/run/nixos-asahi/esp
work=/run/nixos-asahi/fw
mkdir -p "$mnt"
if ! mount -t vfat -o ro "$esp" "$mnt"; then
  say "cannot mount the ESP $esp: no vendor firmware loaded"
  exit 0
fi
trap 'umount "$mnt"; rm -rf "$work"' EXIT
cpio_file=$mnt/vendorfw/firmware.cpio
if [ ! -f "$cpio_file" ]; then
  say "$esp has no vendorfw/firmware.cpio: no vendor firmware loaded"
  exit 0
fi
rm -rf "$work"
mkdir -p "$work" /lib/firmware
if (cd "$work" && cpio -id --quiet --no-absolute-filenames <"$cpio_file"); then
  cp -a "$work/vendorfw/." /lib/firmware/
else
  say "cannot unpack $cpio_file"
fi
if [ -n "${FIRST_BOOT:-}" ] && [ -f "$FIRST_BOOT" ] && [ -d /etc/nixos ]; then
  mkdir -p /etc/nixos/firmware
  cp "$cpio_file" /etc/nixos/firmware/firmware.cpio
fi
