//! FAT32 geometry (cluster size, reserved sectors, FAT size, cluster count)
//! and the boot sector and FSInfo sector that describe it.

use crate::error::{Error, Result};
use crate::units::MIB;

/// FAT32 needs at least this many clusters; with fewer, every implementation
/// takes the volume for FAT16 whatever its boot sector says.
pub const MIN_CLUSTERS: u64 = 65_525;
/// The most clusters FAT32 can number (0x0FFFFFF6 - 2, as fsck.fat checks).
pub const MAX_CLUSTERS: u64 = 0x0FFF_FFF4;
/// Reserved sectors before the first FAT, as mkfs.fat uses for FAT32 (more
/// when the data area is aligned to a cluster).
const MIN_RESERVED: u64 = 32;
const FSINFO_SECTOR: u16 = 1;
const BACKUP_BOOT_SECTOR: u16 = 6;
/// Chosen so that sizes in whole MiB are whole "cylinders", which mtools checks.
const SECTORS_PER_TRACK: u16 = 32;
const HEADS: u16 = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub sector_size: u32,
    pub sectors_per_cluster: u32,
    pub reserved_sectors: u32,
    pub fat_sectors: u32,
    pub total_sectors: u32,
    pub clusters: u32,
}

impl Geometry {
    pub fn cluster_size(&self) -> u64 {
        u64::from(self.sector_size) * u64::from(self.sectors_per_cluster)
    }

    /// Byte offset (in the filesystem) of the first FAT.
    pub fn fat_offset(&self, copy: u32) -> u64 {
        u64::from(self.sector_size)
            * (u64::from(self.reserved_sectors) + u64::from(copy) * u64::from(self.fat_sectors))
    }

    /// Byte offset (in the filesystem) of cluster `n` (n >= 2).
    pub fn cluster_offset(&self, n: u32) -> u64 {
        self.fat_offset(2) + u64::from(n - 2) * self.cluster_size()
    }
}

pub fn check_sector_size(sector_size: u32) -> Result<()> {
    if sector_size == 512 || sector_size == 4096 {
        Ok(())
    } else {
        Err(Error::fat(format!(
            "FAT32 sector size {sector_size} is not supported: use 512 or 4096"
        )))
    }
}

/// mkfs.fat's default FAT32 cluster size for a filesystem of `size` bytes
/// (measured with dosfstools 4.2 at 512-byte sectors: the boundaries are
/// inclusive).
pub fn default_cluster_size(size: u64) -> u64 {
    match size {
        s if s <= 260 * MIB => 512,
        s if s <= 8 << 30 => 4096,
        s if s <= 16 << 30 => 8192,
        s if s <= 32 << 30 => 16384,
        _ => 32768,
    }
}

fn fat_sectors_for(clusters: u64, sector_size: u64) -> u64 {
    ((clusters + 2) * 4).div_ceil(sector_size)
}

/// The layout of `total` sectors with the given cluster size: the smallest
/// FAT that covers the clusters it leaves, the data area aligned to the
/// cluster size (from the start of the filesystem, like mkfs.fat).
/// The cluster count is not checked against FAT32's limits here.
fn layout(total: u64, sector_size: u64, cluster_size: u64) -> Option<Geometry> {
    let spc = cluster_size / sector_size;
    let max_clusters = total.checked_sub(MIN_RESERVED)? / spc;
    let mut fat = fat_sectors_for(max_clusters, sector_size);
    let mut best = None;
    loop {
        let reserved = (MIN_RESERVED + 2 * fat).next_multiple_of(spc) - 2 * fat;
        let Some(data) = total.checked_sub(reserved + 2 * fat) else {
            break;
        };
        let clusters = data / spc;
        if fat_sectors_for(clusters, sector_size) > fat {
            break;
        }
        best = Some(Geometry {
            sector_size: sector_size as u32,
            sectors_per_cluster: spc as u32,
            reserved_sectors: reserved as u32,
            fat_sectors: fat as u32,
            total_sectors: total.try_into().ok()?,
            clusters: clusters.min(u64::from(u32::MAX)) as u32,
        });
        if fat == 1 {
            break;
        }
        fat -= 1;
    }
    best
}

/// The smallest FAT32 filesystem, in bytes, for this sector size.
pub fn min_size(sector_size: u32) -> u64 {
    let ss = u64::from(sector_size);
    let mut total = MIN_CLUSTERS + MIN_RESERVED + 2 * fat_sectors_for(MIN_CLUSTERS, ss) - 2;
    while layout(total, ss, ss).map_or(true, |g| u64::from(g.clusters) < MIN_CLUSTERS) {
        total += 1;
    }
    total * ss
}

pub fn too_small(size: u64, sector_size: u32) -> Error {
    let min = min_size(sector_size);
    Error::fat(format!(
        "a FAT32 filesystem of {size} bytes ({:.2} MiB) is too small: FAT32 needs at least {min} bytes ({:.2} MiB) with {sector_size}-byte sectors; make the partition larger",
        size as f64 / MIB as f64,
        min as f64 / MIB as f64,
    ))
}

/// The geometry of a FAT32 filesystem of `size` bytes: mkfs.fat's default
/// cluster size (never below a sector), halved toward the sector size while
/// there are too few clusters for FAT32.
pub fn choose(size: u64, sector_size: u32) -> Result<Geometry> {
    check_sector_size(sector_size)?;
    let ss = u64::from(sector_size);
    if size % ss != 0 {
        return Err(Error::fat(format!(
            "FAT32 filesystem size {size} is not a multiple of the {sector_size}-byte sector size"
        )));
    }
    let total = size / ss;
    if total > u64::from(u32::MAX) {
        return Err(Error::fat(format!(
            "a FAT32 filesystem of {size} bytes is too large: at most {} bytes with {sector_size}-byte sectors",
            u64::from(u32::MAX) * ss
        )));
    }
    let mut cluster = default_cluster_size(size).max(ss);
    loop {
        if let Some(g) = layout(total, ss, cluster) {
            let n = u64::from(g.clusters);
            if n > MAX_CLUSTERS {
                return Err(Error::fat(format!(
                    "a FAT32 filesystem of {size} bytes is too large: it would have {n} clusters of {cluster} bytes, FAT32 numbers at most {MAX_CLUSTERS}"
                )));
            }
            if n >= MIN_CLUSTERS {
                return Ok(g);
            }
        }
        if cluster == ss {
            return Err(too_small(size, sector_size));
        }
        cluster /= 2;
    }
}

/// Fields of the boot sector that are not geometry.
pub struct BootFields<'a> {
    pub hidden_sectors: u32,
    pub volume_id: u32,
    /// 11 bytes, space-padded ("NO NAME    " when there is no label).
    pub label: &'a [u8; 11],
}

/// The boot sector (sector 0, copied to sector 6), one sector long.
pub fn boot_sector(g: &Geometry, f: &BootFields) -> Vec<u8> {
    let mut b = vec![0u8; g.sector_size as usize];
    // Jump over the BPB to a halt loop: this volume is not bootable.
    b[0..3].copy_from_slice(&[0xEB, 0x58, 0x90]);
    b[3..11].copy_from_slice(b"MSWIN4.1");
    b[11..13].copy_from_slice(&(g.sector_size as u16).to_le_bytes());
    b[13] = g.sectors_per_cluster as u8;
    b[14..16].copy_from_slice(&(g.reserved_sectors as u16).to_le_bytes());
    b[16] = 2; // FATs
               // 17..19 root entries, 19..21 16-bit total sectors: 0 on FAT32.
    b[21] = 0xF8; // fixed disk
                  // 22..24 16-bit FAT size: 0 on FAT32.
    b[24..26].copy_from_slice(&SECTORS_PER_TRACK.to_le_bytes());
    b[26..28].copy_from_slice(&HEADS.to_le_bytes());
    b[28..32].copy_from_slice(&f.hidden_sectors.to_le_bytes());
    b[32..36].copy_from_slice(&g.total_sectors.to_le_bytes());
    b[36..40].copy_from_slice(&g.fat_sectors.to_le_bytes());
    // 40..42 flags: 0 = FATs mirrored; 42..44 version 0.0.
    b[44..48].copy_from_slice(&2u32.to_le_bytes()); // root directory cluster
    b[48..50].copy_from_slice(&FSINFO_SECTOR.to_le_bytes());
    b[50..52].copy_from_slice(&BACKUP_BOOT_SECTOR.to_le_bytes());
    b[64] = 0x80; // drive number
    b[66] = 0x29; // extended boot signature: id, label and type follow
    b[67..71].copy_from_slice(&f.volume_id.to_le_bytes());
    b[71..82].copy_from_slice(f.label);
    b[82..90].copy_from_slice(b"FAT32   ");
    b[90..94].copy_from_slice(&[0xFA, 0xF4, 0xEB, 0xFD]); // cli; hlt; jmp hlt
    b[510] = 0x55;
    b[511] = 0xAA;
    b
}

/// The FSInfo sector (sector 1, copied to sector 7).
pub fn fsinfo_sector(g: &Geometry, free: u32, next_free: u32) -> Vec<u8> {
    let mut b = vec![0u8; g.sector_size as usize];
    b[0..4].copy_from_slice(&0x4161_5252u32.to_le_bytes());
    b[484..488].copy_from_slice(&0x6141_7272u32.to_le_bytes());
    b[488..492].copy_from_slice(&free.to_le_bytes());
    b[492..496].copy_from_slice(&next_free.to_le_bytes());
    b[508..512].copy_from_slice(&0xAA55_0000u32.to_le_bytes());
    b
}

pub const BACKUP_SECTOR: u64 = BACKUP_BOOT_SECTOR as u64;
pub const FSINFO: u64 = FSINFO_SECTOR as u64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimum_sizes() {
        // 65,525 clusters of one sector + 32 reserved + 2 FATs.
        assert_eq!(min_size(512), (65_525 + 32 + 2 * 512) * 512);
        assert_eq!(min_size(4096), (65_525 + 32 + 2 * 64) * 4096);
        let g = choose(min_size(512), 512).unwrap();
        assert_eq!(u64::from(g.clusters), MIN_CLUSTERS);
        assert!(choose(min_size(512) - 512, 512).is_err());
        assert!(choose(min_size(4096) - 4096, 4096).is_err());
        let msg = choose(32 * MIB, 512).unwrap_err().to_string();
        assert!(msg.contains("34089472 bytes (32.51 MiB)"), "{msg}");
    }

    /// The cluster sizes of `mkfs.fat -F 32` (dosfstools 4.2, 512-byte
    /// sectors) on files of these sizes, and at least as many clusters at
    /// its total (mkfs.fat trims the total to whole "tracks", and sometimes
    /// keeps a FAT sector more than needed).
    #[test]
    fn matches_mkfs_fat() {
        let cases = [
            (34 * MIB, 69_632, 512, 32, 536, 68_528),
            (260 * MIB, 532_476, 512, 32, 4096, 524_252),
            (261 * MIB, 534_492, 4096, 32, 528, 66_675),
            (8192 * MIB, 16_777_215, 4096, 32, 16_360, 2_093_057),
            (8193 * MIB, 16_779_231, 8192, 32, 8192, 1_047_675),
            (32769 * MIB, 67_110_876, 32768, 64, 8192, 1_048_350),
        ];
        for (size, total, cluster, reserved, fat, clusters) in cases {
            assert_eq!(default_cluster_size(size), cluster, "{size}");
            assert_eq!(choose(size, 512).unwrap().cluster_size(), cluster);
            let g = layout(total, 512, cluster).unwrap();
            let spc = cluster / 512;
            assert!(g.clusters >= clusters, "{size}: {g:?}");
            assert!(
                g.fat_sectors <= fat && g.reserved_sectors >= 32,
                "{size}: {g:?}"
            );
            assert_eq!(u64::from(g.reserved_sectors + 2 * g.fat_sectors) % spc, 0);
            assert!(fat_sectors_for(g.clusters.into(), 512) <= g.fat_sectors.into());
            if g.fat_sectors == fat {
                assert_eq!((g.reserved_sectors, g.clusters), (reserved, clusters));
            }
        }
    }

    #[test]
    fn cluster_sizes() {
        // Below 260 MiB the default is 512 bytes, raised to the sector.
        assert_eq!(choose(257 * MIB, 4096).unwrap().cluster_size(), 4096);
        assert_eq!(choose(100 * MIB, 512).unwrap().cluster_size(), 512);
        // Just above 8 GiB the default 8 KiB clusters stay.
        assert_eq!(choose(9 * 1024 * MIB, 4096).unwrap().cluster_size(), 8192);
        assert!(choose(100 * MIB, 1024).is_err());
    }
}
