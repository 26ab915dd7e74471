//! A local directory any static web server serves. Writes are temporary
//! files renamed into place; a conditional write holds an exclusive lock on
//! `.publish.lock` while it compares and renames, and the ETag is the
//! SHA-256 of the content.

use super::store::{Condition, Meta, Store, Written};
use crate::error::{Error, IoContext, Result};
use crate::io::output::AtomicFile;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: &Path) -> Result<Self> {
        std::fs::create_dir_all(root).ctx("create", root)?;
        Ok(LocalStore {
            root: root.to_path_buf(),
        })
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    fn lock(&self) -> Result<std::fs::File> {
        let path = self.root.join(".publish.lock");
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .ctx("open", &path)?;
        // SAFETY: flock(2) on a descriptor we own; released when `f` is closed.
        if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&f), libc::LOCK_EX) } != 0 {
            return Err(Error::io("lock", &path, std::io::Error::last_os_error()));
        }
        Ok(f)
    }
}

fn meta_of(path: &Path, etag: Option<String>) -> Result<Option<Meta>> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(Some(Meta {
            size: m.len(),
            etag,
            modified: m.modified().ctx("read the time of", path)?,
        })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    crate::bootstrap::hex(&Sha256::digest(bytes))
}

fn hash_file(path: &Path, mut out: Option<&mut std::fs::File>) -> Result<String> {
    let mut f = std::fs::File::open(path).ctx("open", path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).ctx("read", path)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        if let Some(o) = out.as_deref_mut() {
            o.write_all(&buf[..n]).ctx("write a copy of", path)?;
        }
    }
    Ok(crate::bootstrap::hex(&h.finalize()))
}

impl Store for LocalStore {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn head(&self, key: &str) -> Result<Option<Meta>> {
        meta_of(&self.path(key), None)
    }

    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, Meta)>> {
        let path = self.path(key);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let etag = sha256_hex(&bytes);
                let meta = meta_of(&path, Some(etag))?;
                Ok(meta.map(|m| (bytes, m)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("read", &path, e)),
        }
    }

    fn put(
        &self,
        key: &str,
        bytes: &[u8],
        _content_type: &str,
        cond: Condition,
    ) -> Result<Written> {
        let path = self.path(key);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).ctx("create", dir)?;
        }
        let mut out = AtomicFile::create(&path)?;
        out.file_mut().write_all(bytes).ctx("write", &path)?;
        let _lock = self.lock()?;
        let current = match std::fs::read(&path) {
            Ok(b) => Some(sha256_hex(&b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        let ok = match (&cond, &current) {
            (Condition::None, _) | (Condition::Absent, None) => true,
            (Condition::Matches(want), Some(have)) => want == have,
            _ => false,
        };
        if !ok {
            return Ok(Written::Conflict);
        }
        out.commit()?;
        Ok(Written::Yes)
    }

    fn upload(&self, key: &str, file: &Path, sha256: &str) -> Result<()> {
        let path = self.path(key);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).ctx("create", dir)?;
        }
        let mut out = AtomicFile::create(&path)?;
        let got = hash_file(file, Some(out.file_mut()))?;
        if got != sha256 {
            return Err(Error::invalid(format!(
                "{} has SHA-256 {got}, not {sha256} as its manifest says: the zip changed after the build; rebuild it",
                file.display()
            )));
        }
        out.commit()
    }

    fn content_sha256(&self, key: &str) -> Result<Option<String>> {
        let path = self.path(key);
        if !path.exists() {
            return Ok(None);
        }
        hash_file(&path, None).map(Some)
    }

    fn list(&self, prefix: &str) -> Result<Vec<(String, Meta)>> {
        let dir = self.path(prefix);
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Error::io("list", &dir, e)),
        };
        for e in entries {
            let e = e.ctx("list", &dir)?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue; // a write in progress
            }
            if let Some(m) = meta_of(&e.path(), None)? {
                out.push((format!("{}/{name}", prefix.trim_end_matches('/')), m));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io("delete", &path, e))
            }
            _ => Ok(()),
        }
    }
}
