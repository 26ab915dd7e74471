//! The live `installer_data.json`: merging new entries in (the same package
//! replaced, newest first, `--keep N` per variant) and naming what it points at.

use crate::asahi::installer_data::merge::merge_values;
use crate::error::Result;
use serde_json::Value;

/// The file name a `package` value points at (a relative name, or the last
/// path segment of a URL).
pub fn package_file(package: &str) -> &str {
    let path = package.split(['?', '#']).next().unwrap_or(package);
    path.rsplit('/').next().unwrap_or(path)
}

/// `<name>-<fs>` of `<name>-<version>-<fs>[-<hash>].zip`: the version is the
/// first `-`-separated part starting with a digit. Other names are their own
/// variant.
pub fn variant(package: &str) -> String {
    let stem = package_file(package);
    let stem = stem.strip_suffix(".zip").unwrap_or(stem);
    let stem = match stem.rsplit_once('-') {
        Some((s, h))
            if h.len() == super::build_result::HASH_CHARS
                && h.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            s
        }
        _ => stem,
    };
    let parts: Vec<&str> = stem.split('-').collect();
    match parts
        .iter()
        .position(|p| p.starts_with(|c: char| c.is_ascii_digit()))
    {
        Some(v) if v > 0 && v + 1 < parts.len() => {
            format!("{}-{}", parts[..v].join("-"), parts[parts.len() - 1])
        }
        _ => stem.to_string(),
    }
}

/// Merge `new` (newest first) into `existing` and keep the newest `keep`
/// entries of each variant.
pub fn merge(existing: Value, new: Vec<Value>, keep: Option<usize>) -> Result<Value> {
    let mut merged = merge_values(existing, new, None)?;
    if let (Some(keep), Some(list)) = (keep, merged["os_list"].as_array_mut()) {
        let mut seen: Vec<(String, usize)> = Vec::new();
        list.retain(|e| {
            let Some(p) = e.get("package").and_then(Value::as_str) else {
                return true;
            };
            let v = variant(p);
            match seen.iter_mut().find(|(name, _)| *name == v) {
                Some((_, n)) => {
                    *n += 1;
                    *n <= keep
                }
                None => {
                    seen.push((v, 1));
                    true
                }
            }
        });
    }
    Ok(merged)
}

/// The `package` of every entry.
pub fn packages(list: &Value) -> Vec<String> {
    list["os_list"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter_map(|e| e.get("package").and_then(Value::as_str).map(String::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn variants_and_keep() {
        assert_eq!(
            variant("nixos-asahi-0.2.0-btrfs-0123456789abcdef.zip"),
            "nixos-asahi-btrfs"
        );
        assert_eq!(
            variant("https://h/os/nixos-asahi-0.3.0-ext4.zip"),
            "nixos-asahi-ext4"
        );
        assert_eq!(variant("odd.zip"), "odd");
        let existing = json!({"os_list": [
            {"name": "b2", "package": "n-0.2.0-btrfs-0123456789abcdef.zip"},
            {"name": "e2", "package": "n-0.2.0-ext4-0123456789abcdef.zip"},
            {"name": "b1", "package": "n-0.1.0-btrfs-0123456789abcdef.zip"},
            {"name": "other"}
        ]});
        let new = vec![json!({"name": "b3", "package": "n-0.3.0-btrfs-fedcba9876543210.zip"})];
        let m = merge(existing, new, Some(2)).unwrap();
        let names: Vec<&str> = m["os_list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["b3", "b2", "e2", "other"]);
    }
}
