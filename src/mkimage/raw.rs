//! Raw partitions: an image file copied in sparsely (holes stay holes).

use super::report::ContentReport;
use super::{Ctx, Fill, Sized, ALIGN};
use crate::error::{IoContext, Result};
use crate::io::output::AtomicFile;
use crate::units::align_up;
use std::path::PathBuf;

/// `"content": {"fs": "raw", "image": ...}` as validated by the layout.
#[derive(Clone, Debug)]
pub struct Spec {
    pub image: PathBuf,
}

struct Raw<'a>(&'a Spec);

pub(super) fn plan<'a>(
    spec: &'a Spec,
    index: u32,
    given: Option<u64>,
    ctx: &Ctx,
) -> Result<Sized<'a>> {
    let len = std::fs::metadata(&spec.image)
        .ctx("stat", &spec.image)?
        .len();
    let size = match given {
        Some(b) if b < len => {
            return Err(super::missing(
                ctx,
                &super::at(index),
                &format!("raw image {}", spec.image.display()),
                len,
                b,
            ))
        }
        Some(b) => b,
        None => align_up(len, ALIGN),
    };
    Ok(Sized {
        size,
        tree: None,
        estimate: None,
        content: Box::new(Raw(spec)),
    })
}

impl Fill for Raw<'_> {
    fn fill(
        &mut self,
        image: &AtomicFile,
        offset: u64,
        _size: u64,
        _ctx: &Ctx,
        r: &mut ContentReport,
    ) -> Result<()> {
        let src = &self.0.image;
        let f = std::fs::File::open(src).ctx("open", src)?;
        let len = f.metadata().ctx("stat", src)?.len();
        let n = crate::io::sparse::copy_range_sparse(&f, 0, image.file(), offset, len, |_| {})
            .ctx("copy the raw image", src)?;
        r.source = Some(src.display().to_string());
        r.data_bytes_copied = Some(n);
        Ok(())
    }
}
