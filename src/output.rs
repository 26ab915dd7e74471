//! Outputs appear only when complete: everything is written under a temporary
//! name in the destination's directory and renamed into place at the end. A
//! failure (or a panic, or Ctrl-C before the rename) leaves nothing behind.

use crate::error::{Error, IoContext, Result};
use std::fs::File;
use std::path::{Path, PathBuf};

/// A file being written that becomes `dest` on [`AtomicFile::commit`].
pub struct AtomicFile {
    temp: tempfile::NamedTempFile,
    dest: PathBuf,
}

impl AtomicFile {
    pub fn create(dest: &Path) -> Result<Self> {
        let dir = parent_dir(dest);
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{}.", file_name(dest)))
            .suffix(".tmp")
            .tempfile_in(dir)
            .ctx("create a temporary file next to", dest)?;
        Ok(AtomicFile {
            temp,
            dest: dest.to_path_buf(),
        })
    }

    pub fn file(&self) -> &File {
        self.temp.as_file()
    }

    pub fn file_mut(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }

    pub fn path(&self) -> &Path {
        self.temp.path()
    }

    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Flush to disk, give the file ordinary permissions and rename it into place.
    pub fn commit(self) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        self.temp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .ctx("set permissions on", &self.dest)?;
        self.temp.as_file().sync_all().ctx("flush", &self.dest)?;
        self.temp
            .persist(&self.dest)
            .map_err(|e| Error::io("rename into place", &self.dest, e.error))?;
        Ok(())
    }
}

/// A directory being filled that becomes `dest` on [`AtomicDir::commit`].
pub struct AtomicDir {
    temp: Option<tempfile::TempDir>,
    dest: PathBuf,
}

impl AtomicDir {
    /// `dest` must not exist yet: replacing a populated tree is never what a
    /// build step wants, and refusing avoids deleting a user's files.
    pub fn create(dest: &Path) -> Result<Self> {
        if dest.symlink_metadata().is_ok() {
            return Err(Error::Invalid(format!(
                "output {} already exists: remove it or choose another path",
                dest.display()
            )));
        }
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{}.", file_name(dest)))
            .suffix(".tmp")
            .tempdir_in(parent_dir(dest))
            .ctx("create a temporary directory next to", dest)?;
        Ok(AtomicDir {
            temp: Some(temp),
            dest: dest.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        self.temp.as_ref().expect("not committed").path()
    }

    pub fn dest(&self) -> &Path {
        &self.dest
    }

    pub fn commit(mut self) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let temp = self.temp.take().expect("not committed");
        std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o755))
            .ctx("set permissions on", &self.dest)?;
        let path = temp.keep();
        std::fs::rename(&path, &self.dest).map_err(|e| {
            let _ = std::fs::remove_dir_all(&path);
            Error::io("rename into place", &self.dest, e)
        })
    }
}

fn parent_dir(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into())
}
