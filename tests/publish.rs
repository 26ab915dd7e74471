//! `publish` against real servers on loopback: moto's S3 server (multipart,
//! conditional PUT, range GET; the bucket publicly readable as a CDN bucket
//! is) and a static web server over a local directory. The list and zips
//! are read back over plain HTTP and installed through the installer's
//! download path. Faults: a publish killed during a zip upload, two
//! publishes at once, 5xx and dropped connections and a lost conditional
//! write (tests/support/fault_proxy.py), a key holding other bytes, and gc
//! next to the live list and snapshots.
//!
//! Linux only (Linux tools make the packages). Needs python3 with moto, and curl.
#![cfg(target_os = "linux")]

mod common;
use common::dist;

use dist::{check_served, get_json, install_over_http, package, s3_server, Package, Proc};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const PUBLISH: &str = env!("CARGO_BIN_EXE_publish");

/// `publish` to `s3://bucket` through `port` (the server or a proxy), with
/// `http://127.0.0.1:public/bucket` as the public URL.
fn publish_cmd(port: u16, public: u16, bucket: &str, results: &[&Path], extra: &[&str]) -> Command {
    let mut c = Command::new(PUBLISH);
    c.args(results)
        .args(["--to", &format!("s3://{bucket}")])
        .args(["--endpoint", &format!("http://127.0.0.1:{port}")])
        .args([
            "--public-url",
            &format!("http://127.0.0.1:{public}/{bucket}"),
        ])
        .args([
            "--installer-url",
            "https://installer.invalid/installer.tar.gz",
        ])
        .args(["--installer-sha256", &"a".repeat(64)])
        .args(extra)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("NIT_NO_PROGRESS", "1");
    c
}

fn ok(o: Output) -> Value {
    assert!(
        o.status.success(),
        "publish failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8_lossy(&o.stdout);
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn publish(port: u16, bucket: &str, results: &[&Path], extra: &[&str]) -> Value {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    ok(publish_cmd(port, port, bucket, results, &args)
        .output()
        .unwrap())
}

fn list_url(port: u16, bucket: &str) -> String {
    format!("http://127.0.0.1:{port}/{bucket}/installer_data.json")
}

fn packages(list: &Value) -> Vec<String> {
    list["os_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["package"].as_str().unwrap().to_string())
        .collect()
}

fn keys(port: u16, bucket: &str, prefix: &str) -> Vec<String> {
    let out = dist::python(&format!(
        r#"
import boto3
s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:{port}", region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
for o in s3.list_objects_v2(Bucket="{bucket}", Prefix="{prefix}").get("Contents", []):
    print(o["Key"])
"#
    ));
    out.lines().map(String::from).collect()
}

fn four() -> [&'static Package; 4] {
    [
        package("nixos-asahi", "0.1.0", "ext4", 0),
        package("nixos-asahi", "0.1.0", "btrfs", 0),
        package("nixos-asahi", "0.2.0", "ext4", 0),
        package("nixos-asahi", "0.2.0", "btrfs", 0),
    ]
}

#[test]
fn distribution_publish_s3_two_variants_two_versions() {
    let [e1, b1, e2, b2] = four();
    let port = s3_server("two");
    let base = format!("http://127.0.0.1:{port}/two");

    // --dry-run plans and writes nothing.
    let plan = publish(port, "two", &[&e1.dir, &b1.dir], &["--dry-run"]);
    assert_eq!(plan["zips"][0]["action"], "would upload");
    assert!(
        keys(port, "two", "").is_empty(),
        "a dry run wrote something"
    );

    let r1 = publish(port, "two", &[&e1.dir, &b1.dir], &[]);
    assert_eq!(r1["zips"][0]["action"], "uploaded");
    assert_eq!(r1["list"]["attempts"], 1);
    let r2 = publish(port, "two", &[&e2.dir, &b2.zip], &["--keep", "2"]);
    let list = get_json(&list_url(port, "two"));
    assert_eq!(
        packages(&list),
        [e2, b2, e1, b1].map(|p| p.published_name()),
        "newest first, both variants"
    );
    // Running it again uploads nothing and duplicates nothing.
    let again = publish(port, "two", &[&e2.dir, &b2.zip], &["--keep", "2"]);
    assert_eq!(again["zips"][0]["action"], "present");
    assert_eq!(get_json(&list_url(port, "two")), list);
    // --keep 1 per variant drops 0.1.0 of each, from the list only.
    publish(port, "two", &[&e2.dir], &["--keep", "1"]);
    let kept = get_json(&list_url(port, "two"));
    assert_eq!(packages(&kept), [e2, b2].map(|p| p.published_name()));
    assert_eq!(keys(port, "two", "os/").len(), 4);
    assert!(keys(port, "two", "snapshots/").len() >= 4);

    // Read back over plain HTTP, and installed the installer's way.
    for p in [e1, b1, e2, b2] {
        check_served(&format!("{base}/os/{}", p.published_name()), &p.zip);
    }
    let out = install_over_http(&base, &list_url(port, "two"), 1, &b2.root_sha256());
    println!("{out}");
    let (status, script) = dist::curl(&[&format!("{base}/install")]);
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&script).contains(&format!("base='{base}'")));
    assert_eq!(r2["install"], format!("{base}/install"));
}

#[test]
fn distribution_publish_local_directory() {
    let [e1, b1, ..] = four();
    let dir = tempfile::tempdir().unwrap();
    let (_web, port) = Proc::python("static_server.py", &[dir.path().to_str().unwrap()]);
    let base = format!("http://127.0.0.1:{port}");
    let run = |results: &[&Path]| {
        let mut c = Command::new(PUBLISH);
        c.args(results)
            .arg("--to")
            .arg(dir.path())
            .args(["--public-url", &base, "--json"])
            .args(["--installer-url", "https://installer.invalid/i.tar.gz"])
            .args(["--installer-sha256", &"b".repeat(64)]);
        ok(c.output().unwrap())
    };
    run(&[&e1.dir]);
    run(&[&b1.dir, &e1.dir]);
    let list = get_json(&format!("{base}/installer_data.json"));
    assert_eq!(packages(&list), [b1, e1].map(|p| p.published_name()));
    check_served(&format!("{base}/os/{}", e1.published_name()), &e1.zip);
    install_over_http(
        &base,
        &format!("{base}/installer_data.json"),
        0,
        &b1.root_sha256(),
    );
    assert!(dir.path().join("install").is_file());
    assert_eq!(
        std::fs::read_dir(dir.path().join("snapshots"))
            .unwrap()
            .count(),
        2
    );
}

#[test]
fn distribution_publish_retries_server_faults() {
    let [e1, b1, ..] = four();
    let big = package("nixos-asahi", "0.3.0", "ext4", 24);
    let port = s3_server("faults");
    let log = tempfile::NamedTempFile::new().unwrap();
    let log_path = log.path().to_str().unwrap();
    // 5xx and dropped connections on uploads (multipart parts included).
    let (proxy, pport) = Proc::python(
        "fault_proxy.py",
        &[
            &port.to_string(),
            "--error-every",
            "3",
            "--drop-every",
            "4",
            "--log",
            log_path,
        ],
    );
    let o = publish_cmd(
        pport,
        port,
        "faults",
        &[&big.dir, &e1.dir],
        &["--json", "--part-size-mib", "5"],
    )
    .output()
    .unwrap();
    let r = ok(o);
    let counts = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        counts.contains("errors=") && !counts.contains("errors=0"),
        "{counts}"
    );
    assert!(
        counts.contains("drops=") && !counts.contains("drops=0"),
        "{counts}"
    );
    assert_eq!(r["zips"][0]["action"], "uploaded");
    drop(proxy);
    // A conditional write lost to another publisher: re-read, re-merge, retry.
    let (_proxy, pport) = Proc::python(
        "fault_proxy.py",
        &[&port.to_string(), "--conflict-once", "--log", log_path],
    );
    let r = ok(publish_cmd(pport, port, "faults", &[&b1.dir], &["--json"])
        .output()
        .unwrap());
    assert_eq!(r["list"]["attempts"], 2, "{r}");
    let list = get_json(&list_url(port, "faults"));
    assert_eq!(packages(&list), [b1, big, e1].map(|p| p.published_name()));
    check_served(
        &format!("http://127.0.0.1:{port}/faults/os/{}", big.published_name()),
        &big.zip,
    );
}

#[test]
fn distribution_publish_killed_during_upload_leaves_the_list() {
    let [e1, ..] = four();
    let big = package("nixos-asahi", "0.3.0", "ext4", 24);
    let port = s3_server("killed");
    publish(port, "killed", &[&e1.dir], &[]);
    let before = dist::curl(&[&list_url(port, "killed")]).1;
    let log = tempfile::NamedTempFile::new().unwrap();
    let (_proxy, pport) = Proc::python(
        "fault_proxy.py",
        &[
            &port.to_string(),
            "--delay-put",
            "1",
            "--log",
            log.path().to_str().unwrap(),
        ],
    );
    let mut child = publish_cmd(
        pport,
        port,
        "killed",
        &[&big.dir],
        &["--part-size-mib", "5"],
    )
    .spawn()
    .unwrap();
    // Kill it once the first part is on its way (bounded wait).
    for _ in 0..100 {
        if std::fs::read_to_string(log.path())
            .unwrap_or_default()
            .contains("writes=")
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "publish finished before it was killed");
    let after = dist::curl(&[&list_url(port, "killed")]).1;
    assert_eq!(before, after, "the live list changed");
    serde_json::from_slice::<Value>(&after).unwrap();
    assert!(!keys(port, "killed", "os/").contains(&format!("os/{}", big.published_name())));
    // Run again: it completes.
    publish(port, "killed", &[&big.dir], &["--part-size-mib", "5"]);
    assert_eq!(
        packages(&get_json(&list_url(port, "killed")))[0],
        big.published_name()
    );
}

#[test]
fn distribution_publish_racing_publishes_both_land() {
    let [e1, b1, e2, b2] = four();
    let port = s3_server("race");
    publish(port, "race", &[&e1.dir], &[]);
    let children: Vec<_> = [[b1, e2], [b2, e1]]
        .iter()
        .map(|ps| {
            let dirs: Vec<&Path> = ps.iter().map(|p| p.dir.as_path()).collect();
            publish_cmd(port, port, "race", &dirs, &["--json"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut attempts = Vec::new();
    for c in children {
        let r = ok(c.wait_with_output().unwrap());
        attempts.push(r["list"]["attempts"].as_u64().unwrap());
    }
    println!("conditional writes per publisher: {attempts:?}");
    let mut got = packages(&get_json(&list_url(port, "race")));
    got.sort();
    let mut want: Vec<String> = [e1, b1, e2, b2]
        .iter()
        .map(|p| p.published_name())
        .collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn distribution_publish_refuses_a_key_with_other_bytes() {
    let [e1, ..] = four();
    let port = s3_server("clash");
    let key = format!("os/{}", e1.published_name());
    dist::python(&format!(
        r#"
import boto3
s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:{port}", region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
s3.put_object(Bucket="clash", Key="{key}", Body=b"not the zip")
"#
    ));
    let o = publish_cmd(port, port, "clash", &[&e1.dir], &[])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.starts_with("publish: error: ") && err.contains("exists with other bytes"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(keys(port, "clash", "installer_data.json").is_empty());
}

#[test]
fn distribution_publish_gc_keeps_what_lists_name() {
    let [e1, b1, e2, _] = four();
    let port = s3_server("gc-test");
    publish(port, "gc-test", &[&e1.dir], &[]);
    publish(port, "gc-test", &[&b1.dir], &[]);
    publish(port, "gc-test", &[&e2.dir], &["--keep", "1"]); // e1 leaves the live list
    dist::python(&format!(
        r#"
import boto3
s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:{port}", region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
s3.put_object(Bucket="gc-test", Key="os/orphan-1.0-ext4-0000000000000000.zip", Body=b"orphan")
"#
    ));
    let gc = |extra: &[&str]| {
        let mut c = Command::new(PUBLISH);
        c.args([
            "gc",
            "--to",
            "s3://gc-test",
            "--endpoint",
            &format!("http://127.0.0.1:{port}"),
            "--json",
        ])
        .args(extra)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1");
        ok(c.output().unwrap())
    };
    // Young zips are kept whatever names them.
    let r = gc(&[]);
    assert_eq!(r["deleted"].as_array().unwrap().len(), 0, "{r}");
    // No grace: the orphan goes; e1 stays, a recent snapshot names it.
    let r = gc(&["--grace-days", "0", "--dry-run"]);
    assert_eq!(
        r["deleted"],
        serde_json::json!(["os/orphan-1.0-ext4-0000000000000000.zip"])
    );
    assert_eq!(keys(port, "gc-test", "os/").len(), 4, "a dry run deleted");
    gc(&["--grace-days", "0"]);
    // Without recent snapshots only the live list protects: e1 goes, never e2 or b1.
    let r = gc(&["--grace-days", "0", "--snapshot-days", "0"]);
    assert_eq!(
        r["deleted"],
        serde_json::json!([format!("os/{}", e1.published_name())])
    );
    let left = keys(port, "gc-test", "os/");
    for p in packages(&get_json(&list_url(port, "gc-test"))) {
        assert!(
            left.contains(&format!("os/{p}")),
            "gc deleted {p}, which the live list names"
        );
    }
}
