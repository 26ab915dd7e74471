//! `serve` and the bootstrap script, end to end on loopback: the list and
//! the zips read back as the installer reads them (HEAD, 206 ranges, an extra
//! query string), an install through the installer's download path, and the
//! script run on Linux with stand-ins for the macOS commands and a stand-in
//! installer that records what it was given; each failure path; and the
//! script's M3 refusal against the installer's own firmware choice for
//! every model.
//!
//! Linux only (Linux tools make the packages). Needs python3 and curl.
#![cfg(target_os = "linux")]

mod common;
use common::dist;

use dist::{check_served, curl, get_json, install_over_http, package, Proc};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SERVE: &str = env!("CARGO_BIN_EXE_serve");

fn write_exe(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A stand-in installer tarball: its install.sh records its environment,
/// arguments and the list it found, in $RECORD.
fn standin_installer(dir: &Path) -> PathBuf {
    let src = dir.join("installer-src");
    std::fs::create_dir_all(&src).unwrap();
    write_exe(
        &src.join("install.sh"),
        "#!/bin/sh\n{ echo \"cwd=$PWD\"; echo \"REPO_BASE=$REPO_BASE\"; echo \"INSTALLER_DATA=$INSTALLER_DATA\";\n  echo \"as=${STANDIN_SUDO:-user} caffeinate=${STANDIN_CAFFEINATE:-no}\"; echo \"args=$*\"; cat installer_data.json; } > \"$RECORD\"\n",
    );
    std::fs::write(src.join("version.tag"), "v0.0-standin\n").unwrap();
    let tar = dir.join("installer.tar.gz");
    common::require("tar", "tar");
    let ok = Command::new("tar")
        .arg("-czf")
        .arg(&tar)
        .arg("-C")
        .arg(&src)
        .args(["install.sh", "version.tag"])
        .status()
        .unwrap();
    assert!(ok.success());
    tar
}

/// Stand-ins for the macOS commands the script runs: an M1 MacBook Air on
/// macOS 14.5 unless $STANDIN_MODEL says otherwise; not root, so sudo runs.
fn standin_macos(dir: &Path) -> PathBuf {
    let bin = dir.join("macos-bin");
    std::fs::create_dir_all(&bin).unwrap();
    write_exe(
        &bin.join("uname"),
        "#!/bin/sh\ncase \"$1\" in -s) echo Darwin;; -m) echo arm64;; *) echo Darwin;; esac\n",
    );
    write_exe(
        &bin.join("sw_vers"),
        "#!/bin/sh\necho \"${STANDIN_MACOS:-14.5}\"\n",
    );
    write_exe(
        &bin.join("ioreg"),
        "#!/bin/sh\necho '+-o Root  <class IORegistryEntry>'\necho \"  | \\\"compatible\\\" = <\\\"$(echo ${STANDIN_MODEL:-j313ap} | tr a-z A-Z)\\\",\\\"MacBookAir10,1\\\",\\\"AppleARM\\\">\"\n",
    );
    write_exe(
        &bin.join("id"),
        "#!/bin/sh\n[ \"$1\" = -u ] && { echo 501; exit 0; }\nexec /usr/bin/id \"$@\"\n",
    );
    write_exe(
        &bin.join("caffeinate"),
        "#!/bin/sh\n[ \"$1\" = -dis ] || exit 64\nshift\nSTANDIN_CAFFEINATE=-dis exec \"$@\"\n",
    );
    write_exe(
        &bin.join("sudo"),
        "#!/bin/sh\n[ \"$1\" = -E ] || exit 64\nshift\nSTANDIN_SUDO=root exec \"$@\"\n",
    );
    bin
}

/// `curl -fsSL URL/install | sh` with `path_first` ahead of PATH.
fn run_bootstrap(
    base: &str,
    path_first: Option<&Path>,
    tmp: &Path,
    env: &[(&str, &str)],
) -> Output {
    let mut path = std::env::var_os("PATH").unwrap_or_default();
    if let Some(p) = path_first {
        let mut v = vec![p.to_path_buf()];
        v.extend(std::env::split_paths(&path));
        path = std::env::join_paths(v).unwrap();
    }
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!("curl -fsSL {base}/install | sh"))
        .env("PATH", path)
        .env("TMPDIR", tmp)
        .env("RECORD", tmp.join("record"));
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

struct Served {
    proc: Proc,
    base: String,
}

fn start_serve(results: &[&Path], installer: &Path) -> Served {
    let mut c = Command::new(SERVE);
    c.args(results)
        .args(["--listen", "127.0.0.1:0", "--installer-file"])
        .arg(installer);
    let (proc, line) = Proc::start(&mut c, "curl -fsSL ");
    let base = line
        .strip_prefix("curl -fsSL ")
        .and_then(|l| l.strip_suffix("/install | sh"))
        .unwrap_or_else(|| panic!("serve printed {line:?}"))
        .to_string();
    Served { proc, base }
}

#[test]
fn distribution_serve_installs_and_bootstraps() {
    common::require("curl", "curl");
    common::require("shasum", "perl");
    let ext4 = package("nixos-asahi", "0.1.0", "ext4", 0);
    let btrfs = package("nixos-asahi", "0.1.0", "btrfs", 0);
    let dir = tempfile::tempdir().unwrap();
    let installer = standin_installer(dir.path());
    let mut served = start_serve(&[&ext4.dir, &btrfs.zip], &installer);
    let base = served.base.clone();

    // The list names both zips, relative (the installer adds $REPO_BASE/os/).
    let list = get_json(&format!("{base}/installer_data.json"));
    let packages: Vec<&str> = list["os_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["package"].as_str().unwrap())
        .collect();
    assert_eq!(packages, [ext4.published_name(), btrfs.published_name()]);
    for p in [ext4, btrfs] {
        check_served(&format!("{base}/os/{}", p.published_name()), &p.zip);
    }
    assert_eq!(curl(&[&format!("{base}/os/missing.zip")]).0, 404);
    let out = install_over_http(
        &base,
        &format!("{base}/installer_data.json"),
        1,
        &btrfs.root_sha256(),
    );
    println!("{out}");

    // The bootstrap, end to end with stand-ins for macOS.
    let mac = standin_macos(dir.path());
    let tmp = dir.path().join("mac-tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let o = run_bootstrap(&base, Some(&mac), &tmp, &[]);
    assert!(o.status.success(), "bootstrap failed: {}", stderr(&o));
    let record = std::fs::read_to_string(tmp.join("record")).unwrap();
    assert!(record.contains(&format!("REPO_BASE={base}\n")), "{record}");
    assert!(record.contains("as=root caffeinate=-dis"), "{record}");
    assert!(
        record.contains(&ext4.published_name()),
        "the installer got another list: {record}"
    );
    assert!(
        record.contains(&format!("cwd={}", tmp.display())),
        "{record}"
    );

    // Each failure stops with one clear line, before the installer runs.
    let missing = format!("{base}/no-such.tar.gz");
    let zeros = "0".repeat(64);
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Option<&'a Path>, &'a str);
    let cases: [Case; 5] = [
        ("not macOS", vec![], None, "this is not macOS (Linux)"),
        (
            "installer 404",
            vec![("NIT_INSTALLER_URL", &missing)],
            Some(&mac),
            "cannot download the installer from",
        ),
        (
            "wrong SHA-256",
            vec![("NIT_INSTALLER_SHA256", &zeros)],
            Some(&mac),
            "refusing to run it",
        ),
        (
            "old macOS",
            vec![("STANDIN_MACOS", "13.4.1")],
            Some(&mac),
            "macOS 13.4.1 is too old",
        ),
        (
            "M3",
            vec![("STANDIN_MODEL", "j504ap")],
            Some(&mac),
            "this Mac (j504ap, M3) cannot install",
        ),
    ];
    for (what, env, path, want) in cases {
        let _ = std::fs::remove_file(tmp.join("record"));
        let o = run_bootstrap(&base, path, &tmp, &env);
        let err = stderr(&o);
        assert!(!o.status.success(), "{what}: the script succeeded");
        assert!(
            err.lines()
                .any(|l| l.starts_with("install: error: ") && l.contains(want)),
            "{what}: expected {want:?} in {err:?}"
        );
        assert_eq!(
            err.lines().filter(|l| l.contains("error")).count(),
            1,
            "{what}: {err}"
        );
        assert!(!tmp.join("record").exists(), "{what}: the installer ran");
    }
    // A 404 for the script itself pipes nothing into sh (curl --fail).
    let (status, body) = curl(&[&format!("{base}/no-such-script")]);
    assert_eq!(status, 404);
    let o = Command::new("curl")
        .args(["-fsSL", &format!("{base}/no-such-script")])
        .output()
        .unwrap();
    assert!(!o.status.success() && o.stdout.is_empty(), "{body:?}");

    // SIGTERM stops the server cleanly.
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(served.proc.child.id() as i32, libc::SIGTERM) };
    let status = served.proc.child.wait().unwrap();
    assert!(status.success(), "serve exited with {status}");
}

/// The script refuses exactly the Macs whose firmware choice would crash on
/// the list: tests/support/choose_ipsw.py runs the installer's choice (its
/// own code with NIT_ASAHI_INSTALLER_SRC) for every model it knows.
#[test]
fn distribution_serve_m3_refusal_matches_the_installer() {
    common::require("curl", "curl");
    common::require("shasum", "perl");
    let ext4 = package("nixos-asahi", "0.1.0", "ext4", 0);
    let dir = tempfile::tempdir().unwrap();
    let installer = standin_installer(dir.path());
    let mac = standin_macos(dir.path());
    let tmp = dir.path().join("mac-tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let served = start_serve(&[&ext4.dir], &installer);
    let list_file = dir.path().join("list.json");
    let (_, list) = curl(&[&format!("{}/installer_data.json", served.base)]);
    std::fs::write(&list_file, list).unwrap();
    let o = Command::new("python3")
        .arg(dist::support("choose_ipsw.py"))
        .arg(&list_file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    println!("choose_ipsw.py: {}", stderr(&o).trim());
    let verdicts = String::from_utf8(o.stdout).unwrap();
    let mut crashes = 0;
    for line in verdicts.lines() {
        let (model, verdict) = line.split_once(' ').unwrap();
        let o = run_bootstrap(&served.base, Some(&mac), &tmp, &[("STANDIN_MODEL", model)]);
        let refused = stderr(&o).contains("M3) cannot install");
        assert_eq!(
            refused,
            verdict == "crash",
            "{model}: installer says {verdict}, script: {}",
            stderr(&o)
        );
        assert_eq!(
            o.status.success(),
            verdict == "ok",
            "{model}: {}",
            stderr(&o)
        );
        crashes += usize::from(verdict == "crash");
    }
    assert_eq!(crashes, 11, "the M3 family: {verdicts}");
}
