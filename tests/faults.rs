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

/// extract and unpack, slowed by strace (each copy, each directory made)
/// so the image can be truncated or changed mid-run: one line saying so,
/// nothing left behind.
#[test]
fn extract_and_unpack_of_an_input_changed_while_read_are_an_error() {
    let d = disk();
    let pristine = std::fs::read(&d.img).unwrap();
    let esp = {
        let list = tool("carve-partitions")
            .args(["list", "--json"])
            .arg(&d.img)
            .output()
            .unwrap();
        let t: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
        let p = &t["partitions"][0];
        (p["offset"].as_u64().unwrap(), p["size"].as_u64().unwrap())
    };
    let img = d.img.to_str().unwrap();
    // (what, command, syscall to slow, the partition it reads, where to
    // truncate: for unpack inside the ESP's file data, so reads fail)
    let cases = [
        (
            "extract",
            ["extract", img, "-p", "2", "-o", "OUT/p"],
            "copy_file_range",
            d.root,
            d.root.0 + d.root.1 / 2,
        ),
        (
            "unpack",
            ["unpack", img, "-p", "esp", "-o", "OUT/esp"],
            "mkdir",
            esp,
            esp.0 + (2 << 20),
        ),
    ];
    for (what, args, syscall, (offset, size), cut) in cases {
        for meddle in ["truncated", "changed"] {
            std::fs::write(&d.img, &pristine).unwrap();
            let out = d.dir.join(format!("{what}-{meddle}"));
            std::fs::create_dir(&out).unwrap();
            let mut c = tool("carve-partitions");
            c.args(args.map(|a| a.replace("OUT", out.to_str().unwrap())));
            let child = delayed(&c, syscall, 300)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while entries(&out).is_empty() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{what}: no temporary output"
                );
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&d.img)
                .unwrap();
            if meddle == "truncated" {
                f.set_len(cut).unwrap();
            } else {
                std::os::unix::fs::FileExt::write_all_at(&f, b"changed", offset + size - 4096)
                    .unwrap();
            }
            let run = child.wait_with_output().unwrap();
            let line = one_error("carve-partitions", &run, "changed while it was being read");
            eprintln!("{what}, {meddle}: {line}");
            assert!(entries(&out).is_empty(), "{what}: left {:?}", entries(&out));
        }
    }
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

/// Start `cmds` together and wait for all of them.
fn race(cmds: Vec<Command>) -> Vec<Output> {
    let children: Vec<_> = cmds
        .into_iter()
        .map(|mut c| {
            c.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

/// Two mkimage runs (different seeds, so different disk GUIDs) writing the
/// same image and report at once, each rename delayed so the two runs'
/// commits overlap: the report describes the image beside it.
#[test]
fn two_mkimage_runs_writing_the_same_output_leave_one_complete_pair() {
    let d = disk();
    let out = d.dir.join("race");
    std::fs::create_dir(&out).unwrap();
    let layouts: Vec<PathBuf> = ["a", "b"]
        .iter()
        .map(|seed| {
            let text = std::fs::read_to_string(layout(&d.dir, "ext4"))
                .unwrap()
                .replace("\"seed\": \"faults\"", &format!("\"seed\": \"{seed}\""));
            let path = d.dir.join(format!("layout-{seed}.json"));
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect();
    for round in 0..6 {
        let runs = race(
            layouts
                .iter()
                .map(|l| {
                    let mut c = tool("mkimage");
                    c.arg("--layout")
                        .arg(l)
                        .arg("--output")
                        .arg(out.join("disk.img"))
                        .arg("--report")
                        .arg(out.join("disk.json"));
                    delayed(&c, RENAMES, 200)
                })
                .collect(),
        );
        for r in &runs {
            assert!(r.status.success(), "round {round}: {r:?}");
        }
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("disk.json")).unwrap()).unwrap();
        let list = tool("carve-partitions")
            .args(["list", "--json"])
            .arg(out.join("disk.img"))
            .output()
            .unwrap();
        let table: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
        assert_eq!(
            report["diskGuid"]["value"].as_str().unwrap().to_lowercase(),
            table["diskGuid"].as_str().unwrap().to_lowercase(),
            "round {round}: the report is not the image's"
        );
        assert_eq!(entries(&out), ["disk.img", "disk.json"], "round {round}");
    }
}

/// Two extracts of different partitions into one file, their copies slowed
/// to overlap: both succeed and the file is one partition, whole
/// (temporary name + rename).
#[test]
fn two_extracts_writing_the_same_file_leave_one_whole_partition() {
    let d = disk();
    let out = d.dir.join("race");
    std::fs::create_dir(&out).unwrap();
    let extract = |part: &str, to: &Path| {
        let mut c = tool("carve-partitions");
        c.args(["extract", d.img.to_str().unwrap(), "-p", part, "-o"])
            .arg(to);
        c
    };
    let whole: Vec<String> = ["1", "2"]
        .iter()
        .map(|p| {
            let to = d.dir.join(format!("p{p}"));
            assert!(extract(p, &to).status().unwrap().success());
            sha256(&to)
        })
        .collect();
    for round in 0..3 {
        let runs = race(vec![
            delayed(&extract("1", &out.join("p")), "copy_file_range", 50),
            delayed(&extract("2", &out.join("p")), "copy_file_range", 50),
        ]);
        for r in &runs {
            assert!(r.status.success(), "round {round}: {r:?}");
        }
        assert!(
            whole.contains(&sha256(&out.join("p"))),
            "round {round}: a mix"
        );
        assert_eq!(entries(&out), ["p"], "round {round}");
    }
}

/// Every file and directory below `dir`, with its mtime.
fn tree(dir: &Path) -> Vec<(String, i64)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                todo.push(e.path());
            }
            let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
            out.push((rel, m.mtime()));
        }
    }
    out.sort();
    out
}

/// Two runs writing one directory tree at once (unpack with different
/// mtimes; deterministic-copy of different sources): one run's tree
/// appears, whole; the other run says so in one line and leaves nothing.
#[test]
fn two_runs_writing_the_same_tree_leave_one_runs_tree() {
    let d = disk();
    let out = d.dir.join("race");
    std::fs::create_dir(&out).unwrap();
    let dest = out.join("tree");
    let unpack = |mtime: &str| {
        let mut c = tool("carve-partitions");
        c.args(["unpack", d.img.to_str().unwrap(), "-p", "esp"])
            .args(["--mtime", mtime, "-o"])
            .arg(&dest);
        c
    };
    let copy = |src: &str| {
        let mut c = tool("deterministic-copy");
        c.arg(d.dir.join(src)).arg(&dest);
        c
    };
    let mut wholes = Vec::new();
    for (a, b) in [
        (unpack("1000"), unpack("2000")),
        (copy("esp"), copy("root")),
    ] {
        for (name, mut c) in [("first", a), ("second", b)] {
            assert!(c.status().unwrap().success(), "{name}");
            wholes.push(tree(&dest));
            std::fs::remove_dir_all(&dest).unwrap();
        }
    }
    for round in 0..3 {
        for (name, pair, whole) in [
            (
                "carve-partitions",
                [unpack("1000"), unpack("2000")],
                &wholes[..2],
            ),
            (
                "deterministic-copy",
                [copy("esp"), copy("root")],
                &wholes[2..],
            ),
        ] {
            let runs = race(pair.into());
            let failed: Vec<&Output> = runs.iter().filter(|r| !r.status.success()).collect();
            assert_eq!(failed.len(), 1, "{name} round {round}: {runs:?}");
            let line = one_error(name, failed[0], "remove it or choose another path");
            eprintln!("{name} round {round}: {line}");
            assert!(whole.contains(&tree(&dest)), "{name} round {round}: a mix");
            assert_eq!(entries(&out), ["tree"], "{name} round {round}");
            std::fs::remove_dir_all(&dest).unwrap();
        }
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

/// Run `cmd` (a command line) under `ulimit -v` of 1 GiB and /usr/bin/time;
/// panic unless it succeeds; return its peak resident set in MiB.
fn under_ceiling(cmd: &str) -> u64 {
    require("time", "time");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("ulimit -v 1048576 && exec /usr/bin/time -v {cmd}"))
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env("PATH", trixie::path_env())
        .env("NIT_NO_PROGRESS", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{cmd}: {stderr}");
    let kib: u64 = stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .unwrap_or_else(|| panic!("no peak RSS from /usr/bin/time: {stderr}"))
        .parse()
        .unwrap();
    kib / 1024
}

/// The largest image the tests make: a 4 GiB root partition (sparse) with
/// 512 MiB of incompressible data, built by mkimage; then under a 1 GiB
/// address-space ceiling (threads' stacks and malloc arenas included), a
/// quarter of the image, each command succeeds and stays under 256 MiB
/// resident, half the data it moves: they stream, never hold it.
#[test]
fn memory_ceiling() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    esp_tree(&dir.join("esp"));
    root_tree(&dir.join("root"));
    let d = dir.display();
    sh(&format!(
        "head -c 512M /dev/urandom > {d}/root/nix/store/data"
    ));
    let layout = std::fs::read_to_string(layout(dir, "ext4"))
        .unwrap()
        .replace("\"size\": \"auto\"", "\"size\": \"4GiB\"");
    std::fs::write(dir.join("layout.json"), layout).unwrap();
    let carve = bin("carve-partitions");
    let carve = carve.display();
    for (what, cmd) in [
        (
            "mkimage",
            format!(
                "{} --layout {d}/layout.json --output {d}/disk.img",
                bin("mkimage").display()
            ),
        ),
        (
            "asahi-package",
            format!("{carve} asahi-package {d}/disk.img --esp 1 --root 2 -o {d}/m.zip"),
        ),
        (
            "unpack",
            format!("{carve} unpack {d}/disk.img -p esp -o {d}/m-esp"),
        ),
        (
            "extract",
            format!("{carve} extract {d}/disk.img -p 2 -o {d}/m-root"),
        ),
    ] {
        let start = std::time::Instant::now();
        let mib = under_ceiling(&cmd);
        eprintln!(
            "{what}: peak RSS {mib} MiB under ulimit -v 1 GiB ({:.1} s)",
            start.elapsed().as_secs_f64()
        );
        assert!(mib < 256, "{what}: peak RSS {mib} MiB");
    }
    let size = std::fs::metadata(dir.join("disk.img")).unwrap().len();
    assert!(size > 4 << 30, "{size}");
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
