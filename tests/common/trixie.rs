//! Shared test helper: Debian trixie's e2fsprogs and btrfs-progs (newer than
//! bookworm's), made runnable by tools/trixie-tools.sh. Tests prepend the
//! returned directory to PATH for the child processes they start.
//!
//! With `NIT_TEST_TOOLS_FROM_PATH=1` (set by package.nix: the Nix build
//! sandbox has no apt, no network and no tools/ directory, and nixpkgs'
//! tools are new enough) the tools on PATH are used as they are.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Whether the tools come from PATH instead of tools/trixie-tools.sh.
fn from_path() -> bool {
    std::env::var_os("NIT_TEST_TOOLS_FROM_PATH").is_some_and(|v| v == "1")
}

/// The bin directory printed by tools/trixie-tools.sh (cache: $NIT_CACHE or
/// /tmp/nitcache), or None with `NIT_TEST_TOOLS_FROM_PATH=1`. Panics with a
/// message naming the cause if the script fails.
pub fn bin_dir() -> Option<PathBuf> {
    if from_path() {
        return None;
    }
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/trixie-tools.sh");
        let cache = std::env::var("NIT_CACHE").unwrap_or_else(|_| "/tmp/nitcache".into());
        let out = Command::new("bash")
            .arg(script)
            .arg(&cache)
            .output()
            .expect("run tools/trixie-tools.sh (needs bash, apt, dpkg)");
        assert!(
            out.status.success(),
            "tools/trixie-tools.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    });
    Some(dir.clone())
}

/// PATH with trixie's tools first (PATH unchanged with
/// `NIT_TEST_TOOLS_FROM_PATH=1`).
pub fn path_env() -> std::ffi::OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let Some(dir) = bin_dir() else {
        return path;
    };
    let mut paths = vec![dir];
    paths.extend(std::env::split_paths(&path));
    std::env::join_paths(paths).unwrap()
}

/// A trixie tool by name (e2fsck, debugfs, btrfs, ...), or the one on PATH
/// with `NIT_TEST_TOOLS_FROM_PATH=1`.
pub fn tool(name: &str) -> PathBuf {
    let Some(dir) = bin_dir() else {
        return std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|d| d.join(name))
            .find(|p| p.is_file())
            .unwrap_or_else(|| {
                panic!(
                    "{name} is not on PATH (NIT_TEST_TOOLS_FROM_PATH=1 takes the tools from PATH)"
                )
            });
    };
    let p = dir.join(name);
    assert!(
        p.exists(),
        "{} missing from tools/trixie-tools.sh's output",
        p.display()
    );
    p
}

/// Debian bookworm's own (older) tool at `path`, for the tests of mkimage's
/// refusal of, and warning about, old versions. Where it is absent (the Nix
/// build sandbox has no /usr/sbin) the test is skipped with a printed
/// reason, unless `NIT_TEST_REQUIRE_BOOKWORM_TOOLS=1` (set by test.sh, which
/// installs them) makes that a failure.
pub fn bookworm_tool(path: &'static str, package: &str) -> Option<&'static std::path::Path> {
    let p = std::path::Path::new(path);
    if p.exists() {
        return Some(p);
    }
    super::skip_or_fail(&format!(
        "bookworm's {path} (Debian package {package}) is not installed here"
    ));
    None
}
