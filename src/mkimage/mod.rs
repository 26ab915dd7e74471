//! mkimage: assemble a partitioned disk image from a layout (see
//! [`layout`]). Each content kind has its own file behind the `Fill`
//! interface, as genimage's `image-*.c` sit behind `struct image_handler`:
//! [`vfat`] (our FAT32 writer), [`ext4`] (`mke2fs -d` written in place),
//! [`btrfs`] (`mkfs.btrfs --rootdir` into a scratch file that becomes the
//! image, the space before it inserted with FALLOC_FL_INSERT_RANGE, or where
//! the host filesystem cannot, is copied in sparsely), [`raw`] (an image
//! copied sparsely). No root, no loop devices, no VM.
//!
//! Order of work: parse and validate the layout, measure the trees and check
//! their owners, find the tools and check their versions, compute every size
//! and offset, and only then create the image: every error the inputs can
//! cause comes before any slow work. The image is written under a temporary
//! name and renamed when complete.
//!
//! Identifiers not given in the layout are derived from its `seed` with
//! `crate::ids::Seed`, one [`crate::ids::Purpose`] each. Times come from
//! SOURCE_DATE_EPOCH (default 1980-01-01, the earliest FAT time); ext4 inode
//! times newer than it are clamped to it by e2fsprogs >= 1.47.1, older ones
//! are kept (stage the tree with deterministic-copy to normalise them).

pub mod btrfs;
pub mod btrfs_grow;
pub mod ext4;
pub mod layout;
pub mod ownership;
pub mod raw;
pub mod report;
pub mod sizing;
pub mod tools;
pub mod vfat;

use crate::epoch::{source_date_epoch_or, DOS_EPOCH};
use crate::error::{Error, ErrorContext, IoContext, Result};
use crate::ids::{Guid, Purpose, Seed};
use crate::io::output::{AtomicFile, ScratchFile};
use crate::partition_table::{reserved_sectors, write_table, NewPartition, TableKind, TableSpec};
use crate::units::{align_up, human, MIB};
use layout::{Content, Layout, PartitionSpec, SizeSpec};
use ownership::OwnerPolicy;
use report::{ContentReport, Id, PartitionReport, Report};
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
    size: u64,
    offset: u64,
    tree: Option<TreeStats>,
    estimate: Option<serde_json::Value>,
    /// None: an empty partition.
    content: Option<Box<dyn Fill + 'a>>,
}

/// What a content kind's `plan` (in `vfat.rs`, `ext4.rs`, `btrfs.rs`,
/// `raw.rs`) decided: the partition's size, with what it measured.
struct Sized<'a> {
    size: u64,
    tree: Option<TreeStats>,
    estimate: Option<serde_json::Value>,
    content: Box<dyn Fill + 'a>,
}

/// A content kind once planned: it writes itself into its partition and
/// adds what it did to the report. Its state lives in the implementing
/// struct, so nothing is held in step across kinds.
trait Fill {
    fn fill(
        &mut self,
        image: &AtomicFile,
        offset: u64,
        size: u64,
        ctx: &Ctx,
        report: &mut ContentReport,
    ) -> Result<()>;

    /// Whether the filesystem sits in a scratch file that can become the
    /// image itself (`adopt`) instead of being copied into it.
    fn adoptable(&self) -> bool {
        false
    }

    /// Make the scratch file the image, with the partition at `offset`;
    /// `None` when the host filesystem cannot (it is then copied by `fill`).
    fn adopt(&mut self, _offset: u64, _size: u64) -> Result<Option<ScratchFile>> {
        Ok(None)
    }
}

/// What planning and filling need besides the partition.
struct Ctx<'a> {
    /// The layout file, named by every error about what it asks for.
    layout: &'a Path,
    owner: OwnerPolicy,
    sector_size: u32,
    epoch: i64,
    seed: &'a Seed,
    mke2fs: Option<&'a Tool>,
    mkfs_btrfs: Option<&'a Tool>,
    out_dir: PathBuf,
}

/// A partition's place in layout error messages, `partitions[<index - 1>]`.
fn at(index: u32) -> String {
    format!("partitions[{}]", index - 1)
}

impl Ctx<'_> {
    /// What the layout asks for at `at` (a JSON path) cannot be built.
    fn layout_error(&self, at: impl Into<String>, message: impl Into<String>) -> Error {
        Error::layout(self.layout, message).at(at)
    }
}

/// The layout's identifier if given, else the seed's for `purpose`; with
/// the report's record of which.
fn derive(seed: &Seed, given: Option<Guid>, purpose: Purpose) -> (Guid, Id) {
    let g = given.unwrap_or_else(|| seed.guid(purpose));
    (g, Id::new(g, given.is_some(), purpose))
}

fn say(msg: &str) {
    crate::diag::note(msg);
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
    let mke2fs = if needs(|c| matches!(c, Content::Ext4(_))) {
        let path = tools::find("mke2fs", "MKIMAGE_MKE2FS", "e2fsprogs")?;
        let t = probe(&path, "mke2fs", &["-V"], owner.user_namespace)?;
        if !tools::version_at_least(&t.version, ext4::MIN_REPRODUCIBLE) {
            let w = format!(
                "{} is older than {} and copies inode times from the source tree instead of SOURCE_DATE_EPOCH: the image will not be reproducible",
                t.version_line,
                tools::dotted(ext4::MIN_REPRODUCIBLE)
            );
            crate::diag::warn(&w);
            warnings.push(w);
            reproducible = false;
        }
        Some(t)
    } else {
        None
    };
    let mkfs_btrfs = if needs(|c| matches!(c, Content::Btrfs(_))) {
        let path = tools::find("mkfs.btrfs", "MKIMAGE_MKFS_BTRFS", "btrfs-progs")?;
        let t = probe(&path, "mkfs.btrfs", &["--version"], owner.user_namespace)?;
        for p in &layout.partitions {
            if let Content::Btrfs(c) = &p.content {
                if let Some(why) =
                    btrfs::cannot_make_subvolumes(&t).filter(|_| !c.subvolumes.is_empty())
                {
                    return Err(Error::tool("mkfs.btrfs", why))
                        .in_layout(opts.layout, format!("{}.content.subvolumes", at(p.index)));
                }
            }
        }
        // After the subvolume check, which names the layout field.
        if let Some(why) = btrfs::cannot_make_btrfs(&t) {
            return Err(Error::tool("mkfs.btrfs", why));
        }
        reproducible = false;
        Some(t)
    } else {
        None
    };

    // Measure trees, check owners, size every partition.
    let ctx = Ctx {
        layout: opts.layout,
        owner,
        sector_size: layout.sector_size,
        epoch,
        seed: &seed,
        mke2fs: mke2fs.as_ref(),
        mkfs_btrfs: mkfs_btrfs.as_ref(),
        out_dir: output_dir(opts.output),
    };
    let mut planned = Vec::new();
    for p in &layout.partitions {
        planned.push(plan(p, &ctx)?);
    }

    // Offsets: 1 MiB aligned after the table unless given (sd-image's 8 MiB
    // gap for the firmware); the disk ends with the backup GPT (if any),
    // rounded up to 1 MiB when the size is auto.
    let (first_lba, end_reserved) = reserved_sectors(layout.table, layout.sector_size);
    // Checked: sizes come from the layout, and a wrapped sum would place
    // partitions on top of each other.
    let too_large = |at: String| ctx.layout_error(at, "the disk would be larger than 2^64 bytes");
    let mut cursor = first_lba * ss;
    for p in &mut planned {
        p.offset = match p.spec.start {
            Some(start) if start < cursor => {
                return Err(ctx.layout_error(
                    format!("{}.start", at(p.spec.index)),
                    format!(
                        "{start} overlaps the partition table or the previous partition, which end at byte {cursor}"
                    ),
                ))
            }
            Some(start) => start,
            None => align_up(cursor, ALIGN),
        };
        cursor = p
            .offset
            .checked_add(p.size)
            .filter(|_| p.offset != u64::MAX)
            .ok_or_else(|| too_large(format!("{}.size", at(p.spec.index))))?;
    }
    let needed_disk = cursor
        .checked_add(end_reserved * ss)
        .filter(|&n| align_up(n, ALIGN) != u64::MAX)
        .ok_or_else(|| too_large("partitions".into()))?;
    let (disk_size, disk_origin) = match layout.size {
        SizeSpec::Auto => (align_up(needed_disk, ALIGN), "auto"),
        SizeSpec::Bytes(b) if b < needed_disk => {
            return Err(ctx.layout_error(
                "size",
                format!(
                    "the partitions and the partition table need {} but the disk is {}: {} bytes missing",
                    human(needed_disk),
                    human(b),
                    needed_disk - b
                ),
            ))
        }
        SizeSpec::Bytes(b) => (b, "given"),
    };
    if layout.table == TableKind::Mbr && disk_size / ss > u64::from(u32::MAX) {
        return Err(ctx.layout_error(
            "table",
            "an MBR cannot address a disk this large: use \"table\": \"gpt\"",
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

    let image = match adopt_scratch(&mut planned, opts.output, disk_size)? {
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
    for (p, np) in planned.iter_mut().zip(&new_parts) {
        let i = p.spec.index;
        say(&format!(
            "partition {i} ({}): {} at offset {}, {}",
            p.spec.name,
            p.spec.content.fs_name(),
            p.offset,
            human(p.size)
        ));
        let content = match &mut p.content {
            None => None,
            Some(kind) => {
                let mut r = ContentReport {
                    fs: p.spec.content.fs_name(),
                    source: p.spec.content.source().map(|s| s.display().to_string()),
                    tree: p.tree.clone(),
                    estimate: p.estimate.clone(),
                    ..Default::default()
                };
                kind.fill(&image, p.offset, p.size, &ctx, &mut r)?;
                Some(r)
            }
        };
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
                .map_err(|e| Error::invalid(format!("cannot encode the report: {e}")))?;
            json.push('\n');
            std::io::Write::write_all(f.file_mut(), json.as_bytes()).ctx("write", path)?;
            Some(f)
        }
        None => None,
    };
    // One run's image and report, even when two runs write the same names
    // at once; and no image whose report failed to appear.
    let _lock = crate::guard::lock_dir(opts.output.parent().unwrap_or(Path::new(".")))?;
    image.commit()?;
    if let Some(f) = report_file {
        if let Err(e) = f.commit() {
            let _ = std::fs::remove_file(opts.output);
            return Err(e);
        }
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

/// The partition at `at` is too small for its content.
fn missing(ctx: &Ctx, at: &str, what: &str, need: u64, have: u64) -> Error {
    ctx.layout_error(
        at,
        format!(
            "{what} needs {} but the partition is {}: {} bytes missing (raise the size or use \"auto\")",
            human(need),
            human(have),
            need.saturating_sub(have).max(1)
        ),
    )
}

fn plan<'a>(spec: &'a PartitionSpec, ctx: &Ctx) -> Result<Planned<'a>> {
    let (i, given) = (spec.index, spec.given_size());
    let sized = match &spec.content {
        Content::Empty => None,
        Content::Vfat(c) => Some(vfat::plan(c, i, given, ctx)?),
        Content::Ext4(c) => Some(ext4::plan(c, i, given, ctx)?),
        Content::Btrfs(c) => Some(btrfs::plan(c, i, &spec.name, given, ctx)?),
        Content::Raw(c) => Some(raw::plan(c, i, given, ctx)?),
    };
    let planned = match sized {
        None => Planned {
            spec,
            size: given.expect("validated: empty partitions have a size"),
            offset: 0,
            tree: None,
            estimate: None,
            content: None,
        },
        Some(s) => Planned {
            spec,
            size: s.size,
            offset: 0,
            tree: s.tree,
            estimate: s.estimate,
            content: Some(s.content),
        },
    };
    let (size, sector_size) = (planned.size, ctx.sector_size);
    if size % u64::from(sector_size) != 0 {
        return Err(ctx.layout_error(
            format!("{}.size", at(i)),
            format!("{size} bytes is not a multiple of the sector size {sector_size}"),
        ));
    }
    Ok(planned)
}

/// Let the first partition whose filesystem sits in a scratch file (btrfs)
/// become the image, so that filesystem is never copied. `None`: there is
/// none, or the host filesystem cannot.
fn adopt_scratch(
    planned: &mut [Planned],
    output: &Path,
    disk_size: u64,
) -> Result<Option<AtomicFile>> {
    let Some((offset, size, kind)) = planned.iter_mut().find_map(|p| {
        let (offset, size) = (p.offset, p.size);
        let kind = p.content.as_mut().filter(|c| c.adoptable())?;
        Some((offset, size, kind))
    }) else {
        return Ok(None);
    };
    let Some(temp) = kind.adopt(offset, size)? else {
        return Ok(None);
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(seed: &Seed) -> Ctx<'_> {
        Ctx {
            layout: Path::new("l.json"),
            owner: OwnerPolicy::current(),
            sector_size: 4096,
            epoch: DOS_EPOCH,
            seed,
            mke2fs: None,
            mkfs_btrfs: None,
            out_dir: PathBuf::from("."),
        }
    }

    #[test]
    fn derived_ids_record_their_purpose() {
        let seed = Seed::new("s");
        let (g, id) = derive(&seed, None, Purpose::FsUuid(2));
        assert_eq!(g, seed.guid(Purpose::FsUuid(2)));
        assert_eq!((id.origin, id.purpose.as_str()), ("derived", "fs-uuid/2"));
        let given = Guid::parse("C12A7328-F81F-11D2-BA4B-00A0C93EC93B").unwrap();
        let (g, id) = derive(&seed, Some(given), Purpose::FsUuid(2));
        assert_eq!((g, id.origin), (given, "given"));
    }

    /// Planning sizes raw and empty partitions without touching an image.
    #[test]
    fn plan_sizes_and_checks() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("raw.img"), vec![1u8; 5000]).unwrap();
        let layout = |parts: &str| {
            Layout::parse(
                Path::new("l.json"),
                &format!(
                    r#"{{"table":"gpt","sectorSize":4096,"seed":"s","partitions":[{parts}]}}"#
                ),
                dir.path(),
            )
            .unwrap()
        };
        let seed = Seed::new("s");
        let l = layout(
            r#"{"type":"linux","content":{"fs":"raw","image":"raw.img"}},
               {"type":"linux","size":"2MiB"}"#,
        );
        let p = plan(&l.partitions[0], &ctx(&seed)).unwrap();
        assert_eq!(p.size, ALIGN);
        assert!(p.content.is_some_and(|c| !c.adoptable()));
        let p = plan(&l.partitions[1], &ctx(&seed)).unwrap();
        assert_eq!(p.size, 2 * MIB);
        assert!(p.content.is_none());

        let l = layout(r#"{"type":"linux","size":4096,"content":{"fs":"raw","image":"raw.img"}}"#);
        let e = plan(&l.partitions[0], &ctx(&seed)).err().unwrap();
        assert_eq!(
            (e.path(), e.place()),
            (Some(Path::new("l.json")), Some("partitions[0]"))
        );
        let e = e.to_string();
        assert!(
            e.starts_with("layout l.json: partitions[0]: raw image")
                && e.contains("904 bytes missing"),
            "{e}"
        );
    }
}
