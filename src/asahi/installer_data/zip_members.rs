//! The member list of a package, in archive (central directory) order: the
//! order Python's `ZipFile.infolist()` returns and the installer walks. Read
//! from the zip itself, or taken from the manifest written next to it.

use crate::asahi::manifest::{Manifest, MemberKind};
use crate::error::{Error, IoContext, Result};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PkgMember {
    /// The raw name; non-UTF-8 bytes are replaced (and flagged by the check).
    pub name: String,
    pub raw_name: Vec<u8>,
    pub is_dir: bool,
    /// Uncompressed size (Zip64 resolved).
    pub size: u64,
    pub method: u16,
    /// General purpose flags (bit 0 encrypted, bit 11 UTF-8 names).
    pub flags: u16,
    /// External attributes: Unix mode in the high 16 bits.
    pub external_attr: u32,
}

impl PkgMember {
    pub fn is_symlink(&self) -> bool {
        // Python's `stat.S_ISLNK(info.external_attr >> 16)`, as the installer tests it.
        (self.external_attr >> 16) & 0o170000 == 0o120000
    }
}

/// Members of the zip at `path`, from its central directory.
pub fn read_zip(path: &Path) -> Result<Vec<PkgMember>> {
    let file = std::fs::File::open(path).ctx("open package", path)?;
    let bad = |e: rawzip::Error| {
        Error::package(format!(
            "not a readable zip archive: {e}: rebuild the package"
        ))
        .with_path(path)
    };
    let mut buffer = vec![0u8; rawzip::RECOMMENDED_BUFFER_SIZE];
    let archive = rawzip::ZipArchive::from_file(file, &mut buffer).map_err(bad)?;
    let mut entries = archive.entries(&mut buffer);
    let mut members = Vec::new();
    while let Some(e) = entries.next_entry().map_err(bad)? {
        let raw_name = e.file_path().as_ref().to_vec();
        members.push(PkgMember {
            name: String::from_utf8_lossy(&raw_name).into_owned(),
            is_dir: raw_name.ends_with(b"/"),
            raw_name,
            size: e.uncompressed_size_hint(),
            method: e.compression_method().as_u16(),
            flags: e.flags().bits(),
            external_attr: e.external_attributes(),
        });
    }
    Ok(members)
}

/// Members as the manifest records them (names are UTF-8 there; attributes
/// the manifest does not record are taken as a regular file's).
pub fn from_manifest(manifest: &Manifest) -> Vec<PkgMember> {
    manifest
        .members
        .iter()
        .map(|m| PkgMember {
            name: m.name.clone(),
            raw_name: m.name.as_bytes().to_vec(),
            is_dir: m.kind == MemberKind::Dir,
            size: m.size,
            method: m.method,
            flags: 1 << 11,
            external_attr: 0,
        })
        .collect()
}
