//! Partition tables: read and validate GPT or MBR (sector size detected),
//! select partitions, and write new tables for mkimage.
//!
//! Reading is our own code because validation is the point: header and
//! entry-array CRCs with a fallback to the backup header, partitions past the
//! end of the image, overlaps, truncation, each with its own message. Writing
//! goes through gptman and mbrman, which take every identifier explicitly.

mod read;
mod types;
mod write;

pub use read::{read_table, read_table_with_sector_size};
pub use types::{alias_for, resolve_type, PartType, TYPE_ALIASES};
pub use write::{reserved_sectors, write_table, NewPartition, TableSpec, GPT_ENTRIES};

use crate::error::{Error, Result};
use crate::ids::Guid;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TableKind {
    Gpt,
    Mbr,
}

/// One partition as read from a table.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Partition {
    /// 1-based, as in `/dev/sda1` and `sgdisk -i 1`.
    pub index: u32,
    /// GPT partition name; empty for MBR.
    pub name: String,
    /// Type GUID (GPT) or `0xNN` type byte (MBR).
    #[serde(rename = "type")]
    pub type_id: String,
    /// Short alias of the type (`esp`, `linux`, ...) when it has one.
    pub type_alias: Option<&'static str>,
    pub unique_guid: Option<Guid>,
    pub first_lba: u64,
    pub last_lba: u64,
    pub offset: u64,
    pub size: u64,
    #[serde(skip)]
    pub part_type: PartType,
}

/// A validated partition table.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionTable {
    pub table: TableKind,
    pub sector_size: u32,
    pub image_size: u64,
    pub disk_guid: Option<Guid>,
    /// MBR disk signature as `0xNNNNNNNN`.
    pub disk_signature: Option<String>,
    pub partitions: Vec<Partition>,
    /// Problems that did not stop reading (e.g. a damaged primary GPT header).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl PartitionTable {
    /// Select one partition by 1-based index, GPT name, or type alias/GUID.
    /// Anything but exactly one match is an error that lists what exists.
    pub fn select(&self, selector: &str) -> Result<&Partition> {
        let sel = selector.trim();
        if let Ok(n) = sel.parse::<u32>() {
            return self
                .partitions
                .iter()
                .find(|p| p.index == n)
                .ok_or_else(|| self.selector_error(selector, "no partition has that index"));
        }
        let by_name: Vec<&Partition> = self
            .partitions
            .iter()
            .filter(|p| !p.name.is_empty() && p.name == sel)
            .collect();
        if by_name.len() == 1 {
            return Ok(by_name[0]);
        }
        if by_name.len() > 1 {
            return Err(self.selector_error(
                selector,
                "several partitions have that name: select one by index",
            ));
        }
        let wanted = resolve_type(sel, self.table).ok();
        let by_type: Vec<&Partition> = self
            .partitions
            .iter()
            .filter(|p| Some(p.part_type) == wanted || p.type_alias == Some(sel))
            .collect();
        match by_type.len() {
            1 => Ok(by_type[0]),
            0 => Err(self.selector_error(selector, "it matches no partition index, name or type")),
            _ => Err(self.selector_error(
                selector,
                "several partitions have that type: select one by index or name",
            )),
        }
    }

    fn selector_error(&self, selector: &str, why: &str) -> Error {
        let list: Vec<String> = self
            .partitions
            .iter()
            .map(|p| {
                let name = if p.name.is_empty() { "-" } else { &p.name };
                format!(
                    "{} {} ({})",
                    p.index,
                    name,
                    p.type_alias.unwrap_or(&p.type_id)
                )
            })
            .collect();
        let list = if list.is_empty() {
            "none".to_string()
        } else {
            list.join(", ")
        };
        Error::selector(selector, format!("{why}; partitions: {list}"))
    }
}
