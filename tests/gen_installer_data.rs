//! gen-installer-data against real zips (written by Python's zipfile, the
//! installer's own reader, and by Info-ZIP's `zip`) and hand-built manifests.
//!
//! Linux only: it drives Linux tools (and Linux-only system calls).
#![cfg(target_os = "linux")]

mod common;

use common::require as need;
use nixos_image_tools::asahi::manifest::{
    Manifest, ManifestPartitions, Member, MemberKind, PartitionInfo, MANIFEST_VERSION,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_gen-installer-data");
const PACKAGE: &str = "nixos-asahi-0.2.0-btrfs.zip";
const ESP_SIZE: u64 = 536_870_912;
const ROOT_SIZE: u64 = 1 << 20;

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run gen-installer-data")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_ok(o: &Output) {
    assert!(
        o.status.success(),
        "expected success, got {:?}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    );
}

/// Assert failure with every `needles` in stderr; return stderr.
fn assert_fails(o: &Output, needles: &[&str]) -> String {
    let err = stderr(o);
    assert!(!o.status.success(), "expected failure, stderr: {err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
    }
    err
}

/// Writes a zip with Python's zipfile from a member list, optionally patches
/// compression method ids (local header and central directory), and prints
/// the members as zipfile lists them.
const MKZIP: &str = r#"
import json, sys, zipfile
spec = json.loads(sys.argv[1]); out = sys.argv[2]
with zipfile.ZipFile(out, "w") as z:
    for m in spec["members"]:
        zi = zipfile.ZipInfo(m["name"], date_time=(2020, 1, 1, 0, 0, 0))
        if m["name"].endswith("/"):
            zi.external_attr = (0o40755 << 16) | 0x10
            z.writestr(zi, b"")
        else:
            zi.external_attr = 0o100644 << 16
            zi.compress_type = m.get("method", zipfile.ZIP_DEFLATED)
            z.writestr(zi, bytes(i % 251 for i in range(m["size"])))
for name, method in spec.get("patch", {}).items():
    with zipfile.ZipFile(out) as z:
        off = z.getinfo(name).header_offset
    data = bytearray(open(out, "rb").read())
    data[off + 8:off + 10] = method.to_bytes(2, "little")
    i = data.find(b"PK\x01\x02")
    while i != -1:
        n = int.from_bytes(data[i + 28:i + 30], "little")
        if bytes(data[i + 46:i + 46 + n]) == name.encode():
            data[i + 10:i + 12] = method.to_bytes(2, "little")
        i = data.find(b"PK\x01\x02", i + 4)
    open(out, "wb").write(data)
with zipfile.ZipFile(out) as z:
    print(json.dumps([{"name": i.filename, "dir": i.is_dir(), "size": i.file_size,
                       "csize": i.compress_size, "crc": i.CRC, "method": i.compress_type}
                      for i in z.infolist()]))
"#;

struct Pkg {
    dir: tempfile::TempDir,
    zip: PathBuf,
    manifest: PathBuf,
}

fn dir(name: &str) -> Value {
    json!({"name": name})
}
fn file(name: &str, size: u64) -> Value {
    json!({"name": name, "size": size})
}

fn good_members(root_size: u64) -> Vec<Value> {
    vec![
        dir("esp/"),
        dir("esp/EFI/"),
        dir("esp/EFI/BOOT/"),
        file("esp/EFI/BOOT/BOOTAA64.EFI", 5000),
        dir("esp/m1n1/"),
        file("esp/m1n1/boot.bin", 3000),
        file("root.img", root_size),
    ]
}

/// A package zip written by Python plus a manifest describing it.
fn python_package(members: Vec<Value>, patch: Value, root_partition: u64) -> Pkg {
    need("python3", "python3");
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join(PACKAGE);
    let spec = json!({"members": members, "patch": patch});
    let out = Command::new("python3")
        .args(["-c", MKZIP, &spec.to_string()])
        .arg(&zip)
        .output()
        .expect("run python3");
    assert!(out.status.success(), "mkzip: {}", stderr(&out));
    let listing: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let manifest = dir.path().join("manifest.json");
    write_manifest(&manifest, &zip, &listing, root_partition);
    Pkg { dir, zip, manifest }
}

fn write_manifest(path: &Path, zip: &Path, listing: &[Value], root_partition: u64) {
    let members = listing
        .iter()
        .map(|m| Member {
            name: m["name"].as_str().unwrap().to_string(),
            kind: if m["dir"].as_bool().unwrap() {
                MemberKind::Dir
            } else {
                MemberKind::File
            },
            size: m["size"].as_u64().unwrap(),
            compressed_size: m["csize"].as_u64().unwrap(),
            crc32: format!("0x{:08x}", m["crc"].as_u64().unwrap()),
            sha256: Some("0".repeat(64)),
            method: m["method"].as_u64().unwrap() as u16,
        })
        .collect();
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        package: PACKAGE.into(),
        package_size: std::fs::metadata(zip).unwrap().len(),
        package_sha256: "0".repeat(64),
        sector_size: 4096,
        partitions: ManifestPartitions {
            esp: PartitionInfo {
                index: 1,
                name: "ESP".into(),
                offset: 1 << 20,
                size: ESP_SIZE,
            },
            root: PartitionInfo {
                index: 2,
                name: "root".into(),
                offset: (1 << 20) + ESP_SIZE,
                size: root_partition,
            },
        },
        members,
    };
    std::fs::write(path, manifest.to_json()).unwrap();
}

fn entry_args<'a>(pkg: &'a Pkg, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "entry",
        "--manifest",
        pkg.manifest.to_str().unwrap(),
        "--name",
        "nixos-asahi",
        "--version",
        "0.2.0",
        "--fs",
        "btrfs",
        "--package-url",
        "https://example.org/os/",
        "--output",
        out,
    ];
    args.extend_from_slice(extra);
    args
}

/// `printf %s ID | sha256sum`, first 8 hex digits.
fn sha256sum_volume_id(id: &str) -> String {
    need("sha256sum", "coreutils");
    let out = Command::new("sh")
        .args(["-c", "printf %s \"$1\" | sha256sum", "sh", id])
        .output()
        .unwrap();
    format!("0x{}", &String::from_utf8(out.stdout).unwrap()[..8])
}

fn make_entry(pkg: &Pkg, extra: &[&str]) -> (PathBuf, Output) {
    let out = pkg.dir.path().join("entry.json");
    let o = run(&entry_args(pkg, out.to_str().unwrap(), extra));
    (out, o)
}

#[test]
fn entry_has_the_spec_shape_and_checks_clean() {
    let pkg = python_package(good_members(64 * 1024), json!({}), ROOT_SIZE);
    let (out, o) = make_entry(&pkg, &[]);
    assert_ok(&o);
    let vid = sha256sum_volume_id("nixos-asahi-0.2.0-btrfs");
    let expected = format!(
        r#"{{
    "name": "NixOS (nixos-asahi-0.2.0-btrfs)",
    "default_os_name": "NixOS",
    "boot_object": "m1n1.bin",
    "next_object": "m1n1/boot.bin",
    "package": "https://example.org/os/{PACKAGE}",
    "supported_fw": [
        "12.3",
        "12.3.1",
        "13.5"
    ],
    "partitions": [
        {{
            "name": "EFI",
            "type": "EFI",
            "size": "{ESP_SIZE}B",
            "format": "fat",
            "volume_id": "{vid}",
            "source": "esp",
            "copy_firmware": true,
            "copy_installer_data": true
        }},
        {{
            "name": "Root",
            "type": "Linux",
            "size": "65536B",
            "expand": true,
            "image": "root.img"
        }}
    ]
}}
"#
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), expected);

    // Publish it and check the result together with the zip.
    let data = pkg.dir.path().join("installer_data.json");
    assert_ok(&run(&[
        "merge",
        "--into",
        data.to_str().unwrap(),
        out.to_str().unwrap(),
    ]));
    let o = run(&[
        "check",
        data.to_str().unwrap(),
        "--package",
        pkg.zip.to_str().unwrap(),
    ]);
    assert_ok(&o);
    assert!(String::from_utf8_lossy(&o.stdout).contains("1 entries OK"));

    // Python's json.load reads it, and sizes parse the way the installer's
    // psize() does (base 1000 for KB/MB/GB, 1024 for KiB/MiB/GiB, "B" = bytes).
    let py = r#"
import json, sys
def psize(v):
    v = v.upper().replace(" ", "")
    base = 1024 if v[-2] == "I" else 1000
    if base == 1024: v = v[:-2] + v[-1]
    for suffix, power in (("TB", 4), ("GB", 3), ("MB", 2), ("KB", 1), ("B", 0)):
        if v.endswith(suffix):
            return int(float(v[:-len(suffix)]) * base ** power)
d = json.load(open(sys.argv[1]))
print(" ".join(str(psize(p["size"])) for p in d["os_list"][0]["partitions"]))
"#;
    let o = Command::new("python3")
        .args(["-c", py])
        .arg(&data)
        .output()
        .unwrap();
    assert_ok(&o);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("{ESP_SIZE} 65536")
    );
}

#[test]
fn volume_id_given_or_derived() {
    let pkg = python_package(good_members(4096), json!({}), ROOT_SIZE);
    let (out, o) = make_entry(&pkg, &["--volume-id", "12CE-A600"]);
    assert_ok(&o);
    let e: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(e["partitions"][0]["volume_id"], "0x12cea600");

    // ext4 variant of the same version gets its own id.
    let out2 = pkg.dir.path().join("ext4.json");
    let mut args = entry_args(&pkg, out2.to_str().unwrap(), &[]);
    args[8] = "ext4";
    assert_ok(&run(&args));
    let e: Value = serde_json::from_slice(&std::fs::read(&out2).unwrap()).unwrap();
    assert_eq!(
        e["partitions"][0]["volume_id"],
        sha256sum_volume_id("nixos-asahi-0.2.0-ext4")
    );
    assert_eq!(e["name"], "NixOS (nixos-asahi-0.2.0-ext4)");

    assert_fails(
        &make_entry(&pkg, &["--volume-id", "0x123456789"]).1,
        &["not a 32-bit hexadecimal id"],
    );
}

#[test]
fn supported_fw_and_package_url() {
    let pkg = python_package(good_members(4096), json!({}), ROOT_SIZE);
    let (out, o) = make_entry(&pkg, &["--supported-fw", "14.8.3,13.5"]);
    assert_ok(&o);
    let e: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(e["supported_fw"], json!(["13.5", "14.8.3"]));

    assert_fails(
        &make_entry(&pkg, &["--supported-fw", "13.5,14.0"]).1,
        &["\"14.0\"", "12.3, 12.3.1, 13.5, 14.8.3"],
    );

    let with_url = |url: &str| {
        let out = pkg.dir.path().join("u.json");
        let mut args = entry_args(&pkg, out.to_str().unwrap(), &[]);
        args[10] = url;
        let o = run(&args);
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        let _ = std::fs::remove_file(&out);
        (o, text)
    };
    let (o, text) = with_url(PACKAGE);
    assert_ok(&o);
    assert!(text.contains(&format!("\"package\": \"{PACKAGE}\"")));
    let (o, text) = with_url("http://mirror.example/nixos/x.zip");
    assert_ok(&o);
    assert!(text.contains("\"package\": \"http://mirror.example/nixos/x.zip\""));
    for bad in [
        "ftp://example.org/x.zip",
        "os/x.zip",
        "/srv/x.zip",
        "https://example.org/x.zip?v=1",
        "httpd.zip",
    ] {
        assert_fails(&with_url(bad).0, &["--package-url"]);
    }
}

#[test]
fn entry_refuses_packages_that_would_not_install() {
    // No m1n1 stage 2.
    let mut members = good_members(4096);
    members.retain(|m| m["name"] != "esp/m1n1/boot.bin");
    let pkg = python_package(members, json!({}), ROOT_SIZE);
    assert_fails(&make_entry(&pkg, &[]).1, &["esp/m1n1/boot.bin", "not boot"]);

    // Root image not a multiple of 4096.
    let pkg = python_package(good_members(4097), json!({}), ROOT_SIZE);
    assert_fails(&make_entry(&pkg, &[]).1, &["4097 bytes", "4096"]);

    // Root image larger than the manifest's root partition.
    let pkg = python_package(good_members(8192), json!({}), 4096);
    assert_fails(&make_entry(&pkg, &[]).1, &["larger than", "4096 bytes"]);

    // A member the installer's Python cannot decompress.
    let pkg = python_package(
        good_members(4096),
        json!({"esp/m1n1/boot.bin": 93}),
        ROOT_SIZE,
    );
    assert_fails(&make_entry(&pkg, &[]).1, &["method 93 (zstd)"]);
}

/// Entry + installer_data.json for `pkg`, to `check --package` against.
fn check_zip(pkg: &Pkg, entry: &Value) -> Output {
    let data = pkg.dir.path().join("installer_data.json");
    std::fs::write(&data, json!({"os_list": [entry]}).to_string()).unwrap();
    run(&[
        "check",
        data.to_str().unwrap(),
        "--package",
        pkg.zip.to_str().unwrap(),
    ])
}

fn spec_entry(root_size: &str) -> Value {
    json!({
        "name": "NixOS", "default_os_name": "NixOS", "boot_object": "m1n1.bin",
        "next_object": "m1n1/boot.bin", "package": PACKAGE,
        "supported_fw": ["12.3", "12.3.1", "13.5"],
        "partitions": [
            {"name": "EFI", "type": "EFI", "size": "536870912B", "format": "fat",
             "volume_id": "0x12cea600", "source": "esp",
             "copy_firmware": true, "copy_installer_data": true},
            {"name": "Root", "type": "Linux", "size": root_size, "expand": true,
             "image": "root.img"}]
    })
}

#[test]
fn check_package_directory_entries() {
    let good = python_package(good_members(4096), json!({}), ROOT_SIZE);
    assert_ok(&check_zip(&good, &spec_entry("4096B")));

    let mut members = good_members(4096);
    members.retain(|m| m["name"] != "esp/EFI/BOOT/");
    let pkg = python_package(members, json!({}), ROOT_SIZE);
    let err = assert_fails(
        &check_zip(&pkg, &spec_entry("4096B")),
        &[
            "directory \"esp/EFI/BOOT/\" has no entry of its own",
            "1 problem(s)",
        ],
    );
    assert_eq!(err.lines().count(), 2, "one problem line + summary:\n{err}");

    // The directory entry exists but after its file.
    let mut members = good_members(4096);
    let d = members
        .iter()
        .position(|m| m["name"] == "esp/m1n1/")
        .unwrap();
    let m = members.remove(d);
    members.push(m);
    let pkg = python_package(members, json!({}), ROOT_SIZE);
    assert_fails(
        &check_zip(&pkg, &spec_entry("4096B")),
        &[
            "directory entry \"esp/m1n1/\"",
            "comes after \"esp/m1n1/boot.bin\"",
        ],
    );
}

/// The installer copies the Mac's firmware into vendorfw/ with
/// shutil.copytree, which fails if the package already made that directory.
#[test]
fn check_package_vendorfw_with_copy_firmware() {
    let mut members = good_members(4096);
    members.insert(4, dir("esp/VendorFW/"));
    members.insert(5, file("esp/VendorFW/firmware.tar", 10));
    let pkg = python_package(members, json!({}), ROOT_SIZE);
    let entry = spec_entry("4096B");
    assert_eq!(entry["partitions"][0]["copy_firmware"], true);
    assert_fails(
        &check_zip(&pkg, &entry),
        &[
            "member \"esp/VendorFW/\": partitions[0] has \"copy_firmware\"",
            "1 problem(s)",
        ],
    );
    let mut without = entry.clone();
    without["partitions"][0]
        .as_object_mut()
        .unwrap()
        .remove("copy_firmware");
    assert_ok(&check_zip(&pkg, &without));
}

#[test]
fn check_package_methods_sizes_and_names() {
    // Deflate64 and zstd ids patched in: Python itself refuses to read them.
    let pkg = python_package(
        good_members(4096),
        json!({"esp/EFI/BOOT/BOOTAA64.EFI": 9, "root.img": 93}),
        ROOT_SIZE,
    );
    let py = Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).read('root.img')",
        ])
        .arg(&pkg.zip)
        .output()
        .unwrap();
    assert!(!py.status.success(), "Python read a zstd member?");
    assert_fails(
        &check_zip(&pkg, &spec_entry("4096B")),
        &[
            "\"esp/EFI/BOOT/BOOTAA64.EFI\" uses compression method 9 (deflate64)",
            "\"root.img\" uses compression method 93 (zstd)",
            "2 problem(s)",
        ],
    );

    let pkg = python_package(good_members(4097), json!({}), ROOT_SIZE);
    assert_fails(
        &check_zip(&pkg, &spec_entry("8192B")),
        &["is 4097 bytes, not a multiple of 4096"],
    );

    let pkg = python_package(good_members(8192), json!({}), ROOT_SIZE);
    assert_fails(
        &check_zip(&pkg, &spec_entry("4096B")),
        &["is 8192 bytes, larger than the partition's 4096 bytes"],
    );

    let mut members = good_members(4096);
    members.retain(|m| m["name"] != "esp/m1n1/boot.bin");
    let pkg = python_package(members, json!({}), ROOT_SIZE);
    assert_fails(
        &check_zip(&pkg, &spec_entry("4096B")),
        &["no file \"esp/m1n1/boot.bin\""],
    );

    let mut members = good_members(4096);
    members.insert(0, dir("./"));
    members.insert(1, file("./esp/stray", 1));
    members.push(file("/abs", 1));
    members.push(file("esp/../x", 1));
    let pkg = python_package(members, json!({}), ROOT_SIZE);
    assert_fails(
        &check_zip(&pkg, &spec_entry("4096B")),
        &["\"./\" prefix", "absolute path", "\"..\" component"],
    );
}

#[test]
fn check_zips_made_by_info_zip() {
    need("zip", "zip");
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("esp/m1n1")).unwrap();
    std::fs::create_dir_all(tree.join("esp/EFI/BOOT")).unwrap();
    std::fs::write(tree.join("esp/m1n1/boot.bin"), vec![7u8; 3000]).unwrap();
    std::fs::write(tree.join("esp/EFI/BOOT/BOOTAA64.EFI"), vec![1u8; 100]).unwrap();
    std::fs::write(tree.join("root.img"), vec![0u8; 12288]).unwrap();
    let data = dir.path().join("installer_data.json");
    std::fs::write(
        &data,
        json!({"os_list": [spec_entry("12288B")]}).to_string(),
    )
    .unwrap();

    let zip = |name: &str, flags: &[&str]| {
        let path = dir.path().join(name);
        let o = Command::new("zip")
            .current_dir(&tree)
            .args(flags)
            .arg(&path)
            .args(["esp", "root.img"])
            .output()
            .unwrap();
        assert_ok(&o);
        let o = run(&[
            "check",
            data.to_str().unwrap(),
            "--package",
            path.to_str().unwrap(),
        ]);
        (o, path)
    };
    // zip -r lists each directory before its contents; -fz forces Zip64 records.
    assert_ok(&zip("plain.zip", &["-q", "-r"]).0);
    assert_ok(&zip("z64.zip", &["-q", "-r", "-fz"]).0);
    // -D leaves out directory entries.
    assert_fails(
        &zip("nodirs.zip", &["-q", "-r", "-D"]).0,
        &["has no entry of its own"],
    );
}

#[test]
fn check_reports_entry_problems() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("installer_data.json");
    let mut bad = spec_entry("4096B");
    bad["partitions"][0]["size"] = json!(536870912);
    bad["partitions"][0]["expand"] = json!(true);
    bad["supported_fw"] = json!(["13.5", "14"]);
    let mut no_efi = spec_entry("1GB");
    no_efi["partitions"].as_array_mut().unwrap().remove(0);
    no_efi["package"] = json!("other.zip");
    no_efi.as_object_mut().unwrap().remove("boot_object");
    let mut no_size = spec_entry("4096B");
    no_size["package"] = json!("third.zip");
    no_size["partitions"][1]
        .as_object_mut()
        .unwrap()
        .remove("size");
    // A bare number: psize() takes the empty suffix and float("") raises.
    no_size["partitions"][0]["size"] = json!("1536");
    // Accepted by psize() as 1.5 * 1000^3: not a problem.
    no_size["partitions"][1]["size"] = json!("1.5 gb");
    let mut fw = spec_entry("4096B");
    fw["package"] = json!("fourth.zip");
    fw["supported_fw"] = json!(["12.3", "12.3.1"]);
    fw["boot_object"] = json!("m1n1-stage1.bin");
    fw["partitions"][1]["type"] = json!("linux");
    std::fs::write(
        &data,
        json!({"os_list": [bad, no_efi, no_size, fw]}).to_string(),
    )
    .unwrap();
    let err = assert_fails(
        &run(&["check", data.to_str().unwrap()]),
        &[
            "os_list[0] (\"NixOS\"): partitions[0].size is 536870912 (not a string)",
            "supported_fw value \"14\" is not one the installer knows",
            "all have \"expand\"",
            "os_list[1] (\"NixOS\"): missing required key \"boot_object\"",
            "\"next_object\" is set but no partition has type \"EFI\"",
            "partitions[0].size \"1536\" is not a size the installer's psize() reads",
            "os_list[3] (\"NixOS\"): supported_fw [\"12.3\", \"12.3.1\"] offers no firmware the MacBook Air (M2, 2022) (j413ap) and 11 other models can use",
            "os_list[3] (\"NixOS\"): boot_object \"m1n1-stage1.bin\"",
            "os_list[3] (\"NixOS\"): partitions[1].type \"linux\"",
            "9 problem(s)",
        ],
    );
    assert_eq!(err.lines().count(), 10, "{err}");
}

fn entry_file(dir: &Path, name: &str, package: &str) -> PathBuf {
    let mut e = spec_entry("4096B");
    e["name"] = json!(name);
    e["package"] = json!(package);
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_string(&e).unwrap()).unwrap();
    path
}

fn names(path: &Path) -> Vec<String> {
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["os_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

/// Two merges of different entries into one file at once, each rename
/// delayed so both would read the old list before either writes: under
/// the lock on the file's directory they take turns, and both entries stay.
#[test]
fn two_merges_into_one_file_keep_both_entries() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("installer_data.json");
    let x = entry_file(d, "x", "https://x.org/os/x.zip");
    let y = entry_file(d, "y", "https://x.org/os/y.zip");
    for round in 0..3 {
        std::fs::write(&data, r#"{"os_list": []}"#).unwrap();
        let children: Vec<_> = [&x, &y]
            .iter()
            .map(|e| {
                let mut c = Command::new(BIN);
                c.args(["merge", "--into"]).arg(&data).arg(e);
                common::delayed(&c, common::RENAMES, 300)
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            assert_ok(&c.wait_with_output().unwrap());
        }
        let mut got = names(&data);
        got.sort();
        assert_eq!(got, ["x", "y"], "round {round}: an entry was lost");
    }
}

#[test]
fn merge_replaces_orders_prunes_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("installer_data.json");
    // An existing file with a key we do not know and compact formatting.
    std::fs::write(
        &data,
        r#"{"comment": "served", "os_list": [{"package": "https://x.org/os/a.zip", "name": "a", "default_os_name": "NixOS", "boot_object": "m1n1.bin", "partitions": [{"type": "EFI", "name": "EFI", "size": "1MB"}]}], "z": [1]}"#,
    )
    .unwrap();
    let merge = |entries: &[&Path], keep: Option<&str>| {
        let mut args = vec!["merge", "--into", data.to_str().unwrap()];
        if let Some(k) = keep {
            args.extend(["--keep", k]);
        }
        args.extend(entries.iter().map(|p| p.to_str().unwrap()));
        run(&args)
    };
    let b = entry_file(d, "b", "https://x.org/os/b.zip");
    let c = entry_file(d, "c", "https://x.org/os/c.zip");
    let a2 = entry_file(d, "a2", "https://x.org/os/a.zip");
    assert_ok(&merge(&[&c, &b], None));
    assert_eq!(names(&data), ["c", "b", "a"]);

    // Replacing a's package puts the new entry first, without a duplicate.
    assert_ok(&merge(&[&a2], None));
    assert_eq!(names(&data), ["a2", "c", "b"]);
    let text = std::fs::read_to_string(&data).unwrap();
    assert!(text.starts_with("{\n    \"comment\": \"served\",\n    \"os_list\": [\n        {\n            \"name\": \"a2\""));
    assert!(text.ends_with("]\n}\n") && text.contains("\n    \"z\": [\n        1\n    ]\n"));
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        assert_eq!(indent % 4, 0, "indentation not a multiple of 4: {line:?}");
        assert!(!line.starts_with('\t'));
    }

    // Merging the same entry again changes nothing, byte for byte.
    assert_ok(&merge(&[&a2], None));
    assert_eq!(std::fs::read_to_string(&data).unwrap(), text);

    assert_ok(&merge(&[&b], Some("2")));
    assert_eq!(names(&data), ["b", "a2"]);

    // Invalid entries are refused and leave the file alone.
    let before = std::fs::read(&data).unwrap();
    let bad = d.join("bad.json");
    let mut e = spec_entry("4096B");
    e["partitions"][1]["size"] = json!(4096);
    std::fs::write(&bad, e.to_string()).unwrap();
    assert_fails(
        &merge(&[&bad], None),
        &["bad.json", "partitions[1].size is 4096"],
    );
    assert_eq!(std::fs::read(&data).unwrap(), before);

    // A served file that is not an object: the error names it.
    let list = d.join("list.json");
    std::fs::write(&list, "[]").unwrap();
    assert_fails(
        &run(&[
            "merge",
            "--into",
            list.to_str().unwrap(),
            b.to_str().unwrap(),
        ]),
        &[&format!(
            "{}: the existing file is not a JSON object",
            list.display()
        )],
    );

    // A new file starts from an empty list; Python reads the result.
    let fresh = d.join("fresh.json");
    assert_ok(&run(&[
        "merge",
        "--into",
        fresh.to_str().unwrap(),
        c.to_str().unwrap(),
    ]));
    assert_eq!(names(&fresh), ["c"]);
    need("python3", "python3");
    let o = Command::new("python3")
        .args([
            "-c",
            "import json,sys; d=json.load(open(sys.argv[1])); assert list(d)==['os_list'], d",
        ])
        .arg(&fresh)
        .output()
        .unwrap();
    assert_ok(&o);
}

/// Names, keys and values with newlines, CR, ESC or NUL: every problem stays
/// on its own line and no control character reaches the terminal.
#[test]
fn hostile_json_strings_stay_on_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("installer_data.json");
    let mut e = spec_entry("4096B");
    e["name"] = json!("Nix\nOS\r\u{1b}[2J\u{0}");
    e["partitions"][0]["size"] = json!(536870912);
    e["partitions"][0]["type"] = json!("EFI\nx\u{1b}]0;title\u{7}");
    std::fs::write(&data, json!({"os_list": [e]}).to_string()).unwrap();
    let err = assert_fails(&run(&["check", data.to_str().unwrap()]), &["Nix\\nOS\\r"]);
    assert!(!err.contains(['\u{1b}', '\r', '\u{0}', '\u{7}']), "{err:?}");
    for line in err.lines() {
        assert!(
            line.contains("os_list[0]") || line.contains("problem(s)"),
            "{err}"
        );
    }
}
