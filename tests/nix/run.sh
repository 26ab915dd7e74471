#!/usr/bin/env bash
# CI harness for the Nix side, on a machine with Debian's Nix and no nixpkgs:
#  1. parse every .nix file;
#  2. evaluate the helpers tests (tests/nix/helpers-tests.nix);
#  3. evaluate the flake's outputs with the real nixos-apple-silicon source if
#     present and a fake nixpkgs input (tests/nix/fake-nixpkgs, a fixture);
#  4. build the packaging derivations of lib/ for real with nix-build, through
#     tests/nix/stand-in.nix (a labelled fixture standing in for nixpkgs'
#     runCommand/writeText/closureInfo) and freshly built binaries;
#  5. check the outputs outside Nix (gen-installer-data check, unzip -t, the
#     Nix/Rust volume id agreement), and run the image derivation's builder
#     once more as an unprivileged user on root-owned store paths, as in a
#     sandbox (it stages the root itself; mkimage's user-namespace path);
#  6. run tools/create-release.sh on a scratch clone.
# Environment: NIT_TOOLS_BIN=dir with the four binaries (default: cargo build
# --release here), NIT_CACHE=cache dir for tools/trixie-tools.sh.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
passed=0
failed=0
failures=()

ok() {
  passed=$((passed + 1))
  echo "ok: $1"
}
fail() {
  failed=$((failed + 1))
  failures+=("$1")
  echo "FAILED: $1" >&2
}
finish() {
  echo
  if [ "$failed" -gt 0 ]; then
    printf 'failed: %s\n' "${failures[@]}" >&2
  fi
  echo "nix: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}

# --- Nix itself ------------------------------------------------------------
if ! command -v nix-instantiate >/dev/null || ! command -v nix-build >/dev/null; then
  echo "tests/nix: installing Debian's nix-bin" >&2
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nix-bin >/dev/null; }; then
    fail "install nix-bin (Debian package nix-bin)"
    finish
  fi
fi
# Debian's nix in a container: no sandbox, no build users.
export NIX_CONFIG="sandbox = false
build-users-group =
substituters =
"

# --- 1. parse ------------------------------------------------------------------
mapfile -t nixfiles < <(find . -name '*.nix' -not -path './target/*' -not -path './.git/*' | sort)
parse_bad=0
for f in "${nixfiles[@]}"; do
  if ! nix-instantiate --parse "$f" >/dev/null; then
    fail "parse $f"
    parse_bad=1
  fi
done
[ "$parse_bad" -eq 0 ] && ok "parse ${#nixfiles[@]} .nix files"

# --- 2. helpers (builtins only) -----------------------------------------------------------
if out=$(nix-instantiate --eval --strict --json tests/nix/helpers-tests.nix 2>&1); then
  ok "helpers tests: $(echo "$out" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') assertions"
else
  fail "helpers tests: $out"
fi

# --- 3. flake outputs with a fake nixpkgs ------------------------------------------
if out=$(bash tests/nix/flake-eval.sh 2>&1); then
  ok "flake outputs evaluate (fake nixpkgs): $(echo "$out" | tail -n 1)"
else
  fail "flake outputs evaluate: $out"
fi

# --- 3b. the real module system: flake, template, lib, starter /etc/nixos ----
while IFS= read -r line; do
  case $line in
    ok:*) ok "${line#ok: }" ;;
    FAILED:*) fail "${line#FAILED: }" ;;
  esac
done < <(bash tests/nix/eval/run.sh 2>&1)

# --- 3c. first-boot scripts: lint, and against made-up machines --------------
if shellcheck modules/first-boot/*.sh tests/nix/*.sh tests/nix/eval/*.sh; then
  ok "shellcheck: first-boot scripts and Nix test scripts"
else
  fail "shellcheck: first-boot scripts and Nix test scripts"
fi
while IFS= read -r line; do
  case $line in
    ok:*) ok "${line#ok: }" ;;
    FAILED:*) fail "${line#FAILED: }" ;;
  esac
done < <(bash tests/nix/first-boot.sh 2>&1)

# --- 4. the binaries ------------------------------------------------------------------
tools_bin=${NIT_TOOLS_BIN:-}
if [ -z "$tools_bin" ]; then
  echo "tests/nix: cargo build --release --bins" >&2
  if cargo build --release --bins --quiet; then
    tools_bin=$root/target/release
  else
    fail "cargo build --release --bins"
    finish
  fi
fi
tools_ok=1
for t in mkimage carve-partitions gen-installer-data deterministic-copy; do
  if ! "$tools_bin/$t" --version >/dev/null 2>&1; then
    fail "binary $tools_bin/$t does not run (--version failed): it must be implemented before the packaging build can run"
    tools_ok=0
  fi
done
[ "$tools_ok" -eq 1 ] && ok "binaries in $tools_bin"
tools_stamp=$(cat "$tools_bin"/{mkimage,carve-partitions,gen-installer-data,deterministic-copy} | sha256sum | cut -c1-16)

# mkfs.btrfs --subvol needs btrfs-progs >= 6.12; bookworm has 6.2.
extra_path=$(tools/trixie-tools.sh "${NIT_CACHE:-/tmp/nitcache}") || {
  fail "tools/trixie-tools.sh (newer e2fsprogs/btrfs-progs)"
  finish
}

# The ESP and root trees need only deterministic-copy: build them first, so
# they are checked even while another binary is missing.
for fs in btrfs ext4; do
  log=$(mktemp)
  if trees=$(nix-build tests/nix/stand-in-packaging.nix --no-out-link \
    --argstr toolsBin "$tools_bin" --argstr toolsStamp "$tools_stamp" \
    --argstr extraPath "$extra_path" --argstr fs "$fs" -A esp -A root -A rootOwnFlake 2>"$log"); then
    esp=$(echo "$trees" | grep -- '-esp$')
    rootdir=$(echo "$trees" | grep -- '-root$')
    ownflake=$(echo "$trees" | grep -- '-root-own-flake$')
    if [ "$fs" = btrfs ]; then sys=$rootdir/@ store=$rootdir/@nix/store; else sys=$rootdir store=$rootdir/nix/store; fi
    missing=""
    for f in "$esp/EFI/BOOT/BOOTAA64.EFI" "$esp/EFI/systemd/systemd-bootaa64.efi" "$esp/loader/loader.conf" \
      "$esp/loader/entries/nixos-generation-1.conf" "$esp/m1n1/boot.bin" "$sys/nix-path-registration" \
      "$sys/etc/nixos/flake.nix" "$sys/etc/nixos/configuration.nix" "$sys/var/lib/nixos-asahi/first-boot" "$sys/etc/NIXOS"; do
      [ -e "$f" ] || missing="$missing $f"
    done
    [ "$fs" = btrfs ] && { [ -d "$rootdir/@home" ] && [ -d "$sys/nix" ] && [ -d "$sys/home" ]; } || [ "$fs" = ext4 ] || missing="$missing subvolume-dirs"
    compgen -G "$store/*-nixos-system-test" >/dev/null || missing="$missing store/*-nixos-system-test"
    if [ -z "$missing" ]; then ok "ESP and root trees ($fs)"; else fail "ESP and root trees ($fs): missing$missing"; fi
    # The installed system's first `nixos-rebuild`: systemd-boot-builder.py
    # deletes every ESP file marked under EFI/nixos/.extra-files, then copies
    # boot.loader.systemd-boot.extraFiles again. Replayed on a copy, with the
    # extraFiles the ESP was built from, the ESP must come out unchanged.
    if extra_json=$(nix-instantiate --eval --strict --json tests/nix/stand-in-packaging.nix \
      --argstr toolsBin "$tools_bin" --argstr toolsStamp "$tools_stamp" \
      --argstr extraPath "$extra_path" --argstr fs "$fs" -A esp.extraFiles 2>&1) &&
      python3 - "$esp" "$extra_json" <<'PY'; then ok "ESP extra files survive a rebuild ($fs)"; else fail "ESP extra files survive a rebuild ($fs): $extra_json"; fi
import filecmp, json, os, shutil, subprocess, sys, tempfile
esp, extra = sys.argv[1], json.loads(sys.argv[2])
assert sorted(extra) == ["asahi/extra.txt", "m1n1/boot.bin"], extra
tmp = tempfile.mkdtemp()
w = os.path.join(tmp, "esp")
subprocess.run(["cp", "-r", "--no-preserve=mode", esp, w], check=True)
marks = os.path.join(w, "EFI/nixos/.extra-files")
for root, _, files in os.walk(marks, topdown=False):
    actual = os.path.normpath(os.path.join(w, os.path.relpath(root, marks)))
    for f in files:
        if os.path.lexists(os.path.join(actual, f)):
            os.unlink(os.path.join(actual, f))
        os.unlink(os.path.join(root, f))
    if not os.listdir(actual):
        os.rmdir(actual)
    os.rmdir(root)
os.makedirs(marks, exist_ok=True)
for dest, src in extra.items():  # copy-extra-files: install -D, plus the marker
    os.makedirs(os.path.dirname(os.path.join(w, dest)), exist_ok=True)
    shutil.copyfile(src, os.path.join(w, dest))
    os.makedirs(os.path.dirname(os.path.join(marks, dest)), exist_ok=True)
    open(os.path.join(marks, dest), "w").close()
def listing(d):
    return sorted(os.path.relpath(os.path.join(r, f), d) for r, _, fs in os.walk(d) for f in fs)
assert listing(esp) == listing(w), (listing(esp), listing(w))
for f in listing(esp):
    assert filecmp.cmp(os.path.join(esp, f), os.path.join(w, f), shallow=False), f
shutil.rmtree(tmp)
PY
    # The generated /etc/nixos must at least be valid Nix.
    if nix-instantiate --parse "$sys/etc/nixos/flake.nix" >/dev/null &&
      nix-instantiate --parse "$sys/etc/nixos/configuration.nix" >/dev/null; then
      ok "/etc/nixos parses ($fs)"
    else
      fail "/etc/nixos parses ($fs)"
    fi
    # Its flake.lock must lock every input exactly as flake.nix declares it:
    # then Nix uses it without fetching anything (it would need the network
    # here otherwise) and without changing it.
    flakedir=$(mktemp -d)
    cp "$sys/etc/nixos/"* "$flakedir/"
    if out=$(nix --extra-experimental-features 'nix-command flakes' flake metadata --offline \
      --no-update-lock-file --no-write-lock-file "path:$flakedir" 2>&1) &&
      echo "$out" | grep -q "nixpkgs.*github:NixOS/nixpkgs/$(python3 -c 'import json; print(json.load(open("flake.lock"))["nodes"]["nixpkgs"]["locked"]["rev"])')"; then
      ok "/etc/nixos flake.lock is complete and consistent ($fs)"
    else
      fail "/etc/nixos flake.lock is complete and consistent ($fs): $out"
    fi
    rm -rf "$flakedir"
    # etcNixosSource: the template's directory, with etcNixos written over it.
    if [ "$fs" = btrfs ]; then own=$ownflake/@; else own=$ownflake; fi
    if cmp -s templates/default/flake.nix "$own/etc/nixos/flake.nix" &&
      cmp -s templates/default/configuration.nix "$own/etc/nixos/configuration.nix" &&
      [ "$(cat "$own/etc/nixos/local.nix")" = "{ }" ]; then
      ok "/etc/nixos from a flake's own source ($fs)"
    else
      fail "/etc/nixos from a flake's own source ($fs): $(ls -la "$own/etc/nixos" 2>&1)"
    fi
  else
    tail -n 40 "$log" >&2
    fail "nix-build ESP and root trees ($fs)"
  fi
  rm -f "$log"
done
[ "$tools_ok" -eq 1 ] || finish

# --- 4b. each image format built through the stand-in, twice ---------------------------
# --check builds a derivation again and fails unless the bytes are the same.
for fs in ext4 btrfs; do
  log=$(mktemp)
  args=(--argstr toolsBin "$tools_bin" --argstr toolsStamp "$tools_stamp" --argstr extraPath "$extra_path" --argstr fs "$fs")
  if nix-build tests/nix/stand-in-formats.nix --no-out-link "${args[@]}" -A verify >/dev/null 2>"$log"; then
    ok "nix-build formats raw-efi, sd-card, qcow2 ($fs), checked"
    # btrfs images differ between builds in documented places (README,
    # tests/mkimage.rs btrfs_reproducibility): compared with ext4 only;
    # sd-card is ext4 whatever fs says.
    [ "$fs" = ext4 ] || continue
    for f in raw-efi sd-card.image sd-card qcow2; do
      if nix-build tests/nix/stand-in-formats.nix --no-out-link "${args[@]}" -A "$f" --check >/dev/null 2>"$log"; then
        ok "two builds of $f ($fs) are the same bytes"
      else
        tail -n 5 "$log" >&2
        fail "two builds of $f ($fs) differ"
      fi
    done
  else
    tail -n 40 "$log" >&2
    fail "nix-build formats ($fs)"
  fi
  rm -f "$log"
done

# --- 5. packaging builds through the stand-in ------------------------------------------
for fs in btrfs ext4; do
  log=$(mktemp)
  if res=$(nix-build tests/nix/stand-in-packaging.nix --no-out-link \
    --argstr toolsBin "$tools_bin" --argstr toolsStamp "$tools_stamp" \
    --argstr extraPath "$extra_path" --argstr fs "$fs" -A all 2>"$log"); then
    ok "nix-build packaging ($fs)"
  else
    tail -n 40 "$log" >&2
    fail "nix-build packaging ($fs)"
    rm -f "$log"
    continue
  fi
  rm -f "$log"
  # One derivation: the package builds its image in its build directory.
  if pkg_drv=$(nix-instantiate tests/nix/stand-in-packaging.nix \
    --argstr toolsBin "$tools_bin" --argstr toolsStamp "$tools_stamp" \
    --argstr extraPath "$extra_path" --argstr fs "$fs" -A package 2>/dev/null) &&
    ! nix-store -q --references "$pkg_drv" | grep -q -- '-image\.drv$'; then
    ok "the package does not depend on the image derivation ($fs)"
  else
    fail "the package depends on the image derivation, or did not instantiate ($fs)"
  fi
  pkg=$(echo "$res" | grep -- '-package$' | head -n 1)
  img=$(echo "$res" | grep -- '-image$' | head -n 1)
  ver=$(echo "$res" | grep -- '-verify$' | head -n 1)
  zip=$pkg/nixos-asahi-test-0.0.1-$fs.zip
  data=$pkg/installer_data-0.0.1-$fs.json
  for f in "$zip" "$data" "$img/disk.img" "$img/report.json" "$ver/entry.conf"; do
    if [ -f "$f" ]; then ok "exists: ${f#/nix/store/*-}"; else fail "missing output $f"; fi
  done
  if "$tools_bin/gen-installer-data" check "$data" --package "$zip"; then ok "gen-installer-data check --package ($fs)"; else fail "gen-installer-data check --package ($fs)"; fi
  if unzip -tq "$zip"; then ok "unzip -t ($fs)"; else fail "unzip -t ($fs)"; fi
  # Nix (lib/helpers.nix) and Rust (gen-installer-data without --volume-id)
  # must derive the same ESP volume id.
  nix_vid=$(nix-instantiate --eval --json -E "(import ./lib/helpers).volumeId { name = \"nixos-asahi-test\"; version = \"0.0.1\"; fs = \"$fs\"; }" | tr -d '"')
  tmp=$(mktemp -d)
  if "$tools_bin/gen-installer-data" entry --manifest "$pkg/nixos-asahi-test-0.0.1-$fs.manifest.json" \
    --name nixos-asahi-test --version 0.0.1 --fs "$fs" --package-url "nixos-asahi-test-0.0.1-$fs.zip" --output "$tmp/e.json"; then
    rust_vid=$(python3 -c 'import json,sys; print([p for p in json.load(open(sys.argv[1]))["partitions"] if p["type"]=="EFI"][0]["volume_id"])' "$tmp/e.json")
    if [ "$nix_vid" = "$rust_vid" ]; then ok "volume id agrees with Rust ($nix_vid)"; else fail "volume id: Nix $nix_vid, Rust $rust_vid"; fi
  else
    fail "gen-installer-data entry without --volume-id"
  fi
  rm -rf "$tmp"
  # The image's ESP and root carry what the module promises.
  # The mkimage report: what the layout from lib/helpers.nix asked for.
  if python3 - "$img/report.json" "$fs" "$nix_vid" <<'PY'; then ok "mkimage report ($fs)"; else fail "mkimage report ($fs)"; fi
import json, sys
r = json.load(open(sys.argv[1])); fs = sys.argv[2]; vid = int(sys.argv[3], 16)
esp, root = r["partitions"]
assert r["table"] == "gpt" and r["sectorSize"] == 512, (r["table"], r["sectorSize"])
assert r["sourceDateEpoch"] == 1700000000, r["sourceDateEpoch"]
assert int(str(esp["content"]["volumeId"]["value"]), 16) == vid, esp["content"]["volumeId"]
assert root["name"] == "nixos" and root["content"]["fs"] == fs and root["content"]["label"] == "nixos", root
if fs == "btrfs":
    assert sorted(s.lstrip("/") for s in root["content"]["subvolumes"]) == ["@", "@home", "@nix"], root["content"]["subvolumes"]
PY
done

# --- 5b. the image build as a sandboxed build user ------------------------------------------
# The stand-in builds run as root, without a sandbox. In a real sandbox the
# builder runs as an unprivileged build user, and every input store path
# (the closure, the ESP tree, another derivation's root tree) belongs to
# root outside the build's user namespace. Emulated here: the image
# derivation's own builder, with the derivation's environment, runs as
# nobody (setpriv) with HOME, TMPDIR and the build directory owned by
# nobody, on the root-owned store paths. It must stage the root tree itself
# and build the image (mkimage's user-namespace path); every inode in the
# root filesystem must be 0:0 (debugfs, btrfs inspect-internal dump-tree),
# and the ext4 image must be byte-identical to root's. The old way, mkimage
# as that user on the root tree from its own derivation, must be refused.
unpriv_uid=65534
# The build user must reach the tools, and the clone's target/ may lie
# under a directory others cannot enter (/root on a fresh machine): these
# checks use a world-readable copy of the same binaries.
sandbox_bin=$(mktemp -d /tmp/nit-tools.XXXXXX)
chmod 755 "$sandbox_bin"
cp "$tools_bin"/{mkimage,carve-partitions,gen-installer-data,deterministic-copy} "$sandbox_bin"/
for fs in btrfs ext4; do
  if ! res=$(nix-build tests/nix/stand-in-packaging.nix --no-out-link \
    --argstr toolsBin "$sandbox_bin" --argstr toolsStamp "$tools_stamp" \
    --argstr extraPath "$extra_path" --argstr fs "$fs" -A image -A root 2>/dev/null); then
    fail "sandboxed image build ($fs): no stand-in image"
    continue
  fi
  img=$(echo "$res" | grep -- '-image$')
  rootdir=$(echo "$res" | grep -- '-root$')
  drv=$(nix-store -q --deriver "$img")
  if [ "$(stat -c %u:%g "$rootdir")" != 0:0 ] || ! [ -e "$drv" ]; then
    fail "sandboxed image build ($fs): the store must be root's (owner $(stat -c %u:%g "$rootdir")) and hold $drv"
    continue
  fi
  u=$(mktemp -d /tmp/nit-sandbox.XXXXXX)
  chmod 755 "$u"
  mkdir "$u/build" "$u/outputs" "$u/old"
  chown "$unpriv_uid:$unpriv_uid" "$u/build" "$u/outputs" "$u/old"
  # Run the derivation's builder as Nix would: its environment, passAsFile
  # attributes as files in the build directory, $out redirected to a
  # directory the user may write.
  if nix --extra-experimental-features nix-command show-derivation "$drv" >"$u/drv.json" &&
    python3 - "$u/drv.json" "$drv" "$u/build" "$u/outputs/out" "$unpriv_uid" >"$u/log" 2>&1 <<'PY'; then
import json, os, subprocess, sys
drvs, drv, build, out, uid = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
d = drvs[drv]
env = dict(d["env"])
for name in env.pop("passAsFile", "").split():
    path = os.path.join(build, ".attr-" + name)
    with open(path, "w") as f:
        f.write(env.pop(name))
    os.chown(path, int(uid), int(uid))
    env[name + "Path"] = path
env["out"] = out
for k in ["NIX_BUILD_TOP", "TMPDIR", "TEMPDIR", "TMP", "TEMP", "HOME"]:
    env[k] = build
env.update(NIX_STORE="/nix/store", NIX_BUILD_CORES="1", PWD=build)
sys.exit(subprocess.run(["/usr/bin/setpriv", "--reuid=" + uid, "--regid=" + uid, "--clear-groups",
                         d["builder"], *d["args"]], env=env, cwd=build).returncode)
PY
    ok "sandboxed image build: the builder stages the root tree and runs mkimage as a build user ($fs)"
  else
    fail "sandboxed image build ($fs): $(tail -n 20 "$u/log")"
    rm -rf "$u"
    continue
  fi
  out=$u/outputs/out
  # The report names neither the build directory nor a temporary path.
  if grep -q "$u/build" "$out/report.json"; then
    fail "sandboxed image build: the report names the build directory $u/build ($fs)"
  elif python3 - "$out/report.json" "$img/report.json" "$out" "$img" <<'PY'; then ok "sandboxed image build: the report is root's but for \$out and the user namespace ($fs)"; else fail "sandboxed image build: the report differs from root's ($fs)"; fi
import difflib, json, re, sys
mine = open(sys.argv[1]).read().replace(sys.argv[3], sys.argv[4])
theirs = open(sys.argv[2]).read()
# The build user's mkfs ran in a user namespace; root's did not.
ns = re.compile(r'"userNamespace": *true')
if not ns.search(mine) or ns.search(theirs):
    sys.exit("the build user's mkfs should run in a user namespace, root's not")
mine = ns.sub('"userNamespace": false', mine)
if mine != theirs:
    a, b = json.loads(mine), json.loads(theirs)
    sys.exit("".join(difflib.unified_diff(json.dumps(b, indent=1).splitlines(True), json.dumps(a, indent=1).splitlines(True), n=1)))
PY
  "$tools_bin/carve-partitions" extract "$out/disk.img" --partition nixos --output "$u/root.fs" >/dev/null 2>&1
  if [ "$fs" = btrfs ]; then
    owners=$(PATH="$extra_path:$PATH" btrfs inspect-internal dump-tree "$u/root.fs" | grep -E ' uid [0-9]+ gid [0-9]+ ')
  else
    # Every inode debugfs lists, directory by directory (ls -p: /ino/mode/uid/gid/name/size/).
    owners=$(PATH="$extra_path:$PATH" python3 - "$u/root.fs" <<'PY'
import subprocess, sys
fs, todo, seen = sys.argv[1], ["/"], set()
while todo:
    d = todo.pop()
    out = subprocess.run(["debugfs", "-R", 'ls -p "%s"' % d, fs], check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        f = line.split("/")
        if len(f) < 7 or f[5] in ("", ".", "..") or f[1] in ("0", *seen):
            continue
        seen.add(f[1])
        print(" uid %s gid %s %s%s" % (f[3], f[4], d.rstrip("/") + "/", f[5]))
        if f[2].startswith("04"):
            todo.append(d.rstrip("/") + "/" + f[5])
PY
    )
  fi
  n=$(echo "$owners" | grep -c ' uid ' || true)
  bad=$(echo "$owners" | grep -v ' uid 0 gid 0 ' || true)
  if [ "$n" -ge 20 ] && [ -z "$bad" ]; then
    ok "sandboxed image build: all $n inodes 0:0 ($fs)"
  else
    fail "sandboxed image build: $n inodes, not 0:0: $(echo "$bad" | head -n 5)"
  fi
  if [ "$fs" = ext4 ]; then
    # ext4 images are reproducible; btrfs ones are not (mkimage's report says
    # so: btrfs-progs takes the chunk tree UUID and the root's times from the
    # clock), so only the ext4 image can be compared with root's.
    if cmp -s "$out/disk.img" "$img/disk.img"; then
      ok "sandboxed image build: the same image as root's ($fs)"
    else
      fail "sandboxed image build: the image differs from root's ($fs)"
    fi
    # The tree staged in the image build is the one make-root-tree.nix
    # outputs (system.build.asahiRootTree): the same paths.
    if diff <(echo "$owners" | sed 's/^ uid [0-9]* gid [0-9]* //' | grep -vx '/lost+found' | sort) \
      <(cd "$rootdir" && find . -mindepth 1 | sed 's/^\.//' | sort) >"$u/diff"; then
      ok "sandboxed image build: the image holds the paths of the root tree derivation ($fs)"
    else
      fail "sandboxed image build: the image and the root tree derivation differ ($fs): $(head -n 10 "$u/diff")"
    fi
  fi
  # The old way: mkimage as the build user on the root tree from another
  # derivation (owned by root, as store paths in the sandbox are not owned
  # by the build user) is refused, which is why the image stages its own.
  python3 - "$img/layout.json" "$rootdir" "$u/old/layout.json" <<'PY'
import json, sys
layout = json.load(open(sys.argv[1]))
for p in layout["partitions"]:
    if p.get("content", {}).get("source") == "root":
        p["content"]["source"] = sys.argv[2]
json.dump(layout, open(sys.argv[3], "w"))
PY
  if setpriv --reuid="$unpriv_uid" --regid="$unpriv_uid" --clear-groups \
    env PATH="$extra_path:$PATH" SOURCE_DATE_EPOCH=1700000000 TMPDIR="$u/old" HOME="$u/old" \
    "$sandbox_bin/mkimage" --layout "$u/old/layout.json" --output "$u/old/disk.img" >"$u/old.log" 2>&1; then
    fail "old way: mkimage as a build user on a root-owned root tree should be refused ($fs)"
  elif grep -q "is owned by 0:0, not by the caller $unpriv_uid:$unpriv_uid" "$u/old.log"; then
    ok "old way: mkimage as a build user refuses the root-owned root tree derivation ($fs)"
  else
    fail "old way: refused, but not for ownership ($fs): $(cat "$u/old.log")"
  fi
  rm -rf "$u"
done
rm -rf "$sandbox_bin"

# --- 6. create-release on a scratch clone -------------------------------------------------
scratch=$(mktemp -d)
if git clone -q "$root" "$scratch/repo" 2>/dev/null && (
  cd "$scratch/repo" &&
    git checkout -q -B main &&
    git -c user.name=t -c user.email=t@t commit -q --allow-empty -m base &&
    before=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1) &&
    GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t \
      bash "$root/tools/create-release.sh" minor >/dev/null &&
    after=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1) &&
    IFS=. read -r ma mi _ <<<"$before" &&
    [ "$after" = "$ma.$((mi + 1)).0" ] &&
    git rev-parse -q --verify "refs/tags/v$after" >/dev/null &&
    grep -A1 '^name = "nixos-image-tools"$' Cargo.lock | grep -q "^version = \"$after\"$" &&
    [ -z "$(git status --porcelain)" ] &&
    echo dirty >>Cargo.toml &&
    ! bash "$root/tools/create-release.sh" patch 2>/dev/null
); then
  ok "create-release bumps, tags, refuses a dirty tree"
else
  fail "create-release"
fi
rm -rf "$scratch"

finish
