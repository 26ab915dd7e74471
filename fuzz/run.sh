#!/usr/bin/env bash
# Run every fuzz target for a while (cargo fuzz, libFuzzer, nightly).
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     default 30, all targets
#
# Installs cargo-fuzz and the nightly toolchain when missing. The corpus
# grows in $NIT_CACHE/fuzz-corpus (seeded by fuzz/seeds.sh from real
# images); crashes land in fuzz/artifacts/TARGET/ and fail the run. Each
# input gets at most 10 s and 2 GiB: a hang or a memory blow-up is a crash.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] ||
  targets=(partition_table fat zip_check installer_data manifest layout deflate_roundtrip)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cache=${NIT_CACHE:-/tmp/nitcache}/fuzz-corpus
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
(cd .. && cargo build --release --quiet --bin carve-partitions)
./seeds.sh "$seeds" ../target/release >/dev/null
cargo +nightly fuzz build -O >/dev/null 2>&1 || cargo +nightly fuzz build -O

for t in "${targets[@]}"; do
  mkdir -p "$cache/$t"
  cp -n "$seeds/$t"/* "$cache/$t"/ 2>/dev/null || true
  # The deflate workers' thread-local channel state is freed by TLS
  # destructors that run after thread::scope returns: LeakSanitizer sees
  # it as a leak when it checks in between (a false positive, found by the
  # long run), so leak checks are off for that target only: libFuzzer's
  # after each input and LeakSanitizer's at exit (ASAN_OPTIONS).
  leaks=1
  [ "$t" != deflate_roundtrip ] || leaks=0
  log=$(mktemp)
  start=$(date +%s)
  if ! ASAN_OPTIONS="detect_leaks=$leaks${ASAN_OPTIONS:+:$ASAN_OPTIONS}" cargo +nightly fuzz run -O "$t" "$cache/$t" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -detect_leaks=$leaks -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "fuzz: $t found a crash (artifact in fuzz/artifacts/$t/): make it a regression test" >&2
    rm -f "$log"
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  echo "fuzz: $t: ${runs:-?} executions in $(($(date +%s) - start)) s, corpus $(ls "$cache/$t" | wc -l), no crash"
  rm -f "$log"
done
