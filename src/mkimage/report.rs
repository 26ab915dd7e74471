//! The build report (`--report`): what was built and from which inputs:
//! geometry, every identifier and whether it was given or derived (and from
//! which purpose string), tool versions and exact command lines, and what is
//! known not to be reproducible.

use super::sizing::TreeStats;
use super::tools::{CommandRecord, Tool};
use crate::fat::write::FatReport;
use crate::ids::Purpose;
use crate::partition_table::TableKind;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub generator: String,
    pub table: TableKind,
    pub sector_size: u32,
    pub disk_size: u64,
    pub disk_size_origin: &'static str,
    pub seed: String,
    pub source_date_epoch: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_guid: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mbr_signature: Option<Id>,
    pub partitions: Vec<PartitionReport>,
    pub tools: Vec<Tool>,
    /// False when something in the image is known to differ between builds.
    pub reproducible: bool,
    pub warnings: Vec<String>,
}

/// An identifier, and where it came from.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Id {
    pub value: String,
    /// "given" (in the layout) or "derived" (from the seed).
    pub origin: &'static str,
    /// The purpose string it was derived with (see crate::ids).
    pub purpose: String,
}

impl Id {
    pub fn new(value: impl ToString, given: bool, purpose: Purpose) -> Id {
        Id {
            value: value.to_string(),
            origin: if given { "given" } else { "derived" },
            purpose: purpose.to_string(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionReport {
    pub index: u32,
    pub name: String,
    #[serde(rename = "type")]
    pub type_text: String,
    pub type_id: String,
    pub first_lba: u64,
    pub last_lba: u64,
    pub offset: u64,
    pub size: u64,
    pub size_origin: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guid: Option<Id>,
    pub bootable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<ContentReport>,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentReport {
    pub fs: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uuid: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash_seed: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_uuid: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_id: Option<Id>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subvolumes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree: Option<TreeStats>,
    /// The sizing computation (see mkimage::sizing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fat: Option<FatReport>,
    /// btrfs: the filesystem's size after growing it to the partition, and
    /// the minimum mkfs.btrfs --shrink made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesystem_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mkfs_minimum_size: Option<u64>,
    /// Bytes of data written into the image (raw and btrfs: sparse copy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_bytes_copied: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_reproducible: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandReport {
    #[serde(flatten)]
    pub record: CommandRecord,
    /// The same, as one shell line.
    pub shell: String,
}

impl From<CommandRecord> for CommandReport {
    fn from(record: CommandRecord) -> Self {
        let shell = record.shell();
        CommandReport { record, shell }
    }
}
