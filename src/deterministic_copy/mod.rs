//! Stage a tree reproducibly: the copy's bytes, modes, times, links and
//! layout depend only on the sources' names, contents, executable bits and
//! link structure, never on who ran it, when, or in which order the
//! filesystem listed the directories.
//!
//! Three steps: [`plan`] scans every source into one sorted work list
//! (refusing overlaps and special files before anything is written); the
//! work list is then realised in a temporary directory next to DEST, file
//! data in parallel since every attribute is set explicitly afterwards; the
//! directory is renamed into place when complete.

mod data;
pub mod plan;
mod xattr;

use crate::error::{Error, IoContext, Result};
use crate::io::output::AtomicDir;
use crate::io::progress::Progress;
use filetime::FileTime;
use plan::{Entry, Kind, Plan};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

pub struct Options {
    /// Sources: a directory's contents are merged into DEST, anything else
    /// lands at DEST/<name>.
    pub sources: Vec<PathBuf>,
    /// A closureInfo `store-paths` file; each path lands at DEST/nix/store/<name>.
    pub paths_from: Option<PathBuf>,
    pub dest: PathBuf,
    /// Time given to every copied file, directory and symlink.
    pub mtime: i64,
    /// Parallel copy threads (at least 1).
    pub jobs: usize,
    /// Report progress (io::progress); the binary asks for it when stderr
    /// is a terminal.
    pub progress: bool,
}

#[derive(Debug, Default, Clone)]
pub struct Report {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub hard_links: u64,
    pub bytes: u64,
    pub seconds: f64,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "copied {} files ({} bytes), {} directories, {} symlinks, {} hard links in {:.2} s",
            self.files, self.bytes, self.dirs, self.symlinks, self.hard_links, self.seconds
        )
    }
}

/// The default for `--jobs`: the CPUs we may use, but not more than 8
/// (beyond that the copy is bound by the disk, not by syscalls).
pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8)
}

pub fn run(opts: &Options) -> Result<Report> {
    let start = Instant::now();
    if opts.sources.is_empty() && opts.paths_from.is_none() {
        return Err(Error::invalid(
            "nothing to copy: give at least one SRC or --paths-from FILE",
        ));
    }
    // Fail before a long scan when the answer is already known.
    if opts.dest.symlink_metadata().is_ok() {
        return Err(Error::invalid(format!(
            "output {} already exists: remove it or choose another path",
            opts.dest.display()
        )));
    }

    // The scan comes before the staging directory exists, so a DEST inside
    // a source never copies itself.
    let mut plan = Plan::default();
    for src in &opts.sources {
        plan.add_source(src)?;
    }
    if let Some(file) = &opts.paths_from {
        plan.add_store_dirs()?;
        for path in plan::read_store_paths(file)? {
            plan.add_store_path(&path)?;
        }
    }
    let entries = plan.finish();

    let out = AtomicDir::create(&opts.dest)?;
    let mut report = stage(out.path(), &entries, opts)?;
    out.commit()?;
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// Realise `entries` under `root`.
fn stage(root: &Path, entries: &[Entry], opts: &Options) -> Result<Report> {
    let time = FileTime::from_unix_time(opts.mtime, 0);
    let umask = current_umask();
    let mut report = Report::default();

    // A default ACL on the staging directory (inherited from DEST's parent)
    // would give everything below it ACL attributes: remove it first.
    xattr::strip(root).ctx("strip extended attributes of", root)?;
    // Directories first, in sorted order: parents before children.
    let mut builder = std::fs::DirBuilder::new();
    builder.mode(0o755);
    for e in entries.iter().filter(|e| e.kind == Kind::Dir) {
        let path = root.join(&e.rel);
        builder.create(&path).ctx("create directory", &path)?;
        // Always: besides the umask, a setgid parent (DEST's, inherited
        // down the tree) would leave 02755.
        std::fs::set_permissions(&path, PermissionsExt::from_mode(0o755))
            .ctx("set permissions on", &path)?;
        xattr::strip(&path).ctx("strip extended attributes of", &path)?;
        report.dirs += 1;
    }

    // Files and symlinks: independent of each other, so in parallel.
    let work: Vec<usize> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e.kind, Kind::File { .. } | Kind::Symlink))
        .map(|(i, _)| i)
        .collect();
    let total_bytes: u64 = entries
        .iter()
        .map(|e| match e.kind {
            Kind::File { size, .. } => size,
            _ => 0,
        })
        .sum();
    // With the bytes copied so far; locked once a file, by whichever
    // thread copied it.
    let progress = opts
        .progress
        .then(|| Mutex::new((Progress::new("copying", total_bytes), 0u64)));
    let memo = data::ReflinkMemo::default();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    // The error of the earliest entry in sorted order, so the message does
    // not depend on thread scheduling when several files fail.
    let first_error: Mutex<Option<(usize, Error)>> = Mutex::new(None);
    const CHUNK: usize = 16;
    let worker = || {
        while !failed.load(Ordering::Relaxed) {
            let at = next.fetch_add(CHUNK, Ordering::Relaxed);
            if at >= work.len() {
                break;
            }
            for &i in &work[at..(at + CHUNK).min(work.len())] {
                let e = &entries[i];
                if let Err(err) = realise(root, e, time, umask, &memo) {
                    failed.store(true, Ordering::Relaxed);
                    let mut slot = first_error.lock().unwrap();
                    if slot.as_ref().map_or(true, |(j, _)| i < *j) {
                        *slot = Some((i, err));
                    }
                    return;
                }
                if let (Kind::File { size, .. }, Some(p)) = (&e.kind, &progress) {
                    let (bar, done) = &mut *p.lock().unwrap();
                    *done += *size;
                    bar.set(*done);
                }
            }
        }
    };
    let jobs = opts.jobs.max(1).min(work.len().max(1));
    std::thread::scope(|s| {
        for _ in 1..jobs {
            s.spawn(worker);
        }
        worker();
    });
    if let Some(p) = progress {
        p.into_inner().unwrap().0.finish();
    }
    if let Some((_, err)) = first_error.into_inner().unwrap() {
        return Err(err);
    }
    for e in entries {
        match e.kind {
            Kind::File { size, .. } => {
                report.files += 1;
                report.bytes += size;
            }
            Kind::Symlink => report.symlinks += 1,
            _ => {}
        }
    }

    // Hard links, once the paths they point to exist.
    for e in entries {
        if let Kind::HardLink(first) = e.kind {
            let target = root.join(&entries[first].rel);
            let path = root.join(&e.rel);
            std::fs::hard_link(&target, &path).ctx("create hard link", &path)?;
            report.hard_links += 1;
        }
    }

    // Directory times last and children before parents: creating an entry
    // changes its directory's mtime. Store directories become read-only
    // only now, once nothing more is created in them.
    for e in entries.iter().rev().filter(|e| e.kind == Kind::Dir) {
        let path = root.join(&e.rel);
        if e.store {
            std::fs::set_permissions(&path, PermissionsExt::from_mode(0o555))
                .ctx("set permissions on", &path)?;
        }
        filetime::set_file_times(&path, time, time).ctx("set times on", &path)?;
    }
    filetime::set_file_times(root, time, time).ctx("set times on", root)?;
    Ok(report)
}

/// Create one file or symlink with its final content, mode and times.
fn realise(
    root: &Path,
    e: &Entry,
    time: FileTime,
    umask: Option<u32>,
    memo: &data::ReflinkMemo,
) -> Result<()> {
    let src = e
        .source
        .as_deref()
        .expect("files and symlinks have a source");
    let path = root.join(&e.rel);
    match e.kind {
        Kind::File { exec, size, sparse } => {
            let mode = file_mode(exec, e.store);
            let input = File::open(src).ctx("open", src)?;
            let output = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&path)
                .ctx("create", &path)?;
            data::copy_data(&input, &output, size, sparse, e.dev, memo)
                .map_err(|err| Error::io("copy", src, err))?;
            if umask.map_or(true, |u| u & mode != 0) {
                output
                    .set_permissions(PermissionsExt::from_mode(mode))
                    .ctx("set permissions on", &path)?;
            }
            xattr::strip(&path).ctx("strip extended attributes of", &path)?;
            filetime::set_file_handle_times(&output, Some(time), Some(time))
                .ctx("set times on", &path)?;
        }
        Kind::Symlink => {
            let target = std::fs::read_link(src).ctx("read symlink", src)?;
            std::os::unix::fs::symlink(&target, &path).ctx("create symlink", &path)?;
            xattr::strip(&path).ctx("strip extended attributes of", &path)?;
            filetime::set_symlink_file_times(&path, time, time).ctx("set times on", &path)?;
        }
        Kind::Dir | Kind::HardLink(_) => unreachable!("handled by the caller"),
    }
    Ok(())
}

/// A copied file's mode: only the execute bits come from the source; store
/// files are read-only as Nix leaves them.
fn file_mode(exec: bool, store: bool) -> u32 {
    match (exec, store) {
        (true, false) => 0o755,
        (false, false) => 0o644,
        (true, true) => 0o555,
        (false, true) => 0o444,
    }
}

/// The process umask, read without changing it (Linux ≥ 4.7 reports it in
/// /proc/self/status); `None` when unknown, and then modes are always set
/// explicitly.
fn current_umask() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
    u32::from_str_radix(line.trim(), 8).ok()
}
