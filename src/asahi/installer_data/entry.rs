//! `gen-installer-data entry`: one `os_list` entry from a package manifest.
//! Every size comes from the manifest (measured when the zip was written), so
//! no Nix evaluation ever has to read a build output.

use super::check::{check_entry, check_package, package_file_name, package_ref_problem};
use super::write_json;
use super::zip_members::from_manifest;
use crate::asahi::manifest::{Manifest, MemberKind};
use crate::asahi::{DEFAULT_FW, ESP_SOURCE, IMAGE_ALIGN, KNOWN_FW, NEXT_OBJECT, ROOT_IMAGE};
use crate::error::{Error, Result};
use crate::ids::parse_u32_id;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RootFs {
    Btrfs,
    Ext4,
}

impl RootFs {
    pub fn as_str(self) -> &'static str {
        match self {
            RootFs::Btrfs => "btrfs",
            RootFs::Ext4 => "ext4",
        }
    }
}

#[derive(Clone, Debug)]
pub struct EntryOptions {
    pub name: String,
    pub version: String,
    pub fs: RootFs,
    /// `https://host/dir/x.zip`, `https://host/dir/` (the manifest's file
    /// name is appended) or a bare file name (`$REPO_BASE/os/<name>`).
    pub package_url: String,
    pub display_name: Option<String>,
    pub default_os_name: String,
    pub volume_id: Option<String>,
    pub supported_fw: Option<Vec<String>>,
    pub icon: Option<String>,
}

/// `<NAME>-<V>-<fs>`: the package identity the volume id is derived from.
pub fn package_id(name: &str, version: &str, fs: RootFs) -> String {
    format!("{name}-{version}-{}", fs.as_str())
}

/// The ESP volume id of a package: `"0x"` + the first 8 hex digits of
/// SHA-256(`<NAME>-<V>-<fs>`). Fixed: the Nix code computes the same value to
/// mount `/boot` by it.
pub fn derive_volume_id(package_id: &str) -> String {
    let digest = Sha256::digest(package_id.as_bytes());
    format!(
        "0x{:02x}{:02x}{:02x}{:02x}",
        digest[0], digest[1], digest[2], digest[3]
    )
}

/// `--supported-fw` validated against the installer's list, de-duplicated and
/// put in the installer's order.
pub fn normalise_supported_fw(values: &[String]) -> Result<Vec<&'static str>> {
    let valid = KNOWN_FW.join(", ");
    if let Some(bad) = values.iter().find(|v| !KNOWN_FW.contains(&v.as_str())) {
        return Err(Error::installer_data(format!(
            "supported firmware {bad:?} is not one the installer knows: valid values are {valid}"
        )));
    }
    let list: Vec<&'static str> = KNOWN_FW
        .iter()
        .copied()
        .filter(|k| values.iter().any(|v| v == k))
        .collect();
    if list.is_empty() {
        return Err(Error::installer_data(format!(
            "--supported-fw is empty: the installer would find no firmware on any Mac; give some of {valid}"
        )));
    }
    if let Some(problem) = super::firmware::stranded_problem(&list) {
        return Err(Error::installer_data(format!("--supported-fw: {problem}")));
    }
    Ok(list)
}

fn resolve_package(url: &str, manifest: &Manifest) -> Result<String> {
    if let Some(problem) = package_ref_problem(&manifest.package) {
        return Err(Error::installer_data(format!(
            "the manifest's package file name is unusable: {problem}"
        )));
    }
    let resolved = if url.starts_with("http") && url.ends_with('/') {
        format!("{url}{}", manifest.package)
    } else {
        url.to_string()
    };
    if let Some(problem) = package_ref_problem(&resolved) {
        return Err(Error::installer_data(format!(
            "--package-url: {problem}: give an absolute http(s) URL of the zip, a URL ending in \"/\", or a bare file name"
        )));
    }
    let file = package_file_name(&resolved);
    if file != manifest.package {
        crate::diag::warn(format_args!(
            "--package-url names {file:?} but the manifest describes {:?}",
            manifest.package
        ));
    }
    Ok(resolved)
}

fn check_text(what: &str, value: &str) -> Result<()> {
    if value.is_empty() || value.chars().any(char::is_control) {
        return Err(Error::installer_data(format!(
            "{what} {value:?} must be non-empty text without control characters"
        )));
    }
    Ok(())
}

/// Build the entry, checking it against the manifest's members.
pub fn build_entry(manifest: &Manifest, opts: &EntryOptions) -> Result<Value> {
    check_text("--name", &opts.name)?;
    check_text("--version", &opts.version)?;
    check_text("--default-os-name", &opts.default_os_name)?;
    let id = package_id(&opts.name, &opts.version, opts.fs);
    let display = match &opts.display_name {
        Some(d) => d.clone(),
        None => format!("{} ({id})", opts.default_os_name),
    };
    check_text("--display-name", &display)?;
    let volume_id = match &opts.volume_id {
        Some(v) => format!("0x{:08x}", parse_u32_id(v)?),
        None => derive_volume_id(&id),
    };
    let fw = match &opts.supported_fw {
        Some(list) => normalise_supported_fw(list)?,
        None => DEFAULT_FW.to_vec(),
    };
    let package = resolve_package(&opts.package_url, manifest)?;

    let file = |name: &str| manifest.member(name).filter(|m| m.kind == MemberKind::File);
    let boot = format!("{ESP_SOURCE}/{NEXT_OBJECT}");
    if file(&boot).is_none() {
        return Err(Error::installer_data(format!(
            "the package has no {boot:?}: m1n1 would have nothing to chainload and the Mac would not boot; build the ESP with the Apple Silicon boot modules"
        )));
    }
    let root = file(ROOT_IMAGE).ok_or_else(|| {
        Error::installer_data(format!(
            "the package has no {ROOT_IMAGE:?} member: rebuild it with carve-partitions asahi-package"
        ))
    })?;
    let root_limit = manifest.partitions.root.size;
    if root.size == 0 || root.size % IMAGE_ALIGN != 0 {
        return Err(Error::installer_data(format!(
            "{ROOT_IMAGE} is {} bytes, not a positive multiple of {IMAGE_ALIGN}: the installer refuses it",
            root.size
        )));
    }
    if root.size > root_limit {
        return Err(Error::installer_data(format!(
            "{ROOT_IMAGE} is {} bytes, larger than the manifest's root partition ({root_limit} bytes): the manifest does not describe this zip",
            root.size
        )));
    }
    let esp_size = manifest.partitions.esp.size;
    let esp_files: u64 = manifest
        .members
        .iter()
        .filter(|m| m.kind == MemberKind::File && m.name.starts_with(&format!("{ESP_SOURCE}/")))
        .map(|m| m.size)
        .sum();
    if esp_files > esp_size {
        return Err(Error::installer_data(format!(
            "the esp/ files ({esp_files} bytes) do not fit the manifest's ESP size ({esp_size} bytes): build a larger ESP"
        )));
    }
    if let Some(icon) = &opts.icon {
        if file(icon).is_none() {
            return Err(Error::installer_data(format!(
                "--icon {icon:?} is not a file in the package"
            )));
        }
    }

    let mut e = Map::new();
    e.insert("name".into(), json!(display));
    e.insert("default_os_name".into(), json!(opts.default_os_name));
    e.insert("boot_object".into(), json!(super::check::BOOT_OBJECT));
    e.insert("next_object".into(), json!(NEXT_OBJECT));
    e.insert("package".into(), json!(package));
    e.insert("supported_fw".into(), json!(fw));
    if let Some(icon) = &opts.icon {
        e.insert("icon".into(), json!(icon));
    }
    let mut efi = Map::new();
    efi.insert("name".into(), json!("EFI"));
    efi.insert("type".into(), json!("EFI"));
    efi.insert("size".into(), json!(format!("{esp_size}B")));
    efi.insert("format".into(), json!("fat"));
    efi.insert("volume_id".into(), json!(volume_id));
    efi.insert("source".into(), json!(ESP_SOURCE));
    efi.insert("copy_firmware".into(), json!(true));
    efi.insert("copy_installer_data".into(), json!(true));
    let mut rootp = Map::new();
    rootp.insert("name".into(), json!("Root"));
    rootp.insert("type".into(), json!("Linux"));
    rootp.insert("size".into(), json!(format!("{}B", root.size)));
    rootp.insert("expand".into(), json!(true));
    rootp.insert("image".into(), json!(ROOT_IMAGE));
    e.insert(
        "partitions".into(),
        Value::Array(vec![Value::Object(efi), Value::Object(rootp)]),
    );
    let entry = Value::Object(e);

    // The same rules `check` applies, to the zip as the manifest records it.
    let mut problems = check_entry(&entry);
    problems.extend(check_package(&entry, &from_manifest(manifest)));
    if !problems.is_empty() {
        return Err(Error::installer_data(format!(
            "the package would not install: {}",
            problems.join("; ")
        )));
    }
    Ok(entry)
}

/// `gen-installer-data entry`.
pub fn run(manifest_path: &Path, opts: &EntryOptions, output: &Path) -> Result<()> {
    let manifest = Manifest::read(manifest_path)?;
    // What is wrong with the entry is told of the manifest; other errors
    // (an option's syntax) already say what they are about.
    let entry = build_entry(&manifest, opts).map_err(|e| match e {
        Error::InstallerData { .. } => e.with_path(manifest_path),
        other => other,
    })?;
    write_json(output, &entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_id_derivation() {
        // printf %s nixos-asahi-0.2.0-btrfs | sha256sum
        let id = package_id("nixos-asahi", "0.2.0", RootFs::Btrfs);
        assert_eq!(id, "nixos-asahi-0.2.0-btrfs");
        let v = derive_volume_id(&id);
        assert_eq!(v.len(), 10);
        assert!(v.starts_with("0x"));
        assert_ne!(v, derive_volume_id("nixos-asahi-0.2.0-ext4"));
    }

    #[test]
    fn supported_fw_is_validated_and_ordered() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            normalise_supported_fw(&s(&["13.5", "12.3", "13.5"])).unwrap(),
            ["12.3", "13.5"]
        );
        assert!(normalise_supported_fw(&s(&["13.5.1"])).is_err());
        assert!(normalise_supported_fw(&s(&[])).is_err());
    }
}
