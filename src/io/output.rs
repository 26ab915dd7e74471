//! Outputs appear only when complete: everything is written under a temporary
//! name in the destination's directory and renamed into place at the end. A
//! failure, a panic, or SIGINT/SIGTERM/SIGHUP before the rename leaves
//! nothing behind: temporary paths are removed when dropped, and a signal
//! thread removes the ones still registered before the process exits.

use crate::error::{Error, IoContext, Result};
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};

/// Temporary paths to remove if the process is stopped by a signal.
static PENDING: Mutex<BTreeMap<u64, PathBuf>> = Mutex::new(BTreeMap::new());
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Child processes (mke2fs, mkfs.btrfs) to stop if we are stopped by a signal.
static CHILDREN: Mutex<std::collections::BTreeSet<u32>> =
    Mutex::new(std::collections::BTreeSet::new());

/// Runs `cmd` to completion, capturing its output; a signal that stops us
/// stops it too (the cleanup thread sends it SIGTERM).
pub fn run_child(cmd: &mut std::process::Command) -> std::io::Result<std::process::Output> {
    use std::process::Stdio;
    install_signal_cleanup();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    CHILDREN
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(pid);
    let out = child.wait_with_output();
    CHILDREN
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&pid);
    out
}

/// Removes its path from the signal cleanup list when dropped.
pub struct CleanupGuard(u64);

/// Register `path` (a file or directory tree) for removal on
/// SIGINT/SIGTERM/SIGHUP until the guard is dropped.
pub fn remove_on_signal(path: &Path) -> CleanupGuard {
    install_signal_cleanup();
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    PENDING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, path.to_path_buf());
    CleanupGuard(id)
}

/// Create a temporary path and register it for removal on a signal in one
/// step: the signal thread takes the same lock first, so a signal arriving
/// in between waits for the registration instead of missing the new path.
fn create_registered<T>(
    create: impl FnOnce() -> Result<T>,
    path: impl FnOnce(&T) -> PathBuf,
) -> Result<(T, CleanupGuard)> {
    install_signal_cleanup();
    let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
    let made = create()?;
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    pending.insert(id, path(&made));
    Ok((made, CleanupGuard(id)))
}

fn install_signal_cleanup() {
    static HANDLER: Once = Once::new();
    HANDLER.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        // A thread, not a signal handler: removing files and taking the lock
        // are not async-signal-safe, and here they need not be.
        if let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
            std::thread::spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    // Stop the tools first, so none writes on after we exit.
                    for &pid in CHILDREN.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                        // SAFETY: kill(2) has no memory-safety requirements.
                        unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
                    }
                    let pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
                    for p in pending.values() {
                        let _ = std::fs::remove_dir_all(p).or_else(|_| std::fs::remove_file(p));
                    }
                    std::process::exit(128 + sig);
                }
            });
        }
    });
}

impl Drop for CleanupGuard {
    fn drop(&mut self) {
        PENDING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.0);
    }
}

/// A scratch file removed on drop and on a signal (for data that is never
/// renamed into place, e.g. a filesystem built before it is copied).
pub struct ScratchFile {
    temp: tempfile::NamedTempFile,
    _guard: CleanupGuard,
}

impl ScratchFile {
    pub fn create_in(dir: &Path, prefix: &str) -> Result<Self> {
        let (temp, _guard) = create_registered(
            || {
                tempfile::Builder::new()
                    .prefix(prefix)
                    .suffix(".tmp")
                    .tempfile_in(dir)
                    .ctx("create a temporary file in", dir)
            },
            |t| t.path().to_path_buf(),
        )?;
        Ok(ScratchFile { temp, _guard })
    }

    pub fn as_file(&self) -> &File {
        self.temp.as_file()
    }

    pub fn path(&self) -> &Path {
        self.temp.path()
    }
}

/// A file being written that becomes `dest` on [`AtomicFile::commit`].
pub struct AtomicFile {
    temp: tempfile::NamedTempFile,
    dest: PathBuf,
    _guard: CleanupGuard,
}

impl AtomicFile {
    pub fn create(dest: &Path) -> Result<Self> {
        let dir = parent_dir(dest);
        let (temp, _guard) = create_registered(
            || {
                tempfile::Builder::new()
                    .prefix(&format!(".{}.", file_name(dest)))
                    .suffix(".tmp")
                    .tempfile_in(dir)
                    .ctx("create a temporary file next to", dest)
            },
            |t| t.path().to_path_buf(),
        )?;
        Ok(AtomicFile {
            _guard,
            temp,
            dest: dest.to_path_buf(),
        })
    }

    /// Make a scratch file (in `dest`'s directory) the output: its content
    /// becomes `dest` on commit.
    pub fn adopt(scratch: ScratchFile, dest: &Path) -> Self {
        AtomicFile {
            temp: scratch.temp,
            dest: dest.to_path_buf(),
            _guard: scratch._guard,
        }
    }

    pub fn file(&self) -> &File {
        self.temp.as_file()
    }

    pub fn file_mut(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }

    pub fn path(&self) -> &Path {
        self.temp.path()
    }

    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Flush to disk, give the file ordinary permissions and rename it into place.
    pub fn commit(self) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        self.temp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .ctx("set permissions on", &self.dest)?;
        self.temp.as_file().sync_all().ctx("flush", &self.dest)?;
        self.temp
            .persist(&self.dest)
            .map_err(|e| Error::io("rename into place", &self.dest, e.error))?;
        Ok(())
    }
}

/// A directory being filled that becomes `dest` on [`AtomicDir::commit`].
pub struct AtomicDir {
    temp: Option<tempfile::TempDir>,
    dest: PathBuf,
    _guard: CleanupGuard,
}

impl AtomicDir {
    /// `dest` must not exist yet: replacing a populated tree is never what a
    /// build step wants, and refusing avoids deleting a user's files.
    pub fn create(dest: &Path) -> Result<Self> {
        if dest.symlink_metadata().is_ok() {
            return Err(Error::invalid(format!(
                "output {} already exists: remove it or choose another path",
                dest.display()
            )));
        }
        let (temp, _guard) = create_registered(
            || {
                tempfile::Builder::new()
                    .prefix(&format!(".{}.", file_name(dest)))
                    .suffix(".tmp")
                    .tempdir_in(parent_dir(dest))
                    .ctx("create a temporary directory next to", dest)
            },
            |t| t.path().to_path_buf(),
        )?;
        Ok(AtomicDir {
            _guard,
            temp: Some(temp),
            dest: dest.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        self.temp.as_ref().expect("not committed").path()
    }

    pub fn dest(&self) -> &Path {
        &self.dest
    }

    pub fn commit(mut self) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let temp = self.temp.take().expect("not committed");
        std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o755))
            .ctx("set permissions on", &self.dest)?;
        let path = temp.keep();
        rename_no_replace(&path, &self.dest).map_err(|e| {
            let _ = std::fs::remove_dir_all(&path);
            if e.kind() == std::io::ErrorKind::AlreadyExists
                || e.raw_os_error() == Some(libc::ENOTEMPTY)
            {
                Error::invalid(format!(
                    "output {} was created by another process while this run was writing it: nothing was written; remove it or choose another path",
                    self.dest.display()
                ))
            } else {
                Error::io("rename into place", &self.dest, e)
            }
        })
    }
}

/// rename(2) replaces an empty directory at `to`, so a concurrent run's
/// empty tree would vanish silently: refuse any existing `to` where the
/// filesystem can (RENAME_NOREPLACE); elsewhere a non-empty one still fails.
fn rename_no_replace(from: &Path, to: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes());
        let (f, t) = (c(from)?, c(to)?);
        // SAFETY: two NUL-terminated paths that outlive the call.
        let r = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                f.as_ptr(),
                libc::AT_FDCWD,
                t.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if !super::unsupported(&e) {
            return Err(e);
        }
    }
    std::fs::rename(from, to)
}

fn parent_dir(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rename(2) would replace an empty directory made by another run after
    /// ours began; the commit refuses it and leaves it alone.
    #[test]
    fn dir_commit_never_replaces_a_directory_made_meanwhile() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("out");
        let dir = AtomicDir::create(&dest).unwrap();
        std::fs::write(dir.path().join("ours"), b"x").unwrap();
        std::fs::create_dir(&dest).unwrap();
        let err = dir.commit().unwrap_err().to_string();
        assert!(
            err.contains("was created by another process while this run was writing it"),
            "{err}"
        );
        assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 0);
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    }
}
