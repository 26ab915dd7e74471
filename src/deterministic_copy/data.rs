//! Copying one regular file's bytes: a reflink when the filesystem can share
//! extents, else copy_file_range (hole-preserving for sparse files), else
//! read/write.

use std::collections::HashSet;
use std::fs::File;
use std::io;
#[cfg(target_os = "linux")]
use std::os::fd::AsRawFd;
use std::sync::RwLock;

/// Source devices on which a reflink into the destination has failed, so
/// that each file there costs no extra syscall.
#[derive(Default)]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub struct ReflinkMemo {
    unsupported: RwLock<HashSet<u64>>,
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
impl ReflinkMemo {
    fn worth_trying(&self, dev: u64) -> bool {
        !self.unsupported.read().unwrap().contains(&dev)
    }

    fn give_up(&self, dev: u64) {
        self.unsupported.write().unwrap().insert(dev);
    }
}

/// Copy all `size` bytes of `src` into the empty `dst`.
pub fn copy_data(
    src: &File,
    dst: &File,
    size: u64,
    sparse: bool,
    dev: u64,
    memo: &ReflinkMemo,
) -> io::Result<()> {
    if size == 0 {
        return Ok(());
    }
    #[cfg(target_os = "linux")]
    if memo.worth_trying(dev) {
        // SAFETY: FICLONE (share all of the source's extents with the
        // destination) takes the source descriptor as its argument.
        let r = unsafe { libc::ioctl(dst.as_raw_fd(), libc::FICLONE, src.as_raw_fd()) };
        if r == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if !crate::io::unsupported(&err) {
            return Err(err);
        }
        memo.give_up(dev)
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (dev, memo);
    if sparse {
        dst.set_len(size)?;
        crate::io::sparse::copy_range_sparse(src, 0, dst, 0, size, |_| {})?;
        return Ok(());
    }
    copy_dense(src, dst, size)
}

/// Elsewhere than Linux: plain read/write (correct, only slower).
#[cfg(not(target_os = "linux"))]
fn copy_dense(src: &File, dst: &File, size: u64) -> io::Result<()> {
    read_write(src, dst, size)
}

/// copy_file_range over the whole file; on filesystems or kernels that
/// refuse it, plain read/write.
#[cfg(target_os = "linux")]
fn copy_dense(src: &File, dst: &File, size: u64) -> io::Result<()> {
    let mut done = 0u64;
    while done < size {
        let want = (size - done).min(1 << 30) as usize;
        // SAFETY: valid descriptors; null offsets use and advance the file positions.
        let n = unsafe {
            libc::copy_file_range(
                src.as_raw_fd(),
                std::ptr::null_mut(),
                dst.as_raw_fd(),
                std::ptr::null_mut(),
                want,
                0,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            if done == 0 && crate::io::unsupported(&err) {
                return read_write(src, dst, size);
            }
            return Err(err);
        }
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while it was being copied",
            ));
        }
        done += n as u64;
    }
    Ok(())
}

fn read_write(src: &File, dst: &File, size: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; (size.min(1 << 20)) as usize];
    let mut off = 0u64;
    while off < size {
        let n = (size - off).min(buf.len() as u64) as usize;
        src.read_exact_at(&mut buf[..n], off)?;
        dst.write_all_at(&buf[..n], off)?;
        off += n as u64;
    }
    Ok(())
}
