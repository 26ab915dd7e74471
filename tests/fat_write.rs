//! The FAT32 writer against the tools that judge FAT: fsck.fat (dosfstools)
//! must find nothing, mtools and the fatfs crate must read every file back
//! byte for byte, blkid/dosfslabel must see the label and volume id, and
//! the same tree must always give the same bytes.
//!
//! Linux only: it drives Linux tools (and Linux-only system calls).
#![cfg(target_os = "linux")]

mod common;

use common::{extract, noise, set_times, tool, write_tree};
use nixos_image_tools::fat::write::{min_fat32_size, write_fat32, FatOptions, FatReport};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const MIB: u64 = 1 << 20;
/// Not a multiple of 1 MiB, to catch offset mix-ups.
const OFFSET: u64 = MIB + 8 * 4096;
const TAIL: u64 = MIB;
const FILLER: u8 = 0xA5;

/// The test tree: (relative path, contents); directories are implied, `None`
/// means an (empty) directory.
fn tree_spec() -> Vec<(String, Option<Vec<u8>>)> {
    let mut v: Vec<(String, Option<Vec<u8>>)> = vec![
        ("EFI/BOOT/BOOTAA64.EFI".into(), Some(noise(70_000, 1))),
        (
            "EFI/systemd/systemd-bootaa64.efi".into(),
            Some(noise(90_001, 2)),
        ),
        (
            "EFI/nixos/kernel-6.12-Image".into(),
            Some(noise(3 * MIB as usize, 3)),
        ),
        (
            "loader/loader.conf".into(),
            Some(b"timeout 3\ndefault nixos-*\n".to_vec()),
        ),
        (
            "loader/entries/nixos-generation-1.conf".into(),
            Some(b"title NixOS\n".to_vec()),
        ),
        ("empty-dir".into(), None),
        ("a/b/c/d/e/deep.txt".into(), Some(b"deep\n".to_vec())),
        ("a/b/c/empty".into(), None),
        ("empty.txt".into(), Some(Vec::new())),
        ("README.TXT".into(), Some(b"plain 8.3\n".to_vec())),
        (
            "readme~1.txt".into(),
            Some(b"looks like a short name\n".to_vec()),
        ),
        ("Mixed Case Name.Txt".into(), Some(b"mixed\n".to_vec())),
        ("ñandú.txt".into(), Some("ñandú\n".as_bytes().to_vec())),
        ("日本語のファイル名.txt".into(), Some(b"cjk\n".to_vec())),
        (".hidden".into(), Some(b"dot\n".to_vec())),
        ("x".repeat(200) + ".long", Some(b"long name\n".to_vec())),
        ("exactly13char".into(), Some(b"13\n".to_vec())),
        ("cluster-sized.bin".into(), Some(noise(4096, 4))),
    ];
    for i in 0..300 {
        v.push((
            format!("many/file number {i:03}.txt"),
            Some(noise((i as usize * 37) % 5000, 100 + i)),
        ));
    }
    v
}

/// Create the tree under `root`, in forward or reverse order, with file
/// times `mtime` (which the writer must ignore). Adds a link to a file, a
/// link to a directory and a sparse file.
fn make_tree(root: &Path, reverse: bool, mtime: i64) {
    write_tree(root, &tree_spec(), reverse);
    // A file with a hole in the middle: copied sparsely, must read back whole.
    let sparse = File::create(root.join("sparse.img")).unwrap();
    sparse.set_len(MIB + 100).unwrap();
    sparse.write_all_at(b"start", 0).unwrap();
    sparse.write_all_at(b"end", MIB + 97).unwrap();
    std::os::unix::fs::symlink("EFI/nixos/kernel-6.12-Image", root.join("link-to-kernel")).unwrap();
    std::os::unix::fs::symlink("loader", root.join("link-to-loader")).unwrap();
    set_times(root, mtime);
}

/// Files and directories of `root` as (relative path → contents, None for a
/// directory), links followed.
fn read_tree(root: &Path) -> Tree {
    let mut m = BTreeMap::new();
    for e in walkdir::WalkDir::new(root).follow_links(true).min_depth(1) {
        let e = e.unwrap();
        let rel = e
            .path()
            .strip_prefix(root)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let v = if e.file_type().is_dir() {
            None
        } else {
            Some(fs::read(e.path()).unwrap())
        };
        m.insert(rel, v);
    }
    m
}

fn opts(sector_size: u32, mtime: i64) -> FatOptions {
    FatOptions {
        sector_size,
        volume_id: 0x12CE_A600,
        label: "Esp Test".into(),
        mtime,
    }
}

/// Relative path → contents (None for a directory).
type Tree = BTreeMap<String, Option<Vec<u8>>>;
/// How a test tree is broken.
type Breaker = Box<dyn Fn(&Path)>;

/// A sparse image of OFFSET + size + TAIL bytes whose bytes outside the
/// filesystem are FILLER, with garbage inside it that the writer must clear.
fn make_image(path: &Path, size: u64) -> File {
    let f = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .unwrap();
    f.set_len(OFFSET + size + TAIL).unwrap();
    f.write_all_at(&vec![FILLER; OFFSET as usize], 0).unwrap();
    f.write_all_at(&vec![FILLER; TAIL as usize], OFFSET + size)
        .unwrap();
    for at in [0, 16 * 4096, 64 * 4096, size / 2, size - 4096] {
        f.write_all_at(&[0xFF; 4096], OFFSET + at).unwrap();
    }
    f
}

fn write_image(source: &Path, image: &Path, size: u64, o: &FatOptions) -> FatReport {
    let f = make_image(image, size);
    let report = write_fat32(&f, OFFSET, size, source, o).unwrap();
    let mut before = vec![0u8; OFFSET as usize];
    f.read_exact_at(&mut before, 0).unwrap();
    assert!(
        before.iter().all(|&b| b == FILLER),
        "bytes before the filesystem changed"
    );
    let mut after = vec![0u8; TAIL as usize];
    f.read_exact_at(&mut after, OFFSET + size).unwrap();
    assert!(
        after.iter().all(|&b| b == FILLER),
        "bytes after the filesystem changed"
    );
    assert_eq!(
        f.metadata().unwrap().len(),
        OFFSET + size + TAIL,
        "image length changed"
    );
    report
}

fn fsck_clean(part: &Path) -> String {
    let out = Command::new(tool("fsck.vfat", "dosfstools"))
        .args(["-n", "-V"])
        .arg(part)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = |l: &str| {
        l.starts_with("fsck.fat ")
            || l == "Starting check/repair pass."
            || l == "Starting verification pass."
            || (l.starts_with(part.to_str().unwrap())
                && l.contains(" files, ")
                && l.contains(" clusters"))
    };
    let odd: Vec<&str> = text.lines().filter(|l| !expected(l)).collect();
    assert!(
        out.status.success() && odd.is_empty(),
        "fsck.vfat -n -V found problems ({}):\n{text}",
        out.status
    );
    text
}

fn mtools_tree(part: &Path, dest: &Path) -> Tree {
    fs::create_dir_all(dest).unwrap();
    let out = Command::new(tool("mcopy", "mtools"))
        .args(["-s", "-n", "-i"])
        .arg(part)
        .arg("::/")
        .arg(dest)
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mcopy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "mcopy complained: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    read_tree(dest)
}

fn fatfs_tree(part: &Path) -> (Tree, u32, String, Option<String>) {
    let disk = File::options().read(true).write(true).open(part).unwrap();
    let fs = fatfs::FileSystem::new(disk, fatfs::FsOptions::new()).unwrap();
    assert_eq!(fs.fat_type(), fatfs::FatType::Fat32);
    let mut m = BTreeMap::new();
    fn walk<T: fatfs::ReadWriteSeek>(dir: fatfs::Dir<T>, prefix: &str, m: &mut Tree) {
        for e in dir.iter() {
            let e = e.unwrap();
            let name = e.file_name();
            if name == "." || name == ".." {
                continue;
            }
            let rel = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            if e.is_dir() {
                m.insert(rel.clone(), None);
                walk(e.to_dir(), &rel, m);
            } else {
                let mut buf = Vec::new();
                e.to_file().read_to_end(&mut buf).unwrap();
                assert_eq!(buf.len() as u64, e.len());
                m.insert(rel, Some(buf));
            }
        }
    }
    walk(fs.root_dir(), "", &mut m);
    let id = fs.volume_id();
    let label = fs.volume_label();
    let dir_label = fs.read_volume_label_from_root_dir().unwrap();
    (m, id, label, dir_label)
}

fn check_sector_size(sector_size: u32, size: u64, cluster_size: u32) {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_tree(&src, false, 1_700_000_000);
    let image = tmp.path().join("disk.img");
    let o = opts(sector_size, 1_234_567_890);
    let t = Instant::now();
    let report = write_image(&src, &image, size, &o);
    eprintln!("{sector_size}: wrote in {:?}: {report:?}", t.elapsed());
    assert_eq!(report.sector_size, sector_size);
    assert_eq!(report.sectors_per_cluster * sector_size, cluster_size);
    let expected = read_tree(&src);
    assert_eq!(
        report.files,
        expected.values().filter(|v| v.is_some()).count() as u64
    );
    assert_eq!(
        report.directories,
        expected.values().filter(|v| v.is_none()).count() as u64
    );
    let part = tmp.path().join("part.img");
    extract(&image, OFFSET, size, &part);

    // Hidden sectors = the partition's first sector.
    let mut bpb = [0u8; 36];
    File::open(&part)
        .unwrap()
        .read_exact_at(&mut bpb, 0)
        .unwrap();
    assert_eq!(
        u32::from_le_bytes(bpb[28..32].try_into().unwrap()) as u64,
        OFFSET / sector_size as u64
    );

    let fsck = fsck_clean(&part);
    eprintln!("{fsck}");

    let mtools = mtools_tree(&part, &tmp.path().join("mcopy"));
    assert_eq!(
        mtools.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (k, v) in &expected {
        assert!(mtools[k] == *v, "mcopy read {k} differently");
    }

    let label = Command::new(tool("dosfslabel", "dosfstools"))
        .arg(&part)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&label.stdout).trim(), "ESP TEST");
    let blkid = Command::new(tool("blkid", "util-linux"))
        .args(["-p", "-o", "export"])
        .arg(&part)
        .output()
        .unwrap();
    let blkid = String::from_utf8_lossy(&blkid.stdout).to_string();
    for want in [
        "UUID=12CE-A600",
        r"LABEL=ESP\ TEST",
        "TYPE=vfat",
        "VERSION=FAT32",
    ] {
        assert!(
            blkid.lines().any(|l| l == want),
            "blkid lacks {want}:\n{blkid}"
        );
    }

    let (tree, id, bpb_label, dir_label) = fatfs_tree(&part);
    assert_eq!(tree, expected, "fatfs read a different tree");
    assert_eq!(id, 0x12CE_A600);
    assert_eq!(bpb_label.trim_end(), "ESP TEST");
    assert_eq!(dir_label.as_deref().map(str::trim_end), Some("ESP TEST"));
}

#[test]
fn sector_512_fsck_mtools_fatfs() {
    check_sector_size(512, 40 * MIB, 512);
}

/// Clusters larger than a sector: directories and files end mid-cluster.
#[test]
fn larger_clusters_fsck_mtools_fatfs() {
    check_sector_size(512, 300 * MIB, 4096);
    check_sector_size(4096, 9 << 30, 8192);
}

#[test]
fn sector_4096_fsck_mtools_fatfs() {
    check_sector_size(4096, 260 * MIB, 4096);
}

/// Short names and timestamps, seen through fatfs.
#[test]
fn short_names_and_times() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_tree(&src, false, 1_700_000_000);
    let image = tmp.path().join("disk.img");
    let size = 40 * MIB;
    write_image(&src, &image, size, &opts(512, 1_234_567_890)); // 2009-02-13T23:31:30Z
    let part = tmp.path().join("part.img");
    extract(&image, OFFSET, size, &part);
    let disk = File::options().read(true).write(true).open(&part).unwrap();
    let fs = fatfs::FileSystem::new(disk, fatfs::FsOptions::new()).unwrap();
    let mut shorts = BTreeMap::new();
    for e in fs.root_dir().iter() {
        let e = e.unwrap();
        shorts.insert(e.file_name(), e.short_file_name());
        let m = e.modified();
        assert_eq!((m.date.year, m.date.month, m.date.day), (2009, 2, 13));
        assert_eq!((m.time.hour, m.time.min, m.time.sec), (23, 31, 30));
        let c = e.created();
        assert_eq!(
            (
                c.date.year,
                c.time.hour,
                c.time.min,
                c.time.sec,
                c.time.millis
            ),
            (2009, 23, 31, 30, 0)
        );
        assert_eq!(e.accessed().day, 13);
    }
    assert_eq!(shorts["README.TXT"], "README.TXT");
    assert_eq!(shorts["readme~1.txt"], "README~1.TXT");
    assert_eq!(shorts["Mixed Case Name.Txt"], "MIXEDC~1.TXT");
    assert_eq!(shorts["ñandú.txt"], "_AND_~1.TXT");
    assert_eq!(shorts[".hidden"], "HIDDEN~1");
    assert_eq!(shorts["empty-dir"], "EMPTY-~1");
    let many: Vec<String> = fs
        .root_dir()
        .open_dir("many")
        .unwrap()
        .iter()
        .map(|e| e.unwrap().short_file_name())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(many[0], "FILENU~1.TXT");
    assert_eq!(many[9], "FILEN~10.TXT");
    assert_eq!(many[299], "FILE~300.TXT");
}

/// Two copies of a tree, made in different orders with different file
/// times, give byte-identical filesystems.
#[test]
fn reproducible() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    make_tree(&a, false, 1_600_000_000);
    make_tree(&b, true, 1_700_000_000);
    let size = 40 * MIB;
    let o = opts(512, 1_500_000_000);
    write_image(&a, &tmp.path().join("a.img"), size, &o);
    write_image(&b, &tmp.path().join("b.img"), size, &o);
    let ia = fs::read(tmp.path().join("a.img")).unwrap();
    let ib = fs::read(tmp.path().join("b.img")).unwrap();
    assert!(ia == ib, "two writes of the same tree differ");
    // A different mtime changes the bytes (the stamps are really written).
    write_image(
        &b,
        &tmp.path().join("c.img"),
        size,
        &opts(512, 1_500_000_100),
    );
    assert!(ia != fs::read(tmp.path().join("c.img")).unwrap());
}

fn write_err(source: &Path, size: u64, o: &FatOptions) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let f = make_image(&tmp.path().join("x.img"), size.max(MIB));
    write_fat32(&f, OFFSET, size, source, o)
        .unwrap_err()
        .to_string()
}

#[test]
fn too_small_and_too_full() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    let msg = write_err(&src, 32 * MIB, &opts(512, 0));
    assert!(
        msg.contains("at least 34089472 bytes (32.51 MiB) with 512-byte sectors"),
        "{msg}"
    );
    let msg = write_err(&src, 256 * MIB, &opts(4096, 0));
    assert!(
        msg.contains("at least 269045760 bytes (256.58 MiB) with 4096-byte sectors"),
        "{msg}"
    );
    assert_eq!(min_fat32_size(&src, &opts(512, 0)).unwrap(), 33 * MIB);
    assert_eq!(min_fat32_size(&src, &opts(4096, 0)).unwrap(), 257 * MIB);
    let msg = write_err(&src, 64 * MIB, &opts(1024, 0));
    assert!(msg.contains("sector size 1024"), "{msg}");

    // 40 MiB of (sparse) data: does not fit in 33 MiB; min size is exact.
    File::create(src.join("big"))
        .unwrap()
        .set_len(40 * MIB)
        .unwrap();
    fs::write(src.join("small"), b"x").unwrap();
    let msg = write_err(&src, 33 * MIB, &opts(512, 0));
    assert!(
        msg.contains("does not fit") && msg.contains("bytes (") && msg.contains("more are needed"),
        "{msg}"
    );
    for ss in [512, 4096] {
        let min = min_fat32_size(&src, &opts(ss, 0)).unwrap();
        assert_eq!(min % MIB, 0);
        let image = tmp.path().join("min.img");
        let f = make_image(&image, min);
        write_fat32(&f, OFFSET, min, &src, &opts(ss, 0)).unwrap();
        let part = tmp.path().join("min-part.img");
        extract(&image, OFFSET, min, &part);
        fsck_clean(&part);
        if ss == 512 {
            let msg = write_err(&src, min - MIB, &opts(ss, 0));
            assert!(msg.contains("does not fit"), "{msg}");
        }
    }

    // The image must already be long enough.
    let f = File::create(tmp.path().join("short.img")).unwrap();
    f.set_len(40 * MIB).unwrap();
    let msg = write_fat32(&f, MIB, 40 * MIB, &src, &opts(512, 0))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("shorter than the end"), "{msg}");
    assert_eq!(f.metadata().unwrap().len(), 40 * MIB);
}

#[test]
fn unrepresentable_trees() {
    let cases: Vec<(&str, Breaker, &str)> = vec![
        (
            "colon",
            Box::new(|d| fs::write(d.join("a:b"), b"").unwrap()),
            "a:b",
        ),
        (
            "star",
            Box::new(|d| fs::write(d.join("*"), b"").unwrap()),
            "/*",
        ),
        (
            "trailing dot",
            Box::new(|d| fs::write(d.join("name."), b"").unwrap()),
            "name.",
        ),
        (
            "case",
            Box::new(|d| {
                fs::create_dir(d.join("sub")).unwrap();
                fs::write(d.join("sub/Boot"), b"").unwrap();
                fs::write(d.join("sub/BOOT"), b"").unwrap();
            }),
            "sub: the names \"BOOT\" and \"Boot\" differ only in letter case",
        ),
        (
            "dangling",
            Box::new(|d| std::os::unix::fs::symlink("nowhere", d.join("dead")).unwrap()),
            "dead: dangling symbolic link",
        ),
        (
            "fifo",
            Box::new(|d| {
                let p = std::ffi::CString::new(d.join("pipe").to_str().unwrap()).unwrap();
                assert_eq!(unsafe { libc::mkfifo(p.as_ptr(), 0o600) }, 0);
            }),
            "pipe: a device, FIFO or socket",
        ),
        (
            "loop",
            Box::new(|d| {
                fs::create_dir(d.join("x")).unwrap();
                std::os::unix::fs::symlink("..", d.join("x/up")).unwrap();
            }),
            "up: symbolic link loop",
        ),
    ];
    for (what, make, want) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        fs::create_dir(&src).unwrap();
        make(&src);
        let msg = write_err(&src, 40 * MIB, &opts(512, 0));
        assert!(
            msg.contains(want) && msg.contains(src.to_str().unwrap()),
            "{what}: {msg}"
        );
        let msg = min_fat32_size(&src, &opts(512, 0)).unwrap_err().to_string();
        assert!(msg.contains(want), "{what}: {msg}");
    }
    let msg = write_err(
        Path::new("/nonexistent-fat-source"),
        40 * MIB,
        &opts(512, 0),
    );
    assert!(msg.contains("/nonexistent-fat-source"), "{msg}");
    let tmp = tempfile::tempdir().unwrap();
    let mut o = opts(512, 0);
    o.label = "BAD.LABEL".into();
    assert!(write_err(tmp.path(), 40 * MIB, &o).contains("volume label"));
}

/// No label: "NO NAME" in the boot sector and no label entry.
#[test]
fn no_label() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("A.TXT"), b"a").unwrap();
    let image = tmp.path().join("disk.img");
    let mut o = opts(512, 0);
    o.label = String::new();
    write_image(&src, &image, 40 * MIB, &o);
    let part = tmp.path().join("part.img");
    extract(&image, OFFSET, 40 * MIB, &part);
    fsck_clean(&part);
    let (_, _, bpb_label, dir_label) = fatfs_tree(&part);
    assert_eq!(bpb_label.trim_end(), "NO NAME");
    assert_eq!(dir_label, None);
}

/// Timing for the report: 300 files, 100 MiB (`cargo test --release
/// --test fat_write -- --ignored --nocapture`).
#[test]
#[ignore]
fn timing_300_files_100_mib() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    let chunk = noise(350_000, 9);
    for i in 0..300 {
        fs::write(
            src.join(format!("file-{i:03}.bin")),
            &chunk[..(349_000 + i * 3)],
        )
        .unwrap();
    }
    let size = 256 * MIB;
    let f = make_image(&tmp.path().join("disk.img"), size);
    let t = Instant::now();
    let r = write_fat32(&f, OFFSET, size, &src, &opts(512, 0)).unwrap();
    eprintln!(
        "300 files, {} bytes: {:?} ({r:?})",
        r.file_bytes,
        t.elapsed()
    );
    let part = tmp.path().join("part.img");
    extract(&tmp.path().join("disk.img"), OFFSET, size, &part);
    eprintln!("{}", fsck_clean(&part));
}
