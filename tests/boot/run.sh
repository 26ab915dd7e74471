#!/usr/bin/env bash
# Boot test: build disk images with mkimage and boot them under UEFI firmware
# in QEMU (software emulation), on an NVMe disk as on a Mac.
#
# Matrix: aarch64 (virt, AAVMF) and x86_64 (q35, OVMF) x NVMe logical block
# size 512 and 4096 x root ext4 and btrfs (subvolume @ as root). Each image has
# the ESP layout our Asahi images use (systemd-boot as the removable-media
# loader, loader/loader.conf, a NixOS generation entry, kernel and initrd under
# EFI/nixos/). The kernel is Debian's cloud kernel; the initrd is busybox plus
# the modules the root needs (tests/boot/init). A boot passes when the console
# shows the marker that was written into this image's root tree, read from the
# partition found by label, on an NVMe namespace with the expected block size.
#
# The images are the formats of lib/formats/, laid out by their own layout
# functions (evaluated with nix-instantiate):
#   ARCH-SS-FS               raw-efi (GPT, ESP with systemd-boot) under UEFI
#   qcow2-ARCH-SS-FS         the same, converted as the qcow2 format does
#                            (compressed; both variants built twice, compared)
#   grow-x86_64-SS-FS        raw-efi booted on a disk 1 GiB larger than the
#                            image: the initrd grows partition and filesystem
#                            as NixOS's first boot does (growpart, then
#                            resize2fs / btrfs resize) and reports the sizes;
#                            needs an x86_64 host (its tools go in the initrd)
#   growsd-x86_64-512-ext4   the sd-card image likewise (MBR), its kernel
#                            booted directly (U-Boot is the sdcard combo's)
#   sdcard-aarch64-512-ext4  sd-card (MBR, FIRMWARE + NIXOS_SD with
#                            /boot/extlinux/extlinux.conf) through Debian's
#                            U-Boot for QEMU: distro boot finds extlinux.conf
#                            on the active partition, as a Raspberry Pi's does
#
# Usage: tests/boot/run.sh [COMBO...]   COMBO like aarch64-4096-btrfs; default all
# Environment:
#   NIT_CACHE          download cache, outside the repo (default /var/cache/nixos-image-tools)
#   MKIMAGE            mkimage binary (default: cargo build --release, target/release/mkimage)
#   NIT_BOOT_JOBS      boots in parallel (default 2)
#   NIT_BOOT_TIMEOUT   seconds per boot before it counts as failed (default 180)
#   NIT_BOOT_KEEP=1    keep the work directory (images, console logs)
#   NIT_BOOT_ASSEMBLER=host  diagnosis only: build 512-byte-sector images with
#                      sfdisk/mkfs/mtools instead of mkimage, to tell a harness
#                      fault from an mkimage fault
#   NIT_DEBIAN_MIRROR  Debian mirror URI, needed when this host is not Debian
#   NIT_DEBIAN_SECURITY_MIRROR  its security mirror URI (optional)
#   NIT_DEBIAN_SUITE   Debian suite for the kernels (default: this host's, else bookworm)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${NIT_CACHE:-/var/cache/nixos-image-tools}
jobs=${NIT_BOOT_JOBS:-2}
boot_timeout=${NIT_BOOT_TIMEOUT:-180}

say() { echo "boot-test: $*" >&2; }
die() { echo "boot-test: error: $*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root to run: $* (run as root or install sudo)"; fi
}

# ---------------------------------------------------------------- host tools

debian_codename() {
  local id='' codename=''
  # shellcheck disable=SC1091
  [ -r /etc/os-release ] && { id=$(. /etc/os-release; echo "${ID:-}"); codename=$(. /etc/os-release; echo "${VERSION_CODENAME:-}"); }
  if [ "$id" = debian ] && [ -n "$codename" ]; then echo "$codename"; fi
}

# URIs of this host's Debian sources: "<main mirror> <security mirror>", from
# deb822 files or one-line sources.list. Never a built-in host name.
debian_uris() {
  local main='' security=''
  if [ -n "${NIT_DEBIAN_MIRROR:-}" ]; then
    echo "$NIT_DEBIAN_MIRROR ${NIT_DEBIAN_SECURITY_MIRROR:-}"
    return
  fi
  [ -n "$(debian_codename)" ] || die "this host is not Debian: set NIT_DEBIAN_MIRROR (and NIT_DEBIAN_SECURITY_MIRROR) to Debian mirror URIs"
  main=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  security=$(awk '/^URIs:/ && $2 ~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  if [ -z "$main" ]; then
    main=$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    security=$(awk '$1 == "deb" && $2 ~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  fi
  [ -n "$main" ] || die "cannot find a Debian mirror in /etc/apt; set NIT_DEBIAN_MIRROR"
  echo "$main $security"
}

# Install what is missing. qemu on this kind of host may come from backports
# (qemu-utils 10 is): then qemu-system-* must come from there too.
ensure_host_tools() {
  local -a need=()
  command -v qemu-system-aarch64 >/dev/null || need+=(qemu-system-arm)
  command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
  [ -f /usr/share/AAVMF/AAVMF_CODE.fd ] || need+=(qemu-efi-aarch64)
  [ -f /usr/share/OVMF/OVMF_CODE_4M.fd ] || need+=(ovmf)
  [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
  command -v python3 >/dev/null || need+=(python3)
  command -v growpart >/dev/null || need+=(cloud-guest-utils)
  command -v timeout >/dev/null || need+=(coreutils)
  command -v dpkg-deb >/dev/null || need+=(dpkg)
  [ ${#need[@]} -gt 0 ] || return 0

  say "installing ${need[*]}"
  command -v apt-get >/dev/null || die "missing Debian packages ${need[*]} and no apt-get to install them"
  local -a target=()
  local codename qemu_utils
  codename=$(debian_codename)
  qemu_utils=$(dpkg-query -W -f '${Version}' qemu-utils 2>/dev/null || true)
  if [[ $qemu_utils == *bpo* ]] && [ -n "$codename" ]; then
    if ! grep -rqs -- "$codename-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
      local main
      read -r main _ < <(debian_uris)
      say "enabling $codename-backports from $main (qemu-utils $qemu_utils is from backports)"
      as_root tee /etc/apt/sources.list.d/nit-backports.sources >/dev/null <<SOURCES
Types: deb
URIs: $main
Suites: $codename-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    fi
    target=(-t "$codename-backports")
  fi
  as_root apt-get -q update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends "${target[@]}" "${need[@]}"
}

# ------------------------------------------------------- guest packages (cache)

# A private apt root in $1 (its own lists and architectures), so the host's
# dpkg architectures and apt state stay untouched; sets apt_opts.
private_apt() {
  local dir=$1 suite uris main security
  suite=${NIT_DEBIAN_SUITE:-$(debian_codename)}
  suite=${suite:-bookworm}
  uris=$(debian_uris)
  read -r main security <<<"$uris"
  mkdir -p "$dir/apt/etc" "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/debs" "$dir/root"
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$main" "$suite" "$suite"
    if [ -n "$security" ]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$security" "$suite"
    fi
  } >"$dir/apt/etc/debian.sources"
  apt_opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$dir/apt/etc"
    -o "Dir::State::Lists=$dir/apt/lists" -o "Dir::Cache=$dir/apt/cache"
    -o "Dir::State::status=/dev/null" -o "APT::Architecture=amd64"
    -o "APT::Architectures::=amd64" -o "APT::Architectures::=arm64"
    -o "APT::Sandbox::User=root" -o "Debug::NoLocking=1")
  apt-get "${apt_opts[@]}" -q update >&2
}

# Kernel, systemd-boot and busybox for both guest architectures.
fetch_guest_packages() {
  local dir=$cache/boot
  if [ -f "$dir/.complete" ]; then return 0; fi
  say "downloading kernels, systemd-boot, busybox into $dir"
  rm -rf "$dir"
  local -a apt_opts
  private_apt "$dir"
  local -a opts=("${apt_opts[@]}")
  local -a pkgs=()
  local arch kpkg
  for arch in arm64 amd64; do
    # linux-image-cloud-<arch> is a metapackage; take the image it depends on.
    kpkg=$(apt-cache "${opts[@]}" depends "linux-image-cloud-$arch:$arch" |
      awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ {sub(/:.*/, "", $2); print $2; exit}')
    [ -n "$kpkg" ] || die "cannot resolve linux-image-cloud-$arch"
    pkgs+=("$kpkg:$arch" "systemd-boot-efi:$arch" "busybox-static:$arch")
  done
  (cd "$dir/debs" && apt-get "${opts[@]}" -q download "${pkgs[@]}" >&2)
  local deb
  for arch in arm64 amd64; do
    for deb in "$dir/debs"/*_"$arch".deb; do dpkg-deb -x "$deb" "$dir/root/$arch"; done
  done
  touch "$dir/.complete"
}

# Debian's U-Boot for QEMU (qemu_arm64/u-boot.bin), in its own cache
# directory: an older cache of the packages above stays valid.
fetch_uboot() {
  local dir=$cache/boot-uboot
  uboot=$dir/root/usr/lib/u-boot/qemu_arm64/u-boot.bin
  if [ -f "$dir/.complete" ]; then return 0; fi
  say "downloading u-boot-qemu into $dir"
  rm -rf "$dir"
  local -a apt_opts
  private_apt "$dir"
  (cd "$dir/debs" && apt-get "${apt_opts[@]}" -q download u-boot-qemu >&2)
  dpkg-deb -x "$dir"/debs/u-boot-qemu_*.deb "$dir/root"
  [ -f "$uboot" ] || die "u-boot-qemu has no $uboot"
  touch "$dir/.complete"
}

# ------------------------------------------------------------- per-arch parts

# Sets: kernel, kver, sdboot, efi_name, console, qemu_args for $1 (aarch64|x86_64).
arch_setup() {
  local root
  case $1 in
    aarch64)
      root=$cache/boot/root/arm64
      sdboot=$root/usr/lib/systemd/boot/efi/systemd-bootaa64.efi
      efi_name=BOOTAA64.EFI sd_name=systemd-bootaa64.efi kernel_suffix=Image
      console=ttyAMA0
      qemu=(qemu-system-aarch64 -machine virt -cpu cortex-a57)
      code=/usr/share/AAVMF/AAVMF_CODE.fd vars=/usr/share/AAVMF/AAVMF_VARS.fd
      ;;
    x86_64)
      root=$cache/boot/root/amd64
      sdboot=$root/usr/lib/systemd/boot/efi/systemd-bootx64.efi
      efi_name=BOOTX64.EFI sd_name=systemd-bootx64.efi kernel_suffix=bzImage
      console=ttyS0
      qemu=(qemu-system-x86_64 -machine q35)
      code=/usr/share/OVMF/OVMF_CODE_4M.fd vars=/usr/share/OVMF/OVMF_VARS_4M.fd
      ;;
    *) die "unknown architecture $1" ;;
  esac
  kroot=$root
  kernel=$(find "$root/boot" -name 'vmlinuz-*' | sort | tail -1)
  [ -n "$kernel" ] || die "no kernel in $root/boot (remove $cache/boot to download again)"
  kver=${kernel##*/vmlinuz-}
  busybox=$root/bin/busybox
}

# ----------------------------------------------------------------- one image

# Fixed fake store hashes: NixOS's systemd-boot-builder.py names ESP files
# EFI/nixos/<store dir basename>-<file basename>.efi.
kernel_hash=0123456789abcdfghijklmnpqrsvwxyz
initrd_hash=zyxwvsrqpnmlkjihgfdcba9876543210

# The ESP tree as the flake builds it for the Asahi images.
make_esp_tree() {
  local esp=$1 label=$2 fs=$3 kver=$4 initrd=$5 extra=${6:-}
  local kfile="$kernel_hash-linux-$kver-$kernel_suffix.efi"
  local ifile="$initrd_hash-initrd-linux-$kver-initrd.efi"
  local options="root=LABEL=$label rootfstype=$fs console=$console panic=-1$extra"
  [ "$fs" = btrfs ] && options+=" rootflags=subvol=@"
  mkdir -p "$esp/EFI/BOOT" "$esp/EFI/systemd" "$esp/EFI/nixos" "$esp/loader/entries"
  cp "$sdboot" "$esp/EFI/BOOT/$efi_name"
  cp "$sdboot" "$esp/EFI/systemd/$sd_name"
  cp "$kernel" "$esp/EFI/nixos/$kfile"
  cp "$initrd" "$esp/EFI/nixos/$ifile"
  printf 'timeout 0\ndefault nixos-generation-1.conf\nconsole-mode keep\neditor 0\n' >"$esp/loader/loader.conf"
  cat >"$esp/loader/entries/nixos-generation-1.conf" <<ENTRY
title NixOS
sort-key nixos
version Generation 1 NixOS boot test, Linux Kernel $kver, Built on 1980-01-01
linux /EFI/nixos/$kfile
initrd /EFI/nixos/$ifile
options $options
ENTRY
}

# Image with host tools (sfdisk, mkfs.*, mtools, dd): the harness's own check
# that kernel, initrd and ESP layout boot, independent of mkimage.
assemble_with_host_tools() {
  local img=$1 ss=$2 fs=$3 esp=$4 rootdir=$5 label=$6
  local mib=$((1024 * 1024)) esp_mib=300 root_mib=256
  local total=$(((1 + esp_mib + root_mib + 1) * mib))
  rm -f "$img"
  truncate -s "$total" "$img"
  # bookworm's sfdisk cannot be told the sector size of an image file.
  [ "$ss" = 512 ] || die "the host-tools assembler makes 512-byte-sector images only"
  local per=$((mib / ss))
  sfdisk -q "$img" <<TABLE
label: gpt
start=$per, size=$((esp_mib * per)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=ESP
start=$(((1 + esp_mib) * per)), size=$((root_mib * per)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=root
TABLE
  local espimg=$img.esp rootimg=$img.root
  truncate -s $((esp_mib * mib)) "$espimg"
  mkfs.vfat -F 32 -S "$ss" -n ESP "$espimg" >/dev/null
  (cd "$esp" && find . -mindepth 1 | sort) | while read -r p; do
    if [ -d "$esp/$p" ]; then mmd -i "$espimg" "::${p#.}"; else mcopy -i "$espimg" "$esp/$p" "::${p#.}"; fi
  done
  truncate -s $((root_mib * mib)) "$rootimg"
  case $fs in
    ext4) mkfs.ext4 -q -L "$label" -b 4096 -d "$rootdir" "$rootimg" ;;
    btrfs)
      # --subvol names a directory inside --rootdir: stage the tree as @.
      local top=$img.top
      rm -rf "$top" && mkdir -p "$top" && cp -a "$rootdir" "$top/@"
      mkfs.btrfs -q -L "$label" --rootdir "$top" --subvol rw:@ "$rootimg" >/dev/null
      rm -rf "$top"
      ;;
  esac
  dd if="$espimg" of="$img" bs=1M seek=1 conv=notrunc,sparse status=none
  dd if="$rootimg" of="$img" bs=1M seek=$((1 + esp_mib)) conv=notrunc,sparse status=none
  rm -f "$espimg" "$rootimg"
}

# A format's mkimage layout, from its own file (lib/formats/FORMAT.nix):
# layout_of FORMAT '{ nix attrset of arguments }'.
layout_of() {
  NIX_CONFIG=$'build-users-group =' nix-instantiate --eval --strict --json \
    -E "(import $repo/lib/formats/$1.nix).layout $2"
}

# The image the way the raw-efi (and Asahi) format builds it: mkimage from
# the format's layout.
assemble_with_mkimage() {
  local img=$1 ss=$2 fs=$3 esp=$4 rootdir=$5 label=$6
  local layout=$img.layout.json source=$rootdir
  if [ "$fs" = btrfs ]; then
    # mkfs.btrfs --subvol makes a subvolume of a directory of the source
    # tree; the layout names @, @home and @nix.
    source=$img.top
    rm -rf "$source" && mkdir -p "$source/@home" "$source/@nix" && cp -a "$rootdir" "$source/@"
  fi
  layout_of raw-efi "{ seed = \"nit-boot-test-$ss-$fs\"; espSource = \"$esp\"; rootSource = \"$source\"; fs = \"$fs\"; sectorSize = $ss; label = \"$label\"; }" >"$layout"
  cat "$layout"
  "$MKIMAGE" --layout "$layout" --output "$img"
}

# The sd-card image: the kernel, initrd and extlinux.conf on the root under
# /boot, as NixOS's extlinux-conf-builder.sh writes them (paths relative to
# extlinux/), the firmware partition with a stand-in for the Pi's files.
assemble_sdcard() {
  local img=$1 rootdir=$2 label=$3 initrd=$4 dir
  dir=$(dirname "$img")
  mkdir -p "$rootdir/boot/extlinux" "$rootdir/boot/nixos" "$dir/firmware"
  cp "$kernel" "$rootdir/boot/nixos/$kernel_hash-linux-$kver-Image"
  cp "$initrd" "$rootdir/boot/nixos/$initrd_hash-initrd-linux-$kver-initrd"
  cat >"$rootdir/boot/extlinux/extlinux.conf" <<CONF
# Generated file, all changes will be lost on nixos-rebuild!

# Change this to e.g. nixos-42 to temporarily boot to an older configuration.
DEFAULT nixos-default

MENU TITLE ------------------------------------------------------------
TIMEOUT 1

LABEL nixos-default
  MENU LABEL NixOS - Default
  LINUX ../nixos/$kernel_hash-linux-$kver-Image
  INITRD ../nixos/$initrd_hash-initrd-linux-$kver-initrd
  APPEND root=LABEL=$label rootfstype=ext4 console=$console panic=-1
CONF
  echo "arm_64bit=1" >"$dir/firmware/config.txt"
  layout_of sd-card "{ seed = \"nit-boot-test-sd\"; firmwareSource = \"$dir/firmware\"; rootSource = \"$rootdir\"; rootLabel = \"$label\"; }" >"$img.layout.json"
  cat "$img.layout.json"
  "$MKIMAGE" --layout "$img.layout.json" --output "$img"
}

# qemu-img's arguments, as the qcow2 format converts.
qcow2_convert() {
  local args
  args=$(NIX_CONFIG=$'build-users-group =' nix-instantiate --eval --strict --json \
    -E "(import $repo/lib/formats/qcow2.nix).convertArgs { compress = $3; }" | tr -d '[]"' | tr ',' ' ')
  # shellcheck disable=SC2086 # a list of plain words
  qemu-img $args "$1" "$2"
}

# Boot $img (a disk of format $6: raw or qcow2) under UEFI, under U-Boot
# when $7 is uboot, or the kernel directly with "direct:<command line>";
# write the console to $log.
boot_image() {
  local arch=$1 img=$2 ss=$3 log=$4 vars_copy=$5 diskfmt=${6:-raw} firmware=${7:-uefi}
  local -a fw
  if [ "$firmware" = uboot ]; then
    fw=(-bios "$uboot")
  elif [ "${firmware#direct:}" != "$firmware" ]; then
    fw=(-kernel "$kernel" -initrd "$initrd" -append "${firmware#direct:}")
  else
    cp --sparse=always "$vars" "$vars_copy"
    fw=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$code"
      -drive "if=pflash,format=raw,unit=1,file=$vars_copy")
  fi
  : >"$log"  # exists before the watch loop below reads it
  timeout --kill-after=10 "$boot_timeout" "${qemu[@]}" -m 1024 -smp 1 "${fw[@]}" \
    -drive "file=$img,if=none,id=d0,format=$diskfmt" \
    -device "nvme,serial=nit0,drive=d0,logical_block_size=$ss,physical_block_size=$ss" \
    -display none -serial stdio -monitor none -no-reboot -nodefaults \
    </dev/null >"$log" 2>&1 &
  local pid=$! shell=0
  # The firmware falls back to its built-in shell when nothing on the disk
  # boots, and waits there forever: stop at once instead of at the timeout.
  while kill -0 "$pid" 2>/dev/null; do
    # U-Boot, likewise, at its prompt once distro boot found nothing.
    if grep -qsa 'EFI Internal Shell' "$log" || [ "$(tail -c 3 "$log")" = "=> " ]; then
      shell=1
      kill "$pid"
      break
    fi
    sleep 0.5
  done
  local rc=0
  wait "$pid" || rc=$?
  if [ $shell = 1 ]; then
    echo "NIT-BOOT-FAIL: the firmware found nothing to boot and started its shell" >>"$log"
  elif [ $rc = 124 ] || [ $rc = 137 ]; then
    echo "NIT-BOOT-FAIL: no power-off within ${boot_timeout}s" >>"$log"
  fi
}

# Build, boot and check one combination; prints "PASS"/"FAIL <why>" and seconds.
run_combo() {
  local combo=$1 kind=raw-efi arch ss fs
  case $combo in
    sdcard-* | qcow2-* | grow-* | growsd-*) kind=${combo%%-*} ;;
  esac
  IFS=- read -r arch ss fs <<<"${combo#"$kind"-}"
  [ "$kind" != sdcard ] || [ "$arch-$ss-$fs" = aarch64-512-ext4 ] ||
    die "$combo: sd-card images are aarch64-512-ext4"
  [ "${kind#grow}" = "$kind" ] || [ "$arch" = x86_64 ] || die "$combo: growth tests are x86_64 (the host's tools)"
  [ "$kind" != growsd ] || [ "$ss-$fs" = 512-ext4 ] || die "$combo: sd-card images are 512-ext4"
  local initrd=$work/initrd-$arch extra=''
  [ "${kind#grow}" = "$kind" ] || { initrd=$work/initrd-grow extra=' nit.grow'; }
  arch_setup "$arch"
  local dir=$work/$combo
  mkdir -p "$dir/root/etc"
  local label=nit-root nonce
  [ "$kind" != sdcard ] && [ "$kind" != growsd ] || label=NIXOS_SD
  nonce=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
  local marker="BOOT-OK $combo $nonce"
  echo "$marker" >"$dir/root/etc/nit-boot-marker"
  local t0 t1 t2 status=PASS why='' disk=$dir/disk.img diskfmt=raw firmware=uefi
  t0=$(date +%s.%N)
  # A subshell with its own set -e: in a || context bash would ignore -e.
  set +e
  (
    set -e
    case $kind in
      sdcard | growsd) assemble_sdcard "$dir/disk.img" "$dir/root" "$label" "$initrd" ;;
      *)
        make_esp_tree "$dir/esp" "$label" "$fs" "$kver" "$initrd" "$extra"
        assemble "$dir/disk.img" "$ss" "$fs" "$dir/esp" "$dir/root" "$label"
        ;;
    esac
    # The disk the image is written to is larger than the image.
    [ "${kind#grow}" = "$kind" ] || truncate -s +1G "$dir/disk.img"
    # Two builds of a format are the same bytes (raw-efi: tests/mkimage.rs).
    if [ "$kind" = sdcard ]; then
      assemble_sdcard "$dir/again.img" "$dir/root" "$label" "$work/initrd-$arch"
      cmp "$dir/disk.img" "$dir/again.img" || { echo "two sd-card builds differ"; exit 1; }
      rm "$dir/again.img"
    fi
    if [ "$kind" = qcow2 ]; then
      local c
      for c in false true; do
        qcow2_convert "$dir/disk.img" "$dir/disk.qcow2" $c
        qcow2_convert "$dir/disk.img" "$dir/again.qcow2" $c
        cmp "$dir/disk.qcow2" "$dir/again.qcow2" || { echo "two qcow2 conversions (compress = $c) differ"; exit 1; }
      done
      qemu-img info "$dir/disk.qcow2"
      rm "$dir/disk.img" "$dir/again.qcow2"
    fi
  ) >"$dir/assemble.log" 2>&1
  local rc=$?
  set -e
  [ $rc = 0 ] || { status=FAIL why="image assembly failed"; }
  [ "$kind" != qcow2 ] || { disk=$dir/disk.qcow2 diskfmt=qcow2; }
  [ "$kind" != sdcard ] || firmware=uboot
  [ "$kind" != growsd ] || firmware="direct:root=LABEL=$label rootfstype=ext4 console=$console panic=-1$extra"
  t1=$(date +%s.%N)
  if [ $status = PASS ]; then
    boot_image "$arch" "$disk" "$ss" "$dir/console.log" "$dir/vars.fd" "$diskfmt" "$firmware" || true
  fi
  t2=$(date +%s.%N)
  if [ $status = PASS ]; then
    local log=$dir/console.log
    if ! grep -q "^NIT-BOOT-MARKER: $marker" "$log"; then
      status=FAIL why="no marker on the console"
      grep -q '^NIT-BOOT-FAIL' "$log" && why=$(grep -m1 '^NIT-BOOT-FAIL' "$log" | tr -d '\r')
    elif ! grep -q "^NIT-ROOT-DEVICE: /dev/nvme0n1p2 logical_block_size=$ss" "$log"; then
      status=FAIL why="root not on nvme0n1p2 with $ss-byte blocks"
    elif ! grep -q "^NIT-ROOT-MOUNT: /dev/nvme0n1p2 /root $fs " "$log"; then
      status=FAIL why="root not mounted as $fs"
    elif [ "$fs" = btrfs ] && ! grep -q "^NIT-ROOT-MOUNT: .*subvol=/@[ ,]" "$log"; then
      status=FAIL why="btrfs root not mounted from subvolume @"
    elif [ "$kind" = sdcard ] && ! grep -q "^Found /boot/extlinux/extlinux.conf" "$log"; then
      status=FAIL why="U-Boot did not boot through /boot/extlinux/extlinux.conf"
    elif [ "${kind#grow}" != "$kind" ]; then
      why=$(grow_verdict "$log" "$ss") || status=FAIL
    fi
  fi
  awk -v c="$combo" -v s="$status" -v a="$t0" -v b="$t1" -v e="$t2" -v w="$why" \
    'BEGIN { printf "%s %s %.1f %.1f %s\n", c, s, b - a, e - b, w }' >"$dir/result"
}

# The NIT-GROW line of a growth boot: the root partition must reach the end
# of the disk (but for the backup GPT and alignment, under 1 MiB) and the
# filesystem must have grown by most of the added GiB (its metadata for the
# new space aside). Prints the sizes, or why not; status 1 on failure.
grow_verdict() {
  local log=$1 line
  line=$(grep -m1 '^NIT-GROW:' "$log" | tr -d '\r') || { echo "no growth report"; return 1; }
  echo "$line" | awk -v mib=$((1 << 20)) '{
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    end = v["part_start"] + v["part"]; gain = v["fs_after"] - v["fs_before"]
    printf "disk %d MiB, root ends %.2f MiB before its end, filesystem +%d MiB", v["disk"] / mib, (v["disk"] - end) / mib, gain / mib
    exit !(v["disk"] - end < mib && v["disk"] - end >= 0 && gain > 900 * mib)
  }'
}

# The x86_64 initrd with growpart and the filesystem tools, taken from this
# (x86_64) host with the libraries they load.
make_grow_initrd() {
  [ "$(uname -m)" = x86_64 ] || die "growth tests need an x86_64 host"
  local -a add=()
  local tool lib
  for tool in "$(command -v growpart)" /usr/sbin/sfdisk /usr/bin/partx /usr/bin/flock /usr/sbin/resize2fs /usr/bin/btrfs; do
    [ -x "$tool" ] || die "missing $tool (cloud-guest-utils, fdisk, util-linux, e2fsprogs, btrfs-progs)"
    add+=(--add "$tool:/usr/local/bin/${tool##*/}")
    while read -r lib; do add+=(--add "$lib:$lib"); done < <(ldd "$tool" 2>/dev/null | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
  done
  arch_setup x86_64
  python3 "$here/initramfs.py" "$work/initrd-grow" "$kroot" "$kver" "$busybox" "$here/init" "${add[@]}" btrfs nvme ext4 >/dev/null
}

assemble() {
  case ${NIT_BOOT_ASSEMBLER:-mkimage} in
    host) assemble_with_host_tools "$@" ;;
    mkimage) assemble_with_mkimage "$@" ;;
    *) die "NIT_BOOT_ASSEMBLER must be mkimage or host" ;;
  esac
}

# ---------------------------------------------------------------------- main

main() {
  local -a combos=("$@")
  if [ ${#combos[@]} -eq 0 ]; then
    local a s f
    for a in aarch64 x86_64; do for s in 512 4096; do for f in ext4 btrfs; do combos+=("$a-$s-$f"); done; done; done
    combos+=(sdcard-aarch64-512-ext4 qcow2-x86_64-512-ext4 grow-x86_64-512-ext4 grow-x86_64-4096-btrfs growsd-x86_64-512-ext4)
  fi

  ensure_host_tools
  fetch_guest_packages
  fetch_uboot
  export PATH
  PATH=$("$repo/tools/trixie-tools.sh" "$cache"):$PATH

  work=$(mktemp -d "${TMPDIR:-/tmp}/nit-boot.XXXXXX")
  if [ "${NIT_BOOT_KEEP:-0}" = 1 ]; then say "work directory: $work"
  else trap 'rm -rf "$work"' EXIT; fi

  if [ "${NIT_BOOT_ASSEMBLER:-mkimage}" = mkimage ] && [ -z "${MKIMAGE:-}" ]; then
    say "building mkimage"
    (cd "$repo" && cargo build -q --release --bin mkimage)
    MKIMAGE=$repo/target/release/mkimage
  fi

  say "qemu $(qemu-system-aarch64 --version | awk 'NR == 1 {print $4}'), firmware:" \
    "$(dpkg-query -W -f '${Package} ${Version}, ' qemu-efi-aarch64 ovmf 2>/dev/null || echo unknown)"
  local arch mods
  for arch in aarch64 x86_64; do
    arch_setup "$arch"
    # NVMe and ext4 are built into Debian's cloud kernels; btrfs is a module.
    mods=$(python3 "$here/initramfs.py" "$work/initrd-$arch" "$kroot" "$kver" "$busybox" "$here/init" btrfs nvme ext4)
    say "$arch: kernel $kver, initrd modules: $mods"
  done

  local start running=0 combo
  if [[ " ${combos[*]}" == *" grow"* ]]; then make_grow_initrd; fi
  start=$(date +%s)
  for combo in "${combos[@]}"; do
    if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
    say "start $combo"
    run_combo "$combo" &
    running=$((running + 1))
  done
  wait
  local total=$(($(date +%s) - start))

  local failed=0 status why
  echo
  printf '%-24s %-6s %10s %8s  %s\n' combination result "image (s)" "boot (s)" note
  for combo in "${combos[@]}"; do
    if [ -f "$work/$combo/result" ]; then
      read -r _ status t_img t_boot why <"$work/$combo/result"
    else
      status=FAIL t_img=- t_boot=- why="no result"
    fi
    printf '%-24s %-6s %10s %8s  %s\n' "$combo" "$status" "$t_img" "$t_boot" "$why"
    [ "$status" = PASS ] || failed=$((failed + 1))
  done
  echo "total wall time ${total}s, $jobs in parallel, boot timeout ${boot_timeout}s"

  for combo in "${combos[@]}"; do
    if ! grep -qs ' PASS ' "$work/$combo/result"; then
      echo
      echo "=== $combo: last 40 lines of the console log ==="
      # Without the firmware's terminal escapes.
      tail -n 40 "$work/$combo/console.log" 2>/dev/null | sed 's/\x1b\[[0-9;=?]*[A-Za-z]//g; s/\r//g' || true
      if grep -qs 'image assembly failed' "$work/$combo/result"; then
        echo "=== $combo: image assembly log ==="
        cat "$work/$combo/assemble.log"
      fi
    fi
  done
  [ "$failed" -eq 0 ] || die "$failed of ${#combos[@]} boots failed"
}

main "$@"
