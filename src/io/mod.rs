//! Mechanisms every tool shares and none owns: outputs that appear only when
//! complete (and child processes stopped with them), sparse copies, progress
//! reports, parallel deflate, and the fast paths of fallocate, SEEK_DATA and
//! copy_file_range with one policy for when a filesystem lacks them.

pub mod deflate;
pub mod fallocate;
pub mod output;
pub mod progress;
pub mod sparse;

/// Whether `err` says the kernel or this filesystem does not offer a call
/// (fallocate modes, SEEK_DATA, copy_file_range across filesystems, the
/// FICLONE reflink, extended attributes): the caller then takes its plain
/// fallback (for llistxattr: nothing to strip). One list for every such
/// call, so a filesystem is never "unsupported" for one step and an error
/// for the next. A call meets only the errnos it can return (llistxattr:
/// ENOTSUP, or ENOSYS without the syscalls; lseek: never ENOTTY), so the
/// others in the list change nothing for it.
pub fn unsupported(err: &std::io::Error) -> bool {
    // ENOTSUP is EOPNOTSUPP on Linux, not on macOS. ENOTTY: an ioctl
    // (FICLONE) the filesystem does not implement.
    const UNSUPPORTED: &[i32] = &[
        libc::EOPNOTSUPP,
        libc::ENOTSUP,
        libc::ENOSYS,
        libc::EINVAL,
        libc::ENODEV,
        libc::EXDEV,
        libc::ENOTTY,
    ];
    err.raw_os_error().is_some_and(|e| UNSUPPORTED.contains(&e))
}
