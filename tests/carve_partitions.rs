//! carve-partitions against disk images built by the standard tools
//! (sgdisk / sfdisk, mkfs.vfat + mcopy, mkfs.ext4 -d) at 512 and 4096-byte
//! sectors, judged by dd, mcopy, 7z, unzip and an installer-style reader.
//! Each test asks for the tools it runs ([`disk`], common::have_tools): a
//! missing one skips only the tests that need it, or fails them under
//! NIT_TEST_REQUIRE_BOOKWORM_TOOLS=1.
//!
//! Linux only: it drives Linux tools (and Linux-only system calls).
#![cfg(target_os = "linux")]

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Disk {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    img: PathBuf,
    esp: (u64, u64),
    root: (u64, u64),
}

/// The tools the tests run, as (program, Debian package).
type Tool = (&'static str, &'static str);
const SGDISK: Tool = ("sgdisk", "gdisk");
const SFDISK: Tool = ("sfdisk", "fdisk");
const FDISK: Tool = ("fdisk", "fdisk");
const MKFS_VFAT: Tool = ("mkfs.vfat", "dosfstools");
const MCOPY: Tool = ("mcopy", "mtools");
const MKFS_EXT4: Tool = ("mkfs.ext4", "e2fsprogs");
const SEVEN_Z: Tool = ("7z", "p7zip-full");
const UNZIP: Tool = ("unzip", "unzip");
const PYTHON3: Tool = ("python3", "python3");

/// A disk built by [`build_disk`] when its tools and the test's own
/// (`also`) are here; else `None`, and the test returns: skipped, saying
/// which tool is missing, or failed under NIT_TEST_REQUIRE_BOOKWORM_TOOLS=1
/// (see common::have_tools).
fn disk(ss: u64, also: &[Tool]) -> Option<Disk> {
    let mut tools = vec![FDISK, MKFS_VFAT, MCOPY, MKFS_EXT4];
    if ss == 512 {
        tools.push(SGDISK);
    }
    tools.extend(also);
    have_tools(&tools).then(|| build_disk(ss))
}

/// A GPT disk with an ESP (mkfs.vfat + mcopy of common::esp_tree) and an
/// ext4 root (mkfs.ext4 -d of common::root_tree), partitioned by sgdisk
/// (512-byte sectors) or fdisk (4096), its partitions located by fdisk.
fn build_disk(ss: u64) -> Disk {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    esp_tree(&dir.join("esp"));
    root_tree(&dir.join("root"));
    let esp_mib = if ss == 512 { 64 } else { 300 };
    let root_mib = 64;
    let img = dir.join("disk.img");
    let d = dir.display();
    sh(&format!(
        "truncate -s {}M {d}/disk.img",
        esp_mib + root_mib + 2
    ));
    if ss == 512 {
        sh(&format!(
            "sgdisk -n1:2048:+{esp_mib}M -t1:EF00 -c1:ESP -n2:0:+{root_mib}M -t2:8300 -c2:nixos {d}/disk.img >/dev/null"
        ));
    } else {
        // bookworm's sfdisk has no --sector-size; fdisk -b does it.
        sh(&format!(
            "printf 'g\\nn\\n1\\n\\n+{esp_mib}M\\nt\\n1\\nn\\n2\\n\\n+{root_mib}M\\nx\\nn\\n1\\nESP\\nn\\n2\\nnixos\\nr\\nw\\n' | fdisk -b 4096 {d}/disk.img >/dev/null"
        ));
    }
    // fdisk is the independent oracle for where the partitions are.
    let listing = sh(&format!(
        "fdisk -b {ss} -l -o Start,Sectors {d}/disk.img | tail -n 2"
    ));
    let rows: Vec<(u64, u64)> = listing
        .lines()
        .map(|l| {
            let f: Vec<u64> = l.split_whitespace().map(|x| x.parse().unwrap()).collect();
            (f[0] * ss, f[1] * ss)
        })
        .collect();
    let part = |i: usize| rows[i];
    let (esp, root) = (part(0), part(1));
    sh(&format!(
        "mkfs.vfat -F 32 -S {ss} -s 1 -n ESP -i 12CEA600 -C {d}/esp.fat {} >/dev/null && cd {d}/esp && mcopy -s -i {d}/esp.fat * ::/ && \
         dd if={d}/esp.fat of={d}/disk.img bs=4096 seek={} conv=notrunc,sparse status=none",
        esp.1 / 1024,
        esp.0 / 4096
    ));
    sh(&format!(
        "mkfs.ext4 -q -b 4096 -d {d}/root -E offset={} {d}/disk.img {}k",
        root.0,
        root.1 / 1024
    ));
    Disk {
        _tmp: tmp,
        dir,
        img,
        esp,
        root,
    }
}

/// An image that is only a partition table, written by the shell line
/// `make` returns for the image's path.
fn table_only(make: impl FnOnce(&str) -> String) -> Disk {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let img = dir.join("disk.img");
    sh(&make(p(&img)));
    Disk {
        _tmp: tmp,
        dir,
        img,
        esp: (0, 0),
        root: (0, 0),
    }
}

fn carve(args: &[&str]) -> std::process::Output {
    run(Command::new(bin("carve-partitions"))
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1700000000"))
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "carve-partitions failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn allocated(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().blocks() * 512
}

fn list_case(ss: u64) {
    let Some(disk) = disk(ss, &[]) else {
        return;
    };
    let v: serde_json::Value =
        serde_json::from_str(&ok(&carve(&["list", p(&disk.img), "--json"]))).unwrap();
    assert_eq!(v["table"], "gpt");
    assert_eq!(v["sectorSize"], ss);
    let parts = v["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0]["name"], "ESP");
    assert_eq!(parts[0]["typeAlias"], "esp");
    assert_eq!(parts[0]["type"], "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
    assert_eq!(parts[0]["offset"], disk.esp.0);
    assert_eq!(parts[0]["size"], disk.esp.1);
    assert_eq!(parts[1]["typeAlias"], "linux");
    assert_eq!(parts[1]["offset"], disk.root.0);
    assert_eq!(parts[1]["size"], disk.root.1);
    assert_eq!(parts[1]["firstLba"], disk.root.0 / ss);
    let text = ok(&carve(&["list", p(&disk.img)]));
    assert!(text.contains(&format!("GPT, {ss}-byte sectors")), "{text}");
}

#[test]
fn list_512() {
    list_case(512);
}

#[test]
fn list_4096() {
    list_case(4096);
}

fn extract_case(ss: u64) {
    let Some(disk) = disk(ss, &[]) else {
        return;
    };
    let d = disk.dir.display();
    for (sel, (off, size)) in [("ESP", disk.esp), ("2", disk.root)] {
        let out = disk.dir.join(format!("part-{sel}"));
        ok(&carve(&[
            "extract",
            p(&disk.img),
            "--partition",
            sel,
            "-o",
            p(&out),
        ]));
        sh(&format!(
            "dd if={d}/disk.img of={d}/ref-{sel} bs={ss} skip={} count={} status=none && cmp {d}/ref-{sel} {}",
            off / ss,
            size / ss,
            p(&out)
        ));
        // dd writes every zero block; extract must keep the holes. (The
        // host filesystem may add its own metadata blocks to dd's file, e.g.
        // an ext4 extent-tree block: at least `size`, not exactly.)
        assert!(allocated(&disk.dir.join(format!("ref-{sel}"))) >= size);
        assert!(
            allocated(&out) < size / 2,
            "{sel}: {} of {size} bytes allocated",
            allocated(&out)
        );
    }
}

#[test]
fn extract_512() {
    extract_case(512);
}

#[test]
fn extract_4096() {
    extract_case(4096);
}

fn unpack_case(ss: u64) {
    let Some(disk) = disk(ss, &[SEVEN_Z]) else {
        return;
    };
    let d = disk.dir.display();
    let out = disk.dir.join("unpacked");
    ok(&carve(&[
        "unpack",
        p(&disk.img),
        "--partition",
        "esp",
        "-o",
        p(&out),
    ]));
    sh(&format!(
        "mkdir {d}/mcopy && mcopy -s -n -i {d}/esp.fat ::/ {d}/mcopy/ && diff -r {d}/mcopy {}",
        p(&out)
    ));
    sh(&format!(
        "7z x -o{d}/7z {d}/esp.fat >/dev/null && diff -r {d}/7z {}",
        p(&out)
    ));
    // Deterministic metadata: every mtime is SOURCE_DATE_EPOCH, modes fixed.
    let stamps = sh(&format!(
        "find {} -printf '%T@ %m %y\\n' | sort -u",
        p(&out)
    ));
    assert_eq!(
        stamps,
        "1700000000.0000000000 644 f\n1700000000.0000000000 755 d\n"
    );
}

#[test]
fn unpack_512() {
    unpack_case(512);
}

#[test]
fn unpack_4096() {
    unpack_case(4096);
}

fn package_case(ss: u64) {
    let Some(disk) = disk(ss, &[UNZIP, SEVEN_Z, PYTHON3]) else {
        return;
    };
    let d = disk.dir.display();
    let zip = disk.dir.join("out/nixos.zip");
    std::fs::create_dir(disk.dir.join("out")).unwrap();
    // root.img's SHA-256 is opt-in: asked for on one sector size only.
    let root_sha256 = ss == 512;
    let mut args = vec![
        "asahi-package",
        p(&disk.img),
        "--esp",
        "esp",
        "--root",
        "nixos",
        "-o",
        p(&zip),
    ];
    if root_sha256 {
        args.push("--root-sha256");
    }
    ok(&carve(&args));
    let manifest_path = disk.dir.join("out/nixos.manifest.json");
    assert_eq!(
        entries(&disk.dir.join("out")),
        ["nixos.manifest.json", "nixos.zip"]
    );
    sh(&format!("unzip -tq {}", p(&zip)));
    let t = sh(&format!("7z t {}", p(&zip)));
    assert!(t.contains("Everything is Ok"), "{t}");
    // The reference root image, carved by dd.
    let root_sha = sh(&format!(
        "dd if={d}/disk.img bs={ss} skip={} count={} status=none | sha256sum | cut -d' ' -f1",
        disk.root.0 / ss,
        disk.root.1 / ss
    ));
    let root_sha = root_sha.trim();
    sh(&format!(
        "python3 {}/tests/support/installer_check.py {} {d}/installed {root_sha}",
        repo().display(),
        p(&zip)
    ));
    // What the installer copies is the source ESP minus .extra-files and
    // vendorfw (installer_check.py put the Mac's firmware there, as the
    // installer does).
    sh(&format!(
        "rm -r {d}/esp/EFI/nixos/.extra-files {d}/esp/vendorfw {d}/installed/vendorfw && diff -r {d}/esp {d}/installed"
    ));

    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    assert_eq!(m["partitions"]["esp"]["size"], disk.esp.1);
    assert_eq!(m["partitions"]["root"]["size"], disk.root.1);
    assert_eq!(
        m["packageSha256"].as_str().unwrap(),
        sh(&format!("sha256sum {} | cut -d' ' -f1", p(&zip))).trim()
    );
    let members = m["members"].as_array().unwrap();
    let last = members.last().unwrap();
    assert_eq!(last["name"], "root.img");
    if root_sha256 {
        assert_eq!(last["sha256"], root_sha);
    } else {
        assert!(last.get("sha256").is_none(), "{last}");
        assert!(members
            .iter()
            .all(|m| m["name"] == "root.img" || m["sha256"].is_string()));
    }
    assert_eq!(last["size"], disk.root.1);
    // Member order from the zip itself: sorted, directories first, root.img last.
    let names = sh(&format!(
        "python3 -c 'import zipfile,sys; print(\"\\n\".join(i.filename for i in zipfile.ZipFile(sys.argv[1]).infolist()))' {}",
        p(&zip)
    ));
    let names: Vec<&str> = names.lines().collect();
    assert_eq!(names[0], "esp/");
    assert_eq!(*names.last().unwrap(), "root.img");
    let mut sorted = names[..names.len() - 1].to_vec();
    sorted.sort();
    assert_eq!(sorted, names[..names.len() - 1]);
    assert!(!names.iter().any(|n| n.contains("vendorfw")));
    assert!(names.contains(&"esp/EFI.bak"));
    assert!(!names.iter().any(|n| n.contains(".extra-files")));
    let manifest_names: Vec<&str> = members
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(manifest_names, names);
}

#[test]
fn package_512() {
    package_case(512);
}

#[test]
fn package_4096() {
    package_case(4096);
}

#[test]
fn package_is_reproducible_across_threads_and_time() {
    let Some(disk) = disk(512, &[UNZIP]) else {
        return;
    };
    let a = disk.dir.join("a.zip");
    let b = disk.dir.join("b.zip");
    let c = disk.dir.join("c.zip");
    ok(&carve(&[
        "asahi-package",
        p(&disk.img),
        "--esp",
        "1",
        "--root",
        "2",
        "-o",
        p(&a),
        "--threads",
        "1",
    ]));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    ok(&carve(&[
        "asahi-package",
        p(&disk.img),
        "--esp",
        "1",
        "--root",
        "2",
        "-o",
        p(&b),
        "--threads",
        "3",
    ]));
    assert!(
        std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
        "zips differ"
    );
    // SOURCE_DATE_EPOCH is honoured: another epoch, another zip.
    let out = run(Command::new(bin("carve-partitions"))
        .args([
            "asahi-package",
            p(&disk.img),
            "--esp",
            "1",
            "--root",
            "2",
            "-o",
            p(&c),
        ])
        .env("SOURCE_DATE_EPOCH", "1600000000"));
    ok(&out);
    assert!(std::fs::read(&a).unwrap() != std::fs::read(&c).unwrap());
    let listing = sh(&format!("unzip -l {} | grep root.img", p(&c)));
    assert!(listing.contains("2020-09-13"), "{listing}");
    // Before the zip epoch: clamped to 1980-01-01.
    let out = run(Command::new(bin("carve-partitions"))
        .args([
            "asahi-package",
            p(&disk.img),
            "--esp",
            "1",
            "--root",
            "2",
            "-o",
            p(&c),
        ])
        .env("SOURCE_DATE_EPOCH", "1"));
    ok(&out);
    assert!(sh(&format!("unzip -l {} | grep root.img", p(&c))).contains("1980-01-01"));
}

// ---- malformed inputs: one clear line, non-zero exit, nothing left behind ----

fn expect_failure(disk: &Disk, args: &[&str], needle: &str) {
    let out_dir = disk.dir.join("failout");
    let _ = std::fs::remove_dir_all(&out_dir);
    std::fs::create_dir(&out_dir).unwrap();
    let mut full: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    match args[0] {
        "asahi-package" | "extract" => {
            full.extend(["-o".into(), format!("{}/out.zip", out_dir.display())])
        }
        "unpack" => full.extend(["-o".into(), format!("{}/tree", out_dir.display())]),
        _ => {}
    }
    // Under a deadline: a hostile image must end in an error, not a hang.
    let out = run(Command::new("timeout")
        .args(["-s", "KILL", "120"])
        .arg(bin("carve-partitions"))
        .args(&full));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{full:?} succeeded");
    assert_eq!(out.status.code(), Some(1), "{full:?}: {stderr}");
    assert!(
        stderr.contains(needle),
        "{full:?}: expected {needle:?} in {stderr}"
    );
    // One error line, the last; anything before it is a warning.
    let lines: Vec<&str> = stderr.trim().lines().collect();
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("carve-partitions: error: "),
        "{stderr}"
    );
    assert!(
        lines[..lines.len() - 1]
            .iter()
            .all(|l| l.starts_with("carve-partitions: warning: ")),
        "one error line expected: {stderr}"
    );
    assert!(
        entries(&out_dir).is_empty(),
        "left behind: {:?}",
        entries(&out_dir)
    );
}

/// Rewrite GPT fields with Python and fix (or not) the CRCs.
fn gpt_edit(img: &Path, ss: u64, code: &str) {
    let script = format!(
        r#"
import struct, zlib
ss = {ss}
f = open("{img}", "r+b")
def hdr(lba):
    f.seek(lba * ss); return bytearray(f.read(ss))
def entries(h):
    lba, n, size = struct.unpack_from("<QII", h, 72)
    f.seek(lba * ss); return lba, bytearray(f.read(n * size))
def put(lba, h, elba, e, fix=True):
    if fix:
        struct.pack_into("<I", h, 88, zlib.crc32(bytes(e)))
        hs = struct.unpack_from("<I", h, 12)[0]
        struct.pack_into("<I", h, 16, 0)
        struct.pack_into("<I", h, 16, zlib.crc32(bytes(h[:hs])))
    f.seek(lba * ss); f.write(h); f.seek(elba * ss); f.write(e)
p = hdr(1); backup_lba = struct.unpack_from("<Q", p, 32)[0]; b = hdr(backup_lba)
pel, pe = entries(p); bel, be = entries(b)
{code}
f.close()
"#,
        img = img.display()
    );
    sh(&format!("python3 - <<'PY'\n{script}\nPY"));
}

#[test]
fn damaged_primary_header_falls_back_to_backup() {
    let Some(disk) = disk(512, &[PYTHON3]) else {
        return;
    };
    // Corrupt the primary header without fixing its CRC.
    gpt_edit(&disk.img, 512, "p[0x30] ^= 0xff\nf.seek(512); f.write(p)");
    let out = carve(&["list", p(&disk.img)]);
    let text = ok(&out);
    assert!(text.contains("nixos"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning:") && stderr.contains("using the backup GPT header"),
        "{stderr}"
    );
    // Damaged entry array in the primary: same fallback.
    let disk = build_disk(512);
    gpt_edit(&disk.img, 512, "pe[60] ^= 1\nf.seek(pel*ss); f.write(pe)");
    let out = carve(&["list", p(&disk.img)]);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("entry array"));
}

#[test]
fn both_headers_damaged_is_an_error() {
    let Some(disk) = disk(512, &[PYTHON3]) else {
        return;
    };
    gpt_edit(&disk.img, 512, "p[0x30] ^= 0xff\nf.seek(512); f.write(p)\nb[0x30] ^= 0xff\nf.seek(backup_lba*512); f.write(b)");
    expect_failure(
        &disk,
        &["asahi-package", p(&disk.img), "--esp", "1", "--root", "2"],
        "fails its CRC-32 check",
    );
    expect_failure(
        &disk,
        &["extract", p(&disk.img), "--partition", "1"],
        "backup GPT header",
    );
}

#[test]
fn truncated_image_is_an_error() {
    let Some(disk) = disk(512, &[]) else {
        return;
    };
    sh(&format!("truncate -s 100M {}", p(&disk.img)));
    expect_failure(
        &disk,
        &["extract", p(&disk.img), "--partition", "2"],
        "truncated",
    );
    sh(&format!("truncate -s 300 {}", p(&disk.img)));
    expect_failure(
        &disk,
        &["list", p(&disk.img)],
        "too small to hold a partition table",
    );
}

#[test]
fn overlapping_partitions_are_an_error() {
    let Some(disk) = disk(512, &[PYTHON3]) else {
        return;
    };
    // Partition 2 starts inside partition 1, in both copies, CRCs fixed.
    let code = "for e in (pe, be):\n    first = struct.unpack_from('<Q', e, 32)[0]\n    struct.pack_into('<Q', e, 128 + 32, first + 8)\nput(1, p, pel, pe)\nput(backup_lba, b, bel, be)";
    gpt_edit(&disk.img, 512, code);
    expect_failure(
        &disk,
        &["asahi-package", p(&disk.img), "--esp", "1", "--root", "2"],
        "overlap",
    );
}

#[test]
fn partition_past_the_end_is_an_error() {
    if !have_tools(&[SFDISK]) {
        return;
    }
    // An MBR (no backup header to betray truncation) whose partition runs off the image.
    let disk = table_only(|img| {
        format!(
        "truncate -s 8M {img} && printf 'label: dos\\nstart=2048, size=8192, type=83\\nstart=10240, size=4096, type=c\\n' | sfdisk -q {img} && truncate -s 6M {img}"
    )
    });
    expect_failure(
        &disk,
        &["extract", p(&disk.img), "--partition", "2"],
        "past the end of the image",
    );
}

#[test]
fn selector_errors_list_the_partitions() {
    let Some(disk) = disk(512, &[SGDISK]) else {
        return;
    };
    expect_failure(
        &disk,
        &["extract", p(&disk.img), "--partition", "swap"],
        "partitions: 1 ESP (esp), 2 nixos (linux)",
    );
    expect_failure(
        &disk,
        &["extract", p(&disk.img), "--partition", "7"],
        "no partition has that index",
    );
    // The image it looked in, as every other error about an image says.
    expect_failure(
        &disk,
        &[
            "asahi-package",
            p(&disk.img),
            "--esp",
            "vfat",
            "--root",
            "2",
        ],
        &format!("error: {}: partition selector \"vfat\"", disk.img.display()),
    );
    // Two Linux partitions: the alias is ambiguous.
    let two = table_only(|img| {
        format!("truncate -s 20M {img} && sgdisk -n1:0:+4M -t1:8300 -n2:0:+4M -t2:8300 {img} >/dev/null")
    });
    expect_failure(
        &two,
        &["extract", p(&two.img), "--partition", "linux"],
        "several partitions have that type",
    );
}

#[test]
fn esp_that_is_not_fat_is_an_error() {
    let Some(disk) = disk(512, &[]) else {
        return;
    };
    expect_failure(
        &disk,
        &["asahi-package", p(&disk.img), "--esp", "2", "--root", "1"],
        "does not hold a FAT filesystem",
    );
    expect_failure(
        &disk,
        &["unpack", p(&disk.img), "--partition", "nixos"],
        "does not hold a FAT filesystem",
    );
}

#[test]
fn root_not_a_multiple_of_4096_is_an_error() {
    let Some(disk) = disk(512, &[PYTHON3]) else {
        return;
    };
    // Shrink partition 2 by one 512-byte sector (CRCs fixed).
    let code = "for e in (pe, be):\n    last = struct.unpack_from('<Q', e, 128 + 40)[0]\n    struct.pack_into('<Q', e, 128 + 40, last - 1)\nput(1, p, pel, pe)\nput(backup_lba, b, bel, be)";
    gpt_edit(&disk.img, 512, code);
    expect_failure(
        &disk,
        &["asahi-package", p(&disk.img), "--esp", "1", "--root", "2"],
        "not a multiple of 4096",
    );
}

/// A file whose directory entry claims more bytes than its cluster chain
/// holds: unpack and asahi-package refuse it instead of writing a short file.
#[test]
fn damaged_fat_file_size_is_an_error() {
    let Some(disk) = disk(512, &[]) else {
        return;
    };
    let mut img = std::fs::read(&disk.img).unwrap();
    let (start, len) = (disk.esp.0 as usize, disk.esp.1 as usize);
    let mut patched = 0;
    // m1n1/boot.bin's 8.3 entry (and its .extra-files twin): size at +28.
    for i in start..start + len - 32 {
        if &img[i..i + 11] == b"BOOT    BIN" && i % 32 == 0 {
            img[i + 28..i + 32].copy_from_slice(&10_000_000u32.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2, "expected two BOOT.BIN entries");
    std::fs::write(&disk.img, &img).unwrap();
    for args in [
        &["unpack", p(&disk.img), "--partition", "esp"][..],
        &["asahi-package", p(&disk.img), "--esp", "1", "--root", "2"][..],
    ] {
        expect_failure(&disk, args, "but its cluster chain ends after 512 bytes");
    }
}

/// SIGTERM (a cancelled build) in the middle of packaging: the temporary zip
/// is removed and the exit status says which signal stopped it.
#[test]
fn sigterm_leaves_nothing_behind() {
    let Some(disk) = disk(512, &[]) else {
        return;
    };
    let text = slow_text(disk.root.1);
    std::os::unix::fs::FileExt::write_all_at(
        &std::fs::OpenOptions::new()
            .write(true)
            .open(&disk.img)
            .unwrap(),
        &text,
        disk.root.0,
    )
    .unwrap();
    let out_dir = disk.dir.join("sig");
    std::fs::create_dir(&out_dir).unwrap();
    let mut child = Command::new(bin("carve-partitions"))
        .args(["asahi-package", p(&disk.img), "--esp", "1", "--root", "2"])
        .args(["--level", "9", "--threads", "1", "-o"])
        .arg(out_dir.join("p.zip"))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while entries(&out_dir).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no temporary zip appeared"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it could be stopped"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(128 + libc::SIGTERM), "{status}");
    assert!(
        entries(&out_dir).is_empty(),
        "left behind: {:?}",
        entries(&out_dir)
    );
}

/// Edit the ESP's FAT32 with Python: `entries(name11)` lists the 8.3
/// directory entries with that raw name as (position, first cluster, size),
/// `set_fat(cluster, value)` writes every FAT copy, `set_size(pos, n)`.
fn fat_edit(disk: &Disk, code: &str) {
    let script = format!(
        r#"
import struct
f = open("{img}", "r+b")
base = {base}
f.seek(base); bs = f.read(512)
bps, = struct.unpack_from("<H", bs, 11); spc = bs[13]
res, = struct.unpack_from("<H", bs, 14); nf = bs[16]; spf, = struct.unpack_from("<I", bs, 36)
data = base + (res + nf * spf) * bps; cs = bps * spc
f.seek(data); area = f.read({len} - (data - base))
def set_fat(c, v):
    for i in range(nf):
        f.seek(base + (res + i * spf) * bps + 4 * c); f.write(struct.pack("<I", v))
def entries(name):
    out = []
    at = area.find(name)
    while at >= 0:
        if at % 32 == 0:
            hi, = struct.unpack_from("<H", area, at + 20); lo, = struct.unpack_from("<H", area, at + 26)
            out.append((data + at, hi << 16 | lo, struct.unpack_from("<I", area, at + 28)[0]))
        at = area.find(name, at + 1)
    return out
def set_size(pos, n):
    f.seek(pos + 28); f.write(struct.pack("<I", n))
{code}
f.close()
"#,
        img = disk.img.display(),
        base = disk.esp.0,
        len = disk.esp.1,
    );
    sh(&format!("python3 - <<'PY'\n{script}\nPY"));
}

const FAT_COMMANDS: [&[&str]; 2] = [
    &["unpack", "IMG", "--partition", "esp"],
    &["asahi-package", "IMG", "--esp", "1", "--root", "2"],
];

fn fat_failure(disk: &Disk, needle: &str) {
    for args in FAT_COMMANDS {
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "IMG" { p(&disk.img) } else { a })
            .collect();
        expect_failure(disk, &args, needle);
    }
}

/// A directory whose cluster chain loops back on itself: fatfs would read
/// it forever, growing memory; the chain check stops it first.
#[test]
fn fat_directory_loop_is_an_error_not_a_hang() {
    let Some(disk) = disk(512, &[PYTHON3]) else {
        return;
    };
    fat_edit(
        &disk,
        // No end-of-directory entry (the free slots marked deleted), so
        // fatfs keeps following the chain.
        "[(pos, c, size)] = entries(b'EFI        ')\nset_fat(c, c)\n\
         at = data + (c - 2) * cs\n\
         for i in range(0, cs, 32):\n    f.seek(at + i)\n    if f.read(1) == b'\\0':\n        f.seek(at + i); f.write(b'\\xe5')",
    );
    fat_failure(&disk, "directory \"/EFI\" reuses cluster");
}

/// A file whose chain loops and whose entry claims 4 GiB: no gigabytes of
/// output, no zip with a forged member, but an error.
#[test]
fn fat_file_loop_with_a_forged_size_is_an_error() {
    let Some(disk) = disk(512, &[PYTHON3]) else {
        return;
    };
    fat_edit(
        &disk,
        "for pos, c, size in entries(b'BOOT    BIN'):\n    set_fat(c, c); set_size(pos, 0xffffffff)",
    );
    fat_failure(
        &disk,
        "claims 4294967295 bytes, more than the filesystem holds",
    );
    // A size that fits, on the same loop: the chain revisits its cluster.
    fat_edit(
        &disk,
        "for pos, c, size in entries(b'BOOT    BIN'):\n    set_size(pos, 20 * cs)",
    );
    fat_failure(&disk, "BOOT.BIN\" reuses cluster");
}

/// Two files sharing clusters (cross-linked) would let a small image
/// unpack to many times its size: refused like a loop.
#[test]
fn fat_cross_linked_files_are_an_error() {
    let Some(disk) = disk(512, &[PYTHON3]) else {
        return;
    };
    fat_edit(
        &disk,
        "[(p1, c1, s1), (p2, c2, s2)] = entries(b'BOOT    BIN')\nf.seek(p2 + 26); f.write(struct.pack('<H', c1 & 0xffff))\nf.seek(p2 + 20); f.write(struct.pack('<H', c1 >> 16))",
    );
    fat_failure(&disk, "reuses cluster");
}

/// Refill the ESP's `loader` directory with `clusters` clusters (taken from
/// the free ones at the top of the FAT) holding ".", ".." and `files` empty
/// files F0000000..., then zeros (the end-of-directory mark) if room is left.
fn fill_loader_dir(disk: &Disk, clusters: usize, files: usize) {
    fat_edit(
        disk,
        &format!(
            "total, = struct.unpack_from('<I', bs, 32)\n\
             n = (total - (res + nf * spf)) // spc\n\
             f.seek(base + res * bps); fat = f.read(spf * bps)\n\
             free = [c for c in range(n + 1, 1, -1) if struct.unpack_from('<I', fat, 4 * c)[0] & 0x0fffffff == 0]\n\
             [(pos, c0, size)] = entries(b'LOADER     ')\n\
             chain = [c0] + free[:{clusters} - 1]\n\
             for a, b in zip(chain, chain[1:] + [0x0fffffff]):\n    set_fat(a, b)\n\
             slot = lambda name, attr, c: struct.pack('<11sB8xHHHHI', name, attr, c >> 16, 0, 0x21, c & 0xffff, 0)\n\
             d = slot(b'.          ', 0x10, c0) + slot(b'..         ', 0x10, 0)\n\
             d += b''.join(slot(b'F%07d   ' % i, 0x20, 0) for i in range({files}))\n\
             d = d.ljust(len(chain) * cs, b'\\0')\n\
             assert len(d) == len(chain) * cs\n\
             for i, c in enumerate(chain):\n    f.seek(data + (c - 2) * cs); f.write(d[i * cs:(i + 1) * cs])"
        ),
    );
}

/// FAT allows a directory at most 65,536 32-byte entries: one more is
/// refused before anything is written; exactly 65,536 (".", ".." and
/// 65,534 files) unpacks, in seconds.
#[test]
fn fat_directory_of_more_than_65536_entries_is_an_error() {
    let disk = build_disk(512);
    // build_disk(512) formats with mkfs.vfat -s 1: 512-byte clusters.
    let per_cluster = 512 / 32;
    fill_loader_dir(
        &disk,
        65_536 / per_cluster + 1,
        65_536 / per_cluster * per_cluster + 14,
    );
    fat_failure(&disk, "directory \"/LOADER\" has more than 65536 entries");
    let disk = build_disk(512);
    fill_loader_dir(&disk, 65_536 / per_cluster, 65_534);
    let out = disk.dir.join("tree");
    let start = std::time::Instant::now();
    // Under a deadline: opening each file by its path scans the directory,
    // which made this take half an hour.
    ok(&run(Command::new("timeout")
        .args(["-s", "KILL", "120"])
        .arg(bin("carve-partitions"))
        .args([
            "unpack",
            p(&disk.img),
            "-p",
            "esp",
            "-o",
            p(&out),
        ])));
    eprintln!(
        "unpacked 65,534 files in one directory in {:?}",
        start.elapsed()
    );
    assert_eq!(
        std::fs::read_dir(out.join("loader")).unwrap().count(),
        65_534
    );
}

/// Through the backup GPT header (primary damaged), a partition at LBA
/// 2^55 + 2048: its byte offset wraps to 1 MiB, inside the ESP. Listing,
/// extracting and packaging must all refuse it.
#[test]
fn backup_gpt_with_a_wrapping_offset_is_an_error() {
    let Some(disk) = disk(512, &[PYTHON3]) else {
        return;
    };
    gpt_edit(
        &disk.img,
        512,
        "first = (1 << 55) + 2048\n\
         struct.pack_into('<16s16sQQ', be, 2 * 128, bytes(range(1, 17)), bytes(range(2, 18)), first, first + 4095)\n\
         struct.pack_into('<Q', b, 48, 1 << 56)\n\
         put(backup_lba, b, bel, be)\n\
         p[0x30] ^= 0xff\nf.seek(512); f.write(p)",
    );
    let needle =
        "backup GPT header's usable area ends at LBA 72057594037927936, past the end of the image";
    expect_failure(&disk, &["list", p(&disk.img)], needle);
    expect_failure(&disk, &["extract", p(&disk.img), "-p", "3"], needle);
    expect_failure(
        &disk,
        &["asahi-package", p(&disk.img), "--esp", "3", "--root", "2"],
        needle,
    );
}

/// Newlines, CR, ESC and NUL in a partition name stay visible escapes in
/// `list` and in an error line: one line each, no terminal control.
#[test]
fn hostile_partition_names_are_escaped() {
    let Some(disk) = disk(512, &[PYTHON3]) else {
        return;
    };
    gpt_edit(
        &disk.img,
        512,
        "name = 'E\\nS\\rP\\x1b[2J\\x00x'.encode('utf-16-le')\n\
         for e in (pe, be):\n    e[56:128] = (name + bytes(72))[:72]\n\
         put(1, p, pel, pe); put(backup_lba, b, bel, be)",
    );
    let text = ok(&carve(&["list", p(&disk.img)]));
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("1 "))
        .unwrap();
    assert!(row.contains("E\\nS\\rP\\x1b[2J"), "{text}");
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(!text.contains('\x1b') && !text.contains('\r'), "{text:?}");
    let out = carve(&[
        "extract",
        p(&disk.img),
        "-p",
        "nothing",
        "-o",
        "/nonexistent/x",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(stderr.contains("1 E\\nS\\rP\\x1b[2J"), "{stderr:?}");
    assert!(
        !stderr.contains('\x1b') && !stderr.contains('\0'),
        "{stderr:?}"
    );
}

/// Argument errors are one line with the tool's name and exit 2; --help
/// and --version are clap's own text, exit 0.
#[test]
fn argument_errors_are_one_line() {
    for tool in [
        "carve-partitions",
        "mkimage",
        "gen-installer-data",
        "deterministic-copy",
    ] {
        for args in [&["--bogus\nx"][..], &[][..]] {
            let out = run(Command::new(bin(tool)).args(args));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{tool} {args:?}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{tool} {args:?}: {stderr:?}");
            assert!(stderr.starts_with(&format!("{tool}: error: ")), "{stderr}");
            assert!(
                stderr
                    .trim_end()
                    .ends_with(&format!("(see '{tool} --help')")),
                "{stderr}"
            );
        }
        for flag in ["--help", "--version"] {
            let out = run(Command::new(bin(tool)).arg(flag));
            assert_eq!(out.status.code(), Some(0), "{tool} {flag}");
            assert!(out.stderr.is_empty());
            assert!(String::from_utf8_lossy(&out.stdout).lines().count() >= 1);
        }
    }
    let out = carve(&["list", "x", "--sector-size", "7"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value '7' for '--sector-size"));
}
