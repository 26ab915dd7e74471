//! FAT32 writer, our own: the released fatfs 0.3.6 writes `.`/`..` entries
//! that fsck.fat rejects, and hadris-fat is only a release candidate.
//!
//! Everything is planned in memory from metadata: the geometry (mkfs.fat's
//! choices), 8.3 and long names, and one contiguous run of clusters per
//! directory and file (directories first, then files, both in pre-order with
//! entries sorted by name bytes). Then the target range is made to read as
//! zeros (a punched hole, so unused space stays sparse), the metadata is
//! written with positioned writes, and file contents are copied into place
//! sparsely. Every timestamp is `mtime` in UTC: the same tree and options
//! always give the same bytes.

mod geometry;
mod names;
mod tree;

use crate::epoch::UtcDateTime;
use crate::error::{Error, IoContext, Result};
use crate::units::MIB;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use tree::{Dir, Kind};

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
    /// Bytes of file contents.
    pub file_bytes: u64,
}

const ATTR_VOLUME_ID: u8 = 0x08;
const ATTR_DIRECTORY: u8 = 0x10;
const ATTR_ARCHIVE: u8 = 0x20;
/// FAT entries 0 and 1: the media byte, then end-of-chain with the
/// "cleanly unmounted, no errors" bits set.
const FAT_MEDIA: u32 = 0x0FFF_FFF8;
const FAT_EOC: u32 = 0x0FFF_FFFF;
/// A directory holds at most 65,536 entries (32-byte slots).
const MAX_DIR_SLOTS: u64 = 65_536;

/// Format a FAT32 filesystem of `size` bytes at byte `offset` of `out`
/// and copy the tree at `source` into it.
pub fn write_fat32(
    out: &File,
    offset: u64,
    size: u64,
    source: &Path,
    opts: &FatOptions,
) -> Result<FatReport> {
    geometry::check_sector_size(opts.sector_size)?;
    let label = label_bytes(&opts.label)?;
    let g = geometry::choose(size, opts.sector_size)?;
    let ss = u64::from(opts.sector_size);
    if offset % ss != 0 {
        return Err(Error::fat(format!(
            "FAT32 filesystem offset {offset} is not a multiple of the {ss}-byte sector size"
        )));
    }
    let hidden_sectors = u32::try_from(offset / ss).map_err(|_| {
        Error::fat(format!(
            "FAT32 filesystem offset {offset} is beyond what the boot sector can record ({} sectors)",
            u32::MAX
        ))
    })?;
    let out_len = out
        .metadata()
        .ctx("read metadata of", "the output image")?
        .len();
    if out_len < offset + size {
        return Err(Error::fat(format!(
            "the output image is {out_len} bytes, shorter than the end of the FAT32 filesystem ({} bytes): size the image first",
            offset + size
        )));
    }

    let mut root = tree::scan(source)?;
    let cs = g.cluster_size();
    let needed = root.clusters_needed(cs, true, label.is_some());
    if needed > u64::from(g.clusters) {
        let missing = (needed - u64::from(g.clusters)) * cs;
        let min = min_size_of(&root, label.is_some(), opts.sector_size)?;
        return Err(Error::fat(format!(
            "{} does not fit in a FAT32 filesystem of {size} bytes: {missing} bytes ({:.2} MiB) more are needed; make it at least {min} bytes ({} MiB)",
            source.display(),
            missing as f64 / MIB as f64,
            min >> 20
        )));
    }

    // Lay out: directories (root first, at cluster 2), then files.
    let mut next = 2u32;
    let mut chains: Vec<(u32, u32)> = Vec::new();
    place_dirs(&mut root, true, label.is_some(), cs, &mut next, &mut chains)?;
    let dir_end = next;
    place_files(&mut root, cs, &mut next, &mut chains);
    let used = next - 2;

    let stamp = UtcDateTime::dos(opts.mtime);
    let mut dirs = vec![0u8; (u64::from(dir_end - 2) * cs) as usize];
    render_dir(&root, 0, label.as_ref(), stamp, cs, &mut dirs);

    let mut fat: Vec<u8> = Vec::with_capacity((used as usize + 2) * 4);
    let mut entries = vec![0u32; used as usize + 2];
    entries[0] = FAT_MEDIA;
    entries[1] = FAT_EOC;
    for &(start, len) in &chains {
        for c in start..start + len - 1 {
            entries[c as usize] = c + 1;
        }
        entries[(start + len - 1) as usize] = FAT_EOC;
    }
    for e in entries {
        fat.extend_from_slice(&e.to_le_bytes());
    }

    let boot_label = label.unwrap_or(*b"NO NAME    ");
    let boot = geometry::boot_sector(
        &g,
        &geometry::BootFields {
            hidden_sectors,
            volume_id: opts.volume_id,
            label: &boot_label,
        },
    );
    let free = g.clusters - used;
    let next_free = if free > 0 { used + 2 } else { u32::MAX };
    let fsinfo = geometry::fsinfo_sector(&g, free, next_free);

    let image = Path::new("the output image");
    zero_range(out, offset, size).ctx("zero the FAT32 area of", image)?;
    let put = |buf: &[u8], at: u64| out.write_all_at(buf, offset + at).ctx("write", image);
    put(&dirs, g.cluster_offset(2))?;
    put(&fat, g.fat_offset(0))?;
    put(&fat, g.fat_offset(1))?;
    copy_files(&root, out, offset, &g)?;
    put(&fsinfo, geometry::FSINFO * ss)?;
    put(&fsinfo, (geometry::BACKUP_SECTOR + geometry::FSINFO) * ss)?;
    put(&boot, geometry::BACKUP_SECTOR * ss)?;
    // The boot sector last: an interrupted write does not look like a filesystem.
    put(&boot, 0)?;

    let (files, directories) = root.counts();
    Ok(FatReport {
        sector_size: g.sector_size,
        sectors_per_cluster: g.sectors_per_cluster,
        reserved_sectors: g.reserved_sectors,
        fat_sectors: g.fat_sectors,
        clusters: g.clusters,
        used_clusters: used,
        files,
        directories,
        file_bytes: root.file_bytes(),
    })
}

/// Whether a FAT32 filesystem of `size` bytes can be made with this sector
/// size: not too small, not too large, whole sectors.
pub fn check_fat32_size(size: u64, sector_size: u32) -> Result<()> {
    geometry::choose(size, sector_size).map(|_| ())
}

/// The smallest filesystem size in bytes (a multiple of 1 MiB) that holds
/// `source` as FAT32 with these options; never below the FAT32 minimum.
pub fn min_fat32_size(source: &Path, opts: &FatOptions) -> Result<u64> {
    geometry::check_sector_size(opts.sector_size)?;
    let label = label_bytes(&opts.label)?;
    let root = tree::scan(source)?;
    min_size_of(&root, label.is_some(), opts.sector_size)
}

fn min_size_of(root: &Dir, has_label: bool, sector_size: u32) -> Result<u64> {
    let ss = u64::from(sector_size);
    // A lower bound: the data at the smallest cluster size, plus the
    // reserved sectors; then grow a MiB at a time (the cluster size, and so
    // the slack, changes with the size, so there is no closed form).
    let data = root.clusters_needed(ss, true, has_label) * ss;
    let mut size = (data + 32 * ss)
        .max(geometry::min_size(sector_size))
        .next_multiple_of(MIB);
    let mut cache: Vec<(u64, u64)> = Vec::new();
    loop {
        let g = geometry::choose(size, sector_size)?;
        let cs = g.cluster_size();
        let needed = match cache.iter().find(|(c, _)| *c == cs) {
            Some(&(_, n)) => n,
            None => {
                let n = root.clusters_needed(cs, true, has_label);
                cache.push((cs, n));
                n
            }
        };
        if needed <= u64::from(g.clusters) {
            return Ok(size);
        }
        size += MIB;
    }
}

/// The longest FAT volume label.
pub const MAX_LABEL: usize = 11;
/// Printable ASCII characters a FAT volume label cannot hold.
pub const LABEL_FORBIDDEN: &str = "*?.,;:/\\|+=<>[]\"";

/// Whether `c` may stand in a FAT volume label.
pub fn label_char_ok(c: char) -> bool {
    (' '..='~').contains(&c) && !LABEL_FORBIDDEN.contains(c)
}

/// The label as stored (upper-case, space-padded), or None for no label.
fn label_bytes(label: &str) -> Result<Option<[u8; MAX_LABEL]>> {
    let trimmed = label.trim_end_matches(' ');
    if trimmed.is_empty() {
        return Ok(None);
    }
    let bad = |why: &str| {
        Err(Error::fat(format!(
            "FAT volume label {label:?} {why}: use at most {MAX_LABEL} printable ASCII characters other than {LABEL_FORBIDDEN}"
        )))
    };
    if trimmed.len() > MAX_LABEL {
        return bad(&format!("is longer than {MAX_LABEL} characters"));
    }
    if trimmed.starts_with(' ') {
        return bad("starts with a space");
    }
    if let Some(c) = trimmed.chars().find(|&c| !label_char_ok(c)) {
        return bad(&format!("contains {c:?}"));
    }
    let mut out = [b' '; MAX_LABEL];
    for (o, b) in out.iter_mut().zip(trimmed.bytes()) {
        *o = b.to_ascii_uppercase();
    }
    Ok(Some(out))
}

fn place_dirs(
    dir: &mut Dir,
    is_root: bool,
    has_label: bool,
    cs: u64,
    next: &mut u32,
    chains: &mut Vec<(u32, u32)>,
) -> Result<()> {
    let slots = dir.slots(is_root, has_label);
    if slots > MAX_DIR_SLOTS {
        return Err(Error::fat(format!(
            "the directory needs {slots} 32-byte entries, FAT allows {MAX_DIR_SLOTS}: split it or shorten its names"
        ))
        .with_path(&dir.path));
    }
    let n = (slots * 32).div_ceil(cs).max(1) as u32;
    dir.cluster = *next;
    chains.push((*next, n));
    *next += n;
    for e in &mut dir.entries {
        if let Kind::Dir(sub) = &mut e.kind {
            place_dirs(sub, false, false, cs, next, chains)?;
        }
    }
    Ok(())
}

fn place_files(dir: &mut Dir, cs: u64, next: &mut u32, chains: &mut Vec<(u32, u32)>) {
    for e in &mut dir.entries {
        match &mut e.kind {
            Kind::File { len, cluster } => {
                let n = len.div_ceil(cs) as u32;
                if n > 0 {
                    *cluster = *next;
                    chains.push((*next, n));
                    *next += n;
                }
            }
            Kind::Dir(sub) => place_files(sub, cs, next, chains),
        }
    }
}

fn short_entry(
    name: &[u8; 11],
    attr: u8,
    cluster: u32,
    size: u32,
    (date, time): (u16, u16),
) -> [u8; 32] {
    let mut e = [0u8; 32];
    e[..11].copy_from_slice(name);
    e[11] = attr;
    // 12: no lower-case flags; 13: creation time's 10 ms part, 0.
    e[14..16].copy_from_slice(&time.to_le_bytes());
    e[16..18].copy_from_slice(&date.to_le_bytes());
    e[18..20].copy_from_slice(&date.to_le_bytes()); // access date
    e[20..22].copy_from_slice(&((cluster >> 16) as u16).to_le_bytes());
    e[22..24].copy_from_slice(&time.to_le_bytes());
    e[24..26].copy_from_slice(&date.to_le_bytes());
    e[26..28].copy_from_slice(&(cluster as u16).to_le_bytes());
    e[28..32].copy_from_slice(&size.to_le_bytes());
    e
}

/// Write `dir`'s entries (and its subdirectories') into `buf`, which holds
/// the clusters from 2 on. `parent` is the parent's cluster, 0 for the root
/// (as `..` records it).
fn render_dir(
    dir: &Dir,
    parent: u32,
    label: Option<&[u8; 11]>,
    stamp: (u16, u16),
    cs: u64,
    buf: &mut [u8],
) {
    let is_root = dir.cluster == 2;
    let mut slots: Vec<[u8; 32]> = Vec::new();
    if is_root {
        if let Some(l) = label {
            slots.push(short_entry(l, ATTR_VOLUME_ID, 0, 0, stamp));
        }
    } else {
        slots.push(short_entry(
            b".          ",
            ATTR_DIRECTORY,
            dir.cluster,
            0,
            stamp,
        ));
        slots.push(short_entry(
            b"..         ",
            ATTR_DIRECTORY,
            parent,
            0,
            stamp,
        ));
    }
    for e in &dir.entries {
        if let Some(long) = &e.long {
            slots.extend(names::long_entries(long, &e.short));
        }
        slots.push(match &e.kind {
            Kind::File { len, cluster } => {
                short_entry(&e.short, ATTR_ARCHIVE, *cluster, *len as u32, stamp)
            }
            Kind::Dir(sub) => short_entry(&e.short, ATTR_DIRECTORY, sub.cluster, 0, stamp),
        });
    }
    let start = (u64::from(dir.cluster - 2) * cs) as usize;
    for (i, s) in slots.iter().enumerate() {
        buf[start + i * 32..start + i * 32 + 32].copy_from_slice(s);
    }
    // `..` of a first-level directory is 0, not the root's cluster 2.
    let me = if is_root { 0 } else { dir.cluster };
    for e in &dir.entries {
        if let Kind::Dir(sub) = &e.kind {
            render_dir(sub, me, None, stamp, cs, buf);
        }
    }
}

fn copy_files(dir: &Dir, out: &File, offset: u64, g: &geometry::Geometry) -> Result<()> {
    for e in &dir.entries {
        match &e.kind {
            Kind::File { len, cluster } => {
                if *len == 0 {
                    continue;
                }
                let src = File::open(&e.path).ctx("open", &e.path)?;
                let now = src.metadata().ctx("read metadata of", &e.path)?.len();
                if now != *len {
                    return Err(Error::fat(format!(
                        "changed size while the FAT32 filesystem was written ({len} then {now} bytes)"
                    ))
                    .with_path(&e.path));
                }
                crate::io::sparse::copy_range_sparse(
                    &src,
                    0,
                    out,
                    offset + g.cluster_offset(*cluster),
                    *len,
                    |_| {},
                )
                .ctx("copy", &e.path)?;
            }
            Kind::Dir(sub) => copy_files(sub, out, offset, g)?,
        }
    }
    Ok(())
}

/// Make `[offset, offset + len)` of `out` read as zeros: punch a hole
/// (Linux, keeping the file size), else write zeros over the range's data
/// extents only, so holes stay holes.
fn zero_range(out: &File, offset: u64, len: u64) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    if crate::io::fallocate::punch_hole(out, offset, len)? {
        return Ok(());
    }
    let zeros = vec![0u8; MIB as usize];
    for (start, elen) in crate::io::sparse::data_extents(out, offset, len)? {
        let mut done = 0;
        while done < elen {
            let n = (elen - done).min(zeros.len() as u64) as usize;
            out.write_all_at(&zeros[..n], start + done)?;
            done += n as u64;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(label_bytes("").unwrap(), None);
        assert_eq!(label_bytes("   ").unwrap(), None);
        assert_eq!(label_bytes("esp").unwrap(), Some(*b"ESP        "));
        assert_eq!(label_bytes("My Disk 1").unwrap(), Some(*b"MY DISK 1  "));
        assert!(label_bytes("TWELVE CHARS").is_err());
        assert!(label_bytes("A.B").is_err());
        assert!(label_bytes(" AB").is_err());
        assert!(label_bytes("ÑU").is_err());
    }

    #[test]
    fn short_entry_fields() {
        let e = short_entry(
            b"A       TXT",
            ATTR_ARCHIVE,
            0x0012_3456,
            7,
            (0x5678, 0x9ABC),
        );
        assert_eq!(&e[20..22], &[0x12, 0x00]);
        assert_eq!(&e[26..28], &[0x56, 0x34]);
        assert_eq!(&e[28..32], &[7, 0, 0, 0]);
        assert_eq!(e[13], 0);
        assert_eq!(&e[16..18], &[0x78, 0x56]);
        assert_eq!(&e[22..24], &[0xBC, 0x9A]);
    }
}
