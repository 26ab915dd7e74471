//! What `publish` needs from a destination: a few object operations with
//! compare-and-swap on small objects. One implementation per backend
//! ([`super::local`], [`super::s3`]).

use crate::error::Result;
use std::path::Path;
use std::time::SystemTime;

#[derive(Clone, Debug)]
pub struct Meta {
    pub size: u64,
    /// Opaque version tag for conditional writes (an HTTP ETag on S3).
    pub etag: Option<String>,
    pub modified: SystemTime,
}

/// Condition of a small write.
#[derive(Clone, Debug)]
pub enum Condition {
    /// Write whatever is there.
    None,
    /// Only if the key does not exist (`If-None-Match: *`).
    Absent,
    /// Only if the key still has this ETag (`If-Match`).
    Matches(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    Yes,
    /// Someone else wrote first: read again and retry.
    Conflict,
}

pub trait Store {
    /// For messages: `s3://bucket/prefix` or a directory.
    fn describe(&self) -> String;
    fn head(&self, key: &str) -> Result<Option<Meta>>;
    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, Meta)>>;
    fn put(&self, key: &str, bytes: &[u8], content_type: &str, cond: Condition) -> Result<Written>;
    /// Upload a large file; the key appears only once complete. Fails, with
    /// nothing written, unless the bytes read have SHA-256 `sha256`.
    fn upload(&self, key: &str, file: &Path, sha256: &str) -> Result<()>;
    /// The SHA-256 of a zip written by [`Store::upload`] (`None`: not known).
    fn content_sha256(&self, key: &str) -> Result<Option<String>>;
    /// Keys under `prefix` with their metadata.
    fn list(&self, prefix: &str) -> Result<Vec<(String, Meta)>>;
    fn delete(&self, key: &str) -> Result<()>;
}
