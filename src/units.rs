//! Byte sizes as people and Nix write them: `4096`, `"4096"`, `"512MiB"`,
//! `"1GiB"`, `"auto"`. Binary units only: decimal `MB` is ambiguous in disk
//! tooling, and refusing it is kinder than guessing.

use crate::error::{Error, Result};

const UNITS: &[(&str, u64)] = &[
    ("KiB", 1 << 10),
    ("MiB", MIB),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
    ("B", 1),
];

pub const MIB: u64 = 1 << 20;

/// Parse `"NNN"`, `"NNNB"` or `"N{KiB,MiB,GiB,TiB}"` into bytes.
pub fn parse_size(text: &str) -> Result<u64> {
    let t = text.trim();
    let (digits, mult) = UNITS
        .iter()
        .find_map(|(suffix, mult)| t.strip_suffix(suffix).map(|d| (d.trim(), *mult)))
        .unwrap_or((t, 1));
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid(format!(
            "size {text:?} is not a number of bytes or a KiB/MiB/GiB/TiB amount (e.g. \"512MiB\")"
        )));
    }
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| Error::invalid(format!("size {text:?} is too large")))
}

/// Saturates instead of wrapping: a size near 2^64 stays huge (and fails the
/// checked sums that follow) rather than becoming small.
pub fn align_up(value: u64, align: u64) -> u64 {
    value.div_ceil(align).saturating_mul(align)
}

/// Human-readable size for messages: `1.5 GiB (1610612736 bytes)`.
pub fn human(bytes: u64) -> String {
    let (value, unit) = if bytes >= 1 << 30 {
        (bytes as f64 / (1u64 << 30) as f64, "GiB")
    } else if bytes >= MIB {
        (bytes as f64 / MIB as f64, "MiB")
    } else if bytes >= 1 << 10 {
        (bytes as f64 / 1024.0, "KiB")
    } else {
        return format!("{bytes} bytes");
    };
    format!("{value:.1} {unit} ({bytes} bytes)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("529530880B").unwrap(), 529530880);
        assert_eq!(parse_size("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("2 GiB").unwrap(), 2 << 30);
        assert!(parse_size("12MB").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("99999999999999999999GiB").is_err());
    }
}
