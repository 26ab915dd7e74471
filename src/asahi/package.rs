//! `carve-partitions asahi-package`: write the Asahi installer zip straight
//! from a disk image, with no intermediate files.
//!
//! Layout (the installer's contract): `esp/` with a directory entry before
//! every file in it, names sorted by bytes (a directory's entry sorts before
//! everything inside it), then `root.img`, the raw root partition, deflated
//! on all cores. Fixed timestamps, fixed permissions, Zip64 where needed.

use super::{DEFAULT_EXCLUDES, ESP_SOURCE, IMAGE_ALIGN, ROOT_IMAGE, VENDOR_FW};
use crate::asahi::manifest::{
    Manifest, ManifestPartitions, Member, MemberKind, PartitionInfo, MANIFEST_VERSION,
};
use crate::epoch::{source_date_epoch_or, DOS_EPOCH};
use crate::error::{Error, ErrorContext, IoContext, Result};
use crate::fat::read as fatread;
use crate::io::deflate::{deflate_range, ChunkedDeflate, DeflateOptions};
use crate::io::output::AtomicFile;
use crate::io::progress::Progress;
use crate::partition_table::{read_table_with_sector_size, Partition};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct PackageOptions {
    pub esp: String,
    pub root: String,
    pub output: PathBuf,
    pub manifest: Option<PathBuf>,
    /// Paths below the ESP root to leave out (a directory drops its subtree).
    pub excludes: Vec<String>,
    pub deflate: DeflateOptions,
    pub sector_size: Option<u32>,
}

/// `x.zip` → `x.manifest.json`, next to the zip.
pub fn default_manifest_path(output: &Path) -> PathBuf {
    let stem = output
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".zip").to_string())
        .unwrap_or_else(|| "package".into());
    output.with_file_name(format!("{stem}.manifest.json"))
}

pub fn asahi_package(image: &Path, opts: &PackageOptions) -> Result<Manifest> {
    let file = File::open(image).ctx("open disk image", image)?;
    let input = crate::guard::InputStamp::of(&file, image)?;
    let table = read_table_with_sector_size(image, &file, opts.sector_size)?;
    for w in &table.warnings {
        crate::diag::warn(w);
    }
    let esp = table.select(&opts.esp).in_file(image)?;
    let root = table.select(&opts.root).in_file(image)?;
    if esp.index == root.index {
        return Err(Error::invalid(format!(
            "--esp {:?} and --root {:?} select the same partition ({}): they must differ",
            opts.esp, opts.root, esp.index
        )));
    }
    if root.size % IMAGE_ALIGN != 0 {
        return Err(Error::package(format!(
            "root partition {} is {} bytes, not a multiple of {IMAGE_ALIGN}: the installer aborts on such an image; align the partition to 4 KiB",
            root.index,
            root.size
        ))
        .with_path(image));
    }
    let fs = fatread::open(
        image,
        &file,
        esp.offset,
        esp.size,
        &format!("partition {} (--esp {:?})", esp.index, opts.esp),
    )?;
    let entries = select_entries(fatread::list(&fs, image)?, &opts.excludes)?;
    let mtime = source_date_epoch_or(DOS_EPOCH)?.max(DOS_EPOCH);
    let stamp = rawzip::time::UtcDateTime::from_unix(mtime);

    let zip_file = AtomicFile::create(&opts.output)?;
    let mut members = Vec::new();
    let (package_size, package_sha256) = {
        let sink = HashingWriter::new(zip_file.file());
        // Small enough that compressed chunks (hundreds of KiB) bypass it
        // rather than being copied into it.
        let mut zip = rawzip::ZipArchiveWriter::new(BufWriter::with_capacity(64 << 10, sink));
        let zerr = |e: rawzip::Error| Error::io("write", &opts.output, std::io::Error::other(e));
        let add_dir = |zip: &mut rawzip::ZipArchiveWriter<_>, name: String| -> Result<Member> {
            zip.new_dir(name.as_str())
                .last_modified(stamp)
                .unix_permissions(0o40755)
                .create()
                .map_err(zerr)?;
            Ok(Member {
                name,
                kind: MemberKind::Dir,
                size: 0,
                compressed_size: 0,
                crc32: "0x00000000".into(),
                sha256: Some(hex(&Sha256::digest(b"").into())),
                method: 0,
            })
        };
        members.push(add_dir(&mut zip, format!("{ESP_SOURCE}/"))?);
        for e in &entries {
            members.push(if e.is_dir {
                add_dir(&mut zip, format!("{ESP_SOURCE}/{}/", e.path))?
            } else {
                add_fat_file(&mut zip, image, e, stamp, opts, &zerr)?
            });
        }
        // A read that failed because the image shrank says so.
        members.push(
            add_root_image(&mut zip, &file, image, root, stamp, opts, &zerr)
                .or_else(|e| input.unchanged(&file, image).and(Err(e)))?,
        );
        let buffered = zip.finish().map_err(zerr)?;
        let sink = buffered
            .into_inner()
            .map_err(|e| Error::io("write", &opts.output, e.into_error()))?;
        (sink.count, hex(&sink.sha.finalize().into()))
    };
    drop(fs);

    let manifest = Manifest {
        version: MANIFEST_VERSION,
        package: opts
            .output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        package_size,
        package_sha256,
        sector_size: table.sector_size,
        partitions: ManifestPartitions {
            esp: info(esp),
            root: info(root),
        },
        members,
    };
    let manifest_path = opts
        .manifest
        .clone()
        .unwrap_or_else(|| default_manifest_path(&opts.output));
    let mut manifest_file = AtomicFile::create(&manifest_path)?;
    manifest_file
        .file_mut()
        .write_all(manifest.to_json().as_bytes())
        .ctx("write", &manifest_path)?;
    input.unchanged(&file, image)?;
    // Both or neither: a zip without its manifest must not survive; and both
    // from one run when two write the same names at once.
    let _lock = crate::guard::lock_dir(opts.output.parent().unwrap_or(Path::new(".")))?;
    zip_file.commit()?;
    if let Err(e) = manifest_file.commit() {
        let _ = std::fs::remove_file(&opts.output);
        return Err(e);
    }
    Ok(manifest)
}

fn info(p: &Partition) -> PartitionInfo {
    PartitionInfo {
        index: p.index,
        name: p.name.clone(),
        offset: p.offset,
        size: p.size,
    }
}

/// Drop excluded paths (and everything below excluded directories).
fn select_entries<'a, 'img>(
    entries: Vec<fatread::FatEntry<'a, 'img>>,
    extra: &[String],
) -> Result<Vec<fatread::FatEntry<'a, 'img>>> {
    let mut excludes: Vec<String> = DEFAULT_EXCLUDES.iter().map(|s| s.to_string()).collect();
    for e in extra {
        let norm = e.trim_matches('/').to_string();
        if norm.is_empty()
            || norm
                .split('/')
                .any(|c| c == ".." || c == "." || c.is_empty())
        {
            return Err(Error::invalid(format!(
                "--exclude {e:?} is not a path below the ESP root such as EFI/nixos/.extra-files"
            )));
        }
        excludes.push(norm);
    }
    // FAT is case-insensitive: compare paths the way the filesystem does.
    let lower: Vec<String> = excludes.iter().map(|e| e.to_lowercase()).collect();
    for (raw, ex) in extra.iter().zip(lower.iter().skip(DEFAULT_EXCLUDES.len())) {
        if !entries.iter().any(|e| e.path.to_lowercase() == *ex) {
            crate::diag::warn(format_args!("--exclude {raw:?} matches nothing on the ESP"));
        }
    }
    if let Some(fw) = entries
        .iter()
        .find(|e| e.path.eq_ignore_ascii_case(VENDOR_FW))
    {
        crate::diag::warn(format_args!(
            "leaving {:?} out of the package: the installer copies the Mac's own firmware there",
            fw.path
        ));
    }
    Ok(entries
        .into_iter()
        .filter(|e| {
            let p = e.path.to_lowercase();
            !lower
                .iter()
                .any(|ex| p == *ex || p.starts_with(&format!("{ex}/")))
        })
        .collect())
}

fn add_fat_file<W: Write>(
    zip: &mut rawzip::ZipArchiveWriter<W>,
    image: &Path,
    e: &fatread::FatEntry<'_, '_>,
    stamp: rawzip::time::UtcDateTime,
    opts: &PackageOptions,
    zerr: &dyn Fn(rawzip::Error) -> Error,
) -> Result<Member> {
    let name = format!("{ESP_SOURCE}/{}", e.path);
    let method = if e.size == 0 {
        rawzip::CompressionMethod::STORE
    } else {
        rawzip::CompressionMethod::DEFLATE
    };
    let (mut entry, _) = zip
        .new_file(name.as_str())
        .compression_method(method)
        .last_modified(stamp)
        .unix_permissions(0o100644)
        .start()
        .map_err(zerr)?;
    let mut tee = Tee {
        crc: crc32fast::Hasher::new(),
        sha: Sha256::new(),
        size: 0,
    };
    if e.size > 0 {
        let mut enc = ChunkedDeflate::new(&mut entry, &opts.deflate)
            .ctx("compress the ESP files into", &opts.output)?;
        fatread::copy_file(
            image,
            e,
            &mut TeeWriter {
                tee: &mut tee,
                inner: &mut enc,
            },
            &opts.output,
        )?;
        enc.finish().ctx("write", &opts.output)?;
    }
    let crc = tee.crc.finalize();
    let written = entry
        .finish(rawzip::DataDescriptorOutput::new(crc, tee.size))
        .map_err(zerr)?;
    Ok(Member {
        name,
        kind: MemberKind::File,
        size: tee.size,
        compressed_size: written.compressed_size(),
        crc32: format!("0x{crc:08x}"),
        sha256: Some(hex(&tee.sha.finalize().into())),
        method: if e.size == 0 { 0 } else { 8 },
    })
}

fn add_root_image<W: Write>(
    zip: &mut rawzip::ZipArchiveWriter<W>,
    file: &File,
    image: &Path,
    root: &Partition,
    stamp: rawzip::time::UtcDateTime,
    opts: &PackageOptions,
    zerr: &dyn Fn(rawzip::Error) -> Error,
) -> Result<Member> {
    let (mut entry, _) = zip
        .new_file(ROOT_IMAGE)
        .compression_method(rawzip::CompressionMethod::DEFLATE)
        .last_modified(stamp)
        .unix_permissions(0o100644)
        .start()
        .map_err(zerr)?;
    let mut progress = Progress::new(ROOT_IMAGE, root.size);
    let summary = deflate_range(
        file,
        root.offset,
        root.size,
        &mut entry,
        &opts.deflate,
        &mut |n| progress.set(n),
    )
    .ctx("compress the root partition of", image)?;
    progress.finish();
    let written = entry
        .finish(rawzip::DataDescriptorOutput::new(
            summary.crc32,
            summary.uncompressed,
        ))
        .map_err(zerr)?;
    Ok(Member {
        name: ROOT_IMAGE.into(),
        kind: MemberKind::File,
        size: summary.uncompressed,
        compressed_size: written.compressed_size(),
        crc32: format!("0x{:08x}", summary.crc32),
        sha256: summary.sha256.as_ref().map(hex),
        method: 8,
    })
}

pub fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct Tee {
    crc: crc32fast::Hasher,
    sha: Sha256,
    size: u64,
}

struct TeeWriter<'a, W: Write> {
    tee: &'a mut Tee,
    inner: &'a mut W,
}

impl<W: Write> Write for TeeWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.tee.crc.update(&buf[..n]);
        self.tee.sha.update(&buf[..n]);
        self.tee.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Counts and hashes what is written, so the manifest can name the zip's
/// size and SHA-256 without reading it back.
struct HashingWriter<'a> {
    file: &'a File,
    sha: Sha256,
    count: u64,
}

impl<'a> HashingWriter<'a> {
    fn new(file: &'a File) -> Self {
        HashingWriter {
            file,
            sha: Sha256::new(),
            count: 0,
        }
    }
}

impl Write for HashingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = (&mut &*self.file).write(buf)?;
        self.sha.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        (&mut &*self.file).flush()
    }
}
