#!/usr/bin/env bash
# modules/first-boot/record-installation.sh against made-up machines: a
# /sys/firmware/efi/efivars, /proc/device-tree, /proc/self/mountinfo and
# /dev/disk/by-partuuid tree under NIT_FAKE_ROOT. Prints one line per case;
# exits non-zero if any case fails.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
script=$here/../../modules/first-boot/record-installation.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
check() { # name, condition...
  local name=$1
  shift
  if "$@"; then passed=$((passed + 1)); echo "ok: first boot: $name"; else failed=$((failed + 1)); echo "FAILED: first boot: $name" >&2; fi
}

# A Mac with two installations of one package: ESPs p4 and p6, roots p5
# and p7 (btrfs, mounted with subvol=@).
machine() {
  local r=$1 root_dev=$2
  mkdir -p "$r/dev/disk/by-partuuid" "$r/proc/self" "$r/sys/firmware/efi/efivars" "$r/etc/nixos"
  for n in 4 5 6 7; do : >"$r/dev/nvme0n1p$n"; done
  ln -s ../../nvme0n1p4 "$r/dev/disk/by-partuuid/aaaaaaaa-0000-4000-8000-000000000004"
  ln -s ../../nvme0n1p5 "$r/dev/disk/by-partuuid/aaaaaaaa-0000-4000-8000-000000000005"
  ln -s ../../nvme0n1p6 "$r/dev/disk/by-partuuid/aaaaaaaa-0000-4000-8000-000000000006"
  ln -s ../../nvme0n1p7 "$r/dev/disk/by-partuuid/aaaaaaaa-0000-4000-8000-000000000007"
  cat >"$r/proc/self/mountinfo" <<EOM
22 1 259:7 /@ / rw,relatime shared:1 - btrfs $root_dev rw,ssd,subvol=/@
23 22 259:7 /@nix /nix rw,relatime shared:2 - btrfs $root_dev rw,ssd,subvol=/@nix
24 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:3 - proc proc rw
EOM
}
# systemd-boot's variable: 4 attribute bytes, then UTF-16LE text with a NUL.
efivar() {
  python3 -c 'import sys; sys.stdout.buffer.write(b"\x06\0\0\0" + (sys.argv[1] + "\0").encode("utf-16-le"))' "$2" \
    >"$1/sys/firmware/efi/efivars/LoaderDevicePartUUID-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"
}
run() { NIT_FAKE_ROOT=$1 bash "$script" 2>"$1.err"; }
recorded() { # root, esp, rootp
  local f=$1/etc/nixos/installation.nix
  [ -f "$f" ] &&
    [ "$(nix-instantiate --eval --strict --json -E "(import $f).nixosAsahi.installation" 2>/dev/null)" = "{\"espPartUuid\":\"$2\",\"rootPartUuid\":\"$3\"}" ]
}

r=$work/efivar
machine "$r" /dev/nvme0n1p7
efivar "$r" AAAAAAAA-0000-4000-8000-000000000006
run "$r"
check "the ESP from LoaderDevicePartUUID, the root from mountinfo (second installation)" \
  recorded "$r" aaaaaaaa-0000-4000-8000-000000000006 aaaaaaaa-0000-4000-8000-000000000007

r=$work/dt
machine "$r" /dev/nvme0n1p5
mkdir -p "$r/proc/device-tree/chosen"
printf 'aaaaaaaa-0000-4000-8000-000000000004\0' >"$r/proc/device-tree/chosen/asahi,efi-system-partition"
run "$r"
check "the ESP from m1n1's chosen/asahi,efi-system-partition (first installation)" \
  recorded "$r" aaaaaaaa-0000-4000-8000-000000000004 aaaaaaaa-0000-4000-8000-000000000005

r=$work/mounted
machine "$r" /dev/nvme0n1p7
echo "30 22 259:6 / /boot rw,relatime shared:4 - vfat /dev/nvme0n1p6 rw,fmask=0077" >>"$r/proc/self/mountinfo"
run "$r"
check "the ESP from the device mounted at /boot when the firmware says nothing" \
  recorded "$r" aaaaaaaa-0000-4000-8000-000000000006 aaaaaaaa-0000-4000-8000-000000000007

r=$work/bad-efivar
machine "$r" /dev/nvme0n1p5
efivar "$r" not-a-guid
mkdir -p "$r/proc/device-tree/chosen"
printf 'aaaaaaaa-0000-4000-8000-000000000004\0' >"$r/proc/device-tree/chosen/asahi,efi-system-partition"
run "$r"
check "a malformed LoaderDevicePartUUID is passed over" \
  recorded "$r" aaaaaaaa-0000-4000-8000-000000000004 aaaaaaaa-0000-4000-8000-000000000005

r=$work/unknown
machine "$r" /dev/nvme0n1p5
if run "$r"; then st=0; else st=1; fi
# shellcheck disable=SC2016 # expanded by the inner bash
check "nothing written, exit 1 and one line when the ESP cannot be told" \
  bash -c '[ "$0" = 1 ] && [ ! -e "$1/etc/nixos/installation.nix" ] && [ "$(wc -l <"$1.err")" = 1 ]' "$st" "$r"

r=$work/kept
machine "$r" /dev/nvme0n1p5
efivar "$r" AAAAAAAA-0000-4000-8000-000000000004
echo '{ }' >"$r/etc/nixos/installation.nix"
run "$r"
# shellcheck disable=SC2016 # expanded by the inner bash
check "an existing installation.nix is kept" bash -c '[ "$(cat "$0/etc/nixos/installation.nix")" = "{ }" ]' "$r"

echo "first boot: $passed passed, $failed failed"
[ "$failed" = 0 ]
