//! Boot test: images built by mkimage boot under UEFI firmware in QEMU, from
//! an NVMe disk with 512- and 4096-byte blocks, on aarch64 and x86_64, with
//! ext4 and btrfs roots. The work is done by tests/boot/run.sh (it installs
//! the Debian packages it needs and caches downloads outside the repo); this
//! test runs it on the mkimage that cargo just built.
//!
//! It emulates eight machines (a few minutes) and installs packages, so it
//! does not run with a plain `cargo test`:
//! `cargo test --test boot -- --ignored` (or `tests/boot/run.sh`).
//!
//! Linux only: it drives Linux tools (and Linux-only system calls).
#![cfg(target_os = "linux")]
use std::process::Command;

#[test]
#[ignore = "boots 8 emulated machines (minutes): cargo test --test boot -- --ignored"]
fn mkimage_images_boot_under_uefi_from_nvme() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/boot/run.sh");
    let status = Command::new("bash")
        .arg(script)
        .env("MKIMAGE", env!("CARGO_BIN_EXE_mkimage"))
        .status()
        .unwrap_or_else(|e| panic!("cannot run {script} with bash (Debian package bash): {e}"));
    assert!(
        status.success(),
        "{script} failed ({status}): the boot matrix and console logs are printed above"
    );
}
