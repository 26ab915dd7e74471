//! FAT32 partitions, written by our own writer (`crate::fat::write`)
//! straight into the image.

use super::report::{ContentReport, Id};
use super::{Ctx, Fill, Sized, ALIGN};
use crate::error::{ErrorContext, Result};
use crate::fat::write::{check_fat32_size, min_fat32_size, write_fat32, FatOptions};
use crate::ids::Purpose;
use crate::io::output::AtomicFile;
use crate::units::{align_up, human, MIB};
use std::path::PathBuf;

pub use crate::fat::write::MAX_LABEL;

/// `"content": {"fs": "vfat", ...}` as validated by the layout.
#[derive(Clone, Debug)]
pub struct Spec {
    pub source: PathBuf,
    pub label: Option<String>,
    pub volume_id: Option<u32>,
}

struct Vfat<'a> {
    spec: &'a Spec,
    opts: FatOptions,
    purpose: Purpose,
}

pub(super) fn plan<'a>(
    spec: &'a Spec,
    index: u32,
    given: Option<u64>,
    ctx: &Ctx,
) -> Result<Sized<'a>> {
    let at = super::at(index);
    let purpose = Purpose::FatVolumeId(index);
    let opts = FatOptions {
        sector_size: ctx.sector_size,
        volume_id: spec.volume_id.unwrap_or_else(|| ctx.seed.u32(purpose)),
        // No label: no volume label entry, "NO NAME" in the boot sector
        // only, as mkfs.fat does (blkid then reports none).
        label: spec.label.clone().unwrap_or_default(),
        mtime: ctx.epoch,
    };
    let min = min_fat32_size(&spec.source, &opts)?;
    let estimate = Some(serde_json::json!({ "minFat32Size": min }));
    let size = match given {
        Some(b) if b < min => {
            return Err(ctx.layout_error(
                format!("{at}.size"),
                format!(
                    "FAT32 with {}-byte sectors holding {} needs at least {}, the partition is {}: {} bytes missing",
                    ctx.sector_size,
                    spec.source.display(),
                    human(min),
                    human(b),
                    min - b
                ),
            ))
        }
        Some(b) => {
            // Too large for FAT32: found now, not once the image is made.
            check_fat32_size(b, ctx.sector_size).in_layout(ctx.layout, format!("{at}.size"))?;
            b
        }
        // The smallest FAT32 holding the tree, + 10% + 1 MiB: room for a
        // changed file without a full filesystem.
        None => align_up(min + min / 10 + MIB, ALIGN),
    };
    Ok(Sized {
        size,
        tree: None,
        estimate,
        content: Box::new(Vfat {
            spec,
            opts,
            purpose,
        }),
    })
}

impl Fill for Vfat<'_> {
    fn fill(
        &mut self,
        image: &AtomicFile,
        offset: u64,
        size: u64,
        _ctx: &Ctx,
        r: &mut ContentReport,
    ) -> Result<()> {
        r.volume_id = Some(Id::new(
            format!("0x{:08X}", self.opts.volume_id),
            self.spec.volume_id.is_some(),
            self.purpose,
        ));
        r.label = self.spec.label.clone();
        r.fat = Some(write_fat32(
            image.file(),
            offset,
            size,
            &self.spec.source,
            &self.opts,
        )?);
        Ok(())
    }
}
