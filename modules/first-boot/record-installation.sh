#!/usr/bin/env bash
# Record the partitions this installation booted from in
# /etc/nixos/installation.nix (as nixos-generate-config records a machine in
# hardware-configuration.nix), so that the configuration mounts its own ESP
# and root by partition UUID from then on, whatever package name or version
# it carries, and two installations on one Mac never mount each other's.
#
# Usage: record-installation.sh [OUTPUT]   (default /etc/nixos/installation.nix)
# NIT_FAKE_ROOT, when set, prefixes every path read (/sys, /proc, /dev): the
# tests run the script against a made-up tree. An existing OUTPUT is kept.
set -euo pipefail

root=${NIT_FAKE_ROOT:-}
out=${1:-$root/etc/nixos/installation.nix}
prog=record-installation

say() { printf '%s: %s\n' "$prog" "$*" >&2; }

is_guid() {
  [[ $1 =~ ^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$ ]]
}

lower() { printf '%s' "$1" | tr 'A-F' 'a-f'; }

# The partition UUID of a block device, from the /dev/disk/by-partuuid links.
partuuid_of() {
  local dev link
  dev=$(readlink -f "$root$1")
  for link in "$root"/dev/disk/by-partuuid/*; do
    [ -e "$link" ] || continue
    if [ "$(readlink -f "$link")" = "$dev" ]; then
      basename "$link"
      return 0
    fi
  done
  return 1
}

# The device mounted at a mount point, from mountinfo (field 5 is the mount
# point; the source follows the " - fstype" separator).
mounted_device() {
  awk -v mp="$1" '$5 == mp { for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 2); exit } }' \
    "$root/proc/self/mountinfo"
}

# Which ESP the firmware booted from: systemd-boot's LoaderDevicePartUUID
# (4 attribute bytes, then UTF-16LE text), else what m1n1 passes in the
# device tree (the Asahi installer sets it), else the device at /boot.
esp_partuuid() {
  local var dt v dev
  var=$root/sys/firmware/efi/efivars/LoaderDevicePartUUID-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f
  if [ -r "$var" ]; then
    v=$(tail -c +5 "$var" | tr -d '\000')
    if is_guid "$v"; then lower "$v"; return 0; fi
    say "ignoring LoaderDevicePartUUID: not a GUID"
  fi
  dt=$root/proc/device-tree/chosen/asahi,efi-system-partition
  if [ -r "$dt" ]; then
    v=$(tr -d '\000' <"$dt")
    if is_guid "$v"; then lower "$v"; return 0; fi
    say "ignoring chosen/asahi,efi-system-partition: not a GUID"
  fi
  dev=$(mounted_device /boot)
  if [ -n "$dev" ] && v=$(partuuid_of "$dev"); then lower "$v"; return 0; fi
  return 1
}

root_partuuid() {
  local dev
  dev=$(mounted_device /)
  [ -n "$dev" ] || return 1
  partuuid_of "$dev"
}

if [ -e "$out" ]; then
  say "$out exists: left as it is"
  exit 0
fi
esp=$(esp_partuuid) || esp=""
rootp=$(root_partuuid) || rootp=""
if [ -z "$esp" ] || [ -z "$rootp" ]; then
  say "cannot tell the ESP (${esp:-unknown}) and root (${rootp:-unknown}) partitions apart: $out not written; /boot and / stay mounted by volume id and label"
  exit 1
fi
mkdir -p "$(dirname "$out")"
tmp=$(mktemp "$out.XXXXXX")
cat >"$tmp" <<NIX
# Written on first boot by nixos-image-tools: the partitions this
# installation booted from. With it, / and /boot are mounted by partition
# UUID whatever name or version the configuration's nixosAsahi options carry.
{
  nixosAsahi.installation = {
    espPartUuid = "$esp";
    rootPartUuid = "$(lower "$rootp")";
  };
}
NIX
chmod 0644 "$tmp"
mv "$tmp" "$out"
say "recorded ESP $esp and root $(lower "$rootp") in $out"
