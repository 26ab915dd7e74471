//! Reading a published zip back through its public URL the way the Asahi
//! installer does (`src/urlcache.py`): `HEAD` for the length, following
//! redirects on `HEAD` only, then `Range` GETs on the URL's path (query
//! dropped), plus the retry form with an extra `?<random>`.

use crate::error::{Error, IoContext, Result};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

/// Bytes per range read: the installer's block size.
const BLOCK: u64 = 1 << 20;

pub struct Verified {
    pub url: String,
    pub elapsed: Duration,
}

fn fail(url: &str, what: String) -> Error {
    Error::invalid(format!(
        "{url}: {what}: the installer could not download it from there; check the public URL and the server (nothing points at it yet)"
    ))
}

pub fn verify_zip(url: &str, file: &Path, size: u64) -> Result<Verified> {
    let start = Instant::now();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::invalid(format!("cannot start the I/O runtime: {e}")))?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| Error::invalid(format!("cannot start an HTTP client: {e}")))?;
    let mut local = std::fs::File::open(file).ctx("open", file)?;
    let mut local_range = |off: u64, len: u64| -> Result<Vec<u8>> {
        let mut b = vec![0u8; len as usize];
        local.seek(SeekFrom::Start(off)).ctx("read", file)?;
        local.read_exact(&mut b).ctx("read", file)?;
        Ok(b)
    };
    rt.block_on(async {
        let mut target =
            reqwest::Url::parse(url).map_err(|e| fail(url, format!("not a URL: {e}")))?;
        let mut length = None;
        for _ in 0..10 {
            let r = with_retries(|| client.head(target.clone()).send())
                .await
                .map_err(|e| fail(url, format!("HEAD failed: {e}")))?;
            if let Some(loc) = r.headers().get(reqwest::header::LOCATION) {
                let loc = loc.to_str().unwrap_or_default();
                target = target
                    .join(loc)
                    .map_err(|e| fail(url, format!("bad redirect {loc:?}: {e}")))?;
                continue;
            }
            if !r.status().is_success() {
                return Err(fail(url, format!("HEAD answered {}", r.status())));
            }
            length = r
                .headers()
                .get(reqwest::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            break;
        }
        match length {
            Some(l) if l == size => {}
            Some(l) => {
                return Err(fail(
                    url,
                    format!("HEAD says {l} bytes, the zip has {size}"),
                ))
            }
            None => {
                return Err(fail(
                    url,
                    "HEAD gave no Content-Length (or too many redirects)".into(),
                ))
            }
        }
        // The installer requests the path alone, after any HEAD redirect.
        target.set_query(None);
        let n = size.min(BLOCK);
        let checks = [
            (0, None),
            (size - n, None),
            (0, Some(format!("{}", start.elapsed().as_nanos()))),
        ];
        for (off, query) in checks {
            let mut u = target.clone();
            u.set_query(query.as_deref());
            let range = format!("bytes={off}-{}", off + n - 1);
            let r = with_retries(|| client.get(u.clone()).header("Range", &range).send())
                .await
                .map_err(|e| fail(u.as_str(), format!("GET {range} failed: {e}")))?;
            let status = r.status();
            let body = r
                .bytes()
                .await
                .map_err(|e| fail(u.as_str(), format!("GET {range} failed: {e}")))?;
            if status != reqwest::StatusCode::PARTIAL_CONTENT {
                return Err(fail(
                    u.as_str(),
                    format!("GET {range} answered {status}, not 206"),
                ));
            }
            if body[..] != local_range(off, n)?[..] {
                return Err(fail(
                    u.as_str(),
                    format!("GET {range} returned other bytes than the zip's"),
                ));
            }
        }
        Ok(Verified {
            url: target.to_string(),
            elapsed: start.elapsed(),
        })
    })
}

/// HTTP status of a HEAD on `url` (for list entries outside our storage).
pub fn head_status(url: &str) -> Result<u16> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::invalid(format!("cannot start the I/O runtime: {e}")))?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| Error::invalid(format!("cannot start an HTTP client: {e}")))?;
    rt.block_on(async {
        with_retries(|| client.head(url).send())
            .await
            .map(|r| r.status().as_u16())
            .map_err(|e| Error::invalid(format!("{url}: HEAD failed: {e}")))
    })
}

/// A CDN in front of a fresh object may drop a connection or answer 5xx
/// for a moment: a few tries with backoff.
async fn with_retries<F, Fut>(mut f: F) -> reqwest::Result<reqwest::Response>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = reqwest::Result<reqwest::Response>>,
{
    let mut delay = Duration::from_millis(200);
    for _ in 0..5 {
        match f().await {
            Ok(r) if !r.status().is_server_error() => return Ok(r),
            _ => {}
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
    }
    f().await
}
