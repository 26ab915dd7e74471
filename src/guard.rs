//! Guards against other processes: an input image changed or truncated while
//! it is read (the output would mix old and new bytes), and two runs
//! committing the same pair of outputs at once (a zip from one run with the
//! manifest of the other, an image with another run's report), or updating
//! one file at once (two merges into installer_data.json, one entry lost).

use crate::error::{Error, IoContext, Result};
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Size and change time of an input when reading began.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputStamp {
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl InputStamp {
    pub fn of(file: &File, path: &Path) -> Result<Self> {
        let m = file.metadata().ctx("inspect", path)?;
        Ok(InputStamp {
            len: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        })
    }

    /// Call after the last read, before committing what was made from it.
    pub fn unchanged(&self, file: &File, path: &Path) -> Result<()> {
        if InputStamp::of(file, path)? != *self {
            return Err(Error::invalid(format!(
                "{} changed while it was being read (written to or truncated by another process): nothing was written; run again once it is complete",
                path.display()
            )));
        }
        Ok(())
    }
}

/// An exclusive lock on a directory, held until dropped: runs that commit
/// several outputs into it, or read and rewrite a file in it, take turns.
pub struct DirLock(#[allow(dead_code)] File);

pub fn lock_dir(dir: &Path) -> Result<DirLock> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let f = File::open(dir).ctx("open directory", dir)?;
    // SAFETY: flock(2) on a descriptor we own.
    if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&f), libc::LOCK_EX) } != 0 {
        return Err(Error::io("lock", dir, std::io::Error::last_os_error()));
    }
    Ok(DirLock(f))
}
