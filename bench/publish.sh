#!/usr/bin/env bash
# Upload and verify timings of publish for a multi-GB package against moto's
# S3 server on loopback (not part of ./test.sh: it takes minutes).
# usage: bench/publish.sh [ROOT_RANDOM_MIB]   (default 3072: a ~3 GiB zip)
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-3072}
export NIT_CACHE=${NIT_CACHE:-/var/cache/nixos-image-tools}
PATH="$(tools/trixie-tools.sh "$NIT_CACHE"):$PATH"
cargo build --release -q
bin=$PWD/target/release
work=$(mktemp -d "${TMPDIR:-/tmp}/publish-bench.XXXXXX")
coproc S3 { python3 tests/support/s3_server.py bench; }
trap 'kill $S3_PID 2>/dev/null; rm -rf "$work"' EXIT
read -r _ port <&"${S3[0]}"
NIT_NO_PROGRESS=1 tests/support/make-package.sh "$bin" "$work/pkg" bench "$mib.0.0" ext4 "$mib" 2>/dev/null
zip=$(ls "$work"/pkg/*.zip)
echo "package: $(stat -c %s "$zip") bytes"
head -c 1000 /dev/urandom > "$work/installer.tar.gz"
sha=$(sha256sum "$work/installer.tar.gz" | cut -d' ' -f1)
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
/usr/bin/time -f "publish: %e s wall, %M KiB max RSS" \
  "$bin/publish" "$work/pkg" --to s3://bench --endpoint "http://127.0.0.1:$port" \
  --public-url "http://127.0.0.1:$port/bench" --installer-url http://127.0.0.1/i.tar.gz \
  --installer-sha256 "$sha" --json > "$work/report.json"
python3 - "$work/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for z in r["zips"]:
    mib = z["size"] / 2**20
    print(f'{z["key"]}: {mib:.0f} MiB, upload {z["upload_seconds"]:.1f} s '
          f'({mib / max(z["upload_seconds"], 1e-9):.0f} MiB/s), verify {z["verify_seconds"]:.2f} s')
PY
# With NIT_BENCH_DOWNLOAD=1, the installer's download path over the whole zip
# (FaithfulURLCache unless NIT_ASAHI_INSTALLER_SRC is set). Slow against moto:
# each 8 MiB range read of a multi-GB object takes it seconds.
[ "${NIT_BENCH_DOWNLOAD:-0}" = 1 ] || exit 0
root_sha=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["members"][-1]["sha256"])' "$work"/pkg/*.manifest.json)
/usr/bin/time -f "installer download + unpack: %e s wall" python3 tests/support/installer_download.py \
  "http://127.0.0.1:$port/bench" "http://127.0.0.1:$port/bench/installer_data.json" 0 "$work/esp" "$root_sha"
