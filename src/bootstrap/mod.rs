//! The script behind `curl -fsSL BASE/install | sh`: checks the Mac, fetches
//! a pinned asahi-installer release and verifies its SHA-256, saves our list
//! as `installer_data.json`, sets `REPO_BASE` and runs the installer as root
//! under `caffeinate`. `publish` and `serve` write it for their URLs.

use crate::error::{Error, Result};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The official release the script downloads unless told otherwise.
pub const DEFAULT_INSTALLER_URL: &str =
    "https://cdn.asahilinux.org/installer/installer-v0.8.3.tar.gz";

/// The installer's device classes (`DEVICES`, `IPSW_VERSIONS` in
/// asahi-installer `src/main.py`) whose only firmware is macOS 14.8.3: the M3
/// family. `choose_ipsw` leaves them nothing, and crashes on `minver[0]`,
/// for an entry whose `supported_fw` lacks 14.8.3.
pub const M3_MODELS: &[&str] = &[
    "j433ap", "j434ap", "j504ap", "j613ap", "j615ap", "j514sap", "j514cap", "j514map", "j516sap",
    "j516cap", "j516map",
];

const TEMPLATE: &str = include_str!("install.sh");

/// Where the script gets the installer from.
#[derive(Clone, Debug)]
pub struct InstallerPin {
    pub url: String,
    /// Lowercase hex.
    pub sha256: String,
}

impl InstallerPin {
    pub fn new(url: &str, sha256: &str) -> Result<Self> {
        check_url(url, "--installer-url")?;
        let sha256 = sha256.to_ascii_lowercase();
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::invalid(format!(
                "--installer-sha256 {sha256:?} is not 64 hex digits: pass the SHA-256 of the installer tarball"
            )));
        }
        Ok(InstallerPin {
            url: url.to_string(),
            sha256,
        })
    }

    /// A tarball we hold ourselves (`serve --installer-file`).
    pub fn for_bytes(url: &str, bytes: &[u8]) -> Result<Self> {
        InstallerPin::new(url, &hex(&Sha256::digest(bytes)))
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// URLs end up in the script and its comments: only plain http(s) URLs.
pub fn check_url(url: &str, what: &str) -> Result<()> {
    let plain = url
        .bytes()
        .all(|b| b.is_ascii_graphic() && !b"'\"`$\\;<>|&(){}".contains(&b));
    if !(url.starts_with("http://") || url.starts_with("https://")) || !plain {
        return Err(Error::invalid(format!(
            "{what} {url:?} is not a plain http(s) URL: no spaces, quotes or shell characters"
        )));
    }
    Ok(())
}

/// Quote for sh: single quotes, with `'` as `'\''`.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Names of the entries an M3 Mac would crash on: a `supported_fw` present
/// and without 14.8.3 (absent means every firmware).
pub fn entries_without_m3(list: &Value) -> Vec<String> {
    let entries = list["os_list"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    entries
        .iter()
        .filter(|e| {
            e.get("supported_fw")
                .and_then(Value::as_array)
                .is_some_and(|fw| !fw.iter().any(|v| v.as_str() == Some("14.8.3")))
        })
        .map(|e| e["name"].as_str().unwrap_or("an unnamed entry").to_string())
        .collect()
}

/// The script for the list served at `base` (no trailing slash). `tool`
/// names the writer in the script's header.
pub fn render(tool: &str, base: &str, pin: &InstallerPin, list: &Value) -> Result<String> {
    check_url(base, "the base URL")?;
    let without = entries_without_m3(list);
    let without = match without.len() {
        0 => String::new(),
        1 | 2 => without.join(" and "),
        n => format!("{} and {} other entries", without[0], n - 1),
    };
    Ok(TEMPLATE
        .replace("@TOOL@", tool)
        .replace("@BASE@", base)
        .replace("@BASE_Q@", &sh_quote(base))
        .replace("@INSTALLER_URL_Q@", &sh_quote(&pin.url))
        .replace("@INSTALLER_SHA256_Q@", &sh_quote(&pin.sha256))
        .replace("@M3_MODELS@", &sh_quote(&M3_MODELS.join(" ")))
        .replace("@ENTRIES_WITHOUT_M3@", &sh_quote(&without)))
}

/// Pin `url` to the SHA-256 of what it serves now: for `--installer-url`
/// without `--installer-sha256`. The Mac then gets exactly these bytes.
pub fn pin_by_download(url: &str) -> Result<InstallerPin> {
    check_url(url, "--installer-url")?;
    let fail = |e: String| {
        Error::invalid(format!(
            "cannot download {url} to pin its SHA-256 ({e}): pass --installer-sha256 (or serve --installer-file)"
        ))
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let bytes = rt.block_on(async {
        let r = reqwest::get(url).await.map_err(|e| fail(e.to_string()))?;
        if !r.status().is_success() {
            return Err(fail(format!("HTTP {}", r.status())));
        }
        r.bytes().await.map_err(|e| fail(e.to_string()))
    })?;
    crate::diag::warn(format_args!(
        "pinned {url} to SHA-256 {} as downloaded now; pass --installer-sha256 to pin a known value",
        hex(&Sha256::digest(&bytes))
    ));
    InstallerPin::for_bytes(url, &bytes)
}

/// The line the user runs on the Mac.
pub fn one_liner(base: &str) -> String {
    format!("curl -fsSL {base}/install | sh")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quotes_names_and_refuses_bad_urls() {
        let pin = InstallerPin::new("https://example.invalid/i.tar.gz", &"a".repeat(64)).unwrap();
        let list = json!({"os_list": [
            {"name": "NixOS 'x'", "supported_fw": ["13.5"]},
            {"name": "Other", "supported_fw": ["13.5", "14.8.3"]},
            {"name": "Any"}
        ]});
        let s = render("serve", "http://h:1", &pin, &list).unwrap();
        assert!(s.contains(r"entries_without_m3='NixOS '\''x'\'''"), "{s}");
        let placeholder = |w: &[u8]| w[0] == b'@' && w[1].is_ascii_uppercase();
        assert!(!s.as_bytes().windows(2).any(placeholder), "{s}");
        assert!(render("serve", "http://h:1/$(reboot)", &pin, &list).is_err());
        assert!(InstallerPin::new("https://x/i", "abc").is_err());
    }
}
