//! `carve-partitions list | extract | unpack`: read a disk image's partition
//! table, cut one partition out sparsely, or unpack a FAT partition's files.

use crate::epoch::source_date_epoch_or;
use crate::error::{ErrorContext, IoContext, Result};
use crate::fat::read as fatread;
use crate::io::output::{AtomicDir, AtomicFile};
use crate::io::progress::Progress;
use crate::partition_table::{read_table_with_sector_size, PartitionTable};
use std::fs::File;
use std::path::Path;

/// Open an image and read its table, printing any warnings.
pub fn open_table(image: &Path, sector_size: Option<u32>) -> Result<(File, PartitionTable)> {
    let file = File::open(image).ctx("open disk image", image)?;
    let table = read_table_with_sector_size(image, &file, sector_size)?;
    for w in &table.warnings {
        crate::diag::warn(w);
    }
    Ok((file, table))
}

/// The table as text (one line per partition) or JSON.
pub fn list(image: &Path, sector_size: Option<u32>, json: bool) -> Result<String> {
    let (_, table) = open_table(image, sector_size)?;
    if json {
        let mut s = serde_json::to_string_pretty(&table).expect("table serialises");
        s.push('\n');
        return Ok(s);
    }
    let mut out = format!(
        "{}: {}, {}-byte sectors, {} bytes{}\n",
        crate::escape::line(&image.to_string_lossy()),
        match table.table {
            crate::partition_table::TableKind::Gpt => "GPT",
            crate::partition_table::TableKind::Mbr => "MBR",
        },
        table.sector_size,
        table.image_size,
        table
            .disk_guid
            .map(|g| format!(", disk GUID {g}"))
            .or_else(|| table
                .disk_signature
                .as_ref()
                .map(|s| format!(", disk signature {s}")))
            .unwrap_or_default()
    );
    out.push_str(&format!(
        "{:>3}  {:<16} {:<12} {:>12} {:>12} {:>14} {:>14}  {:<36}  {}\n",
        "#",
        "name",
        "type",
        "first LBA",
        "last LBA",
        "offset",
        "size",
        "type GUID/byte",
        "unique GUID"
    ));
    for p in &table.partitions {
        out.push_str(&format!(
            "{:>3}  {:<16} {:<12} {:>12} {:>12} {:>14} {:>14}  {:<36}  {}\n",
            p.index,
            crate::escape::Escaped(if p.name.is_empty() { "-" } else { &p.name }),
            p.type_alias.unwrap_or("-"),
            p.first_lba,
            p.last_lba,
            p.offset,
            p.size,
            p.type_id,
            p.unique_guid
                .map(|g| g.to_string())
                .unwrap_or_else(|| "-".into())
        ));
    }
    Ok(out)
}

/// Copy one partition's bytes to `output`, keeping holes as holes.
pub fn extract(
    image: &Path,
    selector: &str,
    output: &Path,
    sector_size: Option<u32>,
) -> Result<u64> {
    let (file, table) = open_table(image, sector_size)?;
    let stamp = crate::guard::InputStamp::of(&file, image)?;
    let part = table.select(selector).in_file(image)?;
    let out = AtomicFile::create(output)?;
    out.file().set_len(part.size).ctx("size", output)?;
    let mut progress = Progress::new(format!("partition {}", part.index), part.size);
    let copied =
        crate::io::sparse::copy_range_sparse(&file, part.offset, out.file(), 0, part.size, |n| {
            progress.set(n)
        })
        .ctx("copy the partition into", output)
        .or_else(|e| stamp.unchanged(&file, image).and(Err(e)))?;
    progress.finish();
    stamp.unchanged(&file, image)?;
    out.commit()?;
    Ok(copied)
}

/// Unpack the files of a FAT partition into a new directory `output`.
/// Directories get 0755, files 0644, and every mtime is `mtime`
/// (default: SOURCE_DATE_EPOCH, else 1), so the tree is the same each run.
pub fn unpack(
    image: &Path,
    selector: &str,
    output: &Path,
    mtime: Option<i64>,
    sector_size: Option<u32>,
) -> Result<usize> {
    let (file, table) = open_table(image, sector_size)?;
    let input = crate::guard::InputStamp::of(&file, image)?;
    // A read that fails because the image changed (a truncation looks like
    // a damaged FAT) is reported as the change.
    let (dir, n) = unpack_into(image, &file, &table, selector, output, mtime)
        .or_else(|e| input.unchanged(&file, image).and(Err(e)))?;
    input.unchanged(&file, image)?;
    dir.commit()?;
    Ok(n)
}

/// Everything but the commit: the tree, still under its temporary name.
fn unpack_into(
    image: &Path,
    file: &File,
    table: &PartitionTable,
    selector: &str,
    output: &Path,
    mtime: Option<i64>,
) -> Result<(AtomicDir, usize)> {
    use std::os::unix::fs::PermissionsExt;
    let part = table.select(selector).in_file(image)?;
    let fs = fatread::open(
        image,
        file,
        part.offset,
        part.size,
        &format!("partition {} ({selector:?})", part.index),
    )?;
    let entries = fatread::list(&fs, image)?;
    let mtime = match mtime {
        Some(t) => t,
        None => source_date_epoch_or(1)?,
    };
    let dir = AtomicDir::create(output)?;
    for e in &entries {
        let dest = dir.path().join(&e.path);
        if e.is_dir {
            std::fs::create_dir(&dest).ctx("create directory", &dest)?;
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755))
                .ctx("set permissions on", &dest)?;
        } else {
            let mut f = File::create(&dest).ctx("create", &dest)?;
            fatread::copy_file(image, e, &mut f, &dest)?;
            f.set_permissions(std::fs::Permissions::from_mode(0o644))
                .ctx("set permissions on", &dest)?;
        }
    }
    // Directories last, deepest first, so creating their children does not
    // bump the times again.
    let stamp = filetime::FileTime::from_unix_time(mtime, 0);
    for e in entries.iter().rev() {
        let dest = dir.path().join(&e.path);
        filetime::set_file_times(&dest, stamp, stamp).ctx("set times on", &dest)?;
    }
    filetime::set_file_times(dir.path(), stamp, stamp).ctx("set times on", output)?;
    Ok((dir, entries.len()))
}

/// Parse `--sector-size` (shared by the subcommands).
pub fn parse_sector_size(s: &str) -> std::result::Result<u32, String> {
    match s {
        "512" => Ok(512),
        "4096" => Ok(4096),
        _ => Err(format!(
            "{s:?} is not a supported sector size: use 512 or 4096"
        )),
    }
}
