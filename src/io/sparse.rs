//! Sparse-aware I/O: find the data extents of a file range with
//! SEEK_DATA/SEEK_HOLE and copy them with copy_file_range, so holes in the
//! source stay holes in the destination and are never read or written.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// One extent of data, as `(offset, length)` in the file's own coordinates.
pub type Extent = (u64, u64);

/// The data extents of `file` inside `[start, start + len)`, in order.
///
/// Filesystems without SEEK_DATA support report the whole range as data,
/// which is correct, only slower.
pub fn data_extents(file: &File, start: u64, len: u64) -> io::Result<Vec<Extent>> {
    let end = start + len;
    let fd = file.as_raw_fd();
    let mut extents = Vec::new();
    let mut pos = start;
    while pos < end {
        // SAFETY: lseek on a valid descriptor has no memory-safety requirements.
        let data = unsafe { libc::lseek(fd, pos as libc::off_t, libc::SEEK_DATA) };
        if data < 0 {
            let err = io::Error::last_os_error();
            // ENXIO: no data at or after pos.
            if err.raw_os_error() == Some(libc::ENXIO) {
                break;
            }
            if super::unsupported(&err) {
                extents.push((pos, end - pos));
                break;
            }
            return Err(err);
        }
        let data = data as u64;
        if data >= end {
            break;
        }
        // SAFETY: as above.
        let hole = unsafe { libc::lseek(fd, data as libc::off_t, libc::SEEK_HOLE) };
        if hole < 0 {
            return Err(io::Error::last_os_error());
        }
        let hole = (hole as u64).min(end);
        extents.push((data, hole - data));
        pos = hole;
    }
    Ok(extents)
}

/// Copy `len` bytes from `src` at `src_off` to `dst` at `dst_off`, sparsely:
/// only the source's data extents are copied (copy_file_range, falling back
/// to pread/pwrite that skips all-zero blocks). The destination must already
/// be long enough or be extended by the caller; holes are left as they are.
/// Returns the number of data bytes copied. `on_progress` receives the
/// position reached in the range after each step.
pub fn copy_range_sparse(
    src: &File,
    src_off: u64,
    dst: &File,
    dst_off: u64,
    len: u64,
    mut on_progress: impl FnMut(u64),
) -> io::Result<u64> {
    let mut copied = 0;
    for (off, elen) in data_extents(src, src_off, len)? {
        let rel = off - src_off;
        copy_extent(src, off, dst, dst_off + rel, elen, &mut |done| {
            on_progress(rel + done)
        })?;
        copied += elen;
    }
    on_progress(len);
    Ok(copied)
}

#[cfg(target_os = "linux")]
const STEP: u64 = 64 << 20;

/// Elsewhere than Linux: read and write (zero blocks skipped).
#[cfg(not(target_os = "linux"))]
use copy_by_reading as copy_extent;

#[cfg(target_os = "linux")]
fn copy_extent(
    src: &File,
    mut src_off: u64,
    dst: &File,
    mut dst_off: u64,
    len: u64,
    on_progress: &mut dyn FnMut(u64),
) -> io::Result<()> {
    let mut done = 0u64;
    while done < len {
        let want = (len - done).min(STEP) as usize;
        let mut so = src_off as libc::off64_t;
        let mut dso = dst_off as libc::off64_t;
        // SAFETY: valid descriptors and offsets owned by this call.
        let n = unsafe {
            libc::copy_file_range(src.as_raw_fd(), &mut so, dst.as_raw_fd(), &mut dso, want, 0)
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            if super::unsupported(&err) {
                return copy_by_reading(src, src_off, dst, dst_off, len - done, &mut |d| {
                    on_progress(done + d)
                });
            }
            return Err(err);
        }
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "source ended before the range was copied",
            ));
        }
        let n = n as u64;
        done += n;
        src_off += n;
        dst_off += n;
        on_progress(done);
    }
    Ok(())
}

fn copy_by_reading(
    src: &File,
    src_off: u64,
    dst: &File,
    dst_off: u64,
    len: u64,
    on_progress: &mut dyn FnMut(u64),
) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(buf.len() as u64) as usize;
        src.read_exact_at(&mut buf[..n], src_off + done)?;
        // Zero blocks are not written: the destination reads back zeros there.
        for (i, block) in buf[..n].chunks(4096).enumerate() {
            if block.iter().any(|&b| b != 0) {
                dst.write_all_at(block, dst_off + done + (i * 4096) as u64)?;
            }
        }
        done += n as u64;
        on_progress(done);
    }
    Ok(())
}

/// Bytes actually allocated on disk for `file` (st_blocks × 512).
pub fn allocated_bytes(file: &File) -> io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    Ok(file.metadata()?.blocks() * 512)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    /// A new empty file of `len` bytes (a hole), open for reading and writing.
    fn sparse_file(path: &std::path::Path, len: u64) -> File {
        let f = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .unwrap();
        f.set_len(len).unwrap();
        f
    }

    #[test]
    fn copies_data_and_keeps_holes() {
        let dir = tempfile::tempdir().unwrap();
        let src = sparse_file(&dir.path().join("src"), 64 << 20);
        src.write_all_at(&[7u8; 8192], 1 << 20).unwrap();
        src.write_all_at(&[9u8; 4096], 40 << 20).unwrap();
        let dst = sparse_file(&dir.path().join("dst"), 32 << 20);
        let copied = copy_range_sparse(&src, 16 << 20, &dst, 0, 32 << 20, |_| {}).unwrap();
        assert_eq!(copied, 4096);
        let mut b = [0u8; 4096];
        dst.read_exact_at(&mut b, 24 << 20).unwrap();
        assert_eq!(b, [9u8; 4096]);
        assert!(allocated_bytes(&dst).unwrap() < 1 << 20);
    }
}
