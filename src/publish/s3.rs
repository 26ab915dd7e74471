//! S3-compatible buckets (AWS S3, Cloudflare R2, MinIO, ...) through
//! `object_store`: SigV4, multipart uploads with bounded memory, retries with
//! backoff, and `If-Match` / `If-None-Match: *` puts.

use super::store::{Condition, Meta, Store, Written};
use crate::error::{Error, IoContext, Result};
use crate::io::progress::Progress;
use futures::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, S3ConditionalPut};
use object_store::path::Path as ObjPath;
use object_store::{
    Attribute, Attributes, ClientOptions, GetOptions, ObjectStore, PutMode, PutMultipartOptions,
    PutOptions, PutPayload, RetryConfig, UpdateVersion, WriteMultipart,
};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct S3Options {
    /// `s3://bucket[/prefix]`.
    pub url: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// Bytes per multipart part; memory use is about `part_size * (concurrency + 1)`.
    pub part_size: usize,
    pub concurrency: usize,
    /// The slowest upload rate (bytes/s, all parts together) that must still
    /// succeed: it sets the per-request timeout.
    pub min_rate: u64,
}

pub struct S3Store {
    store: AmazonS3,
    rt: tokio::runtime::Runtime,
    bucket: String,
    prefix: String,
    opts: S3Options,
}

/// object_store times out each request as a whole, part upload included: a
/// part must go through within it, while `concurrency` parts share the link.
pub fn request_timeout(part_size: usize, concurrency: usize, min_rate: u64) -> Duration {
    let secs = (part_size as u64 * concurrency as u64).div_ceil(min_rate.max(1));
    Duration::from_secs(secs.max(30))
}

impl S3Store {
    pub fn new(opts: S3Options) -> Result<Self> {
        let rest = opts.url.strip_prefix("s3://").ok_or_else(|| {
            Error::invalid(format!("{} is not an s3://bucket[/prefix] URL", opts.url))
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(Error::invalid(format!("{}: no bucket name", opts.url)));
        }
        let timeout = request_timeout(opts.part_size, opts.concurrency, opts.min_rate);
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_conditional_put(S3ConditionalPut::ETagMatch)
            .with_client_options(ClientOptions::new().with_timeout(timeout))
            .with_retry(RetryConfig {
                max_retries: 10,
                // Long enough that a part which timed out is retried.
                retry_timeout: timeout * 4,
                ..Default::default()
            });
        if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
            if let Some((id, secret, token)) = profile_credentials()? {
                b = b.with_access_key_id(id).with_secret_access_key(secret);
                if let Some(t) = token {
                    b = b.with_token(t);
                }
            }
        }
        if let Some(e) = &opts.endpoint {
            b = b.with_endpoint(e).with_allow_http(e.starts_with("http://"));
        }
        if let Some(r) = &opts.region {
            b = b.with_region(r);
        }
        let store = b.build().map_err(|e| {
            Error::invalid(format!(
                "cannot use {}: {e}: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and --endpoint/--region",
                opts.url
            ))
        })?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(opts.concurrency.clamp(1, 8))
            .enable_all()
            .build()
            .map_err(|e| Error::invalid(format!("cannot start the I/O runtime: {e}")))?;
        Ok(S3Store {
            store,
            rt,
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            opts,
        })
    }

    fn path(&self, key: &str) -> ObjPath {
        if self.prefix.is_empty() {
            ObjPath::from(key)
        } else {
            ObjPath::from(format!("{}/{key}", self.prefix))
        }
    }

    fn err(&self, action: &str, key: &str, e: object_store::Error) -> Error {
        Error::invalid(format!(
            "cannot {action} s3://{}/{}: {e}: check the endpoint, the bucket and the credentials",
            self.bucket,
            self.path(key)
        ))
    }
}

/// `AWS_PROFILE` (or `default`) from the shared credentials file, as the
/// AWS CLI reads it; object_store reads only the environment.
fn profile_credentials() -> Result<Option<(String, String, Option<String>)>> {
    let file = match std::env::var_os("AWS_SHARED_CREDENTIALS_FILE") {
        Some(f) => std::path::PathBuf::from(f),
        None => match std::env::var_os("HOME") {
            Some(h) => Path::new(&h).join(".aws/credentials"),
            None => return Ok(None),
        },
    };
    let Ok(text) = std::fs::read_to_string(&file) else {
        return Ok(None);
    };
    let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".into());
    let mut in_section = false;
    let (mut id, mut secret, mut token) = (None, None, None);
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_section = name.trim() == profile;
        } else if let (true, Some((k, v))) = (in_section, line.split_once('=')) {
            let v = Some(v.trim().to_string());
            match k.trim() {
                "aws_access_key_id" => id = v,
                "aws_secret_access_key" => secret = v,
                "aws_session_token" => token = v,
                _ => {}
            }
        }
    }
    match (id, secret) {
        (Some(i), Some(s)) => Ok(Some((i, s, token))),
        _ if std::env::var_os("AWS_PROFILE").is_some() => Err(Error::invalid(format!(
            "profile {profile:?} has no aws_access_key_id and aws_secret_access_key"
        ))
        .with_path(file)),
        _ => Ok(None),
    }
}

fn meta(m: &object_store::ObjectMeta) -> Meta {
    Meta {
        size: m.size,
        etag: m.e_tag.clone(),
        modified: m.last_modified.into(),
    }
}

impl Store for S3Store {
    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
            .trim_end_matches('/')
            .to_string()
    }

    fn head(&self, key: &str) -> Result<Option<Meta>> {
        match self.rt.block_on(self.store.head(&self.path(key))) {
            Ok(m) => Ok(Some(meta(&m))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err("read", key, e)),
        }
    }

    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, Meta)>> {
        let path = self.path(key);
        self.rt.block_on(async {
            match self.store.get(&path).await {
                Ok(r) => {
                    let m = meta(&r.meta);
                    let bytes = r.bytes().await.map_err(|e| self.err("read", key, e))?;
                    Ok(Some((bytes.to_vec(), m)))
                }
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(self.err("read", key, e)),
            }
        })
    }

    fn put(&self, key: &str, bytes: &[u8], content_type: &str, cond: Condition) -> Result<Written> {
        let mode = match cond {
            Condition::None => PutMode::Overwrite,
            Condition::Absent => PutMode::Create,
            Condition::Matches(e) => PutMode::Update(UpdateVersion {
                e_tag: Some(e),
                version: None,
            }),
        };
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::ContentType, content_type.to_string().into());
        let opts = PutOptions {
            mode,
            attributes,
            ..Default::default()
        };
        let payload = PutPayload::from(bytes.to_vec());
        match self
            .rt
            .block_on(self.store.put_opts(&self.path(key), payload, opts))
        {
            Ok(_) => Ok(Written::Yes),
            Err(object_store::Error::Precondition { .. })
            | Err(object_store::Error::AlreadyExists { .. }) => Ok(Written::Conflict),
            Err(e) => Err(self.err("write", key, e)),
        }
    }

    fn upload(&self, key: &str, file: &Path, sha256: &str) -> Result<()> {
        let path = self.path(key);
        let size = std::fs::metadata(file).ctx("read", file)?.len();
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::ContentType, "application/zip".into());
        attributes.insert(
            Attribute::Metadata("sha256".into()),
            sha256.to_string().into(),
        );
        let mut f = std::fs::File::open(file).ctx("open", file)?;
        let mut hasher = Sha256::new();
        let mismatch = |got: String| {
            Error::invalid(format!(
                "{} has SHA-256 {got}, not {sha256} as its manifest says: the zip changed after the build; rebuild it",
                file.display()
            ))
        };
        if size <= self.opts.part_size as u64 {
            let mut bytes = Vec::with_capacity(size as usize);
            f.read_to_end(&mut bytes).ctx("read", file)?;
            let got = crate::bootstrap::hex(&Sha256::digest(&bytes));
            if got != sha256 {
                return Err(mismatch(got));
            }
            let opts = PutOptions {
                attributes,
                ..Default::default()
            };
            return self
                .rt
                .block_on(self.store.put_opts(&path, bytes.into(), opts))
                .map(|_| ())
                .map_err(|e| self.err("upload", key, e));
        }
        let mut progress = Progress::new(format!("upload {key}"), size);
        self.rt.block_on(async {
            let opts = PutMultipartOptions {
                attributes,
                ..Default::default()
            };
            let upload = self
                .store
                .put_multipart_opts(&path, opts)
                .await
                .map_err(|e| self.err("start uploading", key, e))?;
            let mut w = WriteMultipart::new_with_chunk_size(upload, self.opts.part_size);
            let mut buf = vec![0u8; 1 << 20];
            let mut done = 0u64;
            let result: Result<()> = async {
                loop {
                    let n = f.read(&mut buf).ctx("read", file)?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                    w.wait_for_capacity(self.opts.concurrency)
                        .await
                        .map_err(|e| self.err("upload", key, e))?;
                    w.write(&buf[..n]);
                    done += n as u64;
                    progress.set(done);
                }
                let got = crate::bootstrap::hex(&hasher.finalize_reset());
                if got != sha256 {
                    return Err(mismatch(got));
                }
                Ok(())
            }
            .await;
            match result {
                Ok(()) => {
                    w.finish().await.map_err(|e| self.err("upload", key, e))?;
                    progress.finish();
                    Ok(())
                }
                Err(e) => {
                    // Nothing becomes visible; the bucket drops the parts.
                    let _ = w.abort().await;
                    Err(e)
                }
            }
        })
    }

    fn content_sha256(&self, key: &str) -> Result<Option<String>> {
        let opts = GetOptions {
            head: true,
            ..Default::default()
        };
        match self.rt.block_on(self.store.get_opts(&self.path(key), opts)) {
            Ok(r) => Ok(r
                .attributes
                .get(&Attribute::Metadata("sha256".into()))
                .map(|v| v.to_string())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err("read", key, e)),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<(String, Meta)>> {
        let base = self.path(prefix.trim_end_matches('/'));
        let items: Vec<object_store::ObjectMeta> = self
            .rt
            .block_on(self.store.list(Some(&base)).try_collect())
            .map_err(|e| self.err("list", prefix, e))?;
        let strip = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        Ok(items
            .iter()
            .map(|m| {
                let key = m.location.as_ref();
                (key.strip_prefix(&strip).unwrap_or(key).to_string(), meta(m))
            })
            .collect())
    }

    fn delete(&self, key: &str) -> Result<()> {
        match self.rt.block_on(self.store.delete(&self.path(key))) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err("delete", key, e)),
        }
    }
}
