//! `installer_data.json` for the Asahi Linux installer: build one OS entry
//! from a package manifest ([`entry`]), merge entries into a served file
//! ([`merge`]) and check a file (and optionally its zip) for what the
//! installer would trip on ([`check`]). The contract is
//! `asahi-installer-package.md`; where it is silent, the installer's code
//! (`src/main.py`, `src/osinstall.py`, `src/util.py`) decided.

pub mod check;
pub mod entry;
pub mod merge;
pub mod zip_members;

use crate::error::{Error, IoContext, Result};
use crate::output::AtomicFile;
use serde_json::Value;
use std::io::Write;
use std::path::Path;

/// The firmware versions the installer's `IPSW_VERSIONS` offers; `supported_fw`
/// values are compared with these as exact strings (`ipsw.version in supported_fw`).
pub const KNOWN_FW: &[&str] = &["12.3", "12.3.1", "13.5", "14.8.3"];

/// Default `supported_fw`: every firmware the NixOS Apple Silicon kernel runs
/// with. `14.8.3` is only ever offered to M3 machines, which NixOS does not
/// support; see the README ("supported_fw") for the installer code paths.
pub const DEFAULT_FW: &[&str] = &["12.3", "12.3.1", "13.5"];

/// Compression methods Python's `zipfile` (the installer's reader) decodes.
pub const READABLE_METHODS: &[(u16, &str)] =
    &[(0, "stored"), (8, "deflate"), (12, "bzip2"), (14, "lzma")];

/// Parse a partition size the way the installer's `psize` does, restricted to
/// the forms we accept (`^\d+(B|KB|MB|GB|KiB|MiB|GiB)$`). `None` if the text
/// is not of that form or overflows.
pub fn parse_installer_size(text: &str) -> Option<u64> {
    const SUFFIXES: &[(&str, u64)] = &[
        ("KiB", 1 << 10),
        ("MiB", 1 << 20),
        ("GiB", 1 << 30),
        ("KB", 1_000),
        ("MB", 1_000_000),
        ("GB", 1_000_000_000),
        ("B", 1),
    ];
    let (digits, mult) = SUFFIXES
        .iter()
        .find_map(|(s, m)| text.strip_suffix(s).map(|d| (d, *m)))?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(mult)
}

/// Read a JSON file into a value (object key order preserved).
pub fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).ctx("read", path)?;
    serde_json::from_str(&text).map_err(|e| {
        Error::InstallerData(format!(
            "{} is not valid JSON: {e}: fix or regenerate it",
            path.display()
        ))
    })
}

/// The text we write: 4-space indentation like Asahi's own
/// `installer_data.json`, non-ASCII escaped as `\uXXXX` (Python's `json.dump`
/// default, so the installer's `json.load(open(...))` never depends on the
/// Mac's locale encoding), and a trailing newline.
pub fn to_json_text(value: &Value) -> String {
    use serde::Serialize;
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, AsciiPretty::new());
    value.serialize(&mut ser).expect("JSON values serialise");
    out.push(b'\n');
    String::from_utf8(out).expect("ASCII output")
}

/// Write `value` to `dest` atomically in the format of [`to_json_text`].
pub fn write_json(dest: &Path, value: &Value) -> Result<()> {
    let mut out = AtomicFile::create(dest)?;
    out.file_mut()
        .write_all(to_json_text(value).as_bytes())
        .ctx("write", dest)?;
    out.commit()
}

/// serde_json's pretty formatter with 4-space indentation and ASCII-only strings.
struct AsciiPretty<'a>(serde_json::ser::PrettyFormatter<'a>);

impl AsciiPretty<'_> {
    fn new() -> Self {
        AsciiPretty(serde_json::ser::PrettyFormatter::with_indent(b"    "))
    }
}

macro_rules! delegate {
    ($($name:ident ( $($arg:ident : $ty:ty),* );)*) => {
        $(fn $name<W: ?Sized + std::io::Write>(&mut self, w: &mut W $(, $arg: $ty)*) -> std::io::Result<()> {
            self.0.$name(w $(, $arg)*)
        })*
    };
}

impl serde_json::ser::Formatter for AsciiPretty<'_> {
    delegate! {
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        begin_object_key(first: bool);
        end_object_key();
        begin_object_value();
        end_object_value();
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        for part in fragment.split_inclusive(|c: char| !c.is_ascii()) {
            let mut chars = part.chars();
            match chars.next_back() {
                Some(c) if !c.is_ascii() => {
                    w.write_all(chars.as_str().as_bytes())?;
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        write!(w, "\\u{u:04x}")?;
                    }
                }
                _ => w.write_all(part.as_bytes())?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_the_installer() {
        assert_eq!(parse_installer_size("529530880B"), Some(529530880));
        assert_eq!(parse_installer_size("500MB"), Some(500_000_000));
        assert_eq!(parse_installer_size("2GiB"), Some(2 << 30));
        assert_eq!(parse_installer_size("1KB"), Some(1000));
        assert_eq!(parse_installer_size("12"), None);
        assert_eq!(parse_installer_size("1.5GB"), None);
        assert_eq!(parse_installer_size("B"), None);
        assert_eq!(parse_installer_size("1 GB"), None);
        assert_eq!(parse_installer_size("99999999999999999999GB"), None);
    }

    #[test]
    fn json_text_is_four_space_ascii() {
        let v: Value = serde_json::from_str(r#"{"b": ["é😀", 1], "a": {}, "c": []}"#).unwrap();
        assert_eq!(
            to_json_text(&v),
            "{\n    \"b\": [\n        \"\\u00e9\\ud83d\\ude00\",\n        1\n    ],\n    \"a\": {},\n    \"c\": []\n}\n"
        );
    }
}
