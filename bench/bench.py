#!/usr/bin/env python3
"""The benchmark: the old packaging chain and our tools on the same inputs, in
one run. Started by bench/run.sh, which installs the tools and builds ours.

1. Generates a tree of real files copied from the host's /usr (--data-gib)
   and an ESP tree like the NixOS module lays out (kernel, initrd, m1n1).
2. Staging: `cp -a` against `deterministic-copy` of that tree.
3. Filesystems: `mkimage` against the bare mkfs it drives on the same tree:
   `mke2fs -d` (the exact command line mkimage's report records, pointed at
   a plain file) and `mkfs.btrfs --rootdir`.
4. Packaging, on the ext4 disk image mkimage built (GPT, 512-byte sectors,
   512 MiB ESP, --root-gib root): the old chain exactly as the earlier
   packaging derivation ran it (`fdisk -Lnever -lu -b 512 | awk` -> eval'd
   `dd bs=512`, `7z x`, `7z a -tzip -r -mx1`, `jq`), then ours
   (`carve-partitions asahi-package`, `gen-installer-data entry/merge/check`).
   Each chain ends with `sync`: ours flushes its zip, the old one must too.
5. The deflate level trade-off (--levels), and `extract` against `dd`.

Every step is timed on its own, after `sync` and dropping the page cache
(when permitted; --warm keeps it), so one step's writeback is not billed to
the next. For each: wall time, CPU time (user+sys), CPU use (CPU/wall: near
the core count means CPU-bound), peak RSS (the largest process of the step, from GNU time), extra disk (allocated bytes the step
added).
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time

GIB = 1 << 30
MIB = 1 << 20


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def allocated(*paths):
    """Bytes allocated on disk under the given paths (files not followed twice)."""
    total, seen = 0, set()
    for top in paths:
        if not os.path.lexists(top):
            continue
        stack = [top]
        while stack:
            p = stack.pop()
            st = os.lstat(p)
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
            if os.path.isdir(p) and not os.path.islink(p):
                stack.extend(os.path.join(p, n) for n in os.listdir(p))
    return total


class Bench:
    def __init__(self, args):
        self.args = args
        self.rows = []
        self.cold = not args.warm and self._can_drop_caches()
        self.env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000", NIT_NO_PROGRESS="1")

    @staticmethod
    def _can_drop_caches():
        try:
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("1\n")
            return True
        except OSError:
            return False

    def remove(self, *paths):
        """Delete step outputs, then give the (virtual) disk time to discard
        the freed blocks before the next step is timed."""
        for p in paths:
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.unlink(p)
        os.sync()
        time.sleep(5)

    def settle(self):
        os.sync()
        if self.cold:
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")

    def run(self, group, name, cmd, cwd=None, outputs=(), env=None, note=""):
        """Time one step; record it under `group`. `cmd` is argv or a bash script.
        `outputs`: the paths the step may add to; its extra disk is their
        allocated bytes after the step minus before."""
        self.settle()
        argv = ["bash", "-euo", "pipefail", "-c", cmd] if isinstance(cmd, str) else cmd
        before = allocated(*outputs)
        stats = os.path.join(self.args.dir, ".time")
        # GNU time, not wait4 here: a child forked from this (large) Python
        # process starts with its peak RSS; time's own children do not.
        argv = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", stats] + argv
        proc = subprocess.run(argv, cwd=cwd, env=env or self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr.decode(errors="replace"))
            raise SystemExit(f"bench: step {name!r} failed with exit code {proc.returncode}")
        with open(stats) as f:
            wall, user, system, rss_kib = f.read().split()[-4:]
        row = {
            "group": group,
            "step": name,
            "wall": float(wall),
            "cpu": float(user) + float(system),
            "rss": int(rss_kib) * 1024,
            "disk": allocated(*outputs) - before,
            "note": note,
        }
        self.rows.append(row)
        log(f"{group} / {name}: {row['wall']:.1f} s")
        return row


def generate_tree(dest, want_bytes, max_file=None):
    """Copy real files from /usr, in sorted order, until `want_bytes` of data.
    With `max_file`: only files up to that size, taken evenly from all of
    /usr (every k-th), like a system closure's many small files."""
    files, total = [], 0
    for root, dirs, names in os.walk("/usr"):
        dirs.sort()
        if root == "/usr":
            dirs[:] = [d for d in dirs if d not in ("local", "src")]
        for n in sorted(names):
            p = os.path.join(root, n)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if os.path.islink(p) or (os.path.isfile(p) and os.access(p, os.R_OK)
                                     and (max_file is None or st.st_size <= max_file)):
                files.append((p, st.st_size if not os.path.islink(p) else 0))
                total += files[-1][1]
        if max_file is None and total >= want_bytes:
            break
    if max_file is not None and total > want_bytes:
        step = total / want_bytes
        files = [f for i, f in enumerate(files) if int(i / step) != int((i + 1) / step)]
        total = sum(size for _, size in files)
    files = [p for p, _ in files]
    listing = dest + ".list"
    with open(listing, "wb") as f:
        f.write(b"\0".join(os.fsencode(p.lstrip("/")) for p in files) + b"\0")
    os.makedirs(dest)
    subprocess.run(
        f"tar -C / --null --no-recursion -T {listing} -cf - | tar -C {dest} -xf -",
        shell=True, check=True,
    )
    os.unlink(listing)
    return len(files), total


def generate_esp(dest):
    """The ESP the NixOS module lays out, with incompressible kernel-sized files."""
    rng = random.Random(1)  # the same bytes every run

    def put(rel, size):
        p = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(rng.randbytes(size))

    put("EFI/BOOT/BOOTAA64.EFI", 140_000)
    put("EFI/systemd/systemd-bootaa64.efi", 140_000)
    put("EFI/nixos/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-linux-6.17.5-Image.efi", 32_000_000)
    put("EFI/nixos/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-initrd-linux-6.17.5-initrd.efi", 18_000_000)
    put("m1n1/boot.bin", 9_000_000)
    os.makedirs(os.path.join(dest, "loader/entries"))
    with open(os.path.join(dest, "loader/loader.conf"), "w") as f:
        f.write("timeout 5\ndefault nixos-generation-1.conf\nconsole-mode keep\n")
    with open(os.path.join(dest, "loader/entries/nixos-generation-1.conf"), "w") as f:
        f.write("title NixOS\nversion Generation 1\n"
                "linux /EFI/nixos/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-linux-6.17.5-Image.efi\n"
                "initrd /EFI/nixos/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-initrd-linux-6.17.5-initrd.efi\n"
                "options init=/nix/store/x/init root=LABEL=nixos\n")
    with open(os.path.join(dest, "EFI/nixos/.extra-files"), "w") as f:
        f.write("m1n1/boot.bin\n")


def layout(fs, esp, root, root_size, seed, subvolumes=()):
    # The raw-efi format's layout (lib/formats/raw-efi.nix), but for the
    # volume id and the root size.
    content = {"fs": fs, "source": root, "label": "nixos"}
    if subvolumes:
        content["subvolumes"] = [{"path": s, "source": s} for s in subvolumes]
    return {
        "table": "gpt", "sectorSize": 512, "seed": seed, "size": "auto",
        "partitions": [
            {"name": "ESP", "type": "esp", "size": "512MiB",
             "content": {"fs": "vfat", "source": esp, "label": "ESP"}},
            {"name": "nixos", "type": "linux", "size": root_size, "content": content},
        ],
    }


def bare_mkfs_script(report, fs_file):
    """The mkfs command mkimage's report records, alone, on a plain file:
    mke2fs without -E offset= (the file gets the partition's size first),
    mkfs.btrfs on its scratch file's name."""
    part = report["partitions"][1]
    cmd = part["content"]["command"]
    argv = list(cmd["argv"])
    env = dict(cmd["env"])
    q = lambda s: "'" + s.replace("'", "'\\''") + "'"
    prep = f"rm -f {q(fs_file)}; "
    if part["content"]["fs"] == "ext4":
        i = argv.index("-E")
        argv[i + 1] = ",".join(o for o in argv[i + 1].split(",") if not o.startswith("offset="))
        argv[-2] = fs_file
        conf = os.path.join(os.path.dirname(fs_file), "mke2fs.conf")
        with open(conf, "w") as f:
            f.write(cmd["files"]["mke2fs.conf"])
        env["MKE2FS_CONFIG"] = conf
        prep += f"truncate -s {part['size']} {q(fs_file)}; "
    else:
        argv[-1] = fs_file
    return prep + " ".join(f"{k}={q(v)}" for k, v in sorted(env.items())) + " " + " ".join(q(a) for a in argv)


def old_chain_steps():
    """The old chain as the earlier packaging derivation's buildPhase ran it,
    in a directory holding the disk image as nixos-asahi.img."""
    return [
        ("fdisk | awk -> dd bs=512", """
            diskImage=nixos-asahi.img
            eval "$(
              fdisk -Lnever -lu -b 512 "$diskImage" |
              awk "/^$diskImage/ { printf \\"dd if=$diskImage of=%s skip=%s count=%s bs=512\\\\n\\", \\$1, \\$2, \\$4 }"
            )"
            mkdir -p package/esp"""),
        ("7z x (ESP)", 'diskImage=nixos-asahi.img; 7z x -o"package/esp" "${diskImage}1" >/dev/null; '
                       'mv "${diskImage}2" package/root.img; rm -rf package/esp/EFI/nixos/.extra-files'),
        ("7z a -tzip -r -mx1", "cd package && 7z a -tzip -r -mx1 -bso0 ../nixos-asahi-old.zip ./."),
        ("jq (installer data)", """
            size=$(stat -c %s package/root.img)
            jq -n --arg s "${size}B" '{os_list: [{name: "NixOS", default_os_name: "NixOS", boot_object: "m1n1.bin",
               next_object: "m1n1/boot.bin", package: "nixos-asahi-old.zip", supported_fw: ["12.3", "12.3.1", "13.5"],
               partitions: [{name: "EFI", type: "EFI", size: "536870912B", format: "fat", volume_id: "0x12cea600",
               source: "esp", copy_firmware: true, copy_installer_data: true},
               {name: "Root", type: "Linux", size: $s, expand: true, image: "root.img"}]}]}' > installer_data.json"""),
        ("sync", "sync"),
    ]


def default_level(args):
    """The default --level, from carve-partitions' own help."""
    out = subprocess.run([os.path.join(os.path.abspath(args.bin), "carve-partitions"), "asahi-package", "--help"],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "--level" in line:
            return line.split("[default: ")[-1].split("]")[0] if "[default: " in line else "?"
    return "?"


def human(n):
    for unit, size in (("GiB", GIB), ("MiB", MIB), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} B"


def setup(args):
    """A fresh work directory, the binaries' paths, the Bench, the root size."""
    w = os.path.abspath(args.dir)
    if os.path.exists(w):
        shutil.rmtree(w)
    os.makedirs(w)
    bench = Bench(args)
    root_gib = args.root_gib or (int(args.data_gib + 0.999) + 3)
    return w, lambda tool: os.path.join(os.path.abspath(args.bin), tool), bench, root_gib


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True, help="work directory (created; several times the data size free)")
    ap.add_argument("--bin", required=True, help="directory holding our release binaries")
    ap.add_argument("--data-gib", type=float, default=5.0, help="GiB of files copied from /usr (default 5)")
    ap.add_argument("--root-gib", type=float, default=None, help="root partition size (default: data + 3 GiB)")
    ap.add_argument("--levels", default="1 2 3 4 6", help="deflate levels for the trade-off table")
    ap.add_argument("--warm", action="store_true", help="do not drop the page cache between steps")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    w, b, bench, root_gib = setup(args)

    log(f"generating {args.data_gib} GiB of files from /usr and an ESP tree in {w}")
    nfiles, nbytes = generate_tree(f"{w}/src", int(args.data_gib * GIB))
    generate_esp(f"{w}/esp")

    # 2. Staging, twice each, alternating: copying a tree is the step the
    # (virtual) disk's mood moves most; the summary takes each one's best.
    for rep in (1, 2):
        bench.run("stage", f"cp -a (run {rep})", ["cp", "-a", f"{w}/src", f"{w}/cp-a"], outputs=[f"{w}/cp-a"])
        bench.remove(f"{w}/cp-a")
        if rep == 2:
            bench.remove(f"{w}/staged")
        bench.run("stage", f"deterministic-copy (run {rep})", [b("deterministic-copy"), f"{w}/src", f"{w}/staged"],
                  outputs=[f"{w}/staged"])
    bench.remove(f"{w}/src")

    # 3. Filesystems. mkimage ext4 first: its report gives the bare command.
    size = f"{int(root_gib * 1024)}MiB"
    with open(f"{w}/ext4.json", "w") as f:
        json.dump(layout("ext4", f"{w}/esp", f"{w}/staged", size, "bench-ext4"), f)
    bench.run("mkfs", "mkimage (GPT + FAT32 ESP + ext4)",
              [b("mkimage"), "--layout", f"{w}/ext4.json", "--output", f"{w}/disk.img", "--report", f"{w}/ext4.report.json"],
              outputs=[f"{w}/disk.img"])
    with open(f"{w}/ext4.report.json") as f:
        report = json.load(f)
    bench.run("mkfs", "mke2fs -d alone (same command line)", bare_mkfs_script(report, f"{w}/bare.ext4"),
              outputs=[f"{w}/bare.ext4"])
    bench.remove(f"{w}/bare.ext4")
    with open(f"{w}/btrfs.json", "w") as f:
        json.dump(layout("btrfs", f"{w}/esp", f"{w}/staged", size, "bench-btrfs"), f)
    bench.run("mkfs", "mkimage (GPT + FAT32 ESP + btrfs)",
              [b("mkimage"), "--layout", f"{w}/btrfs.json", "--output", f"{w}/btrfs.img",
               "--report", f"{w}/btrfs.report.json"],
              outputs=[f"{w}/btrfs.img"])
    bench.remove(f"{w}/btrfs.img")
    with open(f"{w}/btrfs.report.json") as f:
        report = json.load(f)
    bench.run("mkfs", "mkfs.btrfs --rootdir alone (same command line)",
              bare_mkfs_script(report, f"{w}/bare.btrfs"), outputs=[f"{w}/bare.btrfs"])
    bench.remove(f"{w}/bare.btrfs")
    bench.remove(f"{w}/staged")

    # 4. Packaging: ours first, then the old chain as the earlier derivation's
    # buildPhase ran it; nothing is deleted in between (freeing gigabytes
    # makes the virtual disk discard them, which slowed the next step).
    new = f"{w}/new"
    os.makedirs(new)
    zip_path = f"{new}/nixos-asahi-0.0.0-ext4.zip"
    new_steps = [
        ("carve-partitions asahi-package",
         [b("carve-partitions"), "asahi-package", f"{w}/disk.img", "--esp", "esp", "--root", "nixos", "--output", zip_path]),
        ("gen-installer-data entry + merge + check",
         f"{b('gen-installer-data')} entry --manifest {new}/nixos-asahi-0.0.0-ext4.manifest.json --name nixos-asahi "
         f"--version 0.0.0 --fs ext4 --package-url https://example.invalid/os/ --output {new}/entry.json && "
         f"{b('gen-installer-data')} merge --into {new}/installer_data.json {new}/entry.json && "
         f"{b('gen-installer-data')} check {new}/installer_data.json --package {zip_path}"),
        ("sync", "sync"),
    ]
    for name, cmd in new_steps:
        bench.run("ours", name, cmd, cwd=new, outputs=[new])
    new_zip = os.path.getsize(zip_path)
    new_disk = allocated(new)
    with open(f"{new}/nixos-asahi-0.0.0-ext4.manifest.json") as f:
        manifest = json.load(f)
    root_size = manifest["partitions"]["root"]["size"]


    # 4. Packaging: the old chain as the earlier derivation's buildPhase ran it.
    old = f"{w}/old"
    os.makedirs(old)
    os.symlink(f"{w}/disk.img", f"{old}/nixos-asahi.img")
    old_steps = old_chain_steps()
    for name, script in old_steps:
        bench.run("old", name, script, cwd=old,
                  outputs=[f"{old}/package", f"{old}/nixos-asahi.img1", f"{old}/nixos-asahi.img2",
                           f"{old}/nixos-asahi-old.zip", f"{old}/installer_data.json"])
    old_zip = os.path.getsize(f"{old}/nixos-asahi-old.zip")
    old_disk = allocated(old) - os.lstat(f"{old}/nixos-asahi.img").st_blocks * 512
    bench.run("old-extra", "install -Dm644 zip to $out (also in that derivation; not counted)",
              f"install -Dm644 -t {old}/out {old}/nixos-asahi-old.zip", outputs=[f"{old}/out"])

    # 5. Level trade-off and extract against dd.
    levels = []
    for level in args.levels.split():
        out = f"{w}/level-{level}.zip"
        row = bench.run("level", f"asahi-package --level {level}",
                        [b("carve-partitions"), "asahi-package", f"{w}/disk.img", "--esp", "esp", "--root", "nixos",
                         "--output", out, "--level", level], outputs=[out])
        levels.append((int(level), row["wall"], os.path.getsize(out)))
        bench.remove(out, f"{w}/level-{level}.manifest.json")
    part = manifest["partitions"]["root"]
    bench.run("extract", "dd bs=512 (root partition)",
              f"dd if={w}/disk.img of={w}/root.dd bs=512 skip={part['offset'] // 512} count={part['size'] // 512} status=none",
              outputs=[f"{w}/root.dd"])
    bench.remove(f"{w}/root.dd")
    bench.run("extract", "carve-partitions extract (root partition)",
              [b("carve-partitions"), "extract", f"{w}/disk.img", "--partition", "nixos", "--output", f"{w}/root.img"],
              outputs=[f"{w}/root.img"])
    os.unlink(f"{w}/root.img")

    print_report(bench, args, nfiles, nbytes, root_gib, root_size, old_zip, new_zip, old_disk, new_disk, levels)
    with open(f"{w}/results.json", "w") as f:
        json.dump({"rows": bench.rows, "levels": levels, "old_zip": old_zip, "new_zip": new_zip}, f, indent=1)
    if not args.keep:
        shutil.rmtree(w)


def print_report(bench, args, nfiles, nbytes, root_gib, root_size, old_zip, new_zip, old_disk, new_disk, levels):
    rows = bench.rows
    total = lambda g: {k: sum(r[k] for r in rows if r["group"] == g) for k in ("wall", "cpu")}
    peak = lambda g: max(r["rss"] for r in rows if r["group"] == g)
    # The best of a step's runs (only staging runs twice).
    one = lambda g, prefix: min((r for r in rows if r["group"] == g and r["step"].startswith(prefix)),
                                key=lambda r: r["wall"])
    cpu = os.cpu_count()
    print(f"\n# nixos-image-tools benchmark ({time.strftime('%Y-%m-%d')}, {cpu} cores, "
          f"{'cold' if bench.cold else 'warm'} page cache before each step)")
    print(f"tree: {nfiles} files, {human(nbytes)} from /usr; disk image: GPT, 512-byte sectors, "
          f"512 MiB ESP, {root_gib} GiB ext4 root ({root_size} bytes)\n")
    print(f"{'group':<8} {'step':<46} {'wall s':>7} {'CPU s':>7} {'CPU use':>7} {'peak RSS':>10} {'extra disk':>11}")
    for r in rows:
        print(f"{r['group']:<8} {r['step'][:46]:<46} {r['wall']:7.1f} {r['cpu']:7.1f} {r['cpu'] / max(r['wall'], 1e-9):7.2f} "
              f"{human(r['rss']):>10} {human(r['disk']):>11}")
    o, n = total("old"), total("ours")
    print(f"\n{'':<8} {'old chain total (fdisk|awk->dd, 7z x, 7z a, jq, sync)':<46} {o['wall']:7.1f} {o['cpu']:7.1f}")
    print(f"{'':<8} {'ours total (asahi-package, gen-installer-data, sync)':<46} {n['wall']:7.1f} {n['cpu']:7.1f}")

    print("\ndeflate level trade-off (asahi-package, all cores; size against 7z a -tzip -mx1):")
    print(f"{'level':>5} {'wall s':>7} {'zip bytes':>14} {'vs 7z':>8}")
    for level, wall, size in levels:
        print(f"{level:>5} {wall:7.1f} {size:>14} {size / old_zip:8.3f}")
    print(f"{'7z':>5} {one('old', '7z a')['wall']:7.1f} {old_zip:>14} {1:8.3f}")
    fits = [(wall, level) for level, wall, size in levels if size <= old_zip * 1.02]
    if fits:
        print(f"fastest level with a zip at most 2% larger than 7z's: {min(fits)[1]}; "
              f"carve-partitions' default: {default_level(bench.args)}")

    def ratio(name, value, target, ok):
        print(f"  {name:<58} {value:8.3f}   target {target:<10} {'met' if ok else 'NOT MET'}")

    print("\nratios (ours / old) and targets:")
    r = n["wall"] / o["wall"]
    ratio("packaging wall time", r, "<= 0.200", r <= 0.2)
    print(f"  {'   (stretch goal 1/8 = 0.125)':<58} {'':8}   {'<= 0.125':<10} {'met' if r <= 0.125 else 'not yet'}")
    ratio("packaging CPU time", n["cpu"] / o["cpu"], "(info)", True)
    ratio("zip size", new_zip / old_zip, "<= 1.020", new_zip / old_zip <= 1.02)
    ratio("packaging extra disk (ours / old)", new_disk / old_disk, "(info)", True)
    ratio("packaging extra disk (ours / our zip)", new_disk / new_zip, "<= 1.01", new_disk <= new_zip * 1.01)
    rss = peak("ours")
    print(f"  {'packaging peak RSS (MiB)':<58} {rss / MIB:8.1f}   target {'< 512':<10} {'met' if rss < 512 * MIB else 'NOT MET'}")
    e = one("mkfs", "mkimage (GPT + FAT32 ESP + ext4)")["wall"] / one("mkfs", "mke2fs")["wall"]
    ratio("mkimage ext4 / mke2fs -d alone", e, "<= 1.2", e <= 1.2)
    bt = one("mkfs", "mkimage (GPT + FAT32 ESP + btrfs)")["wall"] / one("mkfs", "mkfs.btrfs")["wall"]
    ratio("mkimage btrfs / mkfs.btrfs --rootdir alone", bt, "<= 1.2", bt <= 1.2)
    d = one("stage", "deterministic-copy")["wall"] / one("stage", "cp -a")["wall"]
    ratio("deterministic-copy / cp -a", d, "<= 1.0", d <= 1.0)
    x = one("extract", "carve")["wall"] / one("extract", "dd")["wall"]
    ratio("carve-partitions extract / dd bs=512", x, "(info)", True)


if __name__ == "__main__":
    main()
