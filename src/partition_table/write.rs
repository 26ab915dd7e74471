//! Writing new partition tables (mkimage). gptman and mbrman take every
//! identifier explicitly, which is what a reproducible image needs.

use super::types::PartType;
use super::TableKind;
use crate::error::{Error, Result};
use crate::ids::Guid;
use std::fs::File;
use std::path::Path;

/// A partition to create.
#[derive(Clone, Debug)]
pub struct NewPartition {
    pub name: String,
    pub part_type: PartType,
    /// GPT unique partition GUID (ignored for MBR).
    pub guid: Guid,
    pub first_lba: u64,
    pub last_lba: u64,
    /// MBR active flag (ignored for GPT).
    pub bootable: bool,
}

/// The table as a whole.
#[derive(Clone, Debug)]
pub struct TableSpec {
    pub kind: TableKind,
    pub sector_size: u32,
    /// GPT disk GUID (ignored for MBR).
    pub disk_guid: Guid,
    /// MBR disk signature (ignored for GPT, whose protective MBR keeps 0).
    pub mbr_signature: u32,
}

/// Number of GPT entries we write: the UEFI minimum array of 16 KiB.
pub const GPT_ENTRIES: u64 = 128;

/// First LBA a partition may start at and the number of sectors reserved at
/// the end of the disk (backup GPT), for a table of this kind.
pub fn reserved_sectors(kind: TableKind, sector_size: u32) -> (u64, u64) {
    match kind {
        TableKind::Gpt => {
            let array = (GPT_ENTRIES * 128).div_ceil(u64::from(sector_size));
            (2 + array, 1 + array)
        }
        TableKind::Mbr => (1, 0),
    }
}

/// Write the table into `file`, whose length must already be the disk size.
pub fn write_table(
    path: &Path,
    file: &File,
    spec: &TableSpec,
    parts: &[NewPartition],
) -> Result<()> {
    match spec.kind {
        TableKind::Gpt => write_gpt(path, file, spec, parts),
        TableKind::Mbr => write_mbr(path, file, spec, parts),
    }
}

fn write_gpt(path: &Path, file: &File, spec: &TableSpec, parts: &[NewPartition]) -> Result<()> {
    let mut f = file;
    let ss = u64::from(spec.sector_size);
    let mut gpt = gptman::GPT::new_from(&mut f, ss, spec.disk_guid.to_gpt_bytes())
        .map_err(|e| Error::table(path, format!("cannot create a GPT: {e}")))?;
    gpt.align = 1;
    for (i, p) in parts.iter().enumerate() {
        let PartType::Gpt(type_guid) = p.part_type else {
            return Err(Error::table(
                path,
                format!("partition {} has an MBR type in a GPT", i + 1),
            ));
        };
        gpt[i as u32 + 1] = gptman::GPTPartitionEntry {
            partition_type_guid: type_guid.to_gpt_bytes(),
            unique_partition_guid: p.guid.to_gpt_bytes(),
            starting_lba: p.first_lba,
            ending_lba: p.last_lba,
            attribute_bits: 0,
            partition_name: p.name.as_str().into(),
        };
    }
    gpt.write_into(&mut f)
        .map_err(|e| Error::table(path, format!("cannot write the GPT: {e}")))?;
    gptman::GPT::write_protective_mbr_into(&mut f, ss)
        .map_err(|e| Error::table(path, format!("cannot write the protective MBR: {e}")))?;
    Ok(())
}

fn write_mbr(path: &Path, file: &File, spec: &TableSpec, parts: &[NewPartition]) -> Result<()> {
    if parts.len() > 4 {
        return Err(Error::table(
            path,
            format!("an MBR holds at most 4 primary partitions, the layout has {}: use \"table\": \"gpt\"", parts.len()),
        ));
    }
    let mut f = file;
    let mut mbr = mbrman::MBR::new_from(&mut f, spec.sector_size, spec.mbr_signature.to_le_bytes())
        .map_err(|e| Error::table(path, format!("cannot create an MBR: {e}")))?;
    for (i, p) in parts.iter().enumerate() {
        let PartType::Mbr(sys) = p.part_type else {
            return Err(Error::table(
                path,
                format!("partition {} has a GPT type in an MBR", i + 1),
            ));
        };
        let too_far = || {
            Error::table(
                path,
                format!(
                    "partition {} lies beyond the 2 TiB an MBR can address: use \"table\": \"gpt\"",
                    i + 1
                ),
            )
        };
        let start = u32::try_from(p.first_lba).map_err(|_| too_far())?;
        let count = u32::try_from(p.last_lba - p.first_lba + 1).map_err(|_| too_far())?;
        mbr[i + 1] = mbrman::MBRPartitionEntry {
            boot: if p.bootable {
                mbrman::BOOT_ACTIVE
            } else {
                mbrman::BOOT_INACTIVE
            },
            first_chs: mbrman::CHS::empty(),
            sys,
            last_chs: mbrman::CHS::empty(),
            starting_lba: start,
            sectors: count,
        };
    }
    mbr.write_into(&mut f)
        .map_err(|e| Error::table(path, format!("cannot write the MBR: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{read_table, resolve_type};
    use super::*;

    fn roundtrip(kind: TableKind, ss: u32) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk.img");
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        let disk = 64u64 << 20;
        file.set_len(disk).unwrap();
        let s = u64::from(ss);
        let parts = vec![
            NewPartition {
                name: "ESP".into(),
                part_type: resolve_type("esp", kind).unwrap(),
                guid: Guid::parse("11111111-2222-4333-8444-555555555555").unwrap(),
                first_lba: (1 << 20) / s,
                last_lba: (17 << 20) / s - 1,
                bootable: true,
            },
            NewPartition {
                name: "root".into(),
                part_type: resolve_type("linux", kind).unwrap(),
                guid: Guid::parse("66666666-7777-4888-8999-AAAAAAAAAAAA").unwrap(),
                first_lba: (17 << 20) / s,
                last_lba: (63 << 20) / s - 1,
                bootable: false,
            },
        ];
        let spec = TableSpec {
            kind,
            sector_size: ss,
            disk_guid: Guid::parse("01234567-89AB-4DEF-8123-456789ABCDEF").unwrap(),
            mbr_signature: 0x12345678,
        };
        write_table(&path, &file, &spec, &parts).unwrap();
        let t = read_table(&path, &file).unwrap();
        assert_eq!(t.table, kind);
        assert_eq!(t.sector_size, ss);
        assert_eq!(t.partitions.len(), 2);
        assert_eq!(t.partitions[0].offset, 1 << 20);
        assert_eq!(t.partitions[1].size, 46 << 20);
        if kind == TableKind::Gpt {
            assert_eq!(t.partitions[0].name, "ESP");
            assert_eq!(t.partitions[1].unique_guid, Some(parts[1].guid));
            assert_eq!(t.disk_guid, Some(spec.disk_guid));
        } else {
            assert_eq!(t.disk_signature.as_deref(), Some("0x12345678"));
        }
        assert_eq!(t.select("esp").unwrap().index, 1);
    }

    #[test]
    fn gpt_512() {
        roundtrip(TableKind::Gpt, 512);
    }

    #[test]
    fn gpt_4096() {
        roundtrip(TableKind::Gpt, 4096);
    }

    #[test]
    fn mbr_512() {
        roundtrip(TableKind::Mbr, 512);
    }
}
