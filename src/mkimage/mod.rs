//! mkimage: assemble a partitioned disk image from a layout (see
//! [`layout`]): FAT32 through our own writer, ext4 through `mke2fs -d`
//! written in place, btrfs through `mkfs.btrfs --rootdir` into a scratch
//! file that becomes the image (the space before it inserted with
//! FALLOC_FL_INSERT_RANGE) or, where the host filesystem cannot, is copied
//! in sparsely; raw images copied sparsely. No root, no loop devices, no VM.
//!
//! Order of work: parse and validate the layout, measure the trees and check
//! their owners, find the tools and check their versions, compute every size
//! and offset, and only then create the image: every error the inputs can
//! cause comes before any slow work. The image is written under a temporary
//! name and renamed when complete.
//!
//! Identifiers not given in the layout are derived from its `seed` with
//! `crate::ids::Seed`, one [`crate::ids::Purpose`] each. Times come from SOURCE_DATE_EPOCH (default
//! 1980-01-01, the earliest FAT time); ext4 inode times newer than it are
//! clamped to it by e2fsprogs >= 1.47.1, older ones are kept (stage the tree
//! with deterministic-copy to normalise them).

pub mod btrfs;
pub mod btrfs_grow;
pub mod ext4;
pub mod layout;
pub mod ownership;
pub mod report;
pub mod sizing;
pub mod tools;

use crate::epoch::{source_date_epoch_or, DOS_EPOCH};
use crate::error::{Error, IoContext, Result};
use crate::fat::write::{min_fat32_size, write_fat32, FatOptions};
use crate::ids::{Purpose, Seed};
use crate::io::output::AtomicFile;
use crate::partition_table::{reserved_sectors, write_table, NewPartition, TableKind, TableSpec};
use crate::units::{align_up, human, MIB};
use layout::{Content, Layout, PartitionSpec, SizeSpec};
use ownership::OwnerPolicy;
use report::{CommandReport, ContentReport, Id, PartitionReport, Report};
use sizing::TreeStats;
use std::path::{Path, PathBuf};
use tools::Tool;

/// Partitions start on 1 MiB boundaries.
pub const ALIGN: u64 = MIB;

pub struct Options<'a> {
    pub layout: &'a Path,
    pub output: &'a Path,
    pub report: Option<&'a Path>,
}

/// A partition with its measured tree and final size.
struct Planned<'a> {
    spec: &'a PartitionSpec,
    stats: Option<TreeStats>,
    size: u64,
    offset: u64,
    estimate: Option<serde_json::Value>,
    /// btrfs is made while planning: its minimal size decides whether it fits.
    btrfs: Option<MadeBtrfs>,
}

struct MadeBtrfs {
    record: tools::CommandRecord,
    /// The filesystem at its minimal size; taken when it became the image.
    temp: Option<crate::io::output::ScratchFile>,
    /// Its name when mkfs.btrfs wrote it (for the report).
    temp_path: PathBuf,
    min_size: u64,
    uuid: crate::ids::Guid,
    device_uuid: crate::ids::Guid,
}

/// What planning needs besides the partition.
struct Ctx<'a> {
    owner: OwnerPolicy,
    sector_size: u32,
    epoch: i64,
    seed: &'a Seed,
    mkfs_btrfs: Option<&'a Tool>,
    out_dir: PathBuf,
}

fn say(msg: &str) {
    eprintln!("mkimage: {msg}");
}

pub fn run(opts: &Options) -> Result<()> {
    let layout = Layout::load(opts.layout)?;
    let epoch = source_date_epoch_or(DOS_EPOCH)?;
    let seed = Seed::new(layout.seed.clone());
    let owner = OwnerPolicy::current();
    let ss = u64::from(layout.sector_size);
    let mut warnings = Vec::new();
    let mut reproducible = true;

    // Tools, with versions, before any slow work.
    let needs = |f: fn(&Content) -> bool| layout.partitions.iter().any(|p| f(&p.content));
    let mke2fs = if needs(|c| matches!(c, Content::Ext4 { .. })) {
        let path = tools::find("mke2fs", "MKIMAGE_MKE2FS", "e2fsprogs")?;
        let t = probe(&path, "mke2fs", &["-V"], owner.user_namespace)?;
        if !tools::version_at_least(&t.version, ext4::MIN_REPRODUCIBLE) {
            let w = format!(
                "{} is older than 1.47.1 and copies inode times from the source tree instead of SOURCE_DATE_EPOCH: the image will not be reproducible",
                t.version_line
            );
            eprintln!("mkimage: warning: {w}");
            warnings.push(w);
            reproducible = false;
        }
        Some(t)
    } else {
        None
    };
    let mkfs_btrfs = if needs(|c| matches!(c, Content::Btrfs { .. })) {
        let path = tools::find("mkfs.btrfs", "MKIMAGE_MKFS_BTRFS", "btrfs-progs")?;
        let t = probe(&path, "mkfs.btrfs", &["--version"], owner.user_namespace)?;
        for p in &layout.partitions {
            if let Content::Btrfs { subvolumes, .. } = &p.content {
                if !subvolumes.is_empty() && !tools::version_at_least(&t.version, btrfs::MIN_SUBVOL)
                {
                    return Err(Error::tool(
                        "mkfs.btrfs",
                        format!(
                            "partitions[{}].content.subvolumes: {} is \"{}\", which cannot create subvolumes: mkfs.btrfs --subvol needs btrfs-progs 6.12 or newer; put a newer mkfs.btrfs first on PATH or name it in MKIMAGE_MKFS_BTRFS",
                            p.index - 1,
                            t.path.display(),
                            t.version_line
                        ),
                    ));
                }
            }
        }
        reproducible = false;
        Some(t)
    } else {
        None
    };

    // Measure trees, check owners, size every partition.
    let ctx = Ctx {
        owner,
        sector_size: layout.sector_size,
        epoch,
        seed: &seed,
        mkfs_btrfs: mkfs_btrfs.as_ref(),
        out_dir: output_dir(opts.output),
    };
    let mut planned = Vec::new();
    for p in &layout.partitions {
        planned.push(plan(p, &ctx)?);
    }

    // Offsets: 1 MiB aligned after the table; the disk ends with the backup
    // GPT (if any), rounded up to 1 MiB when the size is auto.
    let (first_lba, end_reserved) = reserved_sectors(layout.table, layout.sector_size);
    let mut cursor = align_up(first_lba * ss, ALIGN);
    for p in &mut planned {
        p.offset = align_up(cursor, ALIGN);
        cursor = p.offset + p.size;
    }
    let needed_disk = cursor + end_reserved * ss;
    let (disk_size, disk_origin) = match layout.size {
        SizeSpec::Auto => (align_up(needed_disk, ALIGN), "auto"),
        SizeSpec::Bytes(b) if b < needed_disk => {
            return Err(Error::layout(
                opts.layout,
                format!(
                    "size: the partitions and the partition table need {} but the disk is {}: {} bytes missing",
                    human(needed_disk),
                    human(b),
                    needed_disk - b
                ),
            ))
        }
        SizeSpec::Bytes(b) => (b, "given"),
    };
    if layout.table == TableKind::Mbr && disk_size / ss > u64::from(u32::MAX) {
        return Err(Error::layout(
            opts.layout,
            "table: an MBR cannot address a disk this large: use \"table\": \"gpt\"",
        ));
    }

    // Identifiers.
    let disk_guid_id = (layout.table == TableKind::Gpt).then(|| {
        let g = layout
            .disk_guid
            .unwrap_or_else(|| seed.guid(Purpose::DiskGuid));
        Id::new(g, layout.disk_guid.is_some(), Purpose::DiskGuid)
    });
    let mbr_sig = layout
        .mbr_signature
        .unwrap_or_else(|| seed.u32(Purpose::MbrSignature));
    let mbr_sig_id = (layout.table == TableKind::Mbr).then(|| {
        Id::new(
            format!("0x{mbr_sig:08X}"),
            layout.mbr_signature.is_some(),
            Purpose::MbrSignature,
        )
    });

    let image = match adopt_btrfs(&mut planned, opts.output, disk_size)? {
        Some(image) => image,
        None => AtomicFile::create(opts.output)?,
    };
    image
        .file()
        .set_len(disk_size)
        .ctx("size the image", opts.output)?;
    let new_parts: Vec<NewPartition> = planned
        .iter()
        .map(|p| NewPartition {
            name: p.spec.name.clone(),
            part_type: p.spec.part_type,
            guid: p
                .spec
                .guid
                .unwrap_or_else(|| seed.guid(Purpose::PartitionGuid(p.spec.index))),
            first_lba: p.offset / ss,
            last_lba: (p.offset + p.size) / ss - 1,
            bootable: p.spec.bootable,
        })
        .collect();
    let spec = TableSpec {
        kind: layout.table,
        sector_size: layout.sector_size,
        disk_guid: layout
            .disk_guid
            .unwrap_or_else(|| seed.guid(Purpose::DiskGuid)),
        mbr_signature: mbr_sig,
    };
    write_table(opts.output, image.file(), &spec, &new_parts)?;
    say(&format!(
        "{} disk of {}, {}-byte sectors",
        match layout.table {
            TableKind::Gpt => "GPT",
            TableKind::Mbr => "MBR",
        },
        human(disk_size),
        layout.sector_size
    ));

    let mut part_reports = Vec::new();
    for (p, np) in planned.iter().zip(&new_parts) {
        let i = p.spec.index;
        say(&format!(
            "partition {i} ({}): {} at offset {}, {}",
            p.spec.name,
            p.spec.content.fs_name(),
            p.offset,
            human(p.size)
        ));
        let content = fill(
            p,
            &image,
            &seed,
            &ctx.owner,
            layout.sector_size,
            epoch,
            mke2fs.as_ref(),
        )?;
        part_reports.push(PartitionReport {
            index: i,
            name: p.spec.name.clone(),
            type_text: p.spec.type_text.clone(),
            type_id: p.spec.part_type.id_string(),
            first_lba: np.first_lba,
            last_lba: np.last_lba,
            offset: p.offset,
            size: p.size,
            size_origin: match p.spec.size {
                SizeSpec::Auto => "auto",
                SizeSpec::Bytes(_) => "given",
            },
            guid: (layout.table == TableKind::Gpt)
                .then(|| Id::new(np.guid, p.spec.guid.is_some(), Purpose::PartitionGuid(i))),
            bootable: p.spec.bootable,
            content,
        });
    }

    let report = Report {
        generator: format!("mkimage {}", env!("CARGO_PKG_VERSION")),
        table: layout.table,
        sector_size: layout.sector_size,
        disk_size,
        disk_size_origin: disk_origin,
        seed: layout.seed.clone(),
        source_date_epoch: epoch,
        disk_guid: disk_guid_id,
        mbr_signature: mbr_sig_id,
        partitions: part_reports,
        tools: mke2fs.into_iter().chain(mkfs_btrfs).collect(),
        reproducible,
        warnings,
    };
    let report_file = match opts.report {
        Some(path) => {
            let mut f = AtomicFile::create(path)?;
            let mut json = serde_json::to_string_pretty(&report)
                .map_err(|e| Error::Invalid(format!("cannot encode the report: {e}")))?;
            json.push('\n');
            std::io::Write::write_all(f.file_mut(), json.as_bytes()).ctx("write", path)?;
            Some(f)
        }
        None => None,
    };
    image.commit()?;
    if let Some(f) = report_file {
        f.commit()?;
    }
    say(&format!("wrote {}", opts.output.display()));
    Ok(())
}

/// Find a tool's version, inside a user namespace when the tools will run in
/// one (which also proves early that one can be created).
fn probe(path: &Path, name: &'static str, args: &[&str], userns: bool) -> Result<Tool> {
    if userns {
        ownership::probe_user_namespace(path, args)?;
    }
    tools::probe(name, path, args)
}

fn missing(at: &str, what: &str, need: u64, have: u64) -> Error {
    Error::Invalid(format!(
        "{at}: {what} needs {} but the partition is {}: {} bytes missing (raise the size or use \"auto\")",
        human(need),
        human(have),
        need.saturating_sub(have).max(1)
    ))
}

fn fat_options(spec: &PartitionSpec, sector_size: u32, seed_vol: u32, epoch: i64) -> FatOptions {
    let (label, volume_id) = match &spec.content {
        Content::Vfat {
            label, volume_id, ..
        } => (label.clone(), *volume_id),
        _ => (None, None),
    };
    FatOptions {
        sector_size,
        volume_id: volume_id.unwrap_or(seed_vol),
        // No label: no volume label entry, "NO NAME" in the boot sector
        // only, as mkfs.fat does (blkid then reports none).
        label: label.unwrap_or_default(),
        mtime: epoch,
    }
}

fn plan<'a>(spec: &'a PartitionSpec, ctx: &Ctx) -> Result<Planned<'a>> {
    let (owner, sector_size, epoch) = (&ctx.owner, ctx.sector_size, ctx.epoch);
    let mut made = None;
    let at = format!("partitions[{}]", spec.index - 1);
    let given = match spec.size {
        SizeSpec::Bytes(b) => Some(b),
        SizeSpec::Auto => None,
    };
    let mut stats = None;
    let (size, estimate) = match &spec.content {
        Content::Empty => (
            given.expect("validated: empty partitions have a size"),
            None,
        ),
        Content::Raw { image } => {
            let len = std::fs::metadata(image).ctx("stat", image)?.len();
            match given {
                Some(b) if b < len => {
                    return Err(missing(
                        &at,
                        &format!("raw image {}", image.display()),
                        len,
                        b,
                    ))
                }
                Some(b) => (b, None),
                None => (align_up(len, ALIGN), None),
            }
        }
        Content::Vfat { source, .. } => {
            let opts = fat_options(spec, sector_size, 0, epoch);
            let min = min_fat32_size(source, &opts)?;
            let est = serde_json::json!({ "minFat32Size": min });
            match given {
                Some(b) if b < min => {
                    return Err(Error::Invalid(format!(
                        "{at}.size: FAT32 with {}-byte sectors holding {} needs at least {}, the partition is {}: {} bytes missing",
                        sector_size,
                        source.display(),
                        human(min),
                        human(b),
                        min - b
                    )))
                }
                Some(b) => (b, Some(est)),
                // The smallest FAT32 holding the tree, + 10% + 1 MiB: room
                // for a changed file without a full filesystem.
                None => (align_up(min + min / 10 + MIB, ALIGN), Some(est)),
            }
        }
        Content::Ext4 { source, .. } => {
            let s = sizing::scan(source, Some(owner))?;
            let est = match given {
                Some(b) => {
                    if b % 4096 != 0 {
                        return Err(Error::Invalid(format!(
                            "{at}.size: {b} bytes is not a multiple of the 4096-byte ext4 block size"
                        )));
                    }
                    let e = sizing::ext4_estimate_at(&s, b);
                    if e.needed > b {
                        return Err(missing(
                            &at,
                            &format!("ext4 holding {}", source.display()),
                            e.needed,
                            b,
                        ));
                    }
                    e
                }
                None => sizing::ext4_auto(&s),
            };
            let size = given.unwrap_or(est.with_headroom);
            let v = serde_json::to_value(&est).ok();
            stats = Some(s);
            (size, v)
        }
        Content::Btrfs {
            source,
            label,
            uuid,
            device_uuid,
            subvolumes,
        } => {
            let s = sizing::scan(source, Some(owner))?;
            let est = sizing::btrfs_auto(&s);
            // Quick check before running mkfs: the file data alone must fit.
            if let Some(b) = given {
                if est.data > b {
                    return Err(missing(
                        &at,
                        &format!("btrfs holding {}", source.display()),
                        est.data,
                        b,
                    ));
                }
            }
            let i = spec.index;
            let uuid = uuid.unwrap_or_else(|| ctx.seed.guid(Purpose::FsUuid(i)));
            let device_uuid =
                device_uuid.unwrap_or_else(|| ctx.seed.guid(Purpose::BtrfsDeviceUuid(i)));
            say(&format!(
                "partition {i} ({}): mkfs.btrfs --rootdir {}",
                spec.name,
                source.display()
            ));
            let job = btrfs::BtrfsJob {
                tool: ctx.mkfs_btrfs.expect("found above"),
                temp_dir: &ctx.out_dir,
                source,
                label: label.as_deref().unwrap_or(""),
                uuid,
                device_uuid,
                subvolumes,
                epoch,
                user_namespace: owner.user_namespace,
            };
            let (record, temp, min_size) = match btrfs::make(&job)? {
                btrfs::BtrfsOutcome::Done(r, t, m) => (r, t, m),
                btrfs::BtrfsOutcome::NoSpace(_, msg) => {
                    return Err(Error::tool("mkfs.btrfs", format!("{at}: {msg}")))
                }
            };
            // mkfs.btrfs's own minimum is the judge of "fits"; auto adds
            // the headroom to whichever of the estimate and it is larger.
            let size = match given {
                Some(b) if min_size > b => {
                    return Err(missing(
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
            stats = Some(s);
            made = Some(MadeBtrfs {
                record,
                temp_path: temp.path().to_path_buf(),
                temp: Some(temp),
                min_size,
                uuid,
                device_uuid,
            });
            (size, Some(v))
        }
    };
    if size % u64::from(sector_size) != 0 {
        return Err(Error::Invalid(format!(
            "{at}.size: {size} bytes is not a multiple of the sector size {sector_size}"
        )));
    }
    Ok(Planned {
        spec,
        stats,
        size,
        offset: 0,
        estimate,
        btrfs: made,
    })
}

#[allow(clippy::too_many_arguments)]
fn fill(
    p: &Planned,
    image: &AtomicFile,
    seed: &Seed,
    owner: &OwnerPolicy,
    sector_size: u32,
    epoch: i64,
    mke2fs: Option<&Tool>,
) -> Result<Option<ContentReport>> {
    let i = p.spec.index;
    let at = format!("partitions[{}]", i - 1);
    let fs_uuid = |given: &Option<crate::ids::Guid>| {
        let purpose = Purpose::FsUuid(i);
        let g = given.unwrap_or_else(|| seed.guid(purpose));
        (g, Id::new(g, given.is_some(), purpose))
    };
    let mut r = ContentReport {
        fs: p.spec.content.fs_name(),
        source: p.spec.content.source().map(|s| s.display().to_string()),
        tree: p.stats.clone(),
        estimate: p.estimate.clone(),
        ..Default::default()
    };
    match &p.spec.content {
        Content::Empty => return Ok(None),
        Content::Raw { image: src } => {
            let f = std::fs::File::open(src).ctx("open", src)?;
            let len = f.metadata().ctx("stat", src)?.len();
            let n =
                crate::io::sparse::copy_range_sparse(&f, 0, image.file(), p.offset, len, |_| {})
                    .ctx("copy the raw image", src)?;
            r.source = Some(src.display().to_string());
            r.data_bytes_copied = Some(n);
        }
        Content::Vfat {
            source,
            label,
            volume_id,
        } => {
            let purpose = Purpose::FatVolumeId(i);
            let opts = fat_options(p.spec, sector_size, seed.u32(purpose), epoch);
            r.volume_id = Some(Id::new(
                format!("0x{:08X}", opts.volume_id),
                volume_id.is_some(),
                purpose,
            ));
            r.label = label.clone();
            r.fat = Some(write_fat32(image.file(), p.offset, p.size, source, &opts)?);
        }
        Content::Ext4 {
            source,
            label,
            uuid,
            hash_seed,
        } => {
            let tool = mke2fs.expect("found above");
            let (uuid, uuid_id) = fs_uuid(uuid);
            let hs_purpose = Purpose::Ext4HashSeed(i);
            let hs = hash_seed.unwrap_or_else(|| seed.guid(hs_purpose));
            r.uuid = Some(uuid_id);
            r.hash_seed = Some(Id::new(hs, hash_seed.is_some(), hs_purpose));
            r.label = label.clone();
            let stats = p.stats.as_ref().expect("measured");
            let job = ext4::Ext4Job {
                tool,
                image: image.path(),
                offset: p.offset,
                size: p.size,
                source,
                label: label.as_deref().unwrap_or(""),
                uuid,
                hash_seed: hs,
                inodes: sizing::ext4_inodes(stats, p.size),
                epoch,
                user_namespace: owner.user_namespace,
            };
            match ext4::make(&job)? {
                ext4::Ext4Outcome::Done(rec) => {
                    let dest = image.dest().to_string_lossy().into_owned();
                    let rec = rec.with_stable_paths(&[(image.path(), &dest)]);
                    r.command = Some(CommandReport::from(rec))
                }
                ext4::Ext4Outcome::NoSpace(_, msg) => {
                    let want = sizing::ext4_auto(stats).with_headroom;
                    return Err(Error::Invalid(format!(
                        "{at}: {} does not fit in {} ({msg}): about {} bytes missing (the auto size would be {want} bytes)",
                        source.display(),
                        human(p.size),
                        want.saturating_sub(p.size).max(ALIGN)
                    )));
                }
            }
            if !tools::version_at_least(&tool.version, ext4::MIN_REPRODUCIBLE) {
                r.not_reproducible.push(format!(
                    "inode times copied from the source tree ({} < 1.47.1)",
                    tool.version_line
                ));
            }
        }
        Content::Btrfs {
            label,
            uuid,
            device_uuid,
            subvolumes,
            ..
        } => {
            let made = p.btrfs.as_ref().expect("made while planning");
            r.uuid = Some(Id::new(made.uuid, uuid.is_some(), Purpose::FsUuid(i)));
            r.device_uuid = Some(Id::new(
                made.device_uuid,
                device_uuid.is_some(),
                Purpose::BtrfsDeviceUuid(i),
            ));
            r.label = label.clone();
            r.subvolumes = subvolumes.iter().map(|s| s.path.clone()).collect();
            // mkfs.btrfs wrote a scratch file: it became the image (see
            // adopt_btrfs) or is copied into it here. Which one depends on
            // the host filesystem, so the report does not say.
            let scratch = format!("partition-{i}.btrfs");
            let rec = made.record.clone();
            r.command = Some(CommandReport::from(
                rec.with_stable_paths(&[(&made.temp_path, &scratch)]),
            ));
            if let Some(temp) = &made.temp {
                btrfs::copy_into(temp.as_file(), temp.path(), image.file(), p.offset, p.size)?;
            }
            r.filesystem_size = Some(p.size / 4096 * 4096);
            r.mkfs_minimum_size = Some(made.min_size);
            r.not_reproducible = btrfs::NOT_REPRODUCIBLE
                .iter()
                .map(|s| s.to_string())
                .collect();
        }
    }
    Ok(Some(r))
}

/// Turn the first btrfs partition's scratch file into the image, so its
/// filesystem is never copied: grow it to its partition, then insert the
/// bytes that go before it (FALLOC_FL_INSERT_RANGE shifts the file's
/// extents; ext4 and xfs can, tmpfs and btrfs cannot, and there the
/// filesystem is copied, by reflink where copy_file_range can). `None`: no
/// btrfs partition, or the host filesystem cannot insert.
fn adopt_btrfs(
    planned: &mut [Planned],
    output: &Path,
    disk_size: u64,
) -> Result<Option<AtomicFile>> {
    let Some(p) = planned.iter_mut().find(|p| p.btrfs.is_some()) else {
        return Ok(None);
    };
    let made = p.btrfs.as_mut().expect("found above");
    let temp = made.temp.as_ref().expect("not adopted yet");
    btrfs_grow::grow(temp.as_file(), p.size / 4096 * 4096)?;
    if !crate::io::fallocate::insert_range(temp.as_file(), p.offset)
        .ctx("insert space before", temp.path())?
    {
        return Ok(None);
    }
    let temp = made.temp.take().expect("checked above");
    temp.as_file()
        .set_len(disk_size)
        .ctx("size the image", output)?;
    Ok(Some(AtomicFile::adopt(temp, output)))
}

fn output_dir(output: &Path) -> PathBuf {
    match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
