//! Helpers shared by the integration tests: run real tools, fail loudly
//! (naming the Debian package) when one is missing, build sample trees;
//! trixie.rs: the newer mkfs tools; dist.rs: packages and servers for the
//! distribution tests.
#![allow(dead_code)]

pub mod dist;
pub mod trixie;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where commands are looked for: PATH, then /usr/sbin and /sbin (which a
/// non-root user's PATH may lack).
fn search_path() -> std::ffi::OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain(["/usr/sbin", "/sbin"].map(PathBuf::from));
    std::env::join_paths(dirs).unwrap()
}

fn find(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&search_path())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A tool's path (on PATH, else in /usr/sbin or /sbin), or a failure, never
/// a skip, that names the Debian package to install.
pub fn tool(name: &str, package: &str) -> PathBuf {
    find(name).unwrap_or_else(|| {
        panic!("{name} is missing: install the Debian package {package} (the README's test command does)")
    })
}

/// Fail (never skip) when a tool the test relies on is missing.
pub fn require(name: &str, package: &str) {
    tool(name, package);
}

/// Whether every tool of `tools` (program, Debian package) is there, found
/// as [`tool`] and [`sh`] find it. A test that gets `false` returns at once:
/// it is skipped, saying which tools are missing, unless
/// `NIT_TEST_REQUIRE_BOOKWORM_TOOLS=1` makes that a failure (see
/// [`skip_or_fail`]). Each test names the tools it runs, so a missing one
/// stops only the tests that need it.
pub fn have_tools(tools: &[(&str, &str)]) -> bool {
    let mut missing: Vec<String> = Vec::new();
    for (name, package) in tools {
        let m = format!("{name} (Debian package {package})");
        if find(name).is_none() && !missing.contains(&m) {
            missing.push(m);
        }
    }
    if missing.is_empty() {
        return true;
    }
    skip_or_fail(&format!("missing here: {}", missing.join(", ")));
    false
}

/// A test cannot run here: `reason` says what is missing. With
/// `NIT_TEST_REQUIRE_BOOKWORM_TOOLS=1` (test.sh, which installs everything
/// the tests use) that is a failure; elsewhere (the Nix build sandbox, a
/// machine without them) the test is skipped with the reason printed.
pub fn skip_or_fail(reason: &str) {
    assert!(
        !std::env::var_os("NIT_TEST_REQUIRE_BOOKWORM_TOOLS").is_some_and(|v| v == "1"),
        "{reason}: install it (test.sh does); NIT_TEST_REQUIRE_BOOKWORM_TOOLS=1 makes this a failure, not a skip"
    );
    eprintln!("skipped: {reason}");
}

/// Run a shell command line (commands looked for as [`tool`] looks for
/// them); panic with its output unless it succeeds.
pub fn sh(cmd: &str) -> String {
    let out = Command::new("bash")
        .arg("-euo")
        .arg("pipefail")
        .arg("-c")
        .arg(cmd)
        .env("PATH", search_path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "command failed: {cmd}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("spawn")
}

pub fn bin(name: &str) -> PathBuf {
    match name {
        "carve-partitions" => PathBuf::from(env!("CARGO_BIN_EXE_carve-partitions")),
        "mkimage" => PathBuf::from(env!("CARGO_BIN_EXE_mkimage")),
        "gen-installer-data" => PathBuf::from(env!("CARGO_BIN_EXE_gen-installer-data")),
        "deterministic-copy" => PathBuf::from(env!("CARGO_BIN_EXE_deterministic-copy")),
        _ => panic!("unknown binary {name}"),
    }
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Text-like pseudo-random lines that deflate level 9 on one thread
/// compresses slowly (seconds for 64 MiB): time to interrupt a run.
pub fn slow_text(len: u64) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if i % 77 == 76 {
                b'\n'
            } else {
                alphabet[(x % 64) as usize]
            }
        })
        .collect()
}

/// Deterministic pseudo-random bytes (no rand dependency).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

pub fn write(path: &Path, data: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

/// A tree as (relative path, contents): `Some` a file, `None` a directory
/// (directories a file needs are implied).
pub type TreeSpec = [(String, Option<Vec<u8>>)];

/// Create `spec` under `root`, in its order or reversed: two copies of one
/// tree then differ in inode and directory order, not in content.
pub fn write_tree(root: &Path, spec: &TreeSpec, reverse: bool) {
    std::fs::create_dir_all(root).unwrap();
    let mut order: Vec<_> = spec.iter().collect();
    if reverse {
        order.reverse();
    }
    for (rel, content) in order {
        let p = root.join(rel);
        match content {
            None => std::fs::create_dir_all(&p).unwrap(),
            Some(c) => write(&p, c),
        }
    }
}

/// Set every time under `root`, `root` included, to `t` (symlinks' own).
pub fn set_times(root: &Path, t: i64) {
    let ft = filetime::FileTime::from_unix_time(t, 0);
    for e in walkdir::WalkDir::new(root).contents_first(true) {
        let e = e.unwrap();
        filetime::set_symlink_file_times(e.path(), ft, ft).unwrap();
    }
}

/// Copy `size` bytes at `offset` of `img` (a partition) into the new file
/// `out`, holes kept.
pub fn extract(img: &Path, offset: u64, size: u64, out: &Path) {
    let src = std::fs::File::open(img).unwrap();
    let dst = std::fs::File::create(out).unwrap();
    dst.set_len(size).unwrap();
    nixos_image_tools::io::sparse::copy_range_sparse(&src, offset, &dst, 0, size, |_| {}).unwrap();
}

/// An ESP tree like the Asahi images carry, with the awkward cases.
pub fn esp_tree(dir: &Path) {
    write(&dir.join("EFI/BOOT/BOOTAA64.EFI"), &noise(200_000, 1));
    write(
        &dir.join("EFI/systemd/systemd-bootaa64.efi"),
        &noise(200_000, 1),
    );
    write(
        &dir.join("EFI/nixos/abcdefghijklmnopqrstuvwxyz012345-linux-6.12.4-Image.efi"),
        &noise(2_500_000, 2),
    );
    write(
        &dir.join("EFI/nixos/.extra-files/m1n1/boot.bin"),
        b"bookkeeping",
    );
    write(&dir.join("m1n1/boot.bin"), &noise(90_000, 3));
    write(
        &dir.join("loader/loader.conf"),
        b"timeout 3\ndefault nixos-generation-1.conf\n",
    );
    write(
        &dir.join("loader/entries/nixos-generation-1.conf"),
        b"title NixOS\nlinux /EFI/nixos/x.efi\n",
    );
    write(&dir.join("Mixed Case Long Name.txt"), b"hello");
    write(&dir.join("empty"), b"");
    // Sorts between "EFI/" and "EFI/BOOT/" unless directories sort with
    // their trailing "/" (as zip member names do).
    write(&dir.join("EFI.bak"), b"old");
    // The installer writes vendorfw/ itself: asahi-package must leave it out.
    write(&dir.join("vendorfw/firmware.tar"), b"stale firmware");
}

pub fn root_tree(dir: &Path) {
    write(&dir.join("etc/hostname"), b"nixos\n");
    write(&dir.join("nix/store/blob"), &noise(5_000_000, 4));
    write(&dir.join("home/.keep"), b"");
}

/// The names in `dir`, sorted: used to prove no output was left behind.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The system calls a rename may be (glibc's rename(3) is renameat on
/// x86_64), for [`delayed`].
pub const RENAMES: &str = "rename,renameat,renameat2";

/// `cmd` run under strace with each of `syscall` (a comma-separated list) delayed by `ms` milliseconds
/// before it runs: the window a race or a change-while-read needs, made
/// wide enough to hit every time.
pub fn delayed(cmd: &Command, syscall: &str, ms: u64) -> Command {
    let mut c = Command::new(tool("strace", "strace"));
    c.args(["-f", "-qq", "-o", "/dev/null", "-e"])
        .arg(format!("trace={syscall}"))
        .arg("-e")
        .arg(format!("inject={syscall}:delay_enter={}", ms * 1000))
        .arg("--")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    if let Some(d) = cmd.get_current_dir() {
        c.current_dir(d);
    }
    c
}
