//! Grow a btrfs filesystem made by `mkfs.btrfs --rootdir --shrink` to the
//! size of its partition, offline.
//!
//! Why: when its target is a regular file smaller than its own (very
//! generous: 16 KiB of metadata per inode) estimate for the tree,
//! mkfs.btrfs silently enlarges the file and makes the filesystem that
//! large, which would not fit the partition. So mkimage lets mkfs.btrfs
//! shrink the filesystem to its minimum and then does what
//! `btrfs filesystem resize` does for a single device: set the device size
//! in the superblock (`total_bytes`, `dev_item.total_bytes`, and its mirrors)
//! and in the DEV_ITEM of the chunk tree, and recompute their crc32c
//! checksums. Free space on a device is derived from its DEV_EXTENTs, so
//! nothing else changes.

use crate::error::{Error, Result};
use std::fs::File;
use std::os::unix::fs::FileExt;

const SB_OFFSET: u64 = 0x10000;
const SB_SIZE: usize = 4096;
const MIRRORS: [u64; 2] = [0x400_0000, 0x40_0000_0000];
const DEV_ITEMS_OBJECTID: u64 = 1;
const DEV_ITEM_KEY: u8 = 216;

fn crc32c(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let t = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0x82F6_3B78
                } else {
                    c >> 1
                };
            }
            *e = c;
        }
        t
    });
    !data.iter().fold(!0u32, |c, &b| {
        t[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes(b[o..o + 2].try_into().unwrap())
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

fn bad(msg: impl Into<String>) -> Error {
    Error::tool(
        "mkfs.btrfs",
        format!("cannot grow the filesystem it made: {}", msg.into()),
    )
}

/// Current size of the filesystem (superblock `total_bytes`).
pub fn fs_size(file: &File) -> Result<u64> {
    let mut sb = [0u8; SB_SIZE];
    file.read_exact_at(&mut sb, SB_OFFSET)
        .map_err(|e| bad(format!("reading the superblock: {e}")))?;
    if &sb[64..72] != b"_BHRfS_M" {
        return Err(bad("no btrfs superblock"));
    }
    Ok(u64_at(&sb, 112))
}

/// Set the device and filesystem size to `new_size` (a multiple of the
/// sector size, at least the current size).
pub fn grow(file: &File, new_size: u64) -> Result<()> {
    let io = |e: std::io::Error| bad(e.to_string());
    let mut sb = vec![0u8; SB_SIZE];
    file.read_exact_at(&mut sb, SB_OFFSET).map_err(io)?;
    if &sb[64..72] != b"_BHRfS_M" {
        return Err(bad("no btrfs superblock"));
    }
    if u16_at(&sb, 196) != 0 {
        return Err(bad("checksum type is not crc32c"));
    }
    let old = u64_at(&sb, 112);
    let sectorsize = u64::from(u32_at(&sb, 144));
    let nodesize = u32_at(&sb, 148) as usize;
    if new_size < old || new_size % sectorsize != 0 {
        return Err(bad(format!(
            "new size {new_size} is below {old} or not a multiple of {sectorsize}"
        )));
    }
    if u64_at(&sb, 136) != 1 {
        return Err(bad("more than one device"));
    }
    let devid = u64_at(&sb, 201);
    // The chunk tree lives in SYSTEM chunks, all described in
    // sys_chunk_array: map a logical address to its physical copies.
    let array_size = u32_at(&sb, 160) as usize;
    let array = sb[811..811 + array_size].to_vec();
    let map = |logical_addr: u64| -> Vec<u64> {
        let mut pos = 0;
        let mut physical = Vec::new();
        while pos + 17 + 48 <= array.len() {
            let logical = u64_at(&array, pos + 9);
            let chunk = &array[pos + 17..];
            let length = u64_at(chunk, 0);
            let num_stripes = u16_at(chunk, 44) as usize;
            if (logical..logical + length).contains(&logical_addr) {
                for s in 0..num_stripes {
                    physical.push(u64_at(chunk, 48 + 32 * s + 8) + (logical_addr - logical));
                }
            }
            pos += 17 + 48 + 32 * num_stripes;
        }
        physical
    };
    // DEV_ITEMs have the smallest key objectid (1) in the chunk tree: they
    // are in the leftmost leaf. Walk down the first pointer of each node.
    let mut logical = u64_at(&sb, 88);
    let mut node = vec![0u8; nodesize];
    loop {
        let phys = *map(logical).first().ok_or_else(|| {
            bad(format!(
                "chunk tree block {logical} is not in sys_chunk_array"
            ))
        })?;
        file.read_exact_at(&mut node, phys).map_err(io)?;
        if u64_at(&node, 48) != logical {
            return Err(bad(format!("unexpected chunk tree block at {phys}")));
        }
        if node[100] == 0 {
            break;
        }
        logical = u64_at(&node, 101 + 17);
    }
    let nritems = u32_at(&node, 96) as usize;
    let mut found = false;
    for i in 0..nritems {
        let it = 101 + 25 * i;
        if u64_at(&node, it) == DEV_ITEMS_OBJECTID
            && node[it + 8] == DEV_ITEM_KEY
            && u64_at(&node, it + 9) == devid
        {
            let data = 101 + u32_at(&node, it + 17) as usize;
            node[data + 8..data + 16].copy_from_slice(&new_size.to_le_bytes());
            found = true;
        }
    }
    if !found {
        return Err(bad("no DEV_ITEM in the chunk tree"));
    }
    let csum = crc32c(&node[32..]);
    node[..32].fill(0);
    node[..4].copy_from_slice(&csum.to_le_bytes());
    for phys in map(logical) {
        file.write_all_at(&node, phys).map_err(io)?;
    }
    sb[112..120].copy_from_slice(&new_size.to_le_bytes());
    sb[209..217].copy_from_slice(&new_size.to_le_bytes());
    // The four backup roots (168 bytes each from 0xb2b) repeat total_bytes.
    for b in 0..4 {
        let at = 0xb2b + 168 * b + 96;
        if u64_at(&sb, at) == old {
            sb[at..at + 8].copy_from_slice(&new_size.to_le_bytes());
        }
    }
    file.set_len(new_size).map_err(io)?;
    for at in std::iter::once(SB_OFFSET).chain(MIRRORS) {
        if at + SB_SIZE as u64 > new_size {
            continue;
        }
        let mut copy = sb.clone();
        copy[48..56].copy_from_slice(&at.to_le_bytes());
        let csum = crc32c(&copy[32..]);
        copy[..32].fill(0);
        copy[..4].copy_from_slice(&csum.to_le_bytes());
        file.write_all_at(&copy, at).map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc32c_check_value() {
        assert_eq!(super::crc32c(b"123456789"), 0xE306_9283);
    }
}
