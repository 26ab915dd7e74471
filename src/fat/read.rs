//! Reading FAT filesystems inside a disk image with the fatfs crate (whose
//! reading side is correct; only its writer is broken in 0.3.6). The image is
//! only ever read: the partition view refuses writes, so fatfs' attempt to
//! clear its dirty flag on drop cannot touch the image.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// A read-only window onto `[offset, offset + len)` of a file.
pub struct PartitionView<'a> {
    file: &'a File,
    offset: u64,
    len: u64,
    pos: u64,
}

impl<'a> PartitionView<'a> {
    pub fn new(file: &'a File, offset: u64, len: u64) -> Self {
        PartitionView {
            file,
            offset,
            len,
            pos: 0,
        }
    }
}

impl Read for PartitionView<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        let n = (buf.len() as u64).min(left) as usize;
        if n == 0 {
            return Ok(0);
        }
        let got = self.file.read_at(&mut buf[..n], self.offset + self.pos)?;
        self.pos += got as u64;
        Ok(got)
    }
}

impl Write for PartitionView<'_> {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "the disk image is opened read-only",
        ))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for PartitionView<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = match to {
            SeekFrom::Start(p) => p as i128,
            SeekFrom::End(d) => self.len as i128 + d as i128,
            SeekFrom::Current(d) => self.pos as i128 + d as i128,
        };
        if new < 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the partition start",
            ));
        }
        self.pos = new as u64;
        Ok(self.pos)
    }
}

pub type FatFs<'a> = fatfs::FileSystem<PartitionView<'a>>;

/// One file or directory of a FAT filesystem, by its path below the root
/// (components joined with `/`, directories without a trailing slash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FatEntry {
    pub path: String,
    pub is_dir: bool,
    pub size: u64,
}

/// Open the FAT filesystem in a partition, checking first that it is one.
pub fn open<'a>(
    image: &Path,
    file: &'a File,
    offset: u64,
    len: u64,
    what: &str,
) -> Result<FatFs<'a>> {
    let mut boot = [0u8; 512];
    let not_fat = |why: &str| {
        Error::Fat(format!(
            "{}: {what} does not hold a FAT filesystem ({why}); select the ESP partition",
            image.display()
        ))
    };
    if len < 512 || file.read_exact_at(&mut boot, offset).is_err() {
        return Err(not_fat("it is too small to hold a boot sector"));
    }
    let bytes_per_sector = u16::from_le_bytes([boot[11], boot[12]]);
    if boot[510] != 0x55 || boot[511] != 0xAA || !(boot[0] == 0xEB || boot[0] == 0xE9) {
        return Err(not_fat("no FAT boot sector signature"));
    }
    if !bytes_per_sector.is_power_of_two()
        || !(512..=4096).contains(&bytes_per_sector)
        || boot[13] == 0
    {
        return Err(not_fat("its BIOS parameter block is invalid"));
    }
    fatfs::FileSystem::new(
        PartitionView::new(file, offset, len),
        fatfs::FsOptions::new(),
    )
    .map_err(|e| not_fat(&e.to_string()))
}

/// Every entry of the filesystem, sorted by the bytes of its path with a
/// trailing `/` on directories: the order of the zip member names, in which
/// a directory comes before everything inside it (`EFI.bak` sorts before
/// `EFI/`, and `EFI/` before `EFI/BOOT/`). Names that could escape a
/// destination directory, or that fatfs could not decode, are refused.
pub fn list(fs: &FatFs<'_>, image: &Path) -> Result<Vec<FatEntry>> {
    let mut out = Vec::new();
    walk(fs.root_dir(), "", image, &mut out, 0)?;
    out.sort_by_cached_key(sort_key);
    Ok(out)
}

fn sort_key(e: &FatEntry) -> Vec<u8> {
    let mut key = e.path.as_bytes().to_vec();
    if e.is_dir {
        key.push(b'/');
    }
    key
}

fn walk(
    dir: fatfs::Dir<'_, PartitionView<'_>>,
    prefix: &str,
    image: &Path,
    out: &mut Vec<FatEntry>,
    depth: usize,
) -> Result<()> {
    if depth > 64 {
        return Err(Error::Fat(format!(
            "{}: FAT directories nest deeper than 64 levels at {prefix:?}: the filesystem is probably damaged (a directory loop)",
            image.display()
        )));
    }
    for entry in dir.iter() {
        let entry = entry.map_err(|e| fat_io(image, prefix, e))?;
        let name = entry.file_name();
        if name == "." || name == ".." {
            continue;
        }
        if entry
            .attributes()
            .contains(fatfs::FileAttributes::VOLUME_ID)
        {
            continue;
        }
        check_name(&name, prefix, image)?;
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if entry.is_dir() {
            out.push(FatEntry {
                path: path.clone(),
                is_dir: true,
                size: 0,
            });
            walk(entry.to_dir(), &path, image, out, depth + 1)?;
        } else {
            out.push(FatEntry {
                path,
                is_dir: false,
                size: entry.len(),
            });
        }
    }
    Ok(())
}

/// Refuse names that are not a single, safe path component, and names fatfs
/// could not decode: it turns a non-ASCII character of a short (8.3-only)
/// name into U+FFFD, which would silently rename the file.
fn check_name(name: &str, prefix: &str, image: &Path) -> Result<()> {
    let dir = if prefix.is_empty() { "/" } else { prefix };
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return Err(Error::Fat(format!(
            "{}: the FAT directory {dir:?} holds an entry named {name:?}, which could escape the output directory; refusing to unpack it",
            image.display(),
        )));
    }
    if name.contains('\u{FFFD}') {
        return Err(Error::Fat(format!(
            "{}: the FAT directory {dir:?} holds a short name with non-ASCII characters ({name:?}) that cannot be decoded without knowing its DOS code page; give the file a long (VFAT) name or an ASCII name",
            image.display(),
        )));
    }
    Ok(())
}

fn fat_io(image: &Path, at: &str, e: io::Error) -> Error {
    Error::Fat(format!(
        "{}: cannot read the FAT directory {:?}: {e}; the filesystem is damaged",
        image.display(),
        if at.is_empty() { "/" } else { at }
    ))
}

/// Stream one file's content into `out`. A cluster chain that holds a
/// different number of bytes than the directory entry says is an error: a
/// damaged filesystem must not yield a silently shortened file.
pub fn copy_file(
    fs: &FatFs<'_>,
    image: &Path,
    entry: &FatEntry,
    out: &mut dyn Write,
) -> Result<u64> {
    let path = entry.path.as_str();
    let mut f = fs
        .root_dir()
        .open_file(path)
        .map_err(|e| fat_io(image, path, e))?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| fat_io(image, path, e))?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n])
            .map_err(|e| Error::io("write", path, e))?;
        total += n as u64;
    }
    if total != entry.size {
        return Err(Error::Fat(format!(
            "{}: ESP file {path} has {} bytes in its directory entry but {total} in its cluster chain: the FAT filesystem is damaged",
            image.display(),
            entry.size,
        )));
    }
    Ok(total)
}
