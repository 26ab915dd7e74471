//! File names on FAT: which names FAT can hold, 8.3 short names (kept as is
//! when a name already is a plain upper-case 8.3 name, generated as
//! `BASE~N.EXT` otherwise) and the VFAT long-name entries that carry the real
//! name.

use crate::error::{Error, Result};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// An 8.3 name as stored: 8 bytes of base and 3 of extension, space-padded.
pub type ShortName = [u8; 11];

/// The longest long name, in UTF-16 code units.
const MAX_LONG_NAME: usize = 255;

/// Characters allowed in a short name besides A-Z and 0-9.
const SHORT_SPECIALS: &[u8] = b"!#$%&'()-@^_`{}~";

fn is_short_char(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit() || SHORT_SPECIALS.contains(&b)
}

/// Refuse names that FAT cannot hold (`path` is the name's full source path,
/// for the message).
pub fn check_long_name(name: &str, path: &Path) -> Result<()> {
    if let Some(c) = name
        .chars()
        .find(|&c| (c as u32) < 0x20 || c == '\x7f' || "\"*/:<>?\\|".contains(c))
    {
        return Err(Error::fat(format!(
            "FAT cannot hold the character {c:?} in a file name: rename it"
        ))
        .with_path(path));
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return Err(Error::fat(
            "FAT cannot hold a file name that ends in '.' or ' ' (systems strip them): rename it",
        )
        .with_path(path));
    }
    let units = name.encode_utf16().count();
    if units > MAX_LONG_NAME {
        return Err(Error::fat(format!(
            "the name is {units} UTF-16 units long, FAT holds at most {MAX_LONG_NAME}: rename it"
        ))
        .with_path(path));
    }
    Ok(())
}

/// `name` as a short name if it already is a plain upper-case 8.3 name
/// (then it needs no long-name entries).
pub fn plain_short_name(name: &str) -> Option<ShortName> {
    let bytes = name.as_bytes();
    let (base, ext) = match bytes.iter().position(|&b| b == b'.') {
        Some(dot) => (&bytes[..dot], &bytes[dot + 1..]),
        None => (bytes, &[][..]),
    };
    let ok = (1..=8).contains(&base.len())
        && ext.len() <= 3
        && (!ext.is_empty() || !bytes.contains(&b'.'))
        && base.iter().chain(ext).all(|&b| is_short_char(b));
    ok.then(|| pack(base, ext))
}

fn pack(base: &[u8], ext: &[u8]) -> ShortName {
    let mut out = [b' '; 11];
    out[..base.len()].copy_from_slice(base);
    out[8..8 + ext.len()].copy_from_slice(ext);
    out
}

/// A short name as a user would type it: `BASE.EXT` or `BASE`.
pub fn display(short: &ShortName) -> String {
    let base = String::from_utf8_lossy(&short[..8]).trim_end().to_string();
    let ext = String::from_utf8_lossy(&short[8..]).trim_end().to_string();
    if ext.is_empty() {
        base
    } else {
        format!("{base}.{ext}")
    }
}

/// Upper-case `s` the way FAT compares names: one character at a time
/// (so "ß" stays "ß" instead of becoming "SS").
pub fn fold_case(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

/// The base and extension a generated short name starts from, and whether
/// they lost information beyond letter case (then a numeric tail is always
/// added, as Windows does).
fn short_basis(name: &str) -> (Vec<u8>, Vec<u8>, bool) {
    let trimmed = name.trim_start_matches('.');
    let mut lossy = trimmed.len() != name.len();
    let (base_part, ext_part) = match trimmed.rfind('.') {
        Some(dot) => (&trimmed[..dot], Some(&trimmed[dot + 1..])),
        None => (trimmed, None),
    };
    let mut convert = |part: &str, max: usize| -> Vec<u8> {
        let mut out = Vec::new();
        for c in part.chars() {
            let b = match c {
                '.' | ' ' => {
                    lossy = true;
                    continue;
                }
                c if c.is_ascii_lowercase() => c.to_ascii_uppercase() as u8,
                c if c.is_ascii() && is_short_char(c as u8) => c as u8,
                _ => {
                    lossy = true;
                    b'_'
                }
            };
            if out.len() == max {
                lossy = true;
                break;
            }
            out.push(b);
        }
        out
    };
    let mut base = convert(base_part, 8);
    let ext = ext_part.map(|e| convert(e, 3)).unwrap_or_default();
    if base.is_empty() {
        base.push(b'_');
        lossy = true;
    }
    (base, ext, lossy)
}

/// One directory's names after assignment.
pub struct Assigned {
    pub short: ShortName,
    /// The long name in UTF-16, when the name is not a plain 8.3 name.
    pub long: Option<Vec<u16>>,
}

/// Assign short names to the (already sorted, already checked) names of one
/// directory. Case-insensitive duplicates are an error naming `dir`.
/// Every short name differs from every other entry's short and long name,
/// compared case-insensitively, so no lookup is ambiguous.
pub fn assign(names: &[&str], dir: &Path) -> Result<Vec<Assigned>> {
    let folded: Vec<String> = names.iter().map(|n| fold_case(n)).collect();
    let mut by_folded: HashMap<&str, usize> = HashMap::new();
    for (i, f) in folded.iter().enumerate() {
        if let Some(&j) = by_folded.get(f.as_str()) {
            return Err(Error::fat(format!(
                "the names {:?} and {:?} differ only in letter case, which FAT cannot tell apart: rename one",
                names[j],
                names[i]
            ))
            .with_path(dir));
        }
        by_folded.insert(f, i);
    }
    let plain: Vec<Option<ShortName>> = names.iter().map(|n| plain_short_name(n)).collect();
    let mut used: HashSet<ShortName> = plain.iter().flatten().copied().collect();
    let taken = |cand: &ShortName, i: usize, used: &HashSet<ShortName>| {
        used.contains(cand)
            || by_folded
                .get(display(cand).as_str())
                .is_some_and(|&j| j != i)
    };
    let mut out = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        if let Some(short) = plain[i] {
            out.push(Assigned { short, long: None });
            continue;
        }
        let (base, ext, lossy) = short_basis(name);
        let mut chosen = None;
        if !lossy {
            let cand = pack(&base, &ext);
            if !taken(&cand, i, &used) {
                chosen = Some(cand);
            }
        }
        let mut n = 1u32;
        while chosen.is_none() {
            let tail = format!("~{n}");
            let keep = base.len().min(8 - tail.len());
            let mut b = base[..keep].to_vec();
            b.extend_from_slice(tail.as_bytes());
            let cand = pack(&b, &ext);
            if !taken(&cand, i, &used) {
                chosen = Some(cand);
            }
            n += 1;
        }
        let short = chosen.expect("loop ends with a name");
        used.insert(short);
        out.push(Assigned {
            short,
            long: Some(name.encode_utf16().collect()),
        });
    }
    Ok(out)
}

/// The checksum of a short name that ties long-name entries to it.
pub fn checksum(short: &ShortName) -> u8 {
    short
        .iter()
        .fold(0u8, |sum, &b| sum.rotate_right(1).wrapping_add(b))
}

/// How many 32-byte long-name entries `long` needs.
pub fn long_entry_count(long: &[u16]) -> usize {
    long.len().div_ceil(13)
}

/// The long-name entries for `long`, in on-disk order (last part first).
pub fn long_entries(long: &[u16], short: &ShortName) -> Vec<[u8; 32]> {
    let count = long_entry_count(long);
    let sum = checksum(short);
    (0..count)
        .rev()
        .map(|seq| {
            let mut e = [0u8; 32];
            e[0] = (seq + 1) as u8 | if seq + 1 == count { 0x40 } else { 0 };
            e[11] = 0x0F;
            e[13] = sum;
            // 13 units per entry: the name, one 0x0000 terminator if it
            // fits, then 0xFFFF padding.
            let unit = |k: usize| -> u16 {
                let at = seq * 13 + k;
                match at.cmp(&long.len()) {
                    std::cmp::Ordering::Less => long[at],
                    std::cmp::Ordering::Equal => 0x0000,
                    std::cmp::Ordering::Greater => 0xFFFF,
                }
            };
            let slots = (1..11)
                .step_by(2)
                .chain((14..26).step_by(2))
                .chain((28..32).step_by(2));
            for (k, pos) in slots.enumerate() {
                e[pos..pos + 2].copy_from_slice(&unit(k).to_le_bytes());
            }
            e
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shorts(names: &[&str]) -> Vec<String> {
        assign(names, Path::new("/d"))
            .unwrap()
            .iter()
            .map(|a| display(&a.short))
            .collect()
    }

    #[test]
    fn plain_names() {
        assert_eq!(plain_short_name("README.TXT"), Some(*b"README  TXT"));
        assert_eq!(plain_short_name("EFI"), Some(*b"EFI        "));
        assert_eq!(plain_short_name("BOOTAA64.EFI"), Some(*b"BOOTAA64EFI"));
        assert_eq!(plain_short_name("readme.txt"), None);
        assert_eq!(plain_short_name("LONGNAME1.TXT"), None);
        assert_eq!(plain_short_name("A.B.C"), None);
        assert_eq!(plain_short_name("A.TEXT"), None);
        assert_eq!(plain_short_name("A+B"), None);
    }

    #[test]
    fn generated_names() {
        assert_eq!(
            shorts(&[
                "README.TXT",
                "loader.conf",
                "readme~1.txt",
                "Readme.txt.bak",
                "ñandú.txt",
                ".hidden",
                "a b c",
                "longfilename.text",
                "longfilename2.text",
            ]),
            [
                "README.TXT",
                "LOADER~1.CON",
                "README~1.TXT",
                "README~1.BAK",
                "_AND_~1.TXT",
                "HIDDEN~1",
                "ABC~1",
                "LONGFI~1.TEX",
                "LONGFI~2.TEX",
            ]
        );
        // A case-only difference keeps the name, unless another entry holds it.
        assert_eq!(shorts(&["efi", "Boot"]), ["EFI", "BOOT"]);
        assert_eq!(shorts(&["x y", "xy~1"]), ["XY~2", "XY~1"]);
    }

    #[test]
    fn rejects() {
        let p = Path::new("/src/a:b");
        assert!(check_long_name("a:b", p)
            .unwrap_err()
            .to_string()
            .contains("/src/a:b"));
        assert!(check_long_name("tab\there", p).is_err());
        assert!(check_long_name("dot.", p).is_err());
        assert!(check_long_name(&"x".repeat(256), p).is_err());
        assert!(check_long_name(&"x".repeat(255), p).is_ok());
        let err = assign(&["ABC", "abc"], Path::new("/src/dir"))
            .err()
            .unwrap();
        assert!(err.to_string().contains("/src/dir"), "{err}");
        assert!(assign(&["ß", "SS"], Path::new("/d")).is_ok());
    }

    #[test]
    fn long_entry_layout() {
        let long: Vec<u16> = "abcdefghijklmn".encode_utf16().collect(); // 14 units
        let short = *b"ABCDEF~1   ";
        let es = long_entries(&long, &short);
        assert_eq!(es.len(), 2);
        assert_eq!(es[0][0], 0x42);
        assert_eq!(es[1][0], 0x01);
        assert_eq!(u16::from_le_bytes([es[0][1], es[0][2]]), 'n' as u16);
        assert_eq!(u16::from_le_bytes([es[0][3], es[0][4]]), 0);
        assert_eq!(u16::from_le_bytes([es[0][5], es[0][6]]), 0xFFFF);
        assert_eq!(es[0][13], checksum(&short));
        assert_eq!(u16::from_le_bytes([es[1][30], es[1][31]]), 'm' as u16);
    }
}
