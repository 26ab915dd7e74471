//! External tools (mke2fs, mkfs.btrfs): where they are, which version, and
//! running them with a fixed environment, optionally as root of a user
//! namespace (see `ownership`). Every command line is recorded for the report.

use crate::error::{Error, Result};
use serde::Serialize;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tool found on PATH (or through its override variable) and its version.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    pub name: &'static str,
    pub path: PathBuf,
    /// The version line the tool printed, e.g. `mke2fs 1.47.2 (1-Jan-2025)`.
    pub version_line: String,
    /// The parsed version, e.g. `[1, 47, 2]`.
    pub version: Vec<u32>,
}

/// Find `name` through the environment variable `var`, else on PATH.
pub fn find(name: &'static str, var: &str, deb: &str) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        if is_executable(&p) {
            return Ok(p);
        }
        return Err(Error::tool(
            name,
            format!("{var}={} is not an executable file", p.display()),
        ));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
        .ok_or_else(|| {
            Error::tool(
                name,
                format!("not found on PATH: install {deb} or set {var} to the program"),
            )
        })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Run `path args` and return the first line of output that contains a
/// version number (mke2fs prints it on stderr, mkfs.btrfs on stdout).
pub fn probe(name: &'static str, path: &Path, args: &[&str]) -> Result<Tool> {
    let out = Command::new(path)
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .map_err(|e| Error::tool(name, format!("cannot run {}: {e}", path.display())))?;
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for line in text.lines() {
        if let Some(v) = parse_version(line) {
            return Ok(Tool {
                name,
                path: path.to_path_buf(),
                version_line: line.trim().to_string(),
                version: v,
            });
        }
    }
    Err(Error::tool(
        name,
        format!(
            "cannot read a version from `{} {}`: is it really {name}?",
            path.display(),
            args.join(" ")
        ),
    ))
}

/// The first `N.N[.N]` in a line, after an optional `v`.
pub fn parse_version(line: &str) -> Option<Vec<u32>> {
    line.split(|c: char| c.is_whitespace() || c == ',' || c == '(')
        .map(|w| w.strip_prefix('v').unwrap_or(w))
        .find_map(|w| {
            let parts: Vec<&str> = w.split('.').collect();
            if parts.len() < 2
                || parts
                    .iter()
                    .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
            {
                return None;
            }
            parts.iter().map(|p| p.parse().ok()).collect()
        })
}

/// A version as its tool prints it: `[6, 12]` is "6.12".
pub fn dotted(v: &[u32]) -> String {
    let parts: Vec<String> = v.iter().map(u32::to_string).collect();
    parts.join(".")
}

pub fn version_at_least(v: &[u32], min: &[u32]) -> bool {
    for i in 0..min.len().max(v.len()) {
        let a = v.get(i).copied().unwrap_or(0);
        let b = min.get(i).copied().unwrap_or(0);
        if a != b {
            return a > b;
        }
    }
    true
}

/// A command line as run, for the report and for error messages.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandRecord {
    /// Environment variables set for the tool (everything else is inherited).
    pub env: std::collections::BTreeMap<String, String>,
    pub argv: Vec<String>,
    /// Whether it ran as root of a user namespace mapping the caller to 0:0.
    pub user_namespace: bool,
    /// Files mkimage wrote for the command, by the name argv/env use for them.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub files: std::collections::BTreeMap<String, String>,
}

impl CommandRecord {
    /// The record with every occurrence of a temporary path replaced by a
    /// stable name, so the report (a build output) is reproducible.
    pub fn with_stable_paths(mut self, map: &[(&Path, &str)]) -> Self {
        let fix = |s: &mut String| {
            for (temp, name) in map {
                let temp = temp.to_string_lossy();
                if !temp.is_empty() && s.contains(temp.as_ref()) {
                    *s = s.replace(temp.as_ref(), name);
                }
            }
        };
        self.argv.iter_mut().for_each(fix);
        self.env.values_mut().for_each(fix);
        self
    }

    pub fn shell(&self) -> String {
        let mut words: Vec<String> = self
            .env
            .iter()
            .map(|(k, v)| format!("{k}={}", quote(v)))
            .collect();
        words.extend(self.argv.iter().map(|a| quote(a)));
        words.join(" ")
    }
}

fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@+%^".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Run a tool with `env` added; capture its output. On failure the error
/// holds the tool's last lines of output. `userns`: run as root of a new
/// user namespace mapping the caller's uid/gid to 0 (see `ownership`).
pub fn run(
    tool: &Tool,
    args: &[OsString],
    env: &[(String, String)],
    userns: bool,
) -> Result<(CommandRecord, std::process::Output)> {
    let mut cmd = Command::new(&tool.path);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    if userns {
        super::ownership::enter_user_namespace_on_exec(&mut cmd)?;
    }
    let record = CommandRecord {
        env: env.iter().cloned().collect(),
        argv: std::iter::once(tool.path.as_os_str())
            .chain(args.iter().map(|a| a.as_os_str()))
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        user_namespace: userns,
        files: Default::default(),
    };
    let out = crate::io::output::run_child(&mut cmd).map_err(|e| {
        Error::tool(
            tool.name,
            format!("cannot run {}: {e}", tool.path.display()),
        )
    })?;
    Ok((record, out))
}

/// The last few non-empty lines of a tool's output, joined into one line.
pub fn tail(out: &std::process::Output) -> String {
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(3)..].join(" / ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            parse_version("mke2fs 1.47.2 (1-Jan-2025)"),
            Some(vec![1, 47, 2])
        );
        assert_eq!(
            parse_version("mkfs.btrfs, part of btrfs-progs v6.14"),
            Some(vec![6, 14])
        );
        assert_eq!(dotted(&[1, 47, 1]), "1.47.1");
        assert!(version_at_least(&[6, 14], &[6, 12]));
        assert!(!version_at_least(&[6, 2], &[6, 12]));
        assert!(version_at_least(&[1, 47, 1], &[1, 47, 1]));
        assert!(!version_at_least(&[1, 47, 0], &[1, 47, 1]));
    }
}
