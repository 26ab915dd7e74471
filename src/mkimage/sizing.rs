//! Measuring a source tree and computing `"size": "auto"` for each
//! filesystem. Every number comes from the tree and the filesystem's own
//! layout rules, plus a stated headroom; the formulas are in the comments
//! next to the code so a surprising size can be checked by hand.

use super::ownership::OwnerPolicy;
use crate::error::{Error, Result};
use crate::units::{align_up, MIB};
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

const BLOCK: u64 = 4096;

/// What a tree holds, as far as sizing is concerned. Hard-linked files are
/// counted once.
#[derive(Clone, Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TreeStats {
    pub files: u64,
    pub directories: u64,
    pub symlinks: u64,
    /// Devices, fifos, sockets.
    pub other: u64,
    /// Sum of regular file sizes.
    pub file_bytes: u64,
    /// Sum of regular file sizes, each rounded up to 4 KiB blocks.
    pub file_blocks_bytes: u64,
    /// Regular files smaller than 2 KiB (btrfs stores them inline).
    pub small_files: u64,
    pub small_file_bytes: u64,
    /// Sum of the sizes of files of 2 KiB and more, rounded to 4 KiB.
    pub large_file_blocks_bytes: u64,
    /// Symlinks whose target does not fit in the inode (ext4: >= 60 bytes).
    pub long_symlinks: u64,
    /// Bytes of directory entries: per entry 8 bytes + name rounded to 4.
    pub dirent_bytes: u64,
    /// 4 KiB directory blocks needed (at least one per directory).
    pub dir_blocks: u64,
    /// Sum of name lengths (btrfs: each name is stored in 3 items).
    pub name_bytes: u64,
}

impl TreeStats {
    pub fn inodes(&self) -> u64 {
        self.files + self.directories + self.symlinks + self.other
    }
}

/// Walk `source` (sorted, not following symlinks), measure it and, when
/// `owner` is given, check every entry's owner (the first offender is the
/// error, in byte order of paths, so the message is stable).
pub fn scan(source: &Path, owner: Option<&OwnerPolicy>) -> Result<TreeStats> {
    let mut s = TreeStats::default();
    let mut seen = HashSet::new();
    let mut dir_bytes: Vec<u64> = Vec::new(); // per open directory depth
    for entry in walkdir::WalkDir::new(source)
        .follow_links(false)
        .sort_by_file_name()
        .contents_first(true)
    {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(source).to_path_buf();
            Error::io(
                "read the source tree at",
                path,
                e.into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("filesystem loop")),
            )
        })?;
        let meta = entry.metadata().map_err(|e| {
            Error::io(
                "stat",
                entry.path(),
                e.into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("?")),
            )
        })?;
        if let Some(o) = owner {
            o.check(entry.path(), &meta)?;
        }
        let depth = entry.depth();
        // contents_first: children are seen before their directory; the
        // directory entries of depth d accumulate in dir_bytes[d-1].
        if dir_bytes.len() < depth + 1 {
            dir_bytes.resize(depth + 1, 0);
        }
        let name_len = entry.file_name().len() as u64;
        if depth > 0 {
            dir_bytes[depth - 1] += 8 + align_up(name_len, 4);
            s.name_bytes += name_len;
        }
        let ft = meta.file_type();
        if ft.is_dir() {
            s.directories += 1;
            // "." and ".." (12 bytes each) plus the children's entries.
            let bytes = 24 + dir_bytes.get(depth).copied().unwrap_or(0);
            if let Some(b) = dir_bytes.get_mut(depth) {
                *b = 0;
            }
            s.dirent_bytes += bytes;
            s.dir_blocks += bytes.div_ceil(BLOCK).max(1);
            continue;
        }
        if meta.nlink() > 1 && !seen.insert((meta.dev(), meta.ino())) {
            continue;
        }
        if ft.is_file() {
            s.files += 1;
            s.file_bytes += meta.len();
            s.file_blocks_bytes += align_up(meta.len(), BLOCK);
            if meta.len() < 2048 {
                s.small_files += 1;
                s.small_file_bytes += meta.len();
            } else {
                s.large_file_blocks_bytes += align_up(meta.len(), BLOCK);
            }
        } else if ft.is_symlink() {
            s.symlinks += 1;
            if meta.len() >= 60 {
                s.long_symlinks += 1;
            }
        } else {
            s.other += 1;
        }
    }
    Ok(s)
}

/// The ext4 geometry mkimage asks mke2fs for.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ext4Estimate {
    /// Bytes the content needs with no headroom (data, inode tables,
    /// directories, journal, bitmaps, descriptors, reserved GDT blocks).
    pub needed: u64,
    /// `needed` × 1.10 + 16 MiB, rounded up to 1 MiB: the auto size.
    pub with_headroom: u64,
    /// Inode count given to mke2fs (`-N`).
    pub inodes: u64,
    pub journal_bytes: u64,
}

/// mke2fs's default journal size (ext2fs_default_journal_size), in blocks.
fn ext4_journal_blocks(blocks: u64) -> u64 {
    match blocks {
        b if b < 32768 => 1024,
        b if b < 256 * 1024 => 4096,
        b if b < 512 * 1024 => 8192,
        b if b < 4096 * 1024 => 16384,
        b if b < 8192 * 1024 => 32768,
        b if b < 16384 * 1024 => 65536,
        b if b < 32768 * 1024 => 131072,
        _ => 262144,
    }
}

/// Groups that hold a superblock backup with sparse_super: 0, 1 and powers
/// of 3, 5 and 7.
fn ext4_sb_groups(groups: u64) -> u64 {
    let mut n = 1 + u64::from(groups > 1);
    for base in [3u64, 5, 7] {
        let mut p = base;
        while p < groups {
            n += 1;
            p *= base;
        }
    }
    n
}

/// Inode count for a filesystem of `size` bytes: one per 16 KiB (the
/// inode_ratio in our mke2fs.conf), or the tree's entries + 10% + 1024 if
/// that is more (a tree of many small files must never run out).
pub fn ext4_inodes(stats: &TreeStats, size: u64) -> u64 {
    let by_ratio = size / 16384;
    let by_tree = (stats.inodes() + 16) * 11 / 10 + 1024;
    by_ratio.max(by_tree)
}

/// Bytes an ext4 filesystem of `size` bytes needs to hold the tree, with
/// 4 KiB blocks and 256-byte inodes:
///   data      = Σ file sizes rounded to 4 KiB + 4 KiB per long symlink
///             + directory blocks + 16 KiB lost+found
///   inodes    = ext4_inodes(size) × 256
///   journal   = mke2fs's default for the block count
///   metadata  = per 128 MiB group 2 bitmap blocks, plus in each group
///               holding a superblock backup: 1 superblock, the group
///               descriptors (64 bytes per group) and the reserved GDT blocks
///               for 1024× growth (≤ 1024 blocks)
pub fn ext4_needed(stats: &TreeStats, size: u64) -> (u64, u64, u64) {
    let blocks = size / BLOCK;
    let groups = blocks.div_ceil(32768).max(1);
    let inodes = ext4_inodes(stats, size);
    let journal = ext4_journal_blocks(blocks) * BLOCK;
    let gdt = (groups * 64).div_ceil(BLOCK);
    let reserved_gdt = (groups * 1024 * 64).div_ceil(BLOCK).min(1024);
    let meta = groups * 2 * BLOCK + ext4_sb_groups(groups) * (1 + gdt + reserved_gdt) * BLOCK;
    let data = stats.file_blocks_bytes
        + stats.long_symlinks * BLOCK
        + stats.dir_blocks * BLOCK
        + 4 * BLOCK;
    (data + inodes * 256 + journal + meta, inodes, journal)
}

/// The auto size: needed × 1.10 + 16 MiB, rounded up to 1 MiB; solved as a
/// fixed point because the journal, inode tables and metadata grow with the
/// size itself.
pub fn ext4_auto(stats: &TreeStats) -> Ext4Estimate {
    // f(size) grows with size, slowly: iterate upwards from a small size
    // until the size holds its own need plus headroom.
    let mut size = 8 * MIB;
    for _ in 0..64 {
        let (needed, _, _) = ext4_needed(stats, size);
        let next = align_up(needed + needed / 10 + 16 * MIB, MIB);
        if next <= size {
            break;
        }
        size = next;
    }
    let mut e = ext4_estimate_at(stats, size);
    e.with_headroom = size;
    e
}

pub fn ext4_estimate_at(stats: &TreeStats, size: u64) -> Ext4Estimate {
    let (needed, inodes, journal_bytes) = ext4_needed(stats, size);
    Ext4Estimate {
        needed,
        with_headroom: align_up(needed + needed / 10 + 16 * MIB, MIB),
        inodes,
        journal_bytes,
    }
}

#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BtrfsEstimate {
    /// Data extents: files of 2 KiB and more, rounded to 4 KiB.
    pub data: u64,
    /// Metadata items (before DUP).
    pub metadata: u64,
    /// Bytes needed with no headroom.
    pub needed: u64,
    /// The auto size.
    pub with_headroom: u64,
}

/// btrfs, 16 KiB nodes, 4 KiB sectors, metadata DUP, data single:
///   data     = Σ sizes of files ≥ 2 KiB rounded to 4 KiB (smaller files are
///              inlined in metadata by mkfs --rootdir)
///   metadata = per inode 185 (inode item) + per name 3 items (inode ref,
///              dir item, dir index: 35..55 bytes + name each) + per file
///              extent item 78 + extent-tree item 80 + checksums 4 per 4 KiB
///              + inline data; doubled because leaves are ~half full on
///              average after splits
///   needed   = data + 2 × metadata (DUP) + 48 MiB (system chunks DUP and
///              the smallest metadata/data chunks mkfs allocates)
///   auto     = needed × 1.10 + 16 MiB + 10% of data for chunk rounding,
///              rounded up to 1 MiB, at least 256 MiB (mkfs.btrfs's own
///              minimum with DUP metadata is above 100 MiB)
pub fn btrfs_auto(stats: &TreeStats) -> BtrfsEstimate {
    let big_files = stats.files - stats.small_files;
    let data = stats.large_file_blocks_bytes;
    let items = stats.inodes() * 185
        + stats.inodes() * 3 * 45
        + stats.name_bytes * 3
        + big_files * (78 + 80)
        + data / BLOCK * 4
        + stats.small_file_bytes
        + stats.small_files * 46;
    let metadata = items * 2;
    let needed = data + 2 * metadata + 48 * MIB;
    let with_headroom = align_up(needed + needed / 10 + data / 10 + 16 * MIB, MIB).max(256 * MIB);
    BtrfsEstimate {
        data,
        metadata,
        needed,
        with_headroom,
    }
}
