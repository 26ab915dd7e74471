//! `installer_data.json` for the Asahi Linux installer: build one OS entry
//! from a package manifest ([`entry`]), merge entries into a served file
//! ([`merge`]) and check a file (and optionally its zip) for what the
//! installer would trip on ([`check`]). The contract is
//! `asahi-installer-package.md`; where it is silent, the installer's code
//! (`src/main.py`, `src/osinstall.py`, `src/util.py`) decided.

pub mod check;
pub mod entry;
pub mod firmware;
pub mod merge;
pub mod zip_members;

use crate::error::{Error, IoContext, Result};
use crate::io::output::AtomicFile;
use serde_json::Value;
use std::io::Write;
use std::path::Path;

/// A partition size parsed the way the installer's `psize` (`src/util.py`)
/// parses it: upper-cased, spaces removed, `I` before the last letter
/// switches to base 1024, then the first of `TB GB MB KB B ""` the text ends
/// with gives the power, and `int(float(number) * base**power)` the bytes.
/// `None` where `psize` raises or returns None (bare numbers included:
/// `v[:-len("")]` is the empty string), so the installer would crash.
pub fn parse_installer_size(text: &str) -> Option<u64> {
    let mut v: Vec<char> = text.to_uppercase().chars().filter(|&c| c != ' ').collect();
    let mut base = 1000f64;
    if v.len() < 2 {
        return None; // v[-2] raises IndexError
    }
    if v[v.len() - 2] == 'I' {
        base = 1024.0;
        let last = v.pop()?;
        v.pop();
        v.push(last);
    }
    let v: String = v.into_iter().collect();
    let (number, power) = [("TB", 4), ("GB", 3), ("MB", 2), ("KB", 1), ("B", 0)]
        .iter()
        .find_map(|(suffix, power)| v.strip_suffix(suffix).map(|n| (n, *power)))?;
    let value = python_float(number)? * base.powi(power);
    (value.is_finite() && value >= 0.0 && value < u64::MAX as f64).then_some(value as u64)
}

/// Python's `float()` on the forms it accepts that matter here: decimal
/// numbers with an optional fraction and exponent, and `_` between digits.
fn python_float(s: &str) -> Option<f64> {
    let digits_ok = |part: &str| {
        part.split('_')
            .all(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()))
    };
    let (mantissa, exponent) = match s.split_once(['E', 'e']) {
        Some((m, e)) => (m, Some(e)),
        None => (s, None),
    };
    let mantissa = mantissa.strip_prefix('+').unwrap_or(mantissa);
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let ok = (!int.is_empty() || !frac.is_empty())
        && (int.is_empty() || digits_ok(int))
        && (frac.is_empty() || digits_ok(frac))
        && exponent.map_or(true, |e| digits_ok(e.strip_prefix(['+', '-']).unwrap_or(e)));
    if !ok {
        return None;
    }
    s.replace('_', "").parse().ok()
}

/// Whether a size is written as exact bytes (`"529530880B"`), as we write it.
pub fn is_exact_bytes(text: &str) -> bool {
    text.strip_suffix('B')
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Read a JSON file into a value (object key order preserved).
pub fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).ctx("read", path)?;
    serde_json::from_str(&text).map_err(|e| {
        Error::installer_data(format!(
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
    use super::parse_installer_size as psize;
    use super::*;

    #[test]
    fn sizes_parse_as_the_installer_parses_them() {
        assert_eq!(psize("529530880B"), Some(529_530_880));
        assert_eq!(psize("1.5GB"), Some(1_500_000_000));
        assert_eq!(psize("512mb"), Some(512_000_000));
        assert_eq!(psize("1 GB"), Some(1_000_000_000));
        assert_eq!(psize("2TB"), Some(2_000_000_000_000));
        assert_eq!(psize("1KIB"), Some(1024));
        assert_eq!(psize("512MiB"), Some(512 << 20));
        assert_eq!(psize("1_000B"), Some(1000));
        assert_eq!(psize("1e3B"), Some(1000));
        // What makes psize raise: bare numbers, one character, junk, NaN.
        for bad in [
            "1234", "5", "B", "", "GB", "12XB", "nanB", "infB", "1.2.3B", "-5B",
        ] {
            assert_eq!(psize(bad), None, "{bad:?}");
        }
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
