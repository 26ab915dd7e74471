//! Reading and validating GPT and MBR partition tables.

use super::types::{alias_for, PartType};
use super::{Partition, PartitionTable, TableKind};
use crate::error::{Error, IoContext, Result};
use crate::ids::Guid;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

const GPT_SIGNATURE: &[u8; 8] = b"EFI PART";
const SECTOR_SIZES: [u32; 2] = [512, 4096];

/// Read the partition table, detecting the sector size.
pub fn read_table(path: &Path, file: &File) -> Result<PartitionTable> {
    read_table_with_sector_size(path, file, None)
}

/// Read the partition table; `sector_size` forces 512 or 4096 instead of detecting.
pub fn read_table_with_sector_size(
    path: &Path,
    file: &File,
    sector_size: Option<u32>,
) -> Result<PartitionTable> {
    if let Some(ss) = sector_size {
        if !SECTOR_SIZES.contains(&ss) {
            return Err(Error::invalid(format!(
                "sector size {ss} is not supported: use 512 or 4096"
            )));
        }
    }
    let image_size = image_len(path, file)?;
    if image_size < 512 {
        return Err(Error::table(
            path,
            format!("the image is only {image_size} bytes: too small to hold a partition table (truncated?)"),
        ));
    }
    let head = read_at(path, file, 0, image_size.min(8192) as usize)?;
    let mbr_signed = head[510] == 0x55 && head[511] == 0xAA;
    let mbr_entries = if mbr_signed {
        mbr_entries(&head)
    } else {
        Vec::new()
    };
    let protective = mbr_entries.iter().any(|e| e.kind == 0xEE);

    let candidates: Vec<u32> = match sector_size {
        Some(ss) => vec![ss],
        None => SECTOR_SIZES.to_vec(),
    };
    let reader = GptReader {
        path,
        file,
        image_size,
    };
    // A primary header (signature present) decides the sector size.
    for &ss in &candidates {
        if head.len() >= ss as usize + 8 && &head[ss as usize..ss as usize + 8] == GPT_SIGNATURE {
            return reader.read_with_fallback(ss, Some(1));
        }
    }
    if protective {
        // Primary header gone: look for a backup at the end of the disk.
        let mut last_err = None;
        for &ss in &candidates {
            match reader.read_with_fallback(ss, None) {
                Ok(t) => return Ok(t),
                Err(e) => last_err = Some(e),
            }
        }
        return Err(last_err.expect("at least one candidate"));
    }
    if mbr_signed && !mbr_entries.is_empty() {
        return read_mbr(path, file, image_size, &head, mbr_entries, sector_size);
    }
    Err(Error::table(
        path,
        "no partition table found: no GPT header at byte 512 or 4096 and no MBR boot signature; is this a whole-disk image?",
    ))
}

fn image_len(path: &Path, file: &File) -> Result<u64> {
    use std::io::Seek;
    let mut f = file;
    f.seek(std::io::SeekFrom::End(0)).ctx("measure", path)
}

fn read_at(path: &Path, file: &File, offset: u64, len: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, offset).ctx("read", path)?;
    Ok(buf)
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

struct GptHeader {
    my_lba: u64,
    alternate_lba: u64,
    first_usable: u64,
    last_usable: u64,
    disk_guid: Guid,
    entries_lba: u64,
    num_entries: u32,
    entry_size: u32,
    entries_crc: u32,
}

struct GptReader<'a> {
    path: &'a Path,
    file: &'a File,
    image_size: u64,
}

impl GptReader<'_> {
    /// Read the GPT at sector size `ss`. With `primary_lba = Some(1)` the
    /// primary is tried first; on damage, or with `None`, the backup header is
    /// used and the fallback reported as a warning.
    fn read_with_fallback(&self, ss: u32, primary_lba: Option<u64>) -> Result<PartitionTable> {
        let primary = primary_lba.map(|lba| {
            self.header(ss, lba)
                .and_then(|h| self.entries(ss, &h).map(|e| (h, e)))
        });
        let primary_err = match primary {
            Some(Ok((h, entries))) => {
                self.check_not_truncated(ss, &h)?;
                return self.build(ss, &h, &entries, Vec::new());
            }
            Some(Err(e)) => e,
            None => "the primary GPT header at LBA 1 is missing".to_string(),
        };
        let total = self.image_size / u64::from(ss);
        if total < 2 {
            return Err(Error::table(
                self.path,
                format!("{primary_err}; the image is too small for a backup GPT header"),
            ));
        }
        let backup_lba = total - 1;
        match self
            .header(ss, backup_lba)
            .and_then(|h| self.entries(ss, &h).map(|e| (h, e)))
        {
            Ok((h, entries)) => {
                let warning = format!(
                    "{}: {primary_err}; using the backup GPT header at LBA {backup_lba} (repair the image, e.g. with gdisk's recovery menu)",
                    self.path.display()
                );
                self.build(ss, &h, &entries, vec![warning])
            }
            Err(backup_err) => Err(Error::table(
                self.path,
                format!(
                    "{primary_err}, and the backup GPT header at LBA {backup_lba} is unusable too ({backup_err}); the image is damaged or truncated"
                ),
            )),
        }
    }

    fn header(&self, ss: u32, lba: u64) -> Result<GptHeader, String> {
        let where_ = if lba == 1 { "primary" } else { "backup" };
        let offset = lba.checked_mul(u64::from(ss));
        if offset
            .and_then(|o| o.checked_add(u64::from(ss)))
            .map_or(true, |end| end > self.image_size)
        {
            return Err(format!(
                "the {where_} GPT header at LBA {lba} lies past the end of the image"
            ));
        }
        let offset = offset.unwrap_or_default();
        let b = read_at(self.path, self.file, offset, ss as usize).map_err(|e| e.to_string())?;
        if &b[0..8] != GPT_SIGNATURE {
            return Err(format!("no {where_} GPT header at LBA {lba}"));
        }
        let header_size = le32(&b, 12);
        if !(92..=ss).contains(&header_size) {
            return Err(format!(
                "the {where_} GPT header at LBA {lba} has an invalid size {header_size}"
            ));
        }
        let stored_crc = le32(&b, 16);
        let mut h = b[..header_size as usize].to_vec();
        h[16..20].fill(0);
        if crc32fast::hash(&h) != stored_crc {
            return Err(format!(
                "the {where_} GPT header at LBA {lba} fails its CRC-32 check"
            ));
        }
        let hdr = GptHeader {
            my_lba: le64(&b, 24),
            alternate_lba: le64(&b, 32),
            first_usable: le64(&b, 40),
            last_usable: le64(&b, 48),
            disk_guid: Guid::from_gpt_bytes(b[56..72].try_into().unwrap()),
            entries_lba: le64(&b, 72),
            num_entries: le32(&b, 80),
            entry_size: le32(&b, 84),
            entries_crc: le32(&b, 88),
        };
        if hdr.my_lba != lba {
            return Err(format!(
                "the {where_} GPT header at LBA {lba} says it is at LBA {}",
                hdr.my_lba
            ));
        }
        if hdr.entry_size < 128
            || hdr.entry_size % 8 != 0
            || hdr.entry_size > 4096
            || hdr.num_entries > 4096
        {
            return Err(format!(
                "the {where_} GPT header has an implausible entry array ({} entries of {} bytes)",
                hdr.num_entries, hdr.entry_size
            ));
        }
        if hdr.first_usable > hdr.last_usable.saturating_add(1) {
            return Err(format!(
                "the {where_} GPT header's usable area is empty or reversed"
            ));
        }
        // Primary and backup alike: the usable area must lie inside the image
        // (the primary is also checked for truncation against its backup's
        // position, see check_not_truncated).
        let usable_end = hdr
            .last_usable
            .checked_add(1)
            .and_then(|n| n.checked_mul(u64::from(ss)));
        if usable_end.map_or(true, |end| end > self.image_size) {
            return Err(format!(
                "the {where_} GPT header's usable area ends at LBA {}, past the end of the image ({} bytes)",
                hdr.last_usable, self.image_size
            ));
        }
        Ok(hdr)
    }

    fn entries(&self, ss: u32, h: &GptHeader) -> Result<Vec<u8>, String> {
        let len = u64::from(h.num_entries) * u64::from(h.entry_size);
        let offset = h.entries_lba.saturating_mul(u64::from(ss));
        if offset
            .checked_add(len)
            .map_or(true, |end| end > self.image_size)
        {
            return Err(format!(
                "the GPT entry array at LBA {} runs past the end of the image (truncated?)",
                h.entries_lba
            ));
        }
        let b = read_at(self.path, self.file, offset, len as usize).map_err(|e| e.to_string())?;
        if crc32fast::hash(&b) != h.entries_crc {
            return Err(format!(
                "the GPT partition entry array at LBA {} fails its CRC-32 check",
                h.entries_lba
            ));
        }
        Ok(b)
    }

    fn check_not_truncated(&self, ss: u32, h: &GptHeader) -> Result<()> {
        let disk_end = h
            .alternate_lba
            .max(h.last_usable)
            .saturating_add(1)
            .saturating_mul(u64::from(ss));
        if disk_end > self.image_size {
            return Err(Error::table(
                self.path,
                format!(
                    "the image is truncated: its GPT describes a disk of {disk_end} bytes but the file has {} bytes",
                    self.image_size
                ),
            ));
        }
        Ok(())
    }

    fn build(
        &self,
        ss: u32,
        h: &GptHeader,
        entries: &[u8],
        warnings: Vec<String>,
    ) -> Result<PartitionTable> {
        let mut parts = Vec::new();
        for (i, e) in entries.chunks(h.entry_size as usize).enumerate() {
            let type_guid = Guid::from_gpt_bytes(e[0..16].try_into().unwrap());
            if type_guid == Guid::ZERO {
                continue;
            }
            let units: Vec<u16> = e[56..128]
                .chunks(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .take_while(|&u| u != 0)
                .collect();
            let part_type = PartType::Gpt(type_guid);
            parts.push(Partition {
                index: i as u32 + 1,
                name: String::from_utf16_lossy(&units),
                type_id: type_guid.to_string(),
                type_alias: alias_for(&part_type),
                unique_guid: Some(Guid::from_gpt_bytes(e[16..32].try_into().unwrap())),
                first_lba: le64(e, 32),
                last_lba: le64(e, 40),
                offset: 0,
                size: 0,
                part_type,
            });
        }
        for p in &parts {
            if p.first_lba < h.first_usable || p.last_lba > h.last_usable {
                return Err(Error::table(
                    self.path,
                    format!(
                        "partition {} lies outside the GPT's usable area (LBA {}..{} is not within {}..{})",
                        p.index, p.first_lba, p.last_lba, h.first_usable, h.last_usable
                    ),
                ));
            }
        }
        let parts = finish_partitions(self.path, parts, ss, self.image_size)?;
        Ok(PartitionTable {
            table: TableKind::Gpt,
            sector_size: ss,
            image_size: self.image_size,
            disk_guid: Some(h.disk_guid),
            disk_signature: None,
            partitions: parts,
            warnings,
        })
    }
}

/// Compute byte ranges and check ranges, bounds and overlaps (shared by GPT and MBR).
fn finish_partitions(
    path: &Path,
    mut parts: Vec<Partition>,
    ss: u32,
    image_size: u64,
) -> Result<Vec<Partition>> {
    let ss64 = u64::from(ss);
    for p in &mut parts {
        if p.last_lba < p.first_lba {
            return Err(Error::table(
                path,
                format!(
                    "its last LBA {} is before its first LBA {}",
                    p.last_lba, p.first_lba
                ),
            )
            .at(format!("partition {}", p.index)));
        }
        // Checked: LBAs come from the image, and a wrapped product would
        // point into another partition.
        let overflow = |field: &str| {
            Error::table(
                path,
                format!(
                    "its {field} does not fit in 64 bits (first LBA {}, last LBA {}): the table is damaged",
                    p.first_lba, p.last_lba
                ),
            )
            .at(format!("partition {}", p.index))
        };
        p.offset = p
            .first_lba
            .checked_mul(ss64)
            .ok_or_else(|| overflow("byte offset"))?;
        p.size = (p.last_lba - p.first_lba)
            .checked_add(1)
            .and_then(|n| n.checked_mul(ss64))
            .ok_or_else(|| overflow("byte size"))?;
        let end = p
            .offset
            .checked_add(p.size)
            .ok_or_else(|| overflow("end byte"))?;
        if end > image_size {
            return Err(Error::table(
                path,
                format!(
                    "partition {} ends at byte {end}, past the end of the image ({image_size} bytes): the image is truncated or its table is wrong",
                    p.index,
                ),
            ));
        }
    }
    // On byte ranges: what is read is bytes.
    let mut by_start: Vec<&Partition> = parts.iter().collect();
    by_start.sort_by_key(|p| p.offset);
    for w in by_start.windows(2) {
        if w[1].offset < w[0].offset + w[0].size {
            return Err(Error::table(
                path,
                format!(
                    "partitions {} (LBA {}..{}) and {} (LBA {}..{}) overlap",
                    w[0].index,
                    w[0].first_lba,
                    w[0].last_lba,
                    w[1].index,
                    w[1].first_lba,
                    w[1].last_lba
                ),
            ));
        }
    }
    Ok(parts)
}

struct MbrEntry {
    slot: usize,
    kind: u8,
    start: u32,
    count: u32,
}

fn mbr_entries(head: &[u8]) -> Vec<MbrEntry> {
    (0..4)
        .map(|i| {
            let e = &head[446 + 16 * i..446 + 16 * (i + 1)];
            MbrEntry {
                slot: i,
                kind: e[4],
                start: le32(e, 8),
                count: le32(e, 12),
            }
        })
        .filter(|e| e.kind != 0 && e.count != 0)
        .collect()
}

fn read_mbr(
    path: &Path,
    file: &File,
    image_size: u64,
    head: &[u8],
    entries: Vec<MbrEntry>,
    forced: Option<u32>,
) -> Result<PartitionTable> {
    let ss = match forced {
        Some(ss) => ss,
        None => detect_mbr_sector_size(file, image_size, &entries),
    };
    let parts = entries
        .iter()
        .map(|e| {
            let part_type = PartType::Mbr(e.kind);
            Partition {
                index: e.slot as u32 + 1,
                name: String::new(),
                type_id: part_type.id_string(),
                type_alias: alias_for(&part_type),
                unique_guid: None,
                first_lba: u64::from(e.start),
                last_lba: u64::from(e.start) + u64::from(e.count) - 1,
                offset: 0,
                size: 0,
                part_type,
            }
        })
        .collect();
    let parts = finish_partitions(path, parts, ss, image_size)?;
    Ok(PartitionTable {
        table: TableKind::Mbr,
        sector_size: ss,
        image_size,
        disk_guid: None,
        disk_signature: Some(format!("0x{:08x}", le32(head, 440))),
        partitions: parts,
        warnings: Vec::new(),
    })
}

/// An MBR does not record its sector size. Prefer 512 unless only 4096
/// places every partition inside the image with a filesystem we recognise.
fn detect_mbr_sector_size(file: &File, image_size: u64, entries: &[MbrEntry]) -> u32 {
    let score = |ss: u64| -> Option<usize> {
        let mut found = 0;
        for e in entries {
            let start = u64::from(e.start) * ss;
            if start + u64::from(e.count) * ss > image_size {
                return None;
            }
            if looks_like_filesystem(file, start) {
                found += 1;
            }
        }
        Some(found)
    };
    match (score(512), score(4096)) {
        (Some(a), Some(b)) if b > a => 4096,
        (None, Some(_)) => 4096,
        _ => 512,
    }
}

fn looks_like_filesystem(file: &File, start: u64) -> bool {
    let mut b = [0u8; 512];
    let mut sb = [0u8; 2];
    let mut btrfs = [0u8; 8];
    let fat = file.read_exact_at(&mut b, start).is_ok()
        && b[510] == 0x55
        && b[511] == 0xAA
        && (b[0] == 0xEB || b[0] == 0xE9);
    let ext = file.read_exact_at(&mut sb, start + 1024 + 56).is_ok() && sb == [0x53, 0xEF];
    let bt = file.read_exact_at(&mut btrfs, start + 0x10040).is_ok() && &btrfs == b"_BHRfS_M";
    fat || ext || bt
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(index: u32, first_lba: u64, last_lba: u64) -> Partition {
        let part_type = PartType::Mbr(0x83);
        Partition {
            index,
            name: String::new(),
            type_id: part_type.id_string(),
            type_alias: None,
            unique_guid: None,
            first_lba,
            last_lba,
            offset: 0,
            size: 0,
            part_type,
        }
    }

    /// LBA 2^55 at 512-byte sectors wrapped to byte 0 + 1 MiB: inside the
    /// ESP. It must be an error naming the field, never an offset.
    #[test]
    fn byte_offsets_that_overflow_are_errors() {
        let path = Path::new("disk.img");
        let cases = [
            (part(3, (1 << 55) + 2048, (1 << 55) + 4095), "byte offset"),
            (part(3, 2048, u64::MAX), "byte size"),
            (part(3, (1 << 55) - 1, 1 << 55), "end byte"),
        ];
        for (p, field) in cases {
            let err = finish_partitions(path, vec![p], 512, 1 << 40)
                .unwrap_err()
                .to_string();
            assert!(err.contains(field), "{err}");
            assert!(err.contains("does not fit in 64 bits"), "{err}");
        }
        let ok = finish_partitions(path, vec![part(1, 2048, 4095)], 512, 4 << 20).unwrap();
        assert_eq!((ok[0].offset, ok[0].size), (1 << 20, 1 << 20));
    }

    #[test]
    fn overlaps_are_found_on_byte_ranges() {
        let path = Path::new("disk.img");
        let err = finish_partitions(
            path,
            vec![part(1, 2048, 4095), part(2, 4095, 6000)],
            512,
            8 << 20,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("overlap"), "{err}");
        finish_partitions(
            path,
            vec![part(2, 4096, 6000), part(1, 2048, 4095)],
            512,
            8 << 20,
        )
        .unwrap();
    }
}
