//! GUIDs and every identifier derived from a build's seed.
//!
//! Derivation (stable, documented in the README): for an identifier with
//! purpose `P` (a [`Purpose`], e.g. `disk-guid`, `partition-guid/2`),
//! `bytes = SHA-256("nixos-image-tools/v1\0" || seed || "\0" || P)`; a GUID or
//! UUID takes the first 16 bytes with the RFC 9562 version-4 and variant bits
//! set (so tools that check them are content); a 32-bit id (FAT volume id, MBR
//! signature) takes the first 4 bytes, little-endian, never zero.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::fmt;

/// A GUID/UUID held in its textual (big-endian) byte order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    pub const ZERO: Guid = Guid([0; 16]);

    /// Strict parse: exactly `8-4-4-4-12` hex digits. Anything else (a digit
    /// short, braces, stray characters) is an error rather than a guess.
    pub fn parse(text: &str) -> Result<Guid> {
        let bad = || {
            Error::invalid(format!(
                "{text:?} is not a GUID: expected 8-4-4-4-12 hexadecimal digits, e.g. C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
            ))
        };
        let groups: Vec<&str> = text.split('-').collect();
        let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        if lens != [8, 4, 4, 4, 12] {
            return Err(bad());
        }
        let hex: String = groups.concat();
        // Checked before slicing: a multi-byte character would split there.
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Guid(out))
    }

    /// The on-disk GPT encoding: the first three fields little-endian.
    pub fn to_gpt_bytes(self) -> [u8; 16] {
        let b = self.0;
        [
            b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13],
            b[14], b[15],
        ]
    }

    pub fn from_gpt_bytes(b: [u8; 16]) -> Guid {
        Guid([
            b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13],
            b[14], b[15],
        ])
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02X}{:02X}{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl serde::Serialize for Guid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What a derived identifier is for. Its text is hashed into the identifier,
/// so it is written here once: a changed letter would silently change
/// identifiers the README promises are stable. `u32` is the 1-based
/// partition number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    DiskGuid,
    MbrSignature,
    PartitionGuid(u32),
    FsUuid(u32),
    Ext4HashSeed(u32),
    FatVolumeId(u32),
    BtrfsDeviceUuid(u32),
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Purpose::DiskGuid => f.write_str("disk-guid"),
            Purpose::MbrSignature => f.write_str("mbr-signature"),
            Purpose::PartitionGuid(i) => write!(f, "partition-guid/{i}"),
            Purpose::FsUuid(i) => write!(f, "fs-uuid/{i}"),
            Purpose::Ext4HashSeed(i) => write!(f, "ext4-hash-seed/{i}"),
            Purpose::FatVolumeId(i) => write!(f, "fat-volume-id/{i}"),
            Purpose::BtrfsDeviceUuid(i) => write!(f, "btrfs-device-uuid/{i}"),
        }
    }
}

/// Derives identifiers from a seed string.
#[derive(Clone, Debug)]
pub struct Seed(String);

impl Seed {
    pub fn new(seed: impl Into<String>) -> Seed {
        Seed(seed.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn digest(&self, purpose: Purpose) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"nixos-image-tools/v1\0");
        h.update(self.0.as_bytes());
        h.update(b"\0");
        h.update(purpose.to_string().as_bytes());
        h.finalize().into()
    }

    pub fn guid(&self, purpose: Purpose) -> Guid {
        let d = self.digest(purpose);
        let mut b = [0u8; 16];
        b.copy_from_slice(&d[..16]);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        Guid(b)
    }

    pub fn u32(&self, purpose: Purpose) -> u32 {
        let d = self.digest(purpose);
        match u32::from_le_bytes([d[0], d[1], d[2], d[3]]) {
            0 => 1,
            v => v,
        }
    }
}

/// Parse a 32-bit id written as `0x12CEA600`, `12CEA600` or `12CE-A600`.
pub fn parse_u32_id(text: &str) -> Result<u32> {
    let t = text.trim();
    let hex = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t)
        .replace('-', "");
    if hex.is_empty() || hex.len() > 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::invalid(format!(
            "{text:?} is not a 32-bit hexadecimal id such as 0x12CEA600"
        )));
    }
    Ok(u32::from_str_radix(&hex, 16).expect("checked hex"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_round_trip() {
        let g = Guid::parse("C12A7328-F81F-11D2-BA4B-00A0C93EC93B").unwrap();
        assert_eq!(g.to_string(), "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
        assert_eq!(
            g.to_gpt_bytes(),
            [
                0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E,
                0xC9, 0x3B
            ]
        );
        assert_eq!(Guid::from_gpt_bytes(g.to_gpt_bytes()), g);
        assert_eq!(
            Guid::parse("c12a7328-f81f-11d2-ba4b-00a0c93ec93b").unwrap(),
            g
        );
    }

    #[test]
    fn guid_rejects_malformed() {
        // 31 digits: the nixpkgs case that sgdisk silently "fixes".
        assert!(Guid::parse("C12A7328-F81F-11D2-BA4B-00A0C93EC93").is_err());
        assert!(Guid::parse("{C12A7328-F81F-11D2-BA4B-00A0C93EC93B}").is_err());
        assert!(Guid::parse("G12A7328-F81F-11D2-BA4B-00A0C93EC93B").is_err());
        assert!(Guid::parse("C12A7328F81F11D2BA4B00A0C93EC93B").is_err());
        assert!(Guid::parse("+12A7328-F81F-11D2-BA4B-00A0C93EC93B").is_err());
        // 12 bytes in the last group, one of them inside "é": no panic.
        assert!(Guid::parse("C12A7328-F81F-11D2-BA4B-00A0C93ECé9").is_err());
    }

    #[test]
    fn seed_is_stable_and_versioned() {
        let s = Seed::new("nixos-asahi-0.2.0-btrfs");
        let g = s.guid(Purpose::DiskGuid);
        assert_eq!(
            g,
            Seed::new("nixos-asahi-0.2.0-btrfs").guid(Purpose::DiskGuid)
        );
        assert_ne!(g, s.guid(Purpose::PartitionGuid(1)));
        assert_eq!(g.0[6] >> 4, 4);
        assert_eq!(g.0[8] >> 6, 2);
        assert_ne!(s.u32(Purpose::FatVolumeId(1)), 0);
    }

    /// The texts the README documents: changing one changes identifiers.
    #[test]
    fn purpose_texts_are_stable() {
        let texts: Vec<String> = [
            Purpose::DiskGuid,
            Purpose::MbrSignature,
            Purpose::PartitionGuid(2),
            Purpose::FsUuid(2),
            Purpose::Ext4HashSeed(2),
            Purpose::FatVolumeId(1),
            Purpose::BtrfsDeviceUuid(3),
        ]
        .iter()
        .map(|p| p.to_string())
        .collect();
        assert_eq!(
            texts,
            [
                "disk-guid",
                "mbr-signature",
                "partition-guid/2",
                "fs-uuid/2",
                "ext4-hash-seed/2",
                "fat-volume-id/1",
                "btrfs-device-uuid/3"
            ]
        );
    }

    #[test]
    fn u32_ids() {
        assert_eq!(parse_u32_id("0x12CEA600").unwrap(), 0x12CEA600);
        assert_eq!(parse_u32_id("12ce-a600").unwrap(), 0x12CEA600);
        assert!(parse_u32_id("0x123456789").is_err());
        assert!(parse_u32_id("zz").is_err());
    }
}
