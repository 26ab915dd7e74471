//! Every file in the image belongs to 0:0, even when the build runs as an
//! unprivileged Nix build user.
//!
//! mke2fs -d and mkfs.btrfs --rootdir copy each source entry's uid/gid. So:
//! - as root, the source tree must already be 0:0 (deterministic-copy stages
//!   it so), and the tools run as they are;
//! - otherwise every source entry must belong to the caller, and the tools run
//!   as root of a new user namespace that maps the caller's uid/gid to 0:
//!   inside it, stat() reports 0:0 for the caller's files, which is what the
//!   tools copy. No fakeroot, no setuid helper.

use crate::error::{Error, Result};
use std::os::unix::fs::MetadataExt;
#[cfg(target_os = "linux")]
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// Who must own the source entries, and whether the tools need a namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnerPolicy {
    pub uid: u32,
    pub gid: u32,
    /// True when not root: tools run in a user namespace mapping uid/gid to 0.
    pub user_namespace: bool,
}

impl OwnerPolicy {
    pub fn current() -> OwnerPolicy {
        // SAFETY: geteuid/getegid cannot fail.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        if uid == 0 {
            OwnerPolicy {
                uid: 0,
                gid: 0,
                user_namespace: false,
            }
        } else {
            OwnerPolicy {
                uid,
                gid,
                user_namespace: true,
            }
        }
    }

    /// Check one source entry; the error names it and says what to do.
    pub fn check(&self, path: &Path, meta: &std::fs::Metadata) -> Result<()> {
        if meta.uid() == self.uid && meta.gid() == self.gid {
            return Ok(());
        }
        Err(Error::invalid(if self.user_namespace {
            format!(
                "{} is owned by {}:{}, not by the caller {}:{}: every file of an ext4/btrfs source tree must belong to the user running mkimage, who becomes 0:0 in the image (stage the tree with deterministic-copy as that user)",
                path.display(),
                meta.uid(),
                meta.gid(),
                self.uid,
                self.gid
            )
        } else {
            format!(
                "{} is owned by {}:{}, not 0:0: running as root, mkimage copies owners as they are, and files in the image must belong to 0:0; stage it with deterministic-copy",
                path.display(),
                meta.uid(),
                meta.gid()
            )
        }))
    }
}

/// Make `cmd` start as root of a new user namespace that maps the caller's
/// effective uid and gid to 0 (and nothing else).
#[cfg(target_os = "linux")]
pub fn enter_user_namespace_on_exec(cmd: &mut Command) -> Result<()> {
    // SAFETY: geteuid/getegid cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    // Everything the child needs is allocated before fork: after fork only
    // async-signal-safe calls (unshare, open, write, close) are made.
    let uid_map = format!("0 {uid} 1\n").into_bytes();
    let gid_map = format!("0 {gid} 1\n").into_bytes();
    let files: [(&'static [u8], Vec<u8>); 3] = [
        (b"/proc/self/setgroups\0", b"deny".to_vec()),
        (b"/proc/self/uid_map\0", uid_map),
        (b"/proc/self/gid_map\0", gid_map),
    ];
    // SAFETY: the closure only calls async-signal-safe functions on memory
    // prepared before fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::unshare(libc::CLONE_NEWUSER) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            for (path, content) in &files {
                let fd = libc::open(path.as_ptr().cast(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let n = libc::write(fd, content.as_ptr().cast(), content.len());
                let err = std::io::Error::last_os_error();
                libc::close(fd);
                if n != content.len() as isize {
                    return Err(err);
                }
            }
            Ok(())
        });
    }
    Ok(())
}

/// Elsewhere than Linux there are no user namespaces.
#[cfg(not(target_os = "linux"))]
pub fn enter_user_namespace_on_exec(_cmd: &mut Command) -> Result<()> {
    // SAFETY: geteuid cannot fail.
    let uid = unsafe { libc::geteuid() };
    Err(Error::invalid(format!(
        "mkimage runs as uid {uid}, and only Linux user namespaces let it record files as 0:0 without root: run it as root on a tree staged with deterministic-copy"
    )))
}

/// Check that a user namespace can be created, by running `program args`
/// inside one; the error says what to enable.
pub fn probe_user_namespace(program: &Path, args: &[&str]) -> Result<std::process::Output> {
    let mut cmd = Command::new(program);
    cmd.args(args).env("LC_ALL", "C");
    enter_user_namespace_on_exec(&mut cmd)?;
    cmd.output().map_err(|e| {
        Error::invalid(format!(
            "cannot create a user namespace mapping the caller (uid {}) to root to run {} ({e}): mkimage needs one when not run as root, so that files in the image belong to 0:0; allow unprivileged user namespaces (sysctl user.max_user_namespaces > 0, kernel.unprivileged_userns_clone=1, or the AppArmor/SELinux policy) or run as root on a tree staged with deterministic-copy",
            unsafe { libc::geteuid() },
            program.display()
        ))
    })
}
