//! btrfs through `mkfs.btrfs --rootdir` (with `--subvol` for subvolumes)
//! into a scratch file next to the output, at its minimal size (`--shrink`),
//! grown to the partition afterwards (`btrfs_grow`). mkfs.btrfs cannot write
//! at an offset: the scratch file becomes the image or is copied into it
//! (see `Fill::adopt` in `mkimage`).
//!
//! Not reproducible, even with every identifier given: see
//! [`NOT_REPRODUCIBLE`], which the report repeats.

use super::report::{CommandReport, ContentReport, Id};
use super::tools::{self, CommandRecord, Tool};
use super::{sizing, Ctx, Fill, Sized, ALIGN};
use crate::error::{Error, ErrorContext, IoContext, Result};
use crate::ids::{Guid, Purpose};
use crate::io::output::{AtomicFile, ScratchFile};
use crate::units::{align_up, MIB};
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};

/// The longest btrfs label, in bytes.
pub const MAX_LABEL: usize = 255;

/// `"content": {"fs": "btrfs", ...}` as validated by the layout.
#[derive(Clone, Debug)]
pub struct Spec {
    pub source: PathBuf,
    pub label: Option<String>,
    pub uuid: Option<Guid>,
    pub device_uuid: Option<Guid>,
    pub subvolumes: Vec<Subvolume>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subvolume {
    pub path: String,
    pub source: String,
}

/// btrfs is made while planning: its minimal size decides whether it fits.
struct Btrfs<'a> {
    spec: &'a Spec,
    index: u32,
    record: CommandRecord,
    /// The filesystem at its minimal size; None once it became the image.
    temp: Option<ScratchFile>,
    /// Its name when mkfs.btrfs wrote it (for the report).
    temp_path: PathBuf,
    min_size: u64,
    uuid: Guid,
    device_uuid: Guid,
}

pub(super) fn plan<'a>(
    spec: &'a Spec,
    index: u32,
    name: &str,
    given: Option<u64>,
    ctx: &Ctx,
) -> Result<Sized<'a>> {
    let at = super::at(index);
    let source = &spec.source;
    let stats = sizing::scan(source, Some(&ctx.owner))?;
    let est = sizing::btrfs_auto(&stats);
    // Quick check before running mkfs: the file data alone must fit.
    if let Some(b) = given {
        if est.data > b {
            return Err(super::missing(
                ctx,
                &at,
                &format!("btrfs holding {}", source.display()),
                est.data,
                b,
            ));
        }
    }
    let uuid = spec
        .uuid
        .unwrap_or_else(|| ctx.seed.guid(Purpose::FsUuid(index)));
    let device_uuid = spec
        .device_uuid
        .unwrap_or_else(|| ctx.seed.guid(Purpose::BtrfsDeviceUuid(index)));
    super::say(&format!(
        "partition {index} ({name}): mkfs.btrfs --rootdir {}",
        source.display()
    ));
    let job = BtrfsJob {
        tool: ctx.mkfs_btrfs.expect("found when a partition is btrfs"),
        temp_dir: &ctx.out_dir,
        source,
        label: spec.label.as_deref().unwrap_or(""),
        uuid,
        device_uuid,
        subvolumes: &spec.subvolumes,
        epoch: ctx.epoch,
        user_namespace: ctx.owner.user_namespace,
    };
    let (record, temp, min_size) = match make(&job)? {
        BtrfsOutcome::Done(r, t, m) => (r, t, m),
        BtrfsOutcome::NoSpace(_, msg) => {
            return Err(Error::tool("mkfs.btrfs", msg)).in_layout(ctx.layout, at)
        }
    };
    // mkfs.btrfs's own minimum is the judge of "fits"; auto adds the
    // headroom to whichever of the estimate and it is larger.
    let size = match given {
        Some(b) if min_size > b => {
            return Err(super::missing(
                ctx,
                &at,
                &format!("btrfs holding {}", source.display()),
                min_size,
                b,
            ))
        }
        Some(b) => b,
        None => est
            .with_headroom
            .max(align_up(min_size + min_size / 10 + 16 * MIB, ALIGN)),
    };
    let mut v = serde_json::to_value(&est).unwrap_or_default();
    v["mkfsMinimumSize"] = serde_json::json!(min_size);
    Ok(Sized {
        size,
        tree: Some(stats),
        estimate: Some(v),
        content: Box::new(Btrfs {
            spec,
            index,
            record,
            temp_path: temp.path().to_path_buf(),
            temp: Some(temp),
            min_size,
            uuid,
            device_uuid,
        }),
    })
}

impl Fill for Btrfs<'_> {
    fn fill(
        &mut self,
        image: &AtomicFile,
        offset: u64,
        size: u64,
        _ctx: &Ctx,
        r: &mut ContentReport,
    ) -> Result<()> {
        let (spec, i) = (self.spec, self.index);
        r.uuid = Some(Id::new(self.uuid, spec.uuid.is_some(), Purpose::FsUuid(i)));
        r.device_uuid = Some(Id::new(
            self.device_uuid,
            spec.device_uuid.is_some(),
            Purpose::BtrfsDeviceUuid(i),
        ));
        r.label = spec.label.clone();
        r.subvolumes = spec.subvolumes.iter().map(|s| s.path.clone()).collect();
        // mkfs.btrfs wrote a scratch file: it became the image (see
        // `adopt`) or is copied into it here. Which one depends on the host
        // filesystem, so the report does not say.
        let scratch = format!("partition-{i}.btrfs");
        let rec = self.record.clone();
        r.command = Some(CommandReport::from(
            rec.with_stable_paths(&[(&self.temp_path, &scratch)]),
        ));
        if let Some(temp) = &self.temp {
            copy_into(temp.as_file(), temp.path(), image.file(), offset, size)?;
        }
        r.filesystem_size = Some(size / 4096 * 4096);
        r.mkfs_minimum_size = Some(self.min_size);
        r.not_reproducible = NOT_REPRODUCIBLE.iter().map(|s| s.to_string()).collect();
        Ok(())
    }

    fn adoptable(&self) -> bool {
        true
    }

    /// Grow the filesystem to its partition, then insert the bytes that go
    /// before it (FALLOC_FL_INSERT_RANGE shifts the file's extents; ext4 and
    /// xfs can, tmpfs and btrfs cannot, and there the filesystem is copied,
    /// by reflink where copy_file_range can).
    fn adopt(&mut self, offset: u64, size: u64) -> Result<Option<ScratchFile>> {
        let temp = self.temp.as_ref().expect("adopted at most once");
        super::btrfs_grow::grow(temp.as_file(), size / 4096 * 4096)?;
        if !crate::io::fallocate::insert_range(temp.as_file(), offset)
            .ctx("insert space before", temp.path())?
        {
            return Ok(None);
        }
        Ok(self.temp.take())
    }
}

/// btrfs-progs from which `mkfs.btrfs --subvol` exists.
pub const MIN_SUBVOL: &[u32] = &[6, 12];

/// btrfs-progs from which `mkfs.btrfs --device-uuid` exists (every btrfs
/// build passes it; older ones answered with their whole usage text).
pub const MIN_DEVICE_UUID: &[u32] = &[6, 5];

/// Why the mkfs.btrfs `tool` cannot create subvolumes, or None when it can:
/// one message for mkimage's check before any work (which puts the layout
/// field in front) and for [`make`]'s.
pub fn cannot_make_subvolumes(tool: &Tool) -> Option<String> {
    too_old(
        tool,
        MIN_SUBVOL,
        "cannot create subvolumes: mkfs.btrfs --subvol needs",
    )
}

/// Why the mkfs.btrfs `tool` cannot make any btrfs of ours, or None.
pub fn cannot_make_btrfs(tool: &Tool) -> Option<String> {
    too_old(tool, MIN_DEVICE_UUID, "has no --device-uuid: mkimage needs")
}

fn too_old(tool: &Tool, min: &[u32], lacks: &str) -> Option<String> {
    (!tools::version_at_least(&tool.version, min)).then(|| {
        format!(
            "{} is \"{}\", which {lacks} btrfs-progs {} or newer; put a newer mkfs.btrfs first on PATH or name it in MKIMAGE_MKFS_BTRFS",
            tool.path.display(),
            tool.version_line,
            tools::dotted(min)
        )
    })
}

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
    if let Some(why) = cannot_make_subvolumes(job.tool).filter(|_| !job.subvolumes.is_empty()) {
        return Err(Error::tool("mkfs.btrfs", why));
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
