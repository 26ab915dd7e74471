//! The work list: every path the staged tree will hold, where it comes from,
//! and what it is, sorted so that the result never depends on readdir order
//! or on the order the sources were scanned in.

use crate::error::{Error, IoContext, Result};
use std::collections::btree_map::{BTreeMap, Entry as MapEntry};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// What one path in the staged tree is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File {
        /// Any execute bit was set in the source: the copy gets 0755, else
        /// 0644 (in a store path 0555, else 0444).
        exec: bool,
        size: u64,
        /// Fewer blocks allocated than the size needs: look for holes.
        sparse: bool,
    },
    Symlink,
    /// A hard link to the entry at this index (the first path of the same
    /// inode in sorted order), which is a file or a symlink.
    HardLink(usize),
}

#[derive(Clone, Debug)]
pub struct Entry {
    /// Path relative to DEST; never empty (DEST itself is not an entry).
    pub rel: PathBuf,
    /// Where the content comes from; `None` for directories we make up
    /// (`nix`, `nix/store` for `--paths-from`).
    pub source: Option<PathBuf>,
    pub kind: Kind,
    /// Device of the source, for deciding whether reflinks are worth trying.
    pub dev: u64,
    /// Inside a store path: Nix's canonical read-only modes (files 0444 or
    /// 0555, directories 0555), which `nix-store --optimise` also expects.
    pub store: bool,
}

/// Where an entry came from, for naming both sides of a conflict.
fn describe(e: &Entry) -> String {
    match &e.source {
        Some(s) => s.display().to_string(),
        None => "the directories --paths-from creates".into(),
    }
}

/// Collects entries from all sources, refusing overlaps.
#[derive(Default)]
pub struct Plan {
    entries: BTreeMap<PathBuf, Entry>,
    /// (dev, ino) → rel, only for inodes with more than one link.
    links: HashMap<PathBuf, (u64, u64)>,
}

impl Plan {
    /// A SRC argument: a directory's contents go to DEST's top level,
    /// anything else to DEST/<its name>.
    pub fn add_source(&mut self, src: &Path) -> Result<()> {
        let meta = src.symlink_metadata().ctx("read source", src)?;
        if meta.is_dir() {
            self.add_tree_contents(src, Path::new(""), false)
        } else {
            let name = src.file_name().ok_or_else(|| {
                Error::invalid(format!(
                    "source {} has no file name to copy it under",
                    src.display()
                ))
            })?;
            self.add_one(src, PathBuf::from(name), &meta, false)
        }
    }

    /// One store path: lands at DEST/nix/store/<basename>, whatever it is.
    ///
    /// Hard links are not kept here: a store path's content is its NAR,
    /// which has none, so the links on disk come from the host (`nix-store
    /// --optimise`, auto-optimise-store) and keeping them would make the
    /// staged tree, and every image made from it, depend on that setting.
    pub fn add_store_path(&mut self, path: &Path) -> Result<()> {
        let name = path.file_name().ok_or_else(|| {
            Error::invalid(format!("store path {} has no base name", path.display()))
        })?;
        let rel = Path::new("nix/store").join(name);
        let meta = path.symlink_metadata().ctx("read store path", path)?;
        self.add_one(path, rel.clone(), &meta, true)?;
        if meta.is_dir() {
            self.add_tree_contents(path, &rel, true)?;
        }
        Ok(())
    }

    /// DEST/nix and DEST/nix/store, made up for `--paths-from`.
    pub fn add_store_dirs(&mut self) -> Result<()> {
        for rel in ["nix", "nix/store"] {
            self.insert(Entry {
                rel: PathBuf::from(rel),
                source: None,
                kind: Kind::Dir,
                dev: 0,
                store: false,
            })?;
        }
        Ok(())
    }

    fn add_tree_contents(&mut self, root: &Path, base: &Path, store: bool) -> Result<()> {
        for item in walkdir::WalkDir::new(root).min_depth(1).follow_links(false) {
            let item = item.map_err(|e| {
                let path = e.path().unwrap_or(root).to_path_buf();
                Error::io("read directory", path, e.into())
            })?;
            let meta = item
                .metadata()
                .map_err(|e| Error::io("read metadata of", item.path(), e.into()))?;
            let rel = item
                .path()
                .strip_prefix(root)
                .expect("walkdir yields paths under its root");
            self.add_one(item.path(), base.join(rel), &meta, store)?;
        }
        Ok(())
    }

    fn add_one(
        &mut self,
        src: &Path,
        rel: PathBuf,
        meta: &std::fs::Metadata,
        store: bool,
    ) -> Result<()> {
        let ft = meta.file_type();
        let kind = if ft.is_dir() {
            Kind::Dir
        } else if ft.is_file() {
            Kind::File {
                exec: meta.mode() & 0o111 != 0,
                size: meta.len(),
                sparse: meta.blocks().saturating_mul(512) < meta.len(),
            }
        } else if ft.is_symlink() {
            Kind::Symlink
        } else {
            let what = if ft.is_fifo() {
                "a FIFO"
            } else if ft.is_socket() {
                "a socket"
            } else if ft.is_block_device() {
                "a block device"
            } else if ft.is_char_device() {
                "a character device"
            } else {
                "of an unknown file type"
            };
            return Err(Error::invalid(format!(
                "{} is {what}: only files, directories and symlinks can be copied; remove it from the source",
                src.display()
            )));
        };
        if !store && !ft.is_dir() && meta.nlink() > 1 {
            self.links.insert(rel.clone(), (meta.dev(), meta.ino()));
        }
        self.insert(Entry {
            rel,
            source: Some(src.to_path_buf()),
            kind,
            dev: meta.dev(),
            store,
        })
    }

    fn insert(&mut self, entry: Entry) -> Result<()> {
        match self.entries.entry(entry.rel.clone()) {
            MapEntry::Vacant(v) => {
                v.insert(entry);
                Ok(())
            }
            // Directories merge, as `cp -a A/. B/. DEST` would merge them: a
            // directory has no content to overwrite, and its mode and time
            // are normalised anyway.
            MapEntry::Occupied(o) if o.get().kind == Kind::Dir && entry.kind == Kind::Dir => Ok(()),
            MapEntry::Occupied(o) => Err(Error::invalid(format!(
                "DEST/{} would come from both {} and {}: sources must not overlap",
                entry.rel.display(),
                describe(o.get()),
                describe(&entry)
            ))),
        }
    }

    /// The sorted entries (component-wise by raw bytes, i.e. depth-first
    /// with names sorted), with hard links resolved to their first path.
    pub fn finish(self) -> Vec<Entry> {
        let mut first: HashMap<(u64, u64), usize> = HashMap::new();
        let mut out: Vec<Entry> = self.entries.into_values().collect();
        for (i, e) in out.iter_mut().enumerate() {
            if let Some(key) = self.links.get(&e.rel) {
                match first.get(key) {
                    Some(&j) => e.kind = Kind::HardLink(j),
                    None => {
                        first.insert(*key, i);
                    }
                }
            }
        }
        out
    }
}

/// Parse a closureInfo `store-paths` file: one absolute path per line,
/// blank lines ignored.
pub fn read_store_paths(file: &Path) -> Result<Vec<PathBuf>> {
    let data = std::fs::read(file).ctx("read", file)?;
    let mut paths = Vec::new();
    for (n, line) in data.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let path = Path::new(OsStr::from_bytes(line));
        if !path.is_absolute() {
            return Err(Error::invalid(format!(
                "{} line {}: {:?} is not an absolute store path: the file must list one /nix/store/... path per line",
                file.display(),
                n + 1,
                String::from_utf8_lossy(line)
            )));
        }
        if path.file_name().is_none() {
            return Err(Error::invalid(format!(
                "{} line {}: {:?} has no base name to place it under DEST/nix/store",
                file.display(),
                n + 1,
                String::from_utf8_lossy(line)
            )));
        }
        paths.push(path.to_path_buf());
    }
    // The same path twice (two closures' lists concatenated) is one path.
    let mut seen = std::collections::HashSet::new();
    paths.retain(|p| seen.insert(p.clone()));
    Ok(paths)
}
