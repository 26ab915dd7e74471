//! Helpers for the distribution tests (tests/serve.rs, tests/publish.rs):
//! small real packages made once per test binary, and the loopback servers
//! the tests start (moto's S3, a fault-injecting proxy, a static web server,
//! `serve`), each stopped when its handle is dropped.
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

use super::require;

pub fn support(name: &str) -> PathBuf {
    super::repo().join("tests/support").join(name)
}

/// One build result directory, as a Nix package output holds it.
pub struct Package {
    pub dir: PathBuf,
    pub zip: PathBuf,
    pub manifest: Value,
}

impl Package {
    pub fn root_sha256(&self) -> String {
        let members = self.manifest["members"].as_array().unwrap();
        let root = members.iter().find(|m| m["name"] == "root.img").unwrap();
        root["sha256"].as_str().unwrap().to_string()
    }

    pub fn sha256(&self) -> String {
        self.manifest["packageSha256"].as_str().unwrap().to_string()
    }

    /// The content-addressed name publish and serve give the zip.
    pub fn published_name(&self) -> String {
        let stem = self.manifest["package"]
            .as_str()
            .unwrap()
            .strip_suffix(".zip")
            .unwrap()
            .to_string();
        format!("{stem}-{}.zip", &self.sha256()[..16])
    }
}

/// `name-version-fs` packages, made once per test binary by
/// tests/support/make-package.sh (mkimage, carve-partitions, gen-installer-data).
pub fn package(name: &str, version: &str, fs: &str, random_mib: u32) -> &'static Package {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    static MADE: std::sync::Mutex<Vec<(String, &'static Package)>> =
        std::sync::Mutex::new(Vec::new());
    let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap());
    let id = format!("{name}-{version}-{fs}-{random_mib}");
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, p)) = made.iter().find(|(i, _)| *i == id) {
        return p;
    }
    let out = dir.path().join(&id);
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_mkimage"))
        .parent()
        .unwrap()
        .to_path_buf();
    let o = Command::new("bash")
        .arg(support("make-package.sh"))
        .arg(&bin)
        .arg(&out)
        .args([name, version, fs, &random_mib.to_string()])
        .env("PATH", super::trixie::path_env())
        .env("NIT_NO_PROGRESS", "1")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "make-package.sh failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let base = format!("{name}-{version}-{fs}");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join(format!("{base}.manifest.json"))).unwrap())
            .unwrap();
    let p: &'static Package = Box::leak(Box::new(Package {
        zip: out.join(format!("{base}.zip")),
        dir: out,
        manifest,
    }));
    made.push((id, p));
    p
}

/// A child process stopped (and waited for) when dropped.
pub struct Proc {
    pub child: Child,
    pub stdout_lines: mpsc::Receiver<String>,
}

impl Proc {
    /// Start `cmd` and wait (bounded) for a stdout line starting with `prefix`.
    pub fn start(cmd: &mut Command, prefix: &str) -> (Proc, String) {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut p = Proc {
            child,
            stdout_lines: rx,
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match p.stdout_lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return (p, line),
                Ok(_) => continue,
                Err(_) => {
                    let _ = p.child.kill();
                    panic!("{cmd:?} printed no line starting with {prefix:?} within 60 s");
                }
            }
        }
    }

    /// Start a tests/support Python server and return it with its port.
    pub fn python(script: &str, args: &[&str]) -> (Proc, u16) {
        require("python3", "python3");
        let (p, line) = Proc::start(
            Command::new("python3").arg(support(script)).args(args),
            "port ",
        );
        (p, line["port ".len()..].trim().parse().unwrap())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// moto's S3 server, shared by the tests of one binary, with `buckets`.
pub fn s3_server(bucket: &str) -> u16 {
    static SERVER: OnceLock<std::sync::Mutex<Option<(Proc, u16)>>> = OnceLock::new();
    let server = SERVER.get_or_init(|| std::sync::Mutex::new(None));
    let mut s = server.lock().unwrap_or_else(|e| e.into_inner());
    if s.is_none() {
        ensure_moto();
        *s = Some(Proc::python("s3_server.py", &[]));
    }
    let port = s.as_ref().unwrap().1;
    create_bucket(port, bucket);
    port
}

/// moto is installed by ./test.sh; a direct `cargo test` says how.
fn ensure_moto() {
    let ok = Command::new("python3")
        .args(["-c", "import moto.server, boto3, flask, flask_cors"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "moto's S3 server is missing: python3 -m pip install 'moto[s3]' flask flask-cors (./test.sh does)");
}

/// A publicly readable bucket, as a CDN bucket is.
pub fn create_bucket(port: u16, bucket: &str) {
    python(&format!(
        r#"
import boto3, json
s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:{port}", region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
s3.create_bucket(Bucket="{bucket}")
s3.put_bucket_policy(Bucket="{bucket}", Policy=json.dumps({{"Version": "2012-10-17", "Statement": [{{
    "Effect": "Allow", "Principal": "*",
    # moto authorises HEAD as "s3:HeadObject" (AWS: s3:GetObject).
    "Action": ["s3:GetObject", "s3:HeadObject"],
    "Resource": "arn:aws:s3:::{bucket}/*"}}]}}))
"#
    ));
}

/// Run Python code; panic with its output unless it succeeds.
pub fn python(code: &str) -> String {
    let o = Command::new("python3")
        .arg("-c")
        .arg(code)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "python failed: {}\n{code}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `curl` with `args`: (HTTP status, body).
pub fn curl(args: &[&str]) -> (u16, Vec<u8>) {
    require("curl", "curl");
    let body = tempfile::NamedTempFile::new().unwrap();
    let o = Command::new("curl")
        .args(["-sS", "--max-time", "60", "-o"])
        .arg(body.path())
        .args(["-w", "%{http_code}"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let status = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
    (status, std::fs::read(body.path()).unwrap())
}

pub fn get_json(url: &str) -> Value {
    let (status, body) = curl(&[url]);
    assert_eq!(status, 200, "GET {url}");
    serde_json::from_slice(&body).unwrap()
}

/// Check `url` serves `file` as the installer reads it: HEAD length, 206
/// ranges at the start and the end, and a range with an extra query string.
pub fn check_served(url: &str, file: &Path) {
    let bytes = std::fs::read(file).unwrap();
    let len = bytes.len();
    let (status, _) = curl(&["-I", url]);
    assert_eq!(status, 200, "HEAD {url}");
    let o = Command::new("curl").args(["-sSI", url]).output().unwrap();
    let head = String::from_utf8_lossy(&o.stdout).to_ascii_lowercase();
    assert!(
        head.contains(&format!("content-length: {len}")),
        "HEAD {url}: {head}"
    );
    let end = format!("bytes={}-{}", len - 1000, len - 1);
    for (u, range, want) in [
        (
            url.to_string(),
            "bytes=0-1048575".to_string(),
            &bytes[..len.min(1 << 20)],
        ),
        (url.to_string(), end, &bytes[len - 1000..]),
        (
            format!("{url}?0.8172"),
            "bytes=10-19".to_string(),
            &bytes[10..20],
        ),
    ] {
        let (status, body) = curl(&["-H", &format!("Range: {range}"), &u]);
        assert_eq!(status, 206, "GET {u} {range}");
        assert!(body == want, "GET {u} {range}: other bytes");
    }
}

/// Install os_list[index] of `list_url` with the installer's download path
/// (tests/support/installer_download.py), into a fresh directory.
pub fn install_over_http(
    repo_base: &str,
    list_url: &str,
    index: usize,
    root_sha256: &str,
) -> String {
    let dest = tempfile::tempdir().unwrap();
    let o: Output = Command::new("python3")
        .arg(support("installer_download.py"))
        .args([repo_base, list_url, &index.to_string()])
        .arg(dest.path().join("esp"))
        .arg(root_sha256)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "installer download failed: {out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(dest.path().join("esp/m1n1/boot.bin").is_file());
    out
}
