//! One build result: the zip, the manifest `carve-partitions asahi-package`
//! wrote next to it and the `installer_data` entry `gen-installer-data`
//! wrote, as a Nix package output holds them (or named one by one).

use crate::asahi::installer_data::check::check_entry;
use crate::asahi::installer_data::read_json;
use crate::asahi::manifest::Manifest;
use crate::error::{Error, IoContext, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct BuildResult {
    pub zip: PathBuf,
    pub manifest: Manifest,
    /// The `os_list` entry, `package` as the build wrote it.
    pub entry: Value,
}

impl BuildResult {
    /// `path` is a directory (a Nix result: `*.zip`, `*.manifest.json`,
    /// `installer_data*.json`) or the zip itself, with the other two next to it.
    pub fn load(path: &Path) -> Result<BuildResult> {
        let (dir, zip) = if path.is_dir() {
            (path.to_path_buf(), None)
        } else {
            let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
            (dir, Some(path.to_path_buf()))
        };
        let mut zips = Vec::new();
        let mut manifests = Vec::new();
        let mut datas = Vec::new();
        for e in std::fs::read_dir(&dir).ctx("list", &dir)? {
            let p = e.ctx("list", &dir)?.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if name.ends_with(".manifest.json") {
                manifests.push(p);
            } else if name.starts_with("installer_data") && name.ends_with(".json") {
                datas.push(p);
            } else if name.ends_with(".zip") {
                zips.push(p);
            }
        }
        let zip = match zip {
            Some(z) => z,
            None => one(zips, &dir, "zip")?,
        };
        let zip_name = file_name(&zip);
        let manifest_path = match manifests
            .iter()
            .find(|m| file_name(m).strip_suffix(".manifest.json") == zip_name.strip_suffix(".zip"))
        {
            Some(m) => m.clone(),
            None => one(manifests, &dir, "manifest (*.manifest.json)")?,
        };
        let manifest = Manifest::read(&manifest_path)?;
        let size = std::fs::metadata(&zip).ctx("read", &zip)?.len();
        if manifest.package != zip_name || manifest.package_size != size {
            return Err(Error::invalid(format!(
                "describes {} of {} bytes, not {} of {size} bytes: pass the zip and manifest of one build",
                manifest.package,
                manifest.package_size,
                zip.display()
            ))
            .with_path(manifest_path));
        }
        let data_path = one(datas, &dir, "installer_data entry (installer_data*.json)")?;
        let data = read_json(&data_path)?;
        let entry = match data.get("os_list") {
            Some(Value::Array(list)) if list.len() == 1 => list[0].clone(),
            Some(_) => {
                return Err(Error::installer_data(
                    "expected exactly one os_list entry, the one gen-installer-data wrote for this build",
                )
                .with_path(data_path))
            }
            None => data,
        };
        let problems = check_entry(&entry);
        if !problems.is_empty() {
            return Err(Error::installer_data(format!(
                "{}: rebuild the package",
                problems.join("; ")
            ))
            .with_path(data_path));
        }
        Ok(BuildResult {
            zip,
            manifest,
            entry,
        })
    }

    /// `<name>-<version>-<fs>` from the zip's file name.
    pub fn stem(&self) -> &str {
        self.manifest
            .package
            .strip_suffix(".zip")
            .unwrap_or(&self.manifest.package)
    }

    /// The immutable, content-addressed file name under `os/`.
    pub fn published_name(&self) -> String {
        format!(
            "{}-{}.zip",
            self.stem(),
            &self.manifest.package_sha256[..HASH_CHARS]
        )
    }

    /// The entry as published: `package` names the content-addressed zip,
    /// relative, so the installer resolves it as `$REPO_BASE/os/<name>`.
    pub fn published_entry(&self, package: &str) -> Value {
        let mut e = self.entry.clone();
        e["package"] = Value::String(package.to_string());
        e
    }
}

/// Hex digits of the SHA-256 in a published name: 64 bits, enough that two
/// builds of one version never share a name by chance.
pub const HASH_CHARS: usize = 16;

fn file_name(p: &Path) -> &str {
    p.file_name().and_then(|n| n.to_str()).unwrap_or_default()
}

fn one(mut found: Vec<PathBuf>, dir: &Path, what: &str) -> Result<PathBuf> {
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Error::invalid(format!(
            "no {what}: pass the output of a package build (nix build .#...)"
        ))
        .with_path(dir)),
        _ => {
            Err(Error::invalid(format!("more than one {what}: pass the zip itself")).with_path(dir))
        }
    }
}
