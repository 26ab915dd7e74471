//! `publish`: put build results where Macs install them from, in an order
//! that never lets the live list point at something missing or changing.
//!
//! 1. each zip goes to an immutable, content-addressed key under `os/`
//!    (never uploaded twice, an existing key with other bytes is an error);
//! 2. each zip is read back through the public URL as the installer reads it;
//! 3. `installer_data.json` is read through the storage API, merged, every
//!    package it names checked, and written with a conditional put, retried
//!    on a conflict; a timestamped snapshot of it is kept;
//! 4. the bootstrap script `install` is written for the public URL.
//!
//! Removing old zips is [`gc`], separately.

pub mod build_result;
pub mod gc;
pub mod list;
pub mod local;
pub mod s3;
pub mod store;
pub mod verify;

use crate::asahi::installer_data::to_json_text;
use crate::bootstrap::InstallerPin;
use crate::epoch::UtcDateTime;
use crate::error::{Error, Result};
use build_result::BuildResult;
use serde::Serialize;
use serde_json::{json, Value};
use std::time::{Duration, Instant, SystemTime};
use store::{Condition, Store, Written};

pub const LIST_KEY: &str = "installer_data.json";
pub const SCRIPT_KEY: &str = "install";
pub const OS_PREFIX: &str = "os";
pub const SNAPSHOT_PREFIX: &str = "snapshots";
/// Conditional writes lost to other publishers before giving up.
const MAX_LIST_ATTEMPTS: u32 = 20;

pub struct Options {
    /// Where the destination is served from, without a trailing `/`.
    pub public_url: String,
    pub keep: Option<usize>,
    pub dry_run: bool,
    pub pin: InstallerPin,
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub destination: String,
    pub dry_run: bool,
    pub zips: Vec<ZipReport>,
    pub list: Option<ListReport>,
    pub install: String,
}

#[derive(Debug, Serialize)]
pub struct ZipReport {
    pub source: String,
    pub key: String,
    pub url: String,
    pub size: u64,
    /// "uploaded", "present" (already there, same bytes) or "would upload".
    pub action: &'static str,
    pub upload_seconds: f64,
    pub verify_seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct ListReport {
    pub key: String,
    pub entries: Vec<String>,
    /// Conditional writes it took (1 without a race).
    pub attempts: u32,
    pub snapshot: Option<String>,
    /// Entries dropped because the zip they name is gone.
    pub dropped: Vec<String>,
}

fn os_key(name: &str) -> String {
    format!("{OS_PREFIX}/{name}")
}

/// The storage key of a `package` value, when it points into this
/// destination (relative, or under the public URL).
fn key_of(package: &str, public_url: &str) -> Option<String> {
    if !package.contains("://") {
        return Some(os_key(package));
    }
    package
        .strip_prefix(public_url)
        .and_then(|rest| rest.strip_prefix('/'))
        .map(String::from)
}

/// A zip already at `key`: fine if it holds the same bytes, an error otherwise.
fn check_existing(store: &dyn Store, key: &str, r: &BuildResult, size: u64) -> Result<bool> {
    let Some(meta) = store.head(key)? else {
        return Ok(false);
    };
    let sha = store.content_sha256(key)?;
    if meta.size == size && sha.as_deref() == Some(r.manifest.package_sha256.as_str()) {
        return Ok(true);
    }
    Err(Error::invalid(format!(
        "{}/{key} exists with other bytes ({} bytes, SHA-256 {}) than {} ({size} bytes, SHA-256 {}): published names are never reused; find out what wrote it before deleting it",
        store.describe(),
        meta.size,
        sha.as_deref().unwrap_or("not recorded"),
        r.zip.display(),
        r.manifest.package_sha256
    )))
}

pub fn run(store: &dyn Store, results: &[BuildResult], opts: &Options) -> Result<Report> {
    let mut report = Report {
        destination: store.describe(),
        dry_run: opts.dry_run,
        install: format!("{}/{SCRIPT_KEY}", opts.public_url),
        ..Default::default()
    };
    let mut entries = Vec::new();
    for r in results {
        let name = r.published_name();
        let key = os_key(&name);
        let url = format!("{}/{key}", opts.public_url);
        let size = r.manifest.package_size;
        let present = check_existing(store, &key, r, size)?;
        let mut z = ZipReport {
            source: r.zip.display().to_string(),
            key: key.clone(),
            url: url.clone(),
            size,
            action: if present { "present" } else { "would upload" },
            upload_seconds: 0.0,
            verify_seconds: 0.0,
        };
        if !opts.dry_run {
            if !present {
                let t = Instant::now();
                store.upload(&key, &r.zip, &r.manifest.package_sha256)?;
                z.upload_seconds = t.elapsed().as_secs_f64();
                z.action = "uploaded";
            }
            z.verify_seconds = verify::verify_zip(&url, &r.zip, size)?
                .elapsed
                .as_secs_f64();
        }
        entries.push(r.published_entry(&name));
        report.zips.push(z);
    }

    let mut attempts = 0;
    let (merged, dropped) = loop {
        attempts += 1;
        let (existing, cond) = match store.get(LIST_KEY)? {
            None => (json!({"os_list": []}), Condition::Absent),
            Some((bytes, meta)) => {
                let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
                    Error::installer_data(format!(
                        "{}/{LIST_KEY} is not valid JSON ({e}): refusing to replace it; repair it from a snapshot under {SNAPSHOT_PREFIX}/",
                        store.describe()
                    ))
                })?;
                let etag = meta.etag.ok_or_else(|| {
                    Error::invalid(format!(
                        "{}/{LIST_KEY}: the storage gave no ETag: it cannot be updated safely",
                        store.describe()
                    ))
                })?;
                (v, Condition::Matches(etag))
            }
        };
        let mut merged = list::merge(existing, entries.clone(), opts.keep)?;
        let dropped = drop_missing(store, &mut merged, &opts.public_url, &report.zips)?;
        if opts.dry_run {
            break (merged, dropped);
        }
        let text = to_json_text(&merged);
        match store.put(LIST_KEY, text.as_bytes(), "application/json", cond)? {
            Written::Yes => break (merged, dropped),
            Written::Conflict if attempts < MAX_LIST_ATTEMPTS => {
                // Someone else published meanwhile: merge into theirs.
                std::thread::sleep(Duration::from_millis(50 * u64::from(attempts)));
            }
            Written::Conflict => {
                return Err(Error::invalid(format!(
                    "{}/{LIST_KEY} kept changing during {attempts} attempts: the zips are published; run publish again",
                    store.describe()
                )))
            }
        }
    };
    let mut snapshot = None;
    if !opts.dry_run {
        let key = snapshot_key();
        store.put(
            &key,
            to_json_text(&merged).as_bytes(),
            "application/json",
            Condition::None,
        )?;
        snapshot = Some(key);
        let script = crate::bootstrap::render("publish", &opts.public_url, &opts.pin, &merged)?;
        store.put(
            SCRIPT_KEY,
            script.as_bytes(),
            "text/plain; charset=utf-8",
            Condition::None,
        )?;
    }
    report.list = Some(ListReport {
        key: LIST_KEY.into(),
        entries: merged["os_list"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .map(|e| e["name"].as_str().unwrap_or("?").to_string())
            .collect(),
        attempts,
        snapshot,
        dropped,
    });
    Ok(report)
}

/// Entries whose zip is in this destination but gone are dropped (the
/// installer would crash on them); other URLs must answer a HEAD.
fn drop_missing(
    store: &dyn Store,
    merged: &mut Value,
    public_url: &str,
    ours: &[ZipReport],
) -> Result<Vec<String>> {
    let mut dropped = Vec::new();
    let Some(list) = merged["os_list"].as_array_mut() else {
        return Ok(dropped);
    };
    let mut keep = Vec::with_capacity(list.len());
    for e in list.drain(..) {
        let Some(p) = e.get("package").and_then(Value::as_str) else {
            keep.push(e);
            continue;
        };
        let exists = match key_of(p, public_url) {
            // Ours are checked (or, in a dry run, about to be uploaded).
            Some(key) if ours.iter().any(|z| z.key == key) => true,
            Some(key) => store.head(&key)?.is_some_and(|m| m.size > 0),
            None => verify::head_status(p)? == 200,
        };
        if exists {
            keep.push(e);
        } else {
            crate::diag::warn(format_args!(
                "dropping the entry for {p}: the zip is missing"
            ));
            dropped.push(p.to_string());
        }
    }
    *list = keep;
    Ok(dropped)
}

/// `snapshots/installer_data-<UTC time>-<pid>.json`: sorts by time, unique
/// per publisher.
fn snapshot_key() -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let t = UtcDateTime::from_unix(now.as_secs() as i64);
    format!(
        "{SNAPSHOT_PREFIX}/installer_data-{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z-{}.json",
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        now.subsec_millis(),
        std::process::id()
    )
}

/// Human-readable lines for a terminal.
pub fn print_report(r: &Report) {
    for z in &r.zips {
        println!(
            "{}: {} ({}, upload {:.1} s, verify {:.1} s)",
            z.url,
            z.action,
            crate::units::human(z.size),
            z.upload_seconds,
            z.verify_seconds
        );
    }
    if let Some(l) = &r.list {
        let verb = if r.dry_run { "would list" } else { "lists" };
        println!(
            "{}/{}: {verb} {}",
            r.destination,
            l.key,
            l.entries.join(", ")
        );
    }
    if !r.dry_run {
        println!(
            "on the Mac: {}",
            crate::bootstrap::one_liner(r.install.trim_end_matches("/install"))
        );
    }
}
