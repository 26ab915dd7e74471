//! Shared test helper: Debian trixie's e2fsprogs and btrfs-progs (newer than
//! bookworm's), made runnable by tools/trixie-tools.sh. Tests prepend the
//! returned directory to PATH for the child processes they start.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The bin directory printed by tools/trixie-tools.sh (cache: $NIT_CACHE or
/// /tmp/nitcache). Panics with a message naming the cause if it fails.
pub fn bin_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
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
    })
    .clone()
}

/// PATH with trixie's tools first.
pub fn path_env() -> std::ffi::OsString {
    let mut paths = vec![bin_dir()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap()
}

/// A trixie tool by name (e2fsck, debugfs, btrfs, ...).
pub fn tool(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.exists(),
        "{} missing from tools/trixie-tools.sh's output",
        p.display()
    );
    p
}
