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
#[derive(Debug)]
pub struct FatEntry<'a, 'img> {
    pub path: String,
    pub is_dir: bool,
    pub size: u64,
    /// Kept so a file opens without a lookup by path: that scans its
    /// directory, and a directory of 65,536 entries read file by file
    /// would take billions of reads.
    entry: fatfs::DirEntry<'a, PartitionView<'img>>,
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
        Error::fat(format!(
            "{what} does not hold a FAT filesystem ({why}); select the ESP partition"
        ))
        .with_path(image)
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
    let fs = fatfs::FileSystem::new(
        PartitionView::new(file, offset, len),
        fatfs::FsOptions::new(),
    )
    .map_err(|e| not_fat(&e.to_string()))?;
    // fatfs follows cluster chains without looking for loops: check every
    // chain it could follow before it follows any.
    let damaged = |why: String| {
        Error::fat(format!(
            "the FAT filesystem in {what} is damaged: {why}; repair it with fsck.vfat"
        ))
        .with_path(image)
    };
    let geometry = Geometry::new(&boot, len).map_err(damaged)?;
    Checker::new(file, offset, geometry)
        .check()
        .map_err(damaged)?;
    Ok(fs)
}

/// A directory holds at most this many 32-byte entries (the FAT specification's limit).
pub const MAX_DIR_ENTRIES: u64 = 65_536;

/// What the boot sector says about where things are, as fatfs reads it.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    cluster_size: u64,
    /// Byte offset (in the partition) of the FAT that fatfs reads.
    fat_offset: u64,
    fat_len: u64,
    /// FAT12/16 root directory region, or the FAT32 root cluster.
    root: Root,
    data_offset: u64,
    clusters: u32,
    bits: u32,
}

#[derive(Clone, Copy, Debug)]
enum Root {
    Region { offset: u64, len: u64 },
    Cluster(u32),
}

impl Geometry {
    fn new(b: &[u8; 512], part_len: u64) -> Result<Geometry, String> {
        let u16at = |i: usize| u64::from(u16::from_le_bytes([b[i], b[i + 1]]));
        let u32at = |i: usize| u64::from(u32::from_le_bytes(b[i..i + 4].try_into().unwrap()));
        let bps = u16at(11);
        let spc = u64::from(b[13]);
        let reserved = u16at(14);
        let fats = u64::from(b[16]);
        let root_entries = u16at(17);
        let total = match u16at(19) {
            0 => u32at(32),
            n => n,
        };
        let fat32 = u16at(22) == 0;
        let spf = if fat32 { u32at(36) } else { u16at(22) };
        let ext_flags = if fat32 { u16at(40) } else { 0 };
        // Every product below is of 16 and 32-bit fields: u64 cannot overflow.
        let root_len = root_entries * 32;
        let root_sectors = root_len.div_ceil(bps);
        let first_data = reserved + fats * spf + root_sectors;
        if total * bps > part_len {
            return Err(format!(
                "its boot sector claims {} bytes but the partition has {part_len}",
                total * bps
            ));
        }
        if spc == 0 || first_data >= total {
            return Err("its boot sector describes no data area".into());
        }
        let clusters = (total - first_data) / spc;
        let bits = if clusters < 4085 {
            12
        } else if clusters < 65525 {
            16
        } else {
            32
        };
        let active = if ext_flags & 0x80 != 0 {
            ext_flags & 0x0f
        } else {
            0
        };
        let root = if fat32 {
            Root::Cluster(u32at(44) as u32)
        } else {
            Root::Region {
                offset: (reserved + fats * spf) * bps,
                len: root_len,
            }
        };
        let fat_len = spf * bps;
        if (clusters + 2) * u64::from(bits) / 8 > fat_len {
            return Err(format!(
                "its FAT of {fat_len} bytes cannot hold {clusters} clusters"
            ));
        }
        Ok(Geometry {
            cluster_size: spc * bps,
            fat_offset: (reserved + active * spf) * bps,
            fat_len,
            root,
            data_offset: first_data * bps,
            clusters: clusters as u32,
            bits,
        })
    }
}

/// Walks every directory and file cluster chain once, refusing loops,
/// clusters shared by two chains, chains that end before their file does,
/// and directories with more than [`MAX_DIR_ENTRIES`] entries. Every cluster
/// is visited at most once, so the walk is bounded by the partition's size.
struct Checker<'a> {
    file: &'a File,
    offset: u64,
    g: Geometry,
    used: Vec<u64>,
    fat_cache: Option<(u64, Vec<u8>)>,
}

enum Next {
    Cluster(u32),
    End,
}

impl<'a> Checker<'a> {
    fn new(file: &'a File, offset: u64, g: Geometry) -> Self {
        Checker {
            file,
            offset,
            g,
            used: vec![0; (g.clusters as usize + 2).div_ceil(64)],
            fat_cache: None,
        }
    }

    fn read(&self, at: u64, buf: &mut [u8]) -> Result<(), String> {
        self.file
            .read_exact_at(buf, self.offset + at)
            .map_err(|e| format!("cannot read it: {e}"))
    }

    fn next(&mut self, cluster: u32) -> Result<Next, String> {
        const BLOCK: u64 = 4096;
        let (byte, shift) = match self.g.bits {
            12 => (u64::from(cluster) * 3 / 2, (cluster & 1) * 4),
            16 => (u64::from(cluster) * 2, 0),
            _ => (u64::from(cluster) * 4, 0),
        };
        let block = byte / BLOCK * BLOCK;
        if self.fat_cache.as_ref().map(|c| c.0) != Some(block) {
            // Two blocks, so a FAT12 entry across a block edge reads whole.
            let len = (2 * BLOCK).min(self.g.fat_len - block);
            let mut buf = vec![0u8; len as usize];
            self.read(self.g.fat_offset + block, &mut buf)?;
            self.fat_cache = Some((block, buf));
        }
        let buf = &self.fat_cache.as_ref().unwrap().1;
        let at = (byte - block) as usize;
        if at + if self.g.bits == 32 { 4 } else { 2 } > buf.len() {
            return Err(format!("cluster {cluster} lies past the end of its FAT"));
        }
        let raw = |n: usize| -> u32 {
            let mut v = [0u8; 4];
            v[..n].copy_from_slice(&buf[at..at + n]);
            u32::from_le_bytes(v)
        };
        // fatfs ends a chain at a free, bad or end-of-chain entry.
        let (v, bad) = match self.g.bits {
            12 => ((raw(2) >> shift) & 0xfff, 0xff7),
            16 => (raw(2), 0xfff7),
            _ => (raw(4) & 0x0fff_ffff, 0x0fff_fff7),
        };
        Ok(if v == 0 || v >= bad {
            Next::End
        } else {
            Next::Cluster(v)
        })
    }

    /// Mark a cluster as used by one chain; a second claim is damage.
    fn claim(&mut self, cluster: u32, what: &str) -> Result<(), String> {
        if cluster < 2 || cluster - 2 >= self.g.clusters {
            return Err(format!(
                "{what} refers to cluster {cluster}, outside its {} clusters",
                self.g.clusters
            ));
        }
        let (word, bit) = (cluster as usize / 64, cluster % 64);
        if self.used[word] & (1 << bit) != 0 {
            return Err(format!(
                "{what} reuses cluster {cluster} (a loop, or clusters shared with another file)"
            ));
        }
        self.used[word] |= 1 << bit;
        Ok(())
    }

    fn check(&mut self) -> Result<(), String> {
        self.check_dir(self.g.root, "/", 0)
    }

    fn check_dir(&mut self, dir: Root, path: &str, depth: usize) -> Result<(), String> {
        if depth > 64 {
            return Err(format!(
                "directories nest deeper than 64 levels at {path:?}"
            ));
        }
        let what = format!("directory {path:?}");
        let cs = self.g.cluster_size;
        let mut cluster = match dir {
            Root::Cluster(c) => {
                self.claim(c, &what)?;
                Some(c)
            }
            Root::Region { .. } => None,
        };
        let mut entries = 0u64;
        let mut children = Vec::new();
        let mut lfn = false;
        'chain: loop {
            let (at, len) = match (dir, cluster) {
                (Root::Region { offset, len }, _) => (offset, len),
                (_, Some(c)) => (self.g.data_offset + u64::from(c - 2) * cs, cs),
                (_, None) => break,
            };
            let mut buf = vec![0u8; len as usize];
            self.read(at, &mut buf)?;
            for e in buf.chunks_exact(32) {
                entries += 1;
                if entries > MAX_DIR_ENTRIES {
                    return Err(format!("{what} has more than {MAX_DIR_ENTRIES} entries"));
                }
                match (e[0], e[11]) {
                    (0, _) => break 'chain,
                    (0xe5, _) => lfn = false,
                    (_, 0x0f) => lfn = true,
                    (_, attr) if attr & 0x08 != 0 => lfn = false,
                    (_, attr) => {
                        let dot =
                            !lfn && (&e[..11] == b".          " || &e[..11] == b"..         ");
                        lfn = false;
                        if dot {
                            continue;
                        }
                        let hi = if self.g.bits == 32 {
                            u32::from(u16::from_le_bytes([e[20], e[21]])) << 16
                        } else {
                            0
                        };
                        let first = hi | u32::from(u16::from_le_bytes([e[26], e[27]]));
                        let size = u32::from_le_bytes(e[28..32].try_into().unwrap());
                        let (base, ext) = (
                            String::from_utf8_lossy(&e[..8]),
                            String::from_utf8_lossy(&e[8..11]),
                        );
                        let name = match ext.trim_end() {
                            "" => base.trim_end().to_string(),
                            ext => format!("{}.{ext}", base.trim_end()),
                        };
                        children.push((attr & 0x10 != 0, first, size, name));
                    }
                }
            }
            cluster = match cluster {
                Some(c) => match self.next(c)? {
                    Next::Cluster(n) => {
                        self.claim(n, &what)?;
                        Some(n)
                    }
                    Next::End => None,
                },
                None => None,
            };
            if cluster.is_none() {
                break;
            }
        }
        for (is_dir, first, size, name) in children {
            let child = format!("{}/{name}", path.trim_end_matches('/'));
            if is_dir {
                // fatfs reads a directory without a cluster as the root.
                if first == 0 {
                    return Err(format!("directory {child:?} has no cluster"));
                }
                self.check_dir(Root::Cluster(first), &child, depth + 1)?;
            } else {
                self.check_file(first, size, &child)?;
            }
        }
        Ok(())
    }

    /// A file's chain must hold its size: exactly the clusters fatfs reads.
    fn check_file(&mut self, first: u32, size: u32, path: &str) -> Result<(), String> {
        let what = format!("file {path:?}");
        let need = u64::from(size).div_ceil(self.g.cluster_size);
        if need > u64::from(self.g.clusters) {
            return Err(format!(
                "{what} claims {size} bytes, more than the filesystem holds"
            ));
        }
        let mut cluster = first;
        for i in 0..need {
            self.claim(cluster, &what)?;
            if i + 1 == need {
                break;
            }
            cluster = match self.next(cluster)? {
                Next::Cluster(n) => n,
                Next::End => {
                    return Err(format!(
                        "{what} claims {size} bytes but its cluster chain ends after {} bytes",
                        (i + 1) * self.g.cluster_size
                    ))
                }
            };
        }
        Ok(())
    }
}

/// Every entry of the filesystem, sorted by the bytes of its path with a
/// trailing `/` on directories: the order of the zip member names, in which
/// a directory comes before everything inside it (`EFI.bak` sorts before
/// `EFI/`, and `EFI/` before `EFI/BOOT/`). Names that could escape a
/// destination directory, or that fatfs could not decode, are refused.
pub fn list<'a, 'img>(fs: &'a FatFs<'img>, image: &Path) -> Result<Vec<FatEntry<'a, 'img>>> {
    let mut out = Vec::new();
    walk(fs.root_dir(), "", image, &mut out, 0)?;
    out.sort_by_cached_key(sort_key);
    Ok(out)
}

fn sort_key(e: &FatEntry<'_, '_>) -> Vec<u8> {
    let mut key = e.path.as_bytes().to_vec();
    if e.is_dir {
        key.push(b'/');
    }
    key
}

fn walk<'a, 'img>(
    dir: fatfs::Dir<'a, PartitionView<'img>>,
    prefix: &str,
    image: &Path,
    out: &mut Vec<FatEntry<'a, 'img>>,
    depth: usize,
) -> Result<()> {
    if depth > 64 {
        return Err(Error::fat(format!(
            "FAT directories nest deeper than 64 levels at {prefix:?}: the filesystem is probably damaged (a directory loop)"
        ))
        .with_path(image));
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
            let dir = entry.to_dir();
            out.push(FatEntry {
                path: path.clone(),
                is_dir: true,
                size: 0,
                entry,
            });
            walk(dir, &path, image, out, depth + 1)?;
        } else {
            out.push(FatEntry {
                path,
                is_dir: false,
                size: entry.len(),
                entry,
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
        return Err(Error::fat(format!(
            "the FAT directory {dir:?} holds an entry named {name:?}, which could escape the output directory; refusing to unpack it"
        ))
        .with_path(image));
    }
    if name.contains('\u{FFFD}') {
        return Err(Error::fat(format!(
            "the FAT directory {dir:?} holds a short name with non-ASCII characters ({name:?}) that cannot be decoded without knowing its DOS code page; give the file a long (VFAT) name or an ASCII name"
        ))
        .with_path(image));
    }
    Ok(())
}

fn fat_io(image: &Path, at: &str, e: io::Error) -> Error {
    Error::fat(format!(
        "cannot read the FAT directory {:?}: {e}; the filesystem is damaged",
        if at.is_empty() { "/" } else { at }
    ))
    .with_path(image)
}

/// Stream one file's content into `out`. A cluster chain that holds a
/// different number of bytes than the directory entry says is an error: a
/// damaged filesystem must not yield a silently shortened file. `dest`
/// names what `out` writes to, for a failed write (a full disk).
pub fn copy_file(
    image: &Path,
    entry: &FatEntry<'_, '_>,
    out: &mut dyn Write,
    dest: &Path,
) -> Result<u64> {
    let path = entry.path.as_str();
    let mut f = entry.entry.to_file();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| fat_io(image, path, e))?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n])
            .map_err(|e| Error::io("write", dest, e))?;
        total += n as u64;
    }
    if total != entry.size {
        return Err(Error::fat(format!(
            "ESP file {path} has {} bytes in its directory entry but {total} in its cluster chain: the FAT filesystem is damaged",
            entry.size
        ))
        .with_path(image));
    }
    Ok(total)
}
