//! What the installer would trip on, one problem per line. The rules follow
//! the installer's code: `osinstall.py` (`psize(part["size"])`,
//! `part.get("format")`, `zinfo.file_size % 4096`, `extract_tree`, which makes
//! a directory only when it meets the directory's own entry), `main.py`
//! (`choose_ipsw`, `ipsw.version in supported_fw`) and Python's `zipfile`.

use super::zip_members::{read_zip, PkgMember};
use super::{firmware, parse_installer_size, read_json};
use crate::asahi::{IMAGE_ALIGN, KNOWN_FW, READABLE_METHODS};
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The stage-1 m1n1 the installer ships (`boot/m1n1.bin`, build.sh).
pub const BOOT_OBJECT: &str = "m1n1.bin";

/// Check a whole `installer_data.json` value. Each problem names its entry.
pub fn check_data(data: &Value) -> Vec<String> {
    let Some(obj) = data.as_object() else {
        return vec!["the top level is not a JSON object: expected {\"os_list\": [...]}".into()];
    };
    let Some(list) = obj.get("os_list") else {
        return vec!["missing required key \"os_list\"".into()];
    };
    let Some(list) = list.as_array() else {
        return vec!["\"os_list\" is not a list".into()];
    };
    let mut problems = Vec::new();
    let mut packages: HashMap<&str, usize> = HashMap::new();
    for (i, entry) in list.iter().enumerate() {
        let label = entry_label(i, entry);
        problems.extend(
            check_entry(entry)
                .into_iter()
                .map(|p| format!("{label}: {p}")),
        );
        if let Some(pkg) = entry.get("package").and_then(Value::as_str) {
            if let Some(first) = packages.insert(pkg, i) {
                problems.push(format!(
                    "{label}: package {pkg:?} is also used by os_list[{first}]: merge with gen-installer-data merge, which replaces instead of duplicating"
                ));
            }
        }
    }
    problems
}

/// `os_list[2] ("NixOS (...)")`, for messages.
pub fn entry_label(index: usize, entry: &Value) -> String {
    match entry.get("name").and_then(Value::as_str) {
        Some(name) => format!("os_list[{index}] ({name:?})"),
        None => format!("os_list[{index}]"),
    }
}

/// Problems of one OS entry (without the entry's label).
pub fn check_entry(entry: &Value) -> Vec<String> {
    let Some(e) = entry.as_object() else {
        return vec!["the entry is not a JSON object".into()];
    };
    let mut p = Vec::new();
    for key in ["name", "default_os_name", "boot_object"] {
        require_string(e, key, "", &mut p);
    }
    if let Some(b) = e.get("boot_object").and_then(Value::as_str) {
        if b != BOOT_OBJECT {
            p.push(format!(
                "boot_object {b:?}: the installer builds the stub from its own boot/{b}, and it ships only boot/{BOOT_OBJECT}"
            ));
        }
    }
    optional_string(e, "icon", "", &mut p);
    if let Some(pkg) = e.get("package") {
        match pkg.as_str() {
            Some(s) => p.extend(package_ref_problem(s)),
            None => p.push("\"package\" must be a string (a URL or a file name)".into()),
        }
    }
    p.extend(supported_fw_problems(e.get("supported_fw")));

    let parts = match e.get("partitions") {
        None => {
            p.push("missing required key \"partitions\"".into());
            return p;
        }
        Some(Value::Array(parts)) => parts,
        Some(_) => {
            p.push("\"partitions\" must be a list".into());
            return p;
        }
    };
    if parts.is_empty() {
        p.push("\"partitions\" is empty: the installer would install nothing".into());
    }
    let mut expands = Vec::new();
    let mut has_efi = false;
    for (i, part) in parts.iter().enumerate() {
        let at = format!("partitions[{i}]");
        let Some(part) = part.as_object() else {
            p.push(format!("{at} is not a JSON object"));
            continue;
        };
        require_string(part, "name", &at, &mut p);
        require_string(part, "type", &at, &mut p);
        match part.get("type").and_then(Value::as_str) {
            Some("EFI") => has_efi = true,
            Some("Linux") | None => {}
            Some(t) => p.push(format!(
                "{at}.type {t:?}: the installer hands it to diskutil as \"%{t}%\"; use \"EFI\" for the ESP and \"Linux\" for Linux filesystems"
            )),
        }
        match part.get("size") {
            None => p.push(format!("{at}: missing required key \"size\"")),
            Some(Value::String(s)) if parse_installer_size(s).is_some() => {}
            Some(Value::String(s)) => p.push(format!(
                "{at}.size {s:?} is not a size the installer's psize() reads (a number followed by B, KB, MB, GB, TB or KiB...TiB): write exact bytes such as \"529530880B\""
            )),
            Some(other) => p.push(format!(
                "{at}.size is {other} (not a string): the installer's psize() crashes on it; write \"{other}B\"-style strings"
            )),
        }
        match part.get("format") {
            None | Some(Value::Null) => {}
            Some(Value::String(f)) if f == "fat" => {}
            Some(f) => p.push(format!(
                "{at}.format is {f}: the installer formats only \"fat\" and raises \"Unsupported format\" otherwise"
            )),
        }
        if let Some(v) = part.get("volume_id") {
            if !v.as_str().is_some_and(valid_volume_id) {
                p.push(format!(
                    "{at}.volume_id is {v}: expected a string \"0x\" + up to 8 hex digits, e.g. \"0x12cea600\" (passed to newfs_msdos -I)"
                ));
            }
        }
        optional_string(part, "image", &at, &mut p);
        optional_string(part, "source", &at, &mut p);
        if part.get("expand").is_some_and(truthy) {
            expands.push(i);
        }
    }
    if expands.len() > 1 {
        p.push(format!(
            "partitions {expands:?} all have \"expand\": the installer would give the free space to each of them; keep one"
        ));
    }
    if e.get("next_object").is_some_and(|v| !v.is_null()) {
        optional_string(e, "next_object", "", &mut p);
        if !has_efi {
            p.push("\"next_object\" is set but no partition has type \"EFI\": the installer asserts an EFI partition to chainload from".into());
        }
    }
    if e.contains_key("extras") && !has_efi {
        p.push("\"extras\" is set but no partition has type \"EFI\" to download them onto".into());
    }
    p
}

/// Problems of a `package` value: an `http(s)` URL the installer fetches, or
/// a bare file name it resolves as `$REPO_BASE/os/<name>`.
pub fn package_ref_problem(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("\"package\" is empty".into());
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some(format!("package {s:?} contains whitespace"));
    }
    // The installer treats anything starting with "http" as a URL.
    if s.starts_with("http") {
        let rest = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"));
        return match rest {
            None => Some(format!(
                "package {s:?} starts with \"http\" but is not an http:// or https:// URL: the installer would fetch it as one"
            )),
            Some(r) if r.split('/').next().unwrap_or("").is_empty() || !r.contains('/') => {
                Some(format!("package URL {s:?} has no host or no path"))
            }
            Some(_) if s.contains(['?', '#']) => Some(format!(
                "package URL {s:?} has a query or fragment: the installer drops them; serve the zip at a plain path"
            )),
            Some(_) if s.ends_with('/') => Some(format!(
                "package URL {s:?} names a directory, not a zip"
            )),
            Some(_) => None,
        };
    }
    if s.contains(['/', ':', '?', '#']) {
        return Some(format!(
            "package {s:?} is neither an http(s) URL nor a bare file name (resolved as $REPO_BASE/os/<name>)"
        ));
    }
    None
}

/// The file name a `package` value refers to (its last path segment).
pub fn package_file_name(package: &str) -> &str {
    package.rsplit('/').next().unwrap_or(package)
}

fn supported_fw_problems(v: Option<&Value>) -> Vec<String> {
    let known = KNOWN_FW.join(", ");
    match v {
        // Absent or null: the installer offers every firmware (`supported_fw is None`).
        None | Some(Value::Null) => vec![],
        Some(Value::Array(list)) if list.is_empty() => vec![
            "\"supported_fw\" is empty: the installer would find no firmware and crash on every Mac".into(),
        ],
        Some(Value::Array(list)) => {
            let mut p: Vec<String> = list
                .iter()
                .filter(|v| !v.as_str().is_some_and(|s| KNOWN_FW.contains(&s)))
                .map(|v| {
                    format!("supported_fw value {v} is not one the installer knows (valid: {known}); it never matches")
                })
                .collect();
            let strings: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
            p.extend(firmware::stranded_problem(&strings));
            p
        }
        Some(other) => vec![format!(
            "\"supported_fw\" is {other}, not a list of strings (valid values: {known})"
        )],
    }
}

fn valid_volume_id(s: &str) -> bool {
    s.strip_prefix("0x")
        .is_some_and(|h| !h.is_empty() && h.len() <= 8 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn truthy(v: &Value) -> bool {
    !matches!(v, Value::Null | Value::Bool(false))
        && v.as_u64() != Some(0)
        && v.as_str() != Some("")
}

fn require_string(obj: &Map<String, Value>, key: &str, at: &str, p: &mut Vec<String>) {
    let sep = if at.is_empty() { "" } else { ": " };
    match obj.get(key) {
        None => p.push(format!("{at}{sep}missing required key {key:?}")),
        Some(Value::String(_)) => {}
        Some(v) => p.push(format!("{at}{sep}{key:?} must be a string, not {v}")),
    }
}

fn optional_string(obj: &Map<String, Value>, key: &str, at: &str, p: &mut Vec<String>) {
    let sep = if at.is_empty() { "" } else { ": " };
    match obj.get(key) {
        None | Some(Value::String(_)) => {}
        Some(v) => p.push(format!("{at}{sep}{key:?} must be a string, not {v}")),
    }
}

/// Problems of the package zip (its members in archive order) for `entry`.
pub fn check_package(entry: &Value, members: &[PkgMember]) -> Vec<String> {
    let mut p = Vec::new();
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for (i, m) in members.iter().enumerate() {
        if by_name.insert(&m.name, i).is_some() {
            p.push(format!("member {:?} appears more than once", m.name));
        }
        p.extend(name_problem(m));
        if !READABLE_METHODS.iter().any(|(id, _)| *id == m.method) {
            let readable: Vec<String> = READABLE_METHODS
                .iter()
                .map(|(id, n)| format!("{id} {n}"))
                .collect();
            p.push(format!(
                "member {:?} uses compression method {} ({}), which Python's zipfile cannot read (readable: {}): repack it",
                m.name,
                m.method,
                method_name(m.method),
                readable.join(", ")
            ));
        }
        if m.flags & 1 != 0 {
            p.push(format!(
                "member {:?} is encrypted: the installer cannot read it",
                m.name
            ));
        }
    }
    p.extend(directory_order_problems(members));

    let Some(e) = entry.as_object() else {
        return p;
    };
    let file = |name: &str| {
        by_name
            .get(name)
            .map(|&i| &members[i])
            .filter(|m| !m.is_dir)
    };
    let parts = e
        .get("partitions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut efi_sources = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let at = format!("partitions[{i}]");
        let size = part
            .get("size")
            .and_then(Value::as_str)
            .and_then(parse_installer_size);
        if let Some(image) = part.get("image").and_then(Value::as_str) {
            match file(image) {
                None => p.push(format!("{at}.image {image:?} is not a file in the package")),
                Some(m) => {
                    if m.size % IMAGE_ALIGN != 0 {
                        p.push(format!(
                            "{at}.image {image:?} is {} bytes, not a multiple of {IMAGE_ALIGN}: the installer aborts (\"must be a multiple of 4KiB\")",
                            m.size
                        ));
                    }
                    if let Some(size) = size.filter(|&s| m.size > s) {
                        p.push(format!(
                            "{at}.image {image:?} is {} bytes, larger than the partition's {size} bytes: the write would fail mid-install",
                            m.size
                        ));
                    }
                }
            }
        }
        if let Some(source) = part.get("source").and_then(Value::as_str) {
            let prefix = format!("{}/", source.trim_end_matches('/'));
            let inside: Vec<&PkgMember> = members
                .iter()
                .filter(|m| m.name.starts_with(&prefix))
                .collect();
            if inside.is_empty() {
                p.push(format!(
                    "{at}.source {source:?}: the package has no {prefix:?} directory"
                ));
            }
            if part.get("format").and_then(Value::as_str) == Some("fat") {
                for m in inside.iter().filter(|m| m.is_symlink()) {
                    p.push(format!(
                        "member {:?} is a symlink, which the FAT partition {at} cannot hold: store the file itself",
                        m.name
                    ));
                }
            }
            if part.get("copy_firmware").is_some_and(truthy) {
                // FAT (and the Mac's view of it) ignores case.
                let fw = format!("{prefix}vendorfw/").to_lowercase();
                if let Some(m) = inside
                    .iter()
                    .find(|m| m.name.to_lowercase().starts_with(&fw))
                {
                    p.push(format!(
                        "member {:?}: {at} has \"copy_firmware\", and the installer copies the Mac's firmware to vendorfw/ with shutil.copytree, which fails when the package already made it: leave vendorfw/ out of the package",
                        m.name
                    ));
                }
            }
            if part.get("type").and_then(Value::as_str) == Some("EFI") {
                efi_sources.push(prefix);
            }
        }
    }
    if let Some(next) = e.get("next_object").and_then(Value::as_str) {
        if efi_sources.is_empty() {
            p.push(format!(
                "next_object {next:?}: the EFI partition has no \"source\", so nothing from the package provides it"
            ));
        }
        for prefix in &efi_sources {
            let member = format!("{prefix}{next}");
            if file(&member).is_none() {
                p.push(format!(
                    "next_object {next:?}: the package has no file {member:?}; the Mac would not boot"
                ));
            }
        }
    }
    if let Some(icon) = e.get("icon").and_then(Value::as_str) {
        if file(icon).is_none() {
            p.push(format!("icon {icon:?} is not a file in the package"));
        }
    }
    p
}

fn method_name(id: u16) -> &'static str {
    match id {
        9 => "deflate64",
        93 | 20 => "zstd",
        95 => "xz",
        98 => "ppmd",
        99 => "aes",
        _ => rawzip::CompressionMethod::new(id)
            .name()
            .unwrap_or("unknown"),
    }
}

fn name_problem(m: &PkgMember) -> Option<String> {
    let name = &m.name;
    if std::str::from_utf8(&m.raw_name).is_err() {
        return Some(format!("member name {name:?} is not UTF-8"));
    }
    if !m.raw_name.is_ascii() && m.flags & (1 << 11) == 0 {
        return Some(format!(
            "member name {name:?} is not ASCII but lacks the UTF-8 flag: Python would decode it as cp437"
        ));
    }
    if name.starts_with("./") {
        return Some(format!(
            "member {name:?} has a \"./\" prefix: the installer looks members up by exact name"
        ));
    }
    if name.starts_with('/') {
        return Some(format!("member {name:?} is an absolute path"));
    }
    if name.split('/').any(|c| c == "..") {
        return Some(format!("member {name:?} has a \"..\" component"));
    }
    None
}

/// Every directory must have its own entry, before any member inside it.
fn directory_order_problems(members: &[PkgMember]) -> Vec<String> {
    let mut dir_index: HashMap<&str, usize> = HashMap::new();
    for (i, m) in members.iter().enumerate() {
        if m.is_dir {
            dir_index.entry(m.name.as_str()).or_insert(i);
        }
    }
    // Keyed by directory so each is reported once, in name order.
    let mut missing: BTreeMap<&str, &str> = BTreeMap::new();
    let mut late: BTreeMap<&str, (&str, usize, usize)> = BTreeMap::new();
    for (i, m) in members.iter().enumerate() {
        let name = m.name.trim_end_matches('/');
        for (pos, _) in name.match_indices('/') {
            let dir = &m.name[..=pos];
            match dir_index.get(dir) {
                None => {
                    missing.entry(dir).or_insert(&m.name);
                }
                Some(&d) if d > i => {
                    late.entry(dir).or_insert((&m.name, i, d));
                }
                Some(_) => {}
            }
        }
    }
    let mut p: Vec<String> = missing
        .into_iter()
        .map(|(dir, member)| {
            format!(
                "directory {dir:?} has no entry of its own (needed by {member:?}): the installer creates directories only from their entries"
            )
        })
        .collect();
    p.extend(late.into_iter().map(|(dir, (member, i, d))| {
        format!(
            "directory entry {dir:?} (member #{d}) comes after {member:?} (member #{i}) inside it: list directories before their contents"
        )
    }));
    p
}

/// `gen-installer-data check`: print one line per problem on stderr; the
/// returned error is the summary line.
/// Check `path` (and `package`); the summary line for stdout when it passes.
pub fn run(path: &Path, package: Option<&Path>) -> Result<String> {
    let data = read_json(path)?;
    let shown = path.display().to_string();
    let mut problems: Vec<String> = check_data(&data)
        .into_iter()
        .map(|p| format!("{shown}: {p}"))
        .collect();
    let entries = data
        .get("os_list")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if let Some(zip) = package {
        let members = read_zip(zip)?;
        let zip_name = zip
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let matching: Vec<(usize, &Value)> = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.get("package")
                    .and_then(Value::as_str)
                    .is_some_and(|p| package_file_name(p) == zip_name)
            })
            .collect();
        let chosen = match (matching.as_slice(), entries) {
            ([], [only]) => vec![(0, only)],
            ([], _) => {
                return Err(Error::installer_data(format!(
                    "no entry's \"package\" names {zip_name:?}: pass the zip the entry was made for"
                ))
                .with_path(path))
            }
            (m, _) => m.to_vec(),
        };
        for (i, entry) in chosen {
            let label = entry_label(i, entry);
            problems.extend(
                check_package(entry, &members)
                    .into_iter()
                    .map(|p| format!("{}: {label}: {p}", zip.display())),
            );
        }
    }
    for p in &problems {
        crate::diag::note(p);
    }
    if problems.is_empty() {
        let with = package
            .map(|z| format!(" (package {} checked)", z.display()))
            .unwrap_or_default();
        Ok(format!("{shown}: {} entries OK{with}\n", entries.len()))
    } else {
        Err(Error::installer_data(format!(
            "{} problem(s) the installer would trip on (listed above)",
            problems.len()
        ))
        .with_path(path))
    }
}
