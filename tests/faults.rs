//! Faults and limits: a full disk, a read-only output directory, an input
//! truncated or changed while it is read, two runs writing the same output,
//! a stale temporary file from a SIGKILL, a memory ceiling, and a missing or
//! too old mkfs. Each case wants one `tool: error:` line (or success where
//! the fault must be survived) and nothing half-written left behind.
//!
//! Linux only; the mount cases need root (CI and ./test.sh run as root) and
//! say why when they skip.
#![cfg(target_os = "linux")]

mod common;

use common::trixie;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EPOCH: &str = "1700000000";

struct Disk {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    img: PathBuf,
    /// (offset, size) of the root partition.
    root: (u64, u64),
}

fn tool(name: &str) -> Command {
    let mut c = Command::new(bin(name));
    c.env("PATH", trixie::path_env())
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env_remove("MKIMAGE_MKE2FS")
        .env_remove("MKIMAGE_MKFS_BTRFS");
    c
}

fn layout(dir: &Path, root_fs: &str) -> PathBuf {
    let path = dir.join("layout.json");
    let json = format!(
        r#"{{"table": "gpt", "seed": "faults", "partitions": [
            {{"name": "ESP", "type": "esp", "size": "64MiB", "content": {{"fs": "vfat", "source": "esp", "label": "ESP"}}}},
            {{"name": "nixos", "type": "linux", "size": "auto", "content": {{"fs": "{root_fs}", "source": "root"}}}}]}}"#
    );
    std::fs::write(&path, json).unwrap();
    path
}

/// An ESP and an ext4 root built by mkimage (itself checked by its tests).
fn disk() -> Disk {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    esp_tree(&dir.join("esp"));
    root_tree(&dir.join("root"));
    let img = dir.join("disk.img");
    let out = tool("mkimage")
        .arg("--layout")
        .arg(layout(&dir, "ext4"))
        .arg("--output")
        .arg(&img)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = tool("carve-partitions")
        .args(["list", "--json"])
        .arg(&img)
        .output()
        .unwrap();
    let t: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let root = &t["partitions"][1];
    Disk {
        _tmp: tmp,
        dir,
        root: (
            root["offset"].as_u64().unwrap(),
            root["size"].as_u64().unwrap(),
        ),
        img,
    }
}

/// A tmpfs mounted for the test's lifetime, or None (with the reason
/// printed) when this process may not mount.
struct Mount(PathBuf, #[allow(dead_code)] tempfile::TempDir);

impl Mount {
    fn tmpfs(options: &str) -> Option<Mount> {
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().join("m");
        std::fs::create_dir(&at).unwrap();
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: mounting a tmpfs needs root (./test.sh and CI run as root)");
            return None;
        }
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "nit-faults"])
            .arg(&at)
            .output()
            .unwrap();
        if !out.status.success() {
            // Root without CAP_SYS_ADMIN (a container, a build sandbox).
            eprintln!(
                "skipped: mount -t tmpfs failed as root: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        Some(Mount(at, dir))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// The four writing commands, each told to write below `out`.
fn writers(d: &Disk, out: &Path) -> Vec<(&'static str, Command)> {
    let img = d.img.to_str().unwrap();
    let mut mk = tool("mkimage");
    mk.arg("--layout")
        .arg(layout(&d.dir, "ext4"))
        .arg("--output")
        .arg(out.join("disk.img"))
        .env("TMPDIR", out);
    let mut extract = tool("carve-partitions");
    extract
        .args(["extract", img, "-p", "1", "-o"])
        .arg(out.join("esp.fat"));
    let mut unpack = tool("carve-partitions");
    unpack
        .args(["unpack", img, "-p", "esp", "-o"])
        .arg(out.join("esp"));
    let package = package(d, &out.join("p.zip"), &[]);
    vec![
        ("mkimage", mk),
        ("carve-partitions", extract),
        ("carve-partitions", unpack),
        ("carve-partitions", package),
    ]
}

/// One error line from `name`, exit 1, containing `needle`.
fn one_error(name: &str, out: &Output, needle: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        // Notes and warnings carry the program's name too; anything else
        // (an error, or a stray line) counts.
        .filter(|l| {
            !l.starts_with(&format!("{name}: ")) || l.starts_with(&format!("{name}: error: "))
        })
        .collect();
    assert_eq!(errors.len(), 1, "{name}: one error line expected: {stderr}");
    assert!(
        errors[0].starts_with(&format!("{name}: error: ")),
        "{stderr}"
    );
    assert!(
        errors[0].contains(needle),
        "{name}: expected {needle:?}: {stderr}"
    );
    errors[0].to_string()
}

/// Every writer on a tmpfs mounted with `options` fails with `needle`.
fn on_tmpfs(options: &str, needle: &str) {
    let d = disk();
    let Some(m) = Mount::tmpfs(options) else {
        return;
    };
    for (name, mut cmd) in writers(&d, &m.0) {
        let out = cmd.output().unwrap();
        let line = one_error(name, &out, needle);
        eprintln!("{options}: {line}");
        assert!(entries(&m.0).is_empty(), "{name}: left {:?}", entries(&m.0));
    }
}

#[test]
fn disk_full_is_one_error_and_leaves_nothing() {
    on_tmpfs("size=1m", "No space left on device");
}

#[test]
fn read_only_output_directory_is_one_error() {
    on_tmpfs("size=1m,ro", "Read-only file system");
}

/// Make the root partition slow to compress (text, level 9, one thread) so
/// the image can be changed while asahi-package reads it.
fn slow_root(d: &Disk) {
    let text = slow_text(d.root.1);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&d.img)
        .unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &text, d.root.0).unwrap();
}

/// asahi-package of `d` into `zip`, with `extra` options.
fn package(d: &Disk, zip: &Path, extra: &[&str]) -> Command {
    let mut c = tool("carve-partitions");
    c.args(["asahi-package", d.img.to_str().unwrap()])
        .args(["--esp", "1", "--root", "2"])
        .args(extra)
        .arg("-o")
        .arg(zip);
    c
}

/// Start a slow asahi-package (level 9, one thread) into `out_dir`; return
/// once its temporary zip exists.
fn start_slow_package(d: &Disk, out_dir: &Path) -> std::process::Child {
    std::fs::create_dir_all(out_dir).unwrap();
    let child = package(
        d,
        &out_dir.join("p.zip"),
        &["--level", "9", "--threads", "1"],
    )
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while entries(out_dir).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no temporary zip");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child
}

/// A slow asahi-package; `meddle` while it runs.
fn package_while(d: &Disk, out_dir: &Path, meddle: impl FnOnce()) -> Output {
    let child = start_slow_package(d, out_dir);
    std::thread::sleep(std::time::Duration::from_millis(200));
    meddle();
    child.wait_with_output().unwrap()
}

#[test]
fn input_truncated_or_changed_while_read_is_an_error() {
    let d = disk();
    slow_root(&d);
    let pristine = std::fs::read(&d.img).unwrap();
    // Truncated: the root partition's second half is gone.
    let out = package_while(&d, &d.dir.join("t"), || {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&d.img)
            .unwrap();
        f.set_len(d.root.0 + d.root.1 / 2).unwrap();
    });
    let line = one_error("carve-partitions", &out, "changed while it was being read");
    eprintln!("truncated: {line}");
    assert!(entries(&d.dir.join("t")).is_empty());
    // Changed in place, same size: the zip would mix old and new bytes.
    std::fs::write(&d.img, &pristine).unwrap();
    let out = package_while(&d, &d.dir.join("c"), || {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&d.img)
            .unwrap();
        std::os::unix::fs::FileExt::write_all_at(&f, b"changed", d.root.0 + d.root.1 - 4096)
            .unwrap();
    });
    let line = one_error("carve-partitions", &out, "changed while it was being read");
    eprintln!("changed: {line}");
    assert!(entries(&d.dir.join("c")).is_empty());
}

fn sha256(path: &Path) -> String {
    sh(&format!("sha256sum {}", path.display()))
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// Two asahi-package runs (different levels, so different zips) writing the
/// same zip and manifest at once: the result is one run's pair, complete.
#[test]
fn two_runs_writing_the_same_output_leave_one_complete_pair() {
    require("unzip", "unzip");
    let d = disk();
    let out = d.dir.join("race");
    std::fs::create_dir(&out).unwrap();
    for round in 0..3 {
        let children: Vec<_> = ["1", "9"]
            .iter()
            .map(|level| {
                package(&d, &out.join("p.zip"), &["--level", level])
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut c in children {
            assert!(c.wait().unwrap().success(), "round {round}");
        }
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("p.manifest.json")).unwrap()).unwrap();
        assert_eq!(
            m["packageSha256"],
            sha256(&out.join("p.zip")),
            "round {round}"
        );
        sh(&format!("unzip -tq {}", out.join("p.zip").display()));
        let mut names = entries(&out);
        names.sort();
        assert_eq!(names, ["p.manifest.json", "p.zip"], "round {round}");
    }
}

/// A SIGKILLed run leaves its `.NAME.XXXXXX.tmp`; the next run writes its
/// own temporary name, succeeds, and leaves the stale file alone (it may
/// belong to a run still going; README: remove such files by hand).
#[test]
fn stale_temporary_file_from_sigkill_is_ignored() {
    let d = disk();
    let out = d.dir.join("stale");
    std::fs::create_dir(&out).unwrap();
    let mut child = start_slow_package(&d, &out);
    child.kill().unwrap();
    child.wait().unwrap();
    let stale = entries(&out);
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert!(
        stale[0].starts_with(".p.zip.") && stale[0].ends_with(".tmp"),
        "{stale:?}"
    );
    let run = package(&d, &out.join("p.zip"), &[]).output().unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut names = entries(&out);
    names.sort();
    assert_eq!(names, [stale[0].as_str(), "p.manifest.json", "p.zip"]);
}

/// Under a 1 GiB address-space ceiling (threads' stacks included) the
/// commands that read the whole image still work.
#[test]
fn memory_ceiling() {
    let d = disk();
    let img = d.img.display();
    let o = d.dir.display();
    for cmd in [
        format!("asahi-package {img} --esp 1 --root 2 -o {o}/m.zip"),
        format!("unpack {img} -p esp -o {o}/m-esp"),
        format!("extract {img} -p 2 -o {o}/m-root"),
    ] {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "ulimit -v 1048576 && exec {} {cmd}",
                bin("carve-partitions").display()
            ))
            .env("SOURCE_DATE_EPOCH", EPOCH)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn missing_or_too_old_mkfs_is_one_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    esp_tree(&dir.join("esp"));
    root_tree(&dir.join("root"));
    let empty = dir.join("empty-bin");
    std::fs::create_dir(&empty).unwrap();
    for fs in ["ext4", "btrfs"] {
        let out = tool("mkimage")
            .arg("--layout")
            .arg(layout(dir, fs))
            .arg("--output")
            .arg(dir.join("x.img"))
            .env("PATH", &empty)
            .output()
            .unwrap();
        let tool_name = if fs == "ext4" { "mke2fs" } else { "mkfs.btrfs" };
        let line = one_error("mkimage", &out, tool_name);
        eprintln!("missing {tool_name}: {line}");
    }
    // bookworm's btrfs-progs 6.2 has no --device-uuid.
    let old = dir.join("mkfs.btrfs");
    std::fs::write(
        &old,
        "#!/bin/sh\necho 'mkfs.btrfs, part of btrfs-progs v6.2'\n[ \"$1\" = --version ] || { echo 'usage: mkfs.btrfs [options] dev'; exit 1; }\n",
    )
    .unwrap();
    sh(&format!("chmod +x {}", old.display()));
    let out = tool("mkimage")
        .arg("--layout")
        .arg(layout(dir, "btrfs"))
        .arg("--output")
        .arg(dir.join("x.img"))
        .env("MKIMAGE_MKFS_BTRFS", &old)
        .output()
        .unwrap();
    let line = one_error(
        "mkimage",
        &out,
        "has no --device-uuid: mkimage needs btrfs-progs 6.5",
    );
    eprintln!("old mkfs.btrfs: {line}");
    assert!(!dir.join("x.img").exists());
}

/// Partition sizes whose sum passes 2^64: wrapped, the second partition
/// would start inside the first on a disk of about 1 TiB.
#[test]
fn layout_sizes_that_overflow_are_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout.json");
    std::fs::write(
        &layout,
        r#"{"table": "gpt", "seed": "x", "partitions": [
            {"name": "a", "type": "linux", "size": "16777214TiB"},
            {"name": "b", "type": "linux", "size": "3TiB"}]}"#,
    )
    .unwrap();
    let out = tool("mkimage")
        .arg("--layout")
        .arg(&layout)
        .arg("--output")
        .arg(tmp.path().join("x.img"))
        .output()
        .unwrap();
    one_error(
        "mkimage",
        &out,
        "partitions[1].size: the disk would be larger than 2^64 bytes",
    );
    assert!(!tmp.path().join("x.img").exists());
}
