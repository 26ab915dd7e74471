//! `gen-installer-data merge`: put new entries at the top of a served
//! `installer_data.json`, replacing (never duplicating) an entry for the same
//! package, and optionally pruning old ones.

use super::check::{check_data, check_entry, entry_label};
use super::{read_json, write_json};
use crate::error::{Error, ErrorContext, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// What identifies an entry: its `package`, or its `name` when it has none.
fn identity(entry: &Value) -> Option<(&'static str, &str)> {
    if let Some(p) = entry.get("package").and_then(Value::as_str) {
        return Some(("package", p));
    }
    entry
        .get("name")
        .and_then(Value::as_str)
        .map(|n| ("name", n))
}

/// Merge `new` (newest first) into `existing`. Pure: no I/O.
pub fn merge_values(mut existing: Value, new: Vec<Value>, keep: Option<usize>) -> Result<Value> {
    let obj = existing.as_object_mut().ok_or_else(|| {
        Error::installer_data(
            "the existing file is not a JSON object: expected {\"os_list\": [...]}",
        )
    })?;
    let old = match obj.get_mut("os_list") {
        None => Vec::new(),
        Some(Value::Array(list)) => std::mem::take(list),
        Some(_) => {
            return Err(Error::installer_data(
                "the existing file's \"os_list\" is not a list",
            ))
        }
    };
    let mut list: Vec<Value> = Vec::with_capacity(new.len() + old.len());
    for entry in new.into_iter().chain(old) {
        let id = identity(&entry);
        if id.is_some() && list.iter().any(|e| identity(e) == id) {
            continue; // an earlier (newer) entry already stands for this package
        }
        list.push(entry);
    }
    if let Some(n) = keep {
        list.truncate(n);
    }
    // Keeps os_list where it was among the top-level keys (or appends it).
    obj.insert("os_list".into(), Value::Array(list));
    Ok(existing)
}

/// `gen-installer-data merge --into FILE ENTRY...`.
/// Merge and write; the summary line for stdout.
pub fn run(into: &Path, entries: &[PathBuf], keep: Option<usize>) -> Result<String> {
    if keep == Some(0) {
        return Err(Error::installer_data(
            "--keep 0 would publish an empty os_list: keep at least 1",
        ));
    }
    // Read, merge and write under one lock: two merges into one file at once
    // would otherwise each start from the old list, and one entry would be lost.
    let _lock = crate::guard::lock_dir(into.parent().unwrap_or(Path::new("")))?;
    let existing = if into.exists() {
        read_json(into)?
    } else {
        json!({"os_list": []})
    };
    let mut new = Vec::with_capacity(entries.len());
    for path in entries {
        let entry = read_json(path)?;
        if entry.get("os_list").is_some() {
            return Err(Error::installer_data(format!(
                "{} is a whole installer_data file, not one entry: pass the files gen-installer-data entry wrote",
                path.display()
            )));
        }
        let problems = check_entry(&entry);
        if !problems.is_empty() {
            return Err(Error::installer_data(format!(
                "{}: fix the entry before publishing it",
                problems.join("; ")
            ))
            .with_path(path));
        }
        if identity(&entry).is_none() {
            return Err(Error::installer_data(format!(
                "{} has neither \"package\" nor \"name\" to identify it",
                path.display()
            )));
        }
        new.push(entry);
    }
    let merged = merge_values(existing, new, keep).in_file(into)?;
    // Problems of entries already published are reported, not fatal: merging
    // must still be able to push a fix on top of them.
    for p in check_data(&merged) {
        crate::diag::warn(format_args!("{}: {p}", into.display()));
    }
    write_json(into, &merged)?;
    let count = merged["os_list"].as_array().map_or(0, Vec::len);
    let top = merged["os_list"]
        .get(0)
        .map(|e| entry_label(0, e))
        .unwrap_or_default();
    Ok(format!(
        "{}: {count} entries, newest {}\n",
        into.display(),
        crate::escape::line(&top)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_orders_and_prunes() {
        let existing = json!({"x": 1, "os_list": [
            {"name": "b", "package": "b.zip", "k": "old"},
            {"name": "a", "package": "a.zip"}
        ], "y": 2});
        let new = vec![
            json!({"name": "c", "package": "c.zip"}),
            json!({"name": "b2", "package": "b.zip"}),
            json!({"name": "c-again", "package": "c.zip"}),
        ];
        let merged = merge_values(existing.clone(), new.clone(), None).unwrap();
        let names: Vec<&str> = merged["os_list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["c", "b2", "a"]);
        let keys: Vec<&String> = merged.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["x", "os_list", "y"]);
        let pruned = merge_values(existing, new, Some(2)).unwrap();
        assert_eq!(pruned["os_list"].as_array().unwrap().len(), 2);
    }
}
