//! Helpers shared by the integration tests: run real tools, fail loudly
//! (naming the Debian package) when one is missing, build sample trees.
#![allow(dead_code)]

pub mod trixie;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A tool's path (on PATH, else in /usr/sbin or /sbin), or a failure, never
/// a skip, that names the Debian package to install.
pub fn tool(name: &str, package: &str) -> PathBuf {
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&dirs)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} is missing: install the Debian package {package} (the README's test command does)")
        })
}

/// Fail (never skip) when a tool the test relies on is missing.
pub fn require(name: &str, package: &str) {
    tool(name, package);
}

/// Run a shell command line; panic with its output unless it succeeds.
pub fn sh(cmd: &str) -> String {
    let out = Command::new("bash")
        .arg("-euo")
        .arg("pipefail")
        .arg("-c")
        .arg(cmd)
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

/// Files in `dir`, excluding nothing: used to prove no output was left behind.
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
