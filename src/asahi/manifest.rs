//! The package manifest that `carve-partitions asahi-package` writes next to
//! the zip and `gen-installer-data` reads: every size and checksum the
//! installer entry needs, measured at build time (never imported into a Nix
//! evaluation).

use crate::error::{Error, IoContext, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const MANIFEST_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    /// Format version of this file.
    pub version: u32,
    /// File name of the zip this manifest describes.
    pub package: String,
    pub package_size: u64,
    pub package_sha256: String,
    /// Logical sector size of the source disk image.
    pub sector_size: u32,
    pub partitions: ManifestPartitions,
    /// Zip members in archive order.
    pub members: Vec<Member>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManifestPartitions {
    pub esp: PartitionInfo,
    pub root: PartitionInfo,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartitionInfo {
    /// 1-based index in the source image's partition table.
    pub index: u32,
    pub name: String,
    /// Byte offset in the source image.
    pub offset: u64,
    /// Size of the partition in bytes.
    pub size: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Member {
    pub name: String,
    pub kind: MemberKind,
    /// Uncompressed size (0 for directories).
    pub size: u64,
    pub compressed_size: u64,
    /// CRC-32 as `0x`-prefixed lowercase hex, as zip tools print it.
    pub crc32: String,
    /// SHA-256 of the uncompressed content, lowercase hex. Left out for
    /// root.img unless asked for (`--root-sha256`): hashing every byte of
    /// the partition, zeros included, cost a sixth of packaging's CPU, and
    /// the download is covered by `packageSha256` and the zip's CRC-32s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Compression method number as stored in the zip (0 store, 8 deflate).
    pub method: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MemberKind {
    Dir,
    File,
}

impl Manifest {
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }

    pub fn read(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).ctx("read manifest", path)?;
        let m: Manifest = serde_json::from_str(&text).map_err(|e| {
            Error::invalid(format!(
                "{} is not a package manifest written by carve-partitions asahi-package: {e}",
                path.display()
            ))
        })?;
        if m.version != MANIFEST_VERSION {
            return Err(Error::invalid(format!(
                "manifest version {} is not supported (expected {MANIFEST_VERSION}): rebuild the package with this version of carve-partitions",
                m.version
            ))
            .with_path(path));
        }
        Ok(m)
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("manifest serialises");
        s.push('\n');
        s
    }
}
