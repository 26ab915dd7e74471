//! The source tree as FAT will hold it: regular files and directories only,
//! symbolic links followed (FAT has no links, and a Nix ESP tree is mostly
//! links into the store), names checked and given their 8.3 names, entries
//! in byte order of their names.

use super::names::{self, ShortName};
use crate::error::{Error, IoContext, Result};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub struct Dir {
    pub path: PathBuf,
    pub entries: Vec<Entry>,
    /// First cluster, once laid out.
    pub cluster: u32,
}

pub struct Entry {
    pub short: ShortName,
    pub long: Option<Vec<u16>>,
    pub path: PathBuf,
    pub kind: Kind,
}

pub enum Kind {
    File { len: u64, cluster: u32 },
    Dir(Dir),
}

/// FAT32 stores file sizes in 32 bits.
const MAX_FILE: u64 = u32::MAX as u64;

/// Read the tree at `root` (which must be a directory, possibly through a link).
pub fn scan(root: &Path) -> Result<Dir> {
    let meta = follow(root)?;
    if !meta.is_dir() {
        return Err(
            Error::fat("not a directory: the FAT source must be a directory tree").with_path(root),
        );
    }
    let mut ancestors = vec![(meta.dev(), meta.ino())];
    scan_dir(root, &mut ancestors)
}

/// Metadata through symlinks, with a message that tells a dangling link
/// apart from a missing file.
fn follow(path: &Path) -> Result<fs::Metadata> {
    fs::metadata(path).map_err(|e| {
        let dangling = e.kind() == std::io::ErrorKind::NotFound
            && fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        if dangling {
            let target = fs::read_link(path)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            Error::fat(format!(
                "dangling symbolic link (to {target}): FAT holds only files and directories; fix or remove the link"
            ))
            .with_path(path)
        } else {
            Error::io("read metadata of", path, e)
        }
    })
}

fn scan_dir(dir: &Path, ancestors: &mut Vec<(u64, u64)>) -> Result<Dir> {
    let mut raw: Vec<(Vec<u8>, PathBuf)> = Vec::new();
    for item in fs::read_dir(dir).ctx("read directory", dir)? {
        let item = item.ctx("read directory", dir)?;
        raw.push((item.file_name().as_bytes().to_vec(), item.path()));
    }
    raw.sort();
    let mut named = Vec::with_capacity(raw.len());
    for (bytes, path) in &raw {
        let name = std::str::from_utf8(bytes).map_err(|_| {
            Error::fat("the name is not valid UTF-8, which FAT long names cannot hold: rename it")
                .with_path(path)
        })?;
        names::check_long_name(name, path)?;
        named.push(name);
    }
    let assigned = names::assign(&named, dir)?;
    let mut entries = Vec::with_capacity(raw.len());
    for ((_, path), a) in raw.into_iter().zip(assigned) {
        let meta = follow(&path)?;
        let kind = if meta.is_file() {
            if meta.len() > MAX_FILE {
                return Err(Error::fat(format!(
                    "{} bytes is larger than the largest FAT32 file ({MAX_FILE} bytes)",
                    meta.len()
                ))
                .with_path(path));
            }
            Kind::File {
                len: meta.len(),
                cluster: 0,
            }
        } else if meta.is_dir() {
            let id = (meta.dev(), meta.ino());
            if ancestors.contains(&id) {
                return Err(Error::fat(
                    "symbolic link loop (the directory contains itself): FAT cannot hold it; remove the link",
                )
                .with_path(path));
            }
            ancestors.push(id);
            let sub = scan_dir(&path, ancestors)?;
            ancestors.pop();
            Kind::Dir(sub)
        } else {
            return Err(Error::fat(
                "a device, FIFO or socket: FAT holds only regular files and directories; remove it from the tree",
            )
            .with_path(path));
        };
        entries.push(Entry {
            short: a.short,
            long: a.long,
            path,
            kind,
        });
    }
    Ok(Dir {
        path: dir.to_path_buf(),
        entries,
        cluster: 0,
    })
}

impl Dir {
    /// 32-byte slots: `.`/`..` (or the label in the root), then per entry its
    /// long-name entries and its short entry.
    pub fn slots(&self, is_root: bool, has_label: bool) -> u64 {
        let own = if is_root { u64::from(has_label) } else { 2 };
        own + self
            .entries
            .iter()
            .map(|e| 1 + e.long.as_deref().map_or(0, names::long_entry_count) as u64)
            .sum::<u64>()
    }

    /// Clusters needed by every directory and file below and including this
    /// one, at `cluster_size`.
    pub fn clusters_needed(&self, cluster_size: u64, is_root: bool, has_label: bool) -> u64 {
        let own = (self.slots(is_root, has_label) * 32)
            .div_ceil(cluster_size)
            .max(1);
        own + self
            .entries
            .iter()
            .map(|e| match &e.kind {
                Kind::File { len, .. } => len.div_ceil(cluster_size),
                Kind::Dir(d) => d.clusters_needed(cluster_size, false, false),
            })
            .sum::<u64>()
    }

    /// (files, directories) below this one.
    pub fn counts(&self) -> (u64, u64) {
        self.entries.iter().fold((0, 0), |(f, d), e| match &e.kind {
            Kind::File { .. } => (f + 1, d),
            Kind::Dir(sub) => {
                let (sf, sd) = sub.counts();
                (f + sf, d + 1 + sd)
            }
        })
    }

    pub fn file_bytes(&self) -> u64 {
        self.entries
            .iter()
            .map(|e| match &e.kind {
                Kind::File { len, .. } => *len,
                Kind::Dir(sub) => sub.file_bytes(),
            })
            .sum()
    }
}
