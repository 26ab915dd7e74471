//! `publish gc`: delete zips that nothing can point at any more. A zip is
//! kept if the live list or a snapshot younger than `snapshot_age` names it
//! (the list may be rolled back to one), or if it is younger than `grace`
//! (a publish may be between uploading it and listing it).

use super::list::{package_file, packages};
use super::store::Store;
use super::{LIST_KEY, OS_PREFIX, SNAPSHOT_PREFIX};
use crate::error::{Error, Result};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

#[derive(Debug, Serialize)]
pub struct GcReport {
    pub dry_run: bool,
    pub deleted: Vec<String>,
    pub kept_named: usize,
    pub kept_young: Vec<String>,
}

fn parse(store: &dyn Store, key: &str, bytes: &[u8]) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|e| {
        Error::installer_data(format!(
            "{}/{key} is not valid JSON ({e}): gc cannot tell what it names, so deletes nothing; repair or remove it",
            store.describe()
        ))
    })
}

pub fn run(
    store: &dyn Store,
    grace: Duration,
    snapshot_age: Duration,
    dry_run: bool,
) -> Result<GcReport> {
    let now = SystemTime::now();
    let age = |t: SystemTime| now.duration_since(t).unwrap_or_default();
    let Some((live, _)) = store.get(LIST_KEY)? else {
        return Err(Error::invalid(format!(
            "{}/{LIST_KEY} does not exist: gc deletes nothing without a live list",
            store.describe()
        )));
    };
    let mut named: BTreeSet<String> = packages(&parse(store, LIST_KEY, &live)?)
        .iter()
        .map(|p| package_file(p).to_string())
        .collect();
    for (key, meta) in store.list(SNAPSHOT_PREFIX)? {
        if age(meta.modified) > snapshot_age {
            continue;
        }
        if let Some((bytes, _)) = store.get(&key)? {
            named.extend(
                packages(&parse(store, &key, &bytes)?)
                    .iter()
                    .map(|p| package_file(p).to_string()),
            );
        }
    }
    let mut report = GcReport {
        dry_run,
        deleted: Vec::new(),
        kept_named: 0,
        kept_young: Vec::new(),
    };
    for (key, meta) in store.list(OS_PREFIX)? {
        if !key.ends_with(".zip") {
            continue;
        }
        if named.contains(package_file(&key)) {
            report.kept_named += 1;
        } else if age(meta.modified) < grace {
            report.kept_young.push(key);
        } else {
            if !dry_run {
                store.delete(&key)?;
            }
            report.deleted.push(key);
        }
    }
    Ok(report)
}
