//! mkimage's layout file: JSON (Nix writes it with `builtins.toJSON`), keys
//! camelCase. Parsing is strict: unknown keys are errors, and every error
//! names the JSON path of the offending value (`partitions[1].content.label`)
//! so a typo in a Nix attribute set is found at once instead of being
//! silently ignored.
//!
//! [`Layout::load`] parses and validates; what it returns has every alias,
//! GUID, size string and path already checked, so the builder never has to
//! report a layout error half-way through writing an image.

use super::btrfs::{self, Subvolume};
use super::{ext4, raw, vfat};
use crate::error::{Error, ErrorContext, IoContext, Result};
use crate::ids::{parse_u32_id, Guid};
use crate::partition_table::{resolve_type, PartType, TableKind};
use crate::units::parse_size;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A size as written in the layout: bytes, a size string, or `"auto"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SizeSpec {
    #[default]
    Auto,
    Bytes(u64),
}

impl<'de> Deserialize<'de> for SizeSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SizeSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number of bytes, a size string like \"512MiB\", or \"auto\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<SizeSpec, E> {
                Ok(SizeSpec::Bytes(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<SizeSpec, E> {
                u64::try_from(v)
                    .map(SizeSpec::Bytes)
                    .map_err(|_| E::custom(format!("size {v} is negative")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<SizeSpec, E> {
                if v.trim() == "auto" {
                    return Ok(SizeSpec::Auto);
                }
                parse_size(v).map(SizeSpec::Bytes).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsKind {
    Vfat,
    Ext4,
    Btrfs,
    Raw,
}

impl FsKind {
    pub fn name(self) -> &'static str {
        match self {
            FsKind::Vfat => "vfat",
            FsKind::Ext4 => "ext4",
            FsKind::Btrfs => "btrfs",
            FsKind::Raw => "raw",
        }
    }

    /// The `content` keys besides `fs` this kind takes: the others are as
    /// wrong as unknown keys.
    fn keys(self) -> &'static [&'static str] {
        match self {
            FsKind::Vfat => &["source", "label", "volumeId"],
            FsKind::Ext4 => &["source", "label", "uuid", "hashSeed"],
            FsKind::Btrfs => &["source", "label", "uuid", "deviceUuid", "subvolumes"],
            FsKind::Raw => &["image"],
        }
    }
}

/// The JSON as written. Kept private to this module: callers get [`Layout`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawLayout {
    table: TableName,
    #[serde(default = "default_sector_size")]
    sector_size: u32,
    seed: String,
    #[serde(default)]
    size: SizeSpec,
    #[serde(default)]
    disk_guid: Option<String>,
    #[serde(default)]
    mbr_signature: Option<String>,
    partitions: Vec<RawPartition>,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum TableName {
    Gpt,
    Mbr,
}

fn default_sector_size() -> u32 {
    512
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawPartition {
    #[serde(default)]
    name: String,
    #[serde(rename = "type")]
    part_type: String,
    #[serde(default)]
    size: SizeSpec,
    #[serde(default)]
    start: Option<SizeSpec>,
    #[serde(default)]
    guid: Option<String>,
    #[serde(default)]
    bootable: bool,
    #[serde(default)]
    content: Option<RawContent>,
}

/// One struct for every `fs`, so the path-tracking deserializer can name
/// the exact key; which keys belong to which `fs` is checked afterwards.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawContent {
    fs: FsKind,
    source: Option<PathBuf>,
    image: Option<PathBuf>,
    label: Option<String>,
    uuid: Option<String>,
    hash_seed: Option<String>,
    device_uuid: Option<String>,
    volume_id: Option<String>,
    subvolumes: Option<Vec<RawSubvolume>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSubvolume {
    path: String,
    source: String,
}

/// A validated layout.
#[derive(Clone, Debug)]
pub struct Layout {
    pub table: TableKind,
    pub sector_size: u32,
    pub seed: String,
    pub size: SizeSpec,
    pub disk_guid: Option<Guid>,
    pub mbr_signature: Option<u32>,
    pub partitions: Vec<PartitionSpec>,
}

#[derive(Clone, Debug)]
pub struct PartitionSpec {
    /// 1-based, as in the identifier purposes (`partition-guid/1`).
    pub index: u32,
    pub name: String,
    /// The type as written (alias or id), for the report.
    pub type_text: String,
    pub part_type: PartType,
    pub size: SizeSpec,
    /// Byte offset from the start of the disk; None: right after the
    /// previous partition (1 MiB aligned).
    pub start: Option<u64>,
    pub guid: Option<Guid>,
    pub bootable: bool,
    pub content: Content,
}

/// A partition's content: one variant per kind, each kind's own file
/// (`vfat.rs`, `ext4.rs`, `btrfs.rs`, `raw.rs`) defines what it holds.
#[derive(Clone, Debug)]
pub enum Content {
    Empty,
    Vfat(vfat::Spec),
    Ext4(ext4::Spec),
    Btrfs(btrfs::Spec),
    Raw(raw::Spec),
}

impl Content {
    pub fn fs_name(&self) -> &'static str {
        match self {
            Content::Empty => "none",
            Content::Vfat(_) => FsKind::Vfat.name(),
            Content::Ext4(_) => FsKind::Ext4.name(),
            Content::Btrfs(_) => FsKind::Btrfs.name(),
            Content::Raw(_) => FsKind::Raw.name(),
        }
    }

    pub fn source(&self) -> Option<&Path> {
        match self {
            Content::Vfat(c) => Some(&c.source),
            Content::Ext4(c) => Some(&c.source),
            Content::Btrfs(c) => Some(&c.source),
            Content::Raw(_) | Content::Empty => None,
        }
    }
}

impl PartitionSpec {
    /// The size the layout gives, or None for "auto".
    pub fn given_size(&self) -> Option<u64> {
        match self.size {
            SizeSpec::Bytes(b) => Some(b),
            SizeSpec::Auto => None,
        }
    }
}

impl Layout {
    /// Read, parse and validate a layout file. Relative `source`/`image`
    /// paths are taken relative to the layout file's directory.
    pub fn load(path: &Path) -> Result<Layout> {
        let text = std::fs::read_to_string(path).ctx("read the layout", path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        Layout::parse(path, &text, base)
    }

    /// Parse and validate `text`; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str, base: &Path) -> Result<Layout> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let raw: RawLayout = serde_path_to_error::deserialize(de).map_err(|e| {
            let at = e.path().to_string();
            let inner = e.into_inner();
            let msg = inner.to_string();
            if at == "." || at.is_empty() {
                Error::layout(path, msg)
            } else {
                Error::layout(path, msg).at(at)
            }
        })?;
        validate(path, raw, base)
    }
}

fn validate(path: &Path, raw: RawLayout, base: &Path) -> Result<Layout> {
    let err = |at: &str, msg: String| Error::layout(path, msg).at(at);
    let table = match raw.table {
        TableName::Gpt => TableKind::Gpt,
        TableName::Mbr => TableKind::Mbr,
    };

    if raw.sector_size != 512 && raw.sector_size != 4096 {
        return Err(err(
            "sectorSize",
            format!("{} is not supported: use 512 or 4096", raw.sector_size),
        ));
    }
    if raw.seed.is_empty() {
        return Err(err(
            "seed",
            "is empty: give a string that names this image (e.g. its name and version), from which every identifier is derived".into(),
        ));
    }
    if raw.partitions.is_empty() {
        return Err(err(
            "partitions",
            "is empty: give at least one partition".into(),
        ));
    }
    let most = match table {
        TableKind::Gpt => crate::partition_table::GPT_ENTRIES as usize,
        TableKind::Mbr => 4,
    };
    if raw.partitions.len() > most {
        return Err(err(
            "partitions",
            format!(
                "has {} entries, more than the {most} a{} holds",
                raw.partitions.len(),
                match table {
                    TableKind::Gpt => " GPT (as mkimage writes it)",
                    TableKind::Mbr => "n MBR without logical partitions",
                }
            ),
        ));
    }
    let disk_guid = raw
        .disk_guid
        .as_deref()
        .map(Guid::parse)
        .transpose()
        .in_layout(path, "diskGuid")?;
    let mbr_signature = raw
        .mbr_signature
        .as_deref()
        .map(parse_u32_id)
        .transpose()
        .in_layout(path, "mbrSignature")?;
    if table == TableKind::Gpt && mbr_signature.is_some() {
        return Err(err(
            "mbrSignature",
            "only applies to \"table\": \"mbr\" (a GPT's protective MBR has none): remove it"
                .into(),
        ));
    }
    if table == TableKind::Mbr && disk_guid.is_some() {
        return Err(err(
            "diskGuid",
            "only applies to \"table\": \"gpt\": remove it or use mbrSignature".into(),
        ));
    }
    if let SizeSpec::Bytes(b) = raw.size {
        if b % u64::from(raw.sector_size) != 0 {
            return Err(err(
                "size",
                format!(
                    "{b} bytes is not a multiple of the sector size {}",
                    raw.sector_size
                ),
            ));
        }
    }

    let mut partitions = Vec::new();
    for (i, p) in raw.partitions.into_iter().enumerate() {
        let at = |key: &str| format!("partitions[{i}].{key}");
        let index = i as u32 + 1;
        let part_type = resolve_type(&p.part_type, table).in_layout(path, at("type"))?;
        if table == TableKind::Gpt && p.name.encode_utf16().count() > 36 {
            return Err(err(
                &at("name"),
                format!(
                    "{:?} is longer than the 36 UTF-16 code units a GPT name holds",
                    p.name
                ),
            ));
        }
        let guid = p
            .guid
            .as_deref()
            .map(Guid::parse)
            .transpose()
            .in_layout(path, at("guid"))?;
        if let Some(g) = guid {
            if let Some(j) = partitions
                .iter()
                .position(|q: &PartitionSpec| q.guid == Some(g))
            {
                return Err(err(
                    &at("guid"),
                    format!("{g} is also partitions[{j}].guid: partition GUIDs must be unique"),
                ));
            }
        }
        if table == TableKind::Mbr && guid.is_some() {
            return Err(err(
                &at("guid"),
                "an MBR partition has no GUID: remove it or use \"table\": \"gpt\"".into(),
            ));
        }
        if table == TableKind::Gpt && p.bootable {
            return Err(err(
                &at("bootable"),
                "the active flag is an MBR notion: remove it for a GPT".into(),
            ));
        }
        if let SizeSpec::Bytes(b) = p.size {
            if b == 0 || b % u64::from(raw.sector_size) != 0 {
                return Err(err(
                    &at("size"),
                    format!(
                        "{b} bytes is not a positive multiple of the sector size {}",
                        raw.sector_size
                    ),
                ));
            }
        }
        let start = match p.start {
            None => None,
            Some(SizeSpec::Auto) => {
                return Err(err(
                    &at("start"),
                    "\"auto\" is the default: remove the key or give an offset".into(),
                ))
            }
            Some(SizeSpec::Bytes(b)) if b % u64::from(raw.sector_size) != 0 => {
                return Err(err(
                    &at("start"),
                    format!(
                        "{b} bytes is not a multiple of the sector size {}",
                        raw.sector_size
                    ),
                ))
            }
            Some(SizeSpec::Bytes(b)) => Some(b),
        };
        let content = match p.content {
            None => {
                if p.size == SizeSpec::Auto {
                    return Err(err(
                        &at("size"),
                        "\"auto\" needs content to measure: give a size for an empty partition"
                            .into(),
                    ));
                }
                Content::Empty
            }
            Some(c) => content(path, base, &format!("partitions[{i}].content"), c)?,
        };
        partitions.push(PartitionSpec {
            index,
            name: p.name,
            type_text: p.part_type,
            part_type,
            size: p.size,
            start,
            guid,
            bootable: p.bootable,
            content,
        });
    }
    Ok(Layout {
        table,
        sector_size: raw.sector_size,
        seed: raw.seed,
        size: raw.size,
        disk_guid,
        mbr_signature,
        partitions,
    })
}

fn content(path: &Path, base: &Path, at: &str, c: RawContent) -> Result<Content> {
    let err = |key: &str, msg: String| Error::layout(path, msg).at(format!("{at}.{key}"));
    let fs = c.fs.name();
    let allowed = c.fs.keys();
    let present = [
        ("source", c.source.is_some()),
        ("image", c.image.is_some()),
        ("label", c.label.is_some()),
        ("uuid", c.uuid.is_some()),
        ("hashSeed", c.hash_seed.is_some()),
        ("deviceUuid", c.device_uuid.is_some()),
        ("volumeId", c.volume_id.is_some()),
        ("subvolumes", c.subvolumes.is_some()),
    ];
    for (key, is) in present {
        if is && !allowed.contains(&key) {
            return Err(err(
                key,
                format!(
                    "does not apply to \"fs\": \"{fs}\" (it takes {})",
                    allowed.join(", ")
                ),
            ));
        }
    }
    let dir = |key: &str, p: Option<PathBuf>| -> Result<PathBuf> {
        let p = p.ok_or_else(|| err(key, format!("is missing: \"fs\": \"{fs}\" needs a {key}")))?;
        Ok(base.join(p))
    };
    let guid_at = |key: &str, v: &Option<String>| -> Result<Option<Guid>> {
        v.as_deref()
            .map(Guid::parse)
            .transpose()
            .in_layout(path, format!("{at}.{key}"))
    };
    let uuid = guid_at("uuid", &c.uuid)?;
    let hash_seed = guid_at("hashSeed", &c.hash_seed)?;
    let device_uuid = guid_at("deviceUuid", &c.device_uuid)?;
    // Every kind but raw copies a directory tree and may have a label.
    let tree = |max_label: usize| -> Result<PathBuf> {
        let source = dir("source", c.source.clone())?;
        if !source.is_dir() {
            return Err(err(
                "source",
                format!("{} is not a directory", source.display()),
            ));
        }
        if let Some(l) = &c.label {
            if l.len() > max_label {
                return Err(err(
                    "label",
                    format!("{l:?} is longer than the {max_label} bytes a {fs} label holds"),
                ));
            }
        }
        Ok(source)
    };
    Ok(match c.fs {
        FsKind::Raw => {
            let image = dir("image", c.image)?;
            if !image.is_file() {
                return Err(err(
                    "image",
                    format!("{} is not a regular file", image.display()),
                ));
            }
            Content::Raw(raw::Spec { image })
        }
        FsKind::Vfat => Content::Vfat(vfat::Spec {
            source: {
                let source = tree(vfat::MAX_LABEL)?;
                if let Some(l) = &c.label {
                    if !l.chars().all(crate::fat::write::label_char_ok) {
                        return Err(err(
                            "label",
                            format!(
                                "{l:?} has characters a FAT label cannot hold: use printable ASCII without {}",
                                crate::fat::write::LABEL_FORBIDDEN
                            ),
                        ));
                    }
                }
                source
            },
            label: c.label,
            volume_id: c
                .volume_id
                .as_deref()
                .map(parse_u32_id)
                .transpose()
                .in_layout(path, format!("{at}.volumeId"))?,
        }),
        FsKind::Ext4 => Content::Ext4(ext4::Spec {
            source: tree(ext4::MAX_LABEL)?,
            label: c.label,
            uuid,
            hash_seed,
        }),
        FsKind::Btrfs => {
            let source = tree(btrfs::MAX_LABEL)?;
            let mut subvolumes = Vec::new();
            for (j, s) in c.subvolumes.unwrap_or_default().into_iter().enumerate() {
                let sat = |k: &str| format!("subvolumes[{j}].{k}");
                let clean = |k: &str, v: &str| -> Result<()> {
                    let p = Path::new(v);
                    if v.is_empty()
                        || p.is_absolute()
                        || p.components()
                            .any(|c| !matches!(c, std::path::Component::Normal(_)))
                    {
                        return Err(err(
                            &sat(k),
                            format!("{v:?} must be a relative path inside the source tree, without . or .."),
                        ));
                    }
                    Ok(())
                };
                clean("path", &s.path)?;
                clean("source", &s.source)?;
                if s.path != s.source {
                    return Err(err(
                        &sat("path"),
                        format!(
                            "{:?} differs from its source {:?}: mkfs.btrfs --subvol creates a subvolume at its source directory's own path and cannot place it elsewhere; rename the directory in the source tree instead",
                            s.path, s.source
                        ),
                    ));
                }
                let d = source.join(&s.source);
                if !d.symlink_metadata().map(|m| m.is_dir()).unwrap_or(false) {
                    return Err(err(
                        &sat("source"),
                        format!("{} is not a directory in the source tree", d.display()),
                    ));
                }
                if subvolumes.iter().any(|o: &Subvolume| o.path == s.path) {
                    return Err(err(&sat("path"), format!("{:?} is listed twice", s.path)));
                }
                subvolumes.push(Subvolume {
                    path: s.path,
                    source: s.source,
                });
            }
            Content::Btrfs(btrfs::Spec {
                source,
                label: c.label,
                uuid,
                device_uuid,
                subvolumes,
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Layout> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("root/@home")).unwrap();
        std::fs::create_dir_all(dir.path().join("esp")).unwrap();
        Layout::parse(Path::new("l.json"), json, dir.path())
    }

    #[test]
    fn full_example() {
        let l = parse(
            r#"{"table":"gpt","sectorSize":512,"seed":"s","size":"auto","partitions":[
            {"name":"ESP","type":"esp","size":"512MiB","content":{"fs":"vfat","source":"esp","label":"ESP","volumeId":"0x12CEA600"}},
            {"name":"nixos","type":"linux","size":"auto","content":{"fs":"btrfs","source":"root","label":"nixos","subvolumes":[{"path":"@home","source":"@home"}]}}]}"#,
        )
        .unwrap();
        assert_eq!(l.partitions[0].size, SizeSpec::Bytes(512 << 20));
        assert!(matches!(
            l.partitions[0].content,
            Content::Vfat(vfat::Spec {
                volume_id: Some(0x12CEA600),
                ..
            })
        ));
    }

    fn err_of(json: &str) -> String {
        parse(json).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_path() {
        let e = err_of(
            r#"{"table":"gpt","seed":"s","partitions":[{"type":"esp","size":1048576,"sise":1}]}"#,
        );
        assert!(e.contains("partitions[0]") && e.contains("sise"), "{e}");
        let e = err_of(
            r#"{"table":"gpt","seed":"s","partitions":[{"type":"linux","content":{"fs":"btrfs","source":"root","subvolumes":[{"path":"@home","source":"@home","x":1}]}}]}"#,
        );
        assert!(e.contains("partitions[0].content.subvolumes[0]"), "{e}");
        let e = err_of(r#"{"table":"gpt","seed":"s","partitions":[{"type":"esp","size":"12MB"}]}"#);
        assert!(e.contains("partitions[0].size"), "{e}");
        let e = err_of(
            r#"{"table":"gpt","seed":"s","diskGuid":"C12A7328-F81F-11D2-BA4B-00A0C93EC93","partitions":[{"type":"esp","size":"1MiB"}]}"#,
        );
        assert!(e.contains("diskGuid") && e.contains("not a GUID"), "{e}");
        let e = err_of(
            r#"{"table":"gpt","seed":"s","partitions":[{"type":"linux","content":{"fs":"btrfs","source":"root","subvolumes":[{"path":"home","source":"@home"}]}}]}"#,
        );
        assert!(
            e.contains("partitions[0].content.subvolumes[0].path"),
            "{e}"
        );
        let e = err_of(
            r#"{"table":"gpt","seed":"s","partitions":[{"type":"linux","content":{"fs":"ext4","source":"root","volumeId":"1"}}]}"#,
        );
        assert!(e.contains("partitions[0].content.volumeId"), "{e}");
        let e = err_of(
            r#"{"table":"gpt","seed":"s","sectorSize":1024,"partitions":[{"type":"esp","size":"1MiB"}]}"#,
        );
        assert!(e.contains("sectorSize"), "{e}");
    }
}
