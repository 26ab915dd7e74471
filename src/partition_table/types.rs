//! Partition type aliases shared by the reader (for display and selection)
//! and mkimage's layout (for `"type": "esp"`).

use super::TableKind;
use crate::error::{Error, Result};
use crate::ids::Guid;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartType {
    Gpt(Guid),
    Mbr(u8),
}

impl PartType {
    pub fn id_string(&self) -> String {
        match self {
            PartType::Gpt(g) => g.to_string(),
            PartType::Mbr(b) => format!("0x{b:02X}"),
        }
    }
}

/// (alias, GPT type GUID, MBR type byte).
pub const TYPE_ALIASES: &[(&str, Option<&str>, Option<u8>)] = &[
    (
        "esp",
        Some("C12A7328-F81F-11D2-BA4B-00A0C93EC93B"),
        Some(0xEF),
    ),
    (
        "linux",
        Some("0FC63DAF-8483-4772-8E79-3D69D8477DE4"),
        Some(0x83),
    ),
    (
        "root-arm64",
        Some("B921B045-1DF0-41C3-AF44-4C6F280D3FAE"),
        None,
    ),
    (
        "root-x86-64",
        Some("4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"),
        None,
    ),
    (
        "usr-arm64",
        Some("B0E01050-EE5F-4390-949A-9101B17104E9"),
        None,
    ),
    (
        "usr-x86-64",
        Some("8484680C-9521-48C6-9C11-B0720656F69E"),
        None,
    ),
    ("home", Some("933AC7E1-2EB4-4F13-B844-0E14E2AEF915"), None),
    (
        "swap",
        Some("0657FD6D-A4AB-43C4-84E5-0933C84B4F4F"),
        Some(0x82),
    ),
    (
        "xbootldr",
        Some("BC13C2FF-59E6-4262-A352-B275FD6F7172"),
        Some(0xEA),
    ),
    (
        "lvm",
        Some("E6D6D379-F507-44C2-A23C-238F2A3DF928"),
        Some(0x8E),
    ),
    (
        "basic-data",
        Some("EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"),
        None,
    ),
    ("fat32", None, Some(0x0C)),
    ("fat32-chs", None, Some(0x0B)),
    ("fat16", None, Some(0x0E)),
];

/// Resolve an alias, a GUID (GPT) or a type byte like `0x83` / `83` (MBR).
pub fn resolve_type(text: &str, table: TableKind) -> Result<PartType> {
    let t = text.trim();
    if let Some((_, gpt, mbr)) = TYPE_ALIASES.iter().find(|(a, _, _)| *a == t) {
        return match table {
            TableKind::Gpt => gpt
                .map(|g| PartType::Gpt(Guid::parse(g).expect("alias table GUIDs are valid")))
                .ok_or_else(|| alias_unavailable(t, "GPT")),
            TableKind::Mbr => mbr
                .map(PartType::Mbr)
                .ok_or_else(|| alias_unavailable(t, "MBR")),
        };
    }
    match table {
        TableKind::Gpt => Guid::parse(t).map(PartType::Gpt).map_err(|_| unknown(t)),
        TableKind::Mbr => {
            let hex = t
                .strip_prefix("0x")
                .or_else(|| t.strip_prefix("0X"))
                .unwrap_or(t);
            match u8::from_str_radix(hex, 16) {
                Ok(0) | Err(_) => Err(unknown(t)),
                Ok(b) if hex.len() <= 2 => Ok(PartType::Mbr(b)),
                _ => Err(unknown(t)),
            }
        }
    }
}

/// The alias of a type, if it has one.
pub fn alias_for(t: &PartType) -> Option<&'static str> {
    TYPE_ALIASES.iter().find_map(|(alias, gpt, mbr)| match t {
        PartType::Gpt(g) => gpt
            .filter(|s| Guid::parse(s).ok() == Some(*g))
            .map(|_| *alias),
        PartType::Mbr(b) => mbr.filter(|m| m == b).map(|_| *alias),
    })
}

fn alias_unavailable(alias: &str, table: &str) -> Error {
    Error::invalid(format!(
        "partition type {alias:?} has no {table} equivalent: give a {} instead",
        if table == "GPT" {
            "type GUID"
        } else {
            "type byte like 0x83"
        }
    ))
}

fn unknown(t: &str) -> Error {
    let names: Vec<&str> = TYPE_ALIASES.iter().map(|(a, _, _)| *a).collect();
    Error::invalid(format!(
        "partition type {t:?} is not a known alias ({}), a GUID or an MBR type byte",
        names.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases() {
        let esp = resolve_type("esp", TableKind::Gpt).unwrap();
        assert_eq!(alias_for(&esp), Some("esp"));
        assert_eq!(
            resolve_type("esp", TableKind::Mbr).unwrap(),
            PartType::Mbr(0xEF)
        );
        assert_eq!(
            resolve_type("0x83", TableKind::Mbr).unwrap(),
            PartType::Mbr(0x83)
        );
        assert_eq!(alias_for(&PartType::Mbr(0x0C)), Some("fat32"));
        assert!(resolve_type("fat32", TableKind::Gpt).is_err());
        assert!(resolve_type("root-arm64", TableKind::Mbr).is_err());
        assert!(resolve_type("0x183", TableKind::Mbr).is_err());
        assert!(resolve_type("bogus", TableKind::Gpt).is_err());
    }
}
