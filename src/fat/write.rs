//! FAT32 writer (interface; implementation in progress).

use crate::error::Result;
use std::fs::File;
use std::path::Path;

/// How to format the filesystem.
#[derive(Clone, Debug)]
pub struct FatOptions {
    /// Logical sector size: 512 or 4096 (the disk's).
    pub sector_size: u32,
    /// Volume serial number (`volume_id`), e.g. 0x12CEA600.
    pub volume_id: u32,
    /// Volume label, at most 11 characters of printable ASCII; stored upper-case.
    pub label: String,
    /// Every timestamp (create, modify, access) in the filesystem, Unix seconds UTC.
    pub mtime: i64,
}

/// What was written.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FatReport {
    pub sector_size: u32,
    pub sectors_per_cluster: u32,
    pub reserved_sectors: u32,
    pub fat_sectors: u32,
    pub clusters: u32,
    pub used_clusters: u32,
    pub files: u64,
    pub directories: u64,
}

/// Format a FAT32 filesystem of `size` bytes at byte `offset` of `out`
/// and copy the tree at `source` into it.
pub fn write_fat32(
    out: &File,
    offset: u64,
    size: u64,
    source: &Path,
    opts: &FatOptions,
) -> Result<FatReport> {
    let _ = (out, offset, size, source, opts);
    Err(crate::Error::Fat("FAT32 writer not implemented yet".into()))
}

/// The smallest filesystem size in bytes (a multiple of 1 MiB) that holds
/// `source` as FAT32 with these options; never below the FAT32 minimum.
pub fn min_fat32_size(source: &Path, opts: &FatOptions) -> Result<u64> {
    let _ = (source, opts);
    Err(crate::Error::Fat("FAT32 writer not implemented yet".into()))
}
