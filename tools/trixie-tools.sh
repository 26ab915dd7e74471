#!/usr/bin/env bash
# Make Debian trixie's e2fsprogs (1.47.2) and btrfs-progs (6.14) runnable on a
# bookworm host, without a chroot: download trixie's .debs through a private
# apt root (its sources derived from this machine's own apt configuration),
# unpack them, and write wrapper scripts that start each tool with trixie's
# own dynamic loader and libraries.
#
# Why: bookworm's btrfs-progs 6.2 cannot create subvolumes at mkfs time
# (needs >= 6.12) and its e2fsprogs 1.47.0 does not clamp inode timestamps to
# SOURCE_DATE_EPOCH (needs >= 1.47.1). mkimage checks the versions it finds.
#
# Usage: tools/trixie-tools.sh [CACHE_DIR]   prints the bin directory to put
# first on PATH. Idempotent: a completed cache is reused.
set -euo pipefail

cache=${1:-${NIT_CACHE:-/var/cache/nixos-image-tools}}/trixie
bin=$cache/bin
if [ -x "$bin/mkfs.btrfs" ] && [ -f "$cache/.complete" ]; then
  echo "$bin"
  exit 0
fi

arch=$(dpkg --print-architecture)
case $arch in
  amd64) triplet=x86_64-linux-gnu; loader=usr/lib64/ld-linux-x86-64.so.2 ;;
  arm64) triplet=aarch64-linux-gnu; loader=usr/lib/ld-linux-aarch64.so.1 ;;
  *) echo "trixie-tools: unsupported architecture $arch" >&2; exit 1 ;;
esac

# The Debian mirror this machine already uses, from its deb822 or one-line sources.
uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
if [ -z "$uri" ]; then
  uri=$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
fi
[ -n "$uri" ] || { echo "trixie-tools: cannot find a Debian mirror in /etc/apt" >&2; exit 1; }

aptroot=$cache/apt
rm -rf "$cache/root" "$bin" "$cache/.complete"
mkdir -p "$aptroot/etc" "$aptroot/lists/partial" "$aptroot/cache/archives/partial" "$cache/debs" "$cache/root" "$bin"
cat > "$aptroot/etc/trixie.sources" <<SOURCES
Types: deb
URIs: $uri
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$aptroot/etc"
      -o "Dir::State::Lists=$aptroot/lists" -o "Dir::Cache=$aptroot/cache"
      -o "Dir::State::status=/dev/null" -o "APT::Architecture=$arch"
      -o "APT::Sandbox::User=root" -o "Debug::NoLocking=1")
apt-get "${opts[@]}" -q update >&2
pkgs=(btrfs-progs e2fsprogs libext2fs2t64 libss2 libcom-err2 libc6 libgcc-s1 libblkid1
      libuuid1 liblzo2-2 libreiserfscore0t64 libudev1 libzstd1 zlib1g libmount1
      libselinux1 libpcre2-8-0 libcap2)
(cd "$cache/debs" && rm -f ./*.deb && apt-get "${opts[@]}" -q download "${pkgs[@]}" >&2)
for deb in "$cache/debs"/*.deb; do dpkg-deb -x "$deb" "$cache/root"; done

root=$cache/root
libs=$root/usr/lib/$triplet:$root/lib/$triplet
for tool in mkfs.btrfs btrfs mke2fs mkfs.ext4 e2fsck debugfs dumpe2fs tune2fs resize2fs; do
  path=$(ls "$root"/usr/sbin/$tool "$root"/usr/bin/$tool "$root"/sbin/$tool 2>/dev/null | head -n1 || true)
  [ -n "$path" ] || { echo "trixie-tools: $tool missing from the unpacked packages" >&2; exit 1; }
  cat > "$bin/$tool" <<WRAPPER
#!/bin/sh
# trixie's $tool through trixie's own loader (written by tools/trixie-tools.sh)
exec "$root/$loader" --library-path "$libs" --argv0 "$tool" "$path" "\$@"
WRAPPER
  chmod 755 "$bin/$tool"
done
"$bin/mkfs.btrfs" --version >&2
"$bin/mke2fs" -V >&2
touch "$cache/.complete"
echo "$bin"
