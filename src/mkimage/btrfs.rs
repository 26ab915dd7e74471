//! btrfs through `mkfs.btrfs --rootdir` (with `--subvol` for subvolumes)
//! into a scratch file next to the output, at its minimal size (`--shrink`),
//! grown to the partition afterwards (`btrfs_grow`). mkfs.btrfs cannot write
//! at an offset: the scratch file becomes the image or is copied into it
//! (see `adopt_btrfs` in `mkimage`).
//!
//! Not reproducible, even with every identifier given: see
//! [`NOT_REPRODUCIBLE`], which the report repeats.

use super::layout::Subvolume;
use super::tools::{self, CommandRecord, Tool};
use crate::error::{Error, IoContext, Result};
use crate::ids::Guid;
use crate::io::output::ScratchFile;
use std::ffi::OsString;
use std::fs::File;
use std::path::Path;

/// btrfs-progs from which `mkfs.btrfs --subvol` exists.
pub const MIN_SUBVOL: &[u32] = &[6, 12];

/// btrfs-progs from which `mkfs.btrfs --device-uuid` exists (every btrfs
/// build passes it; older ones answered with their whole usage text).
pub const MIN_DEVICE_UUID: &[u32] = &[6, 5];

/// What differs between two builds of the same tree with btrfs-progs 6.14,
/// every identifier given (measured by tests/mkimage.rs
/// `btrfs_reproducibility`, which maps each differing byte to its structure).
pub const NOT_REPRODUCIBLE: &[&str] = &[
    "chunk tree UUID: random, in every tree block header and every DEV_EXTENT item",
    "subvolume UUIDs: random, in the ROOT_ITEMs of the top level and each subvolume and as keys of the UUID tree",
    "times set by mkfs.btrfs itself follow the wall clock, not SOURCE_DATE_EPOCH: ROOT_ITEM otime/ctime, and atime/ctime/mtime of the top-level and subvolume root directories",
    "inode times are copied from the source tree without clamping to SOURCE_DATE_EPOCH, ctime included, which no tool can set: a tree staged by deterministic-copy carries the time it was staged",
    "inode numbers, directory item order and extent layout follow the readdir order of the source tree's filesystem (the same tree on tmpfs and on ext4 gives different filesystems)",
    "tree block checksums, which cover all of the above",
];

pub struct BtrfsJob<'a> {
    pub tool: &'a Tool,
    /// Directory for the temporary filesystem file (the output's).
    pub temp_dir: &'a Path,
    pub source: &'a Path,
    pub label: &'a str,
    pub uuid: Guid,
    pub device_uuid: Guid,
    pub subvolumes: &'a [Subvolume],
    pub epoch: i64,
    pub user_namespace: bool,
}

pub enum BtrfsOutcome {
    /// The filesystem at its minimal size (the file's length), in a
    /// temporary file deleted when dropped.
    Done(CommandRecord, ScratchFile, u64),
    NoSpace(CommandRecord, String),
}

pub fn make(job: &BtrfsJob) -> Result<BtrfsOutcome> {
    if !job.subvolumes.is_empty() && !tools::version_at_least(&job.tool.version, MIN_SUBVOL) {
        return Err(Error::tool(
            "mkfs.btrfs",
            format!(
                "{} ({}) cannot create subvolumes: mkfs.btrfs --subvol needs btrfs-progs 6.12 or newer; put a newer mkfs.btrfs first on PATH or name it in MKIMAGE_MKFS_BTRFS",
                job.tool.path.display(),
                job.tool.version_line
            ),
        ));
    }
    let temp = ScratchFile::create_in(job.temp_dir, ".mkimage-btrfs.")?;
    let mut args: Vec<OsString> = [
        "-f",
        "-q",
        "-s",
        "4096",
        "-n",
        "16384",
        "-m",
        "dup",
        "-d",
        "single",
        "--nodiscard",
        // See btrfs_grow: made minimal first, grown to the partition after.
        "--shrink",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    args.push("-U".into());
    args.push(job.uuid.to_string().to_lowercase().into());
    args.push("--device-uuid".into());
    args.push(job.device_uuid.to_string().to_lowercase().into());
    args.push("-L".into());
    args.push(job.label.into());
    args.push("--rootdir".into());
    args.push(job.source.into());
    for s in job.subvolumes {
        args.push("--subvol".into());
        args.push(s.source.clone().into());
    }
    args.push(temp.path().into());
    let epoch = job.epoch.to_string();
    let env = vec![
        ("SOURCE_DATE_EPOCH".to_string(), epoch),
        ("LC_ALL".to_string(), "C".to_string()),
        ("TZ".to_string(), "UTC".to_string()),
    ];
    let (record, out) = tools::run(job.tool, &args, &env, job.user_namespace)?;
    if out.status.success() {
        let len = temp.as_file().metadata().ctx("stat", temp.path())?.len();
        let fs = super::btrfs_grow::fs_size(temp.as_file())?;
        if fs != len {
            return Err(Error::tool(
                "mkfs.btrfs",
                format!(
                    "--shrink left a {len}-byte file holding a {fs}-byte filesystem; command: {}",
                    record.shell()
                ),
            ));
        }
        return Ok(BtrfsOutcome::Done(record, temp, len));
    }
    let msg = tools::tail(&out);
    let lower = msg.to_lowercase();
    if lower.contains("no space left") || lower.contains("enospc") || lower.contains("too small") {
        return Ok(BtrfsOutcome::NoSpace(record, msg));
    }
    Err(Error::tool(
        "mkfs.btrfs",
        format!(
            "failed ({}): {msg}; command: {}",
            out.status,
            record.shell()
        ),
    ))
}

/// Grow the filesystem to `size` and copy it into the image at `offset`,
/// sparsely.
pub fn copy_into(fs: &File, fs_path: &Path, image: &File, offset: u64, size: u64) -> Result<u64> {
    let size = size / 4096 * 4096;
    super::btrfs_grow::grow(fs, size)?;
    crate::io::sparse::copy_range_sparse(fs, 0, image, offset, size, |_| {})
        .ctx("copy the btrfs filesystem from", fs_path)
}
