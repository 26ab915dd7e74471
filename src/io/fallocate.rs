//! fallocate(2) modes the tools use for speed, each with a plain fallback:
//! `Ok(false)` means "this filesystem cannot" (see [`super::unsupported`]),
//! never an error.

use std::fs::File;
use std::io;

/// Make `[offset, offset + len)` a hole, keeping the file's size.
#[cfg(target_os = "linux")]
pub fn punch_hole(file: &File, offset: u64, len: u64) -> io::Result<bool> {
    fallocate(
        file,
        libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
        offset,
        len,
    )
}

/// Insert `len` bytes (a hole) at the start of `file`, shifting its extents.
/// ext4 and xfs can; tmpfs and btrfs cannot.
#[cfg(target_os = "linux")]
pub fn insert_range(file: &File, len: u64) -> io::Result<bool> {
    fallocate(file, libc::FALLOC_FL_INSERT_RANGE, 0, len)
}

#[cfg(not(target_os = "linux"))]
pub fn insert_range(_file: &File, _len: u64) -> io::Result<bool> {
    Ok(false)
}

#[cfg(target_os = "linux")]
fn fallocate(file: &File, mode: libc::c_int, offset: u64, len: u64) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: fallocate on a valid descriptor; no memory is passed.
    let r = unsafe {
        libc::fallocate(
            file.as_raw_fd(),
            mode,
            offset as libc::off_t,
            len as libc::off_t,
        )
    };
    if r == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    if super::unsupported(&err) {
        return Ok(false);
    }
    Err(err)
}
