//! ext4 through e2fsprogs' `mke2fs -d`, written directly at the partition's
//! offset inside the image (`-E offset=`), so the filesystem is never copied.
//!
//! Determinism: every identifier is given (`-U`, `-E hash_seed=`), the
//! features come from a mke2fs.conf of our own (MKE2FS_CONFIG) rather than
//! the host's, and times come from SOURCE_DATE_EPOCH (superblock times via
//! E2FSPROGS_FAKE_TIME; inode times: e2fsprogs >= 1.47.1 sets them from
//! SOURCE_DATE_EPOCH, older versions copy them from the source tree).

use super::report::{CommandReport, ContentReport};
use super::sizing::{self, TreeStats};
use super::tools::{self, CommandRecord, Tool};
use super::{Ctx, Fill, Sized, ALIGN};
use crate::error::{Error, IoContext, Result};
use crate::ids::{Guid, Purpose};
use crate::io::output::AtomicFile;
use crate::units::human;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The longest ext4 volume label, in bytes.
pub const MAX_LABEL: usize = 16;

/// `"content": {"fs": "ext4", ...}` as validated by the layout.
#[derive(Clone, Debug)]
pub struct Spec {
    pub source: PathBuf,
    pub label: Option<String>,
    pub uuid: Option<Guid>,
    pub hash_seed: Option<Guid>,
}

struct Ext4<'a> {
    spec: &'a Spec,
    index: u32,
    stats: TreeStats,
}

pub(super) fn plan<'a>(
    spec: &'a Spec,
    index: u32,
    given: Option<u64>,
    ctx: &Ctx,
) -> Result<Sized<'a>> {
    let at = super::at(index);
    let stats = sizing::scan(&spec.source, Some(&ctx.owner))?;
    let est = match given {
        Some(b) => {
            if b % 4096 != 0 {
                return Err(ctx.layout_error(
                    format!("{at}.size"),
                    format!("{b} bytes is not a multiple of the 4096-byte ext4 block size"),
                ));
            }
            let e = sizing::ext4_estimate_at(&stats, b);
            if e.needed > b {
                return Err(super::missing(
                    ctx,
                    &at,
                    &format!("ext4 holding {}", spec.source.display()),
                    e.needed,
                    b,
                ));
            }
            e
        }
        None => sizing::ext4_auto(&stats),
    };
    Ok(Sized {
        size: given.unwrap_or(est.with_headroom),
        tree: Some(stats.clone()),
        estimate: serde_json::to_value(&est).ok(),
        content: Box::new(Ext4 { spec, index, stats }),
    })
}

impl Fill for Ext4<'_> {
    fn fill(
        &mut self,
        image: &AtomicFile,
        offset: u64,
        size: u64,
        ctx: &Ctx,
        r: &mut ContentReport,
    ) -> Result<()> {
        let (spec, i) = (self.spec, self.index);
        let tool = ctx.mke2fs.expect("found when a partition is ext4");
        let (uuid, uuid_id) = super::derive(ctx.seed, spec.uuid, Purpose::FsUuid(i));
        let (hash_seed, hash_seed_id) =
            super::derive(ctx.seed, spec.hash_seed, Purpose::Ext4HashSeed(i));
        r.uuid = Some(uuid_id);
        r.hash_seed = Some(hash_seed_id);
        r.label = spec.label.clone();
        let job = Ext4Job {
            tool,
            image: image.path(),
            offset,
            size,
            source: &spec.source,
            label: spec.label.as_deref().unwrap_or(""),
            uuid,
            hash_seed,
            inodes: sizing::ext4_inodes(&self.stats, size),
            epoch: ctx.epoch,
            user_namespace: ctx.owner.user_namespace,
        };
        match make(&job)? {
            Ext4Outcome::Done(rec) => {
                let dest = image.dest().to_string_lossy().into_owned();
                let rec = rec.with_stable_paths(&[(image.path(), &dest)]);
                r.command = Some(CommandReport::from(rec))
            }
            Ext4Outcome::NoSpace(_, msg) => {
                let want = sizing::ext4_auto(&self.stats).with_headroom;
                return Err(ctx.layout_error(
                    super::at(i),
                    format!(
                        "{} does not fit in {} ({msg}): about {} bytes missing (the auto size would be {want} bytes)",
                        spec.source.display(),
                        human(size),
                        want.saturating_sub(size).max(ALIGN)
                    ),
                ));
            }
        }
        if !tools::version_at_least(&tool.version, MIN_REPRODUCIBLE) {
            r.not_reproducible.push(format!(
                "inode times copied from the source tree ({} < {})",
                tool.version_line,
                tools::dotted(MIN_REPRODUCIBLE)
            ));
        }
        Ok(())
    }
}

/// The filesystem features, fixed here so that every host builds the same
/// filesystem. Debian bookworm's ext4 defaults; trixie adds orphan_file and
/// metadata_csum_seed, which GRUB before 2.12 refuses to read, so they stay
/// off.
pub const MKE2FS_CONF: &str = "\
[defaults]
\tbase_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr
\tdefault_mntopts = acl,user_xattr
\tenable_periodic_fsck = 0
\tblocksize = 4096
\tinode_size = 256
\tinode_ratio = 16384
\treserved_ratio = 5.0
\thash_alg = half_md4
\tlazy_itable_init = false

[fs_types]
\text4 = {
\t\tfeatures = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize
\t}
\tdefault = {
\t}
";

/// The name the report gives the mke2fs.conf it records (written to a
/// temporary directory when mke2fs runs).
pub const CONF_NAME: &str = "mke2fs.conf";

/// e2fsprogs from which inode times copied by `-d` follow SOURCE_DATE_EPOCH.
pub const MIN_REPRODUCIBLE: &[u32] = &[1, 47, 1];

pub struct Ext4Job<'a> {
    pub tool: &'a Tool,
    pub image: &'a Path,
    pub offset: u64,
    pub size: u64,
    pub source: &'a Path,
    pub label: &'a str,
    pub uuid: Guid,
    pub hash_seed: Guid,
    pub inodes: u64,
    pub epoch: i64,
    pub user_namespace: bool,
}

pub enum Ext4Outcome {
    Done(CommandRecord),
    /// mke2fs ran out of blocks or inodes while copying the tree.
    NoSpace(CommandRecord, String),
}

pub fn make(job: &Ext4Job) -> Result<Ext4Outcome> {
    let conf_dir = tempfile::Builder::new()
        .prefix("mkimage-mke2fs.")
        .tempdir()
        .ctx("create a temporary directory in", std::env::temp_dir())?;
    let _cleanup = crate::io::output::remove_on_signal(conf_dir.path());
    let conf = conf_dir.path().join("mke2fs.conf");
    std::fs::write(&conf, MKE2FS_CONF).ctx("write", &conf)?;
    let blocks = job.size / 4096;
    // assume_storage_prezeroed (1.47.0+): the image is a fresh sparse file,
    // so mke2fs need not write zeros and may mark inode tables as zeroed;
    // both choices are deterministic, this one is faster and leaves the
    // kernel no lazy-init work.
    let prezeroed = tools::version_at_least(&job.tool.version, &[1, 47, 0]);
    let ext = format!(
        "offset={},hash_seed={},root_owner=0:0,nodiscard,{}",
        job.offset,
        job.hash_seed.to_string().to_lowercase(),
        if prezeroed {
            "assume_storage_prezeroed=1"
        } else {
            "lazy_itable_init=0,lazy_journal_init=0"
        }
    );
    let mut args: Vec<OsString> = [
        "-F", "-q", "-t", "ext4", "-T", "default", "-b", "4096", "-I", "256", "-o", "Linux",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    args.push("-N".into());
    args.push(job.inodes.to_string().into());
    args.push("-U".into());
    args.push(job.uuid.to_string().to_lowercase().into());
    args.push("-L".into());
    args.push(job.label.into());
    args.push("-E".into());
    args.push(ext.into());
    args.push("-d".into());
    args.push(job.source.into());
    args.push(job.image.into());
    args.push(blocks.to_string().into());
    let epoch = job.epoch.to_string();
    let env = vec![
        ("MKE2FS_CONFIG".to_string(), conf.display().to_string()),
        ("SOURCE_DATE_EPOCH".to_string(), epoch.clone()),
        ("E2FSPROGS_FAKE_TIME".to_string(), epoch),
        ("LC_ALL".to_string(), "C".to_string()),
        ("TZ".to_string(), "UTC".to_string()),
    ];
    let (record, out) = tools::run(job.tool, &args, &env, job.user_namespace)?;
    let mut record = record.with_stable_paths(&[(&conf, CONF_NAME)]);
    record.files.insert(CONF_NAME.into(), MKE2FS_CONF.into());
    if out.status.success() {
        return Ok(Ext4Outcome::Done(record));
    }
    let msg = tools::tail(&out);
    let lower = msg.to_lowercase();
    if lower.contains("could not allocate block")
        || lower.contains("no free space")
        || lower.contains("could not allocate inode")
        || lower.contains("inode table") && lower.contains("full")
        || lower.contains("no space left")
    {
        return Ok(Ext4Outcome::NoSpace(record, msg));
    }
    Err(Error::tool(
        "mke2fs",
        format!(
            "failed ({}): {msg}; command: {}",
            out.status,
            record.shell()
        ),
    ))
}
