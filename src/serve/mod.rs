//! `serve`: install from the machine that built the package, no bucket. An
//! HTTP server over build results with what the installer reads:
//! `installer_data.json`, the zips under `os/` (`HEAD`, `Range` → 206,
//! query strings ignored) and the bootstrap script at `/install`.

use crate::asahi::installer_data::to_json_text;
use crate::bootstrap::{self, InstallerPin};
use crate::error::{Error, IoContext, Result};
use crate::publish::build_result::BuildResult;
use crate::publish::list;
use axum::extract::Request;
use axum::http::header::{CONTENT_TYPE, RANGE};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use tower_http::services::ServeFile;

/// Where the script gets the installer from.
pub enum InstallerSource {
    /// A tarball on this machine, served at `/installer.tar.gz`.
    File(PathBuf),
    Pin(InstallerPin),
}

pub struct Options {
    pub listen: SocketAddr,
    /// The URL the Mac reaches us at [default: from the host name].
    pub public_url: Option<String>,
    pub installer: InstallerSource,
}

/// `http://<host name>[.local]:port` for a wildcard address, else the address.
fn default_url(addr: SocketAddr) -> String {
    if !addr.ip().is_unspecified() {
        return format!("http://{addr}");
    }
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let name = ok
        .then(|| {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            String::from_utf8_lossy(&buf[..end]).into_owned()
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "localhost".into());
    // A bare name is reachable from the Mac through mDNS as <name>.local.
    let name = if name.contains('.') {
        name
    } else {
        format!("{name}.local")
    };
    format!("http://{name}:{}", addr.port())
}

async fn log(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let uri = req.uri().clone();
    let range = req
        .headers()
        .get(RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|r| format!(" {r}"))
        .unwrap_or_default();
    let res = next.run(req).await;
    crate::diag::note(format_args!(
        "{method} {uri}{range} → {}",
        res.status().as_u16()
    ));
    res
}

fn text(body: String, content_type: &'static str) -> Response {
    Response::builder()
        .header(CONTENT_TYPE, content_type)
        .body(body.into())
        .expect("static headers are valid")
}

pub fn run(results: &[BuildResult], opts: Options) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::invalid(format!("cannot start the I/O runtime: {e}")))?;
    rt.block_on(serve(results, opts))
}

async fn serve(results: &[BuildResult], opts: Options) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| {
            Error::invalid(format!(
                "cannot listen on {}: {e}: pick another --listen address or port",
                opts.listen
            ))
        })?;
    let addr = listener
        .local_addr()
        .ctx("read the address of", "the listening socket")?;
    let base = opts
        .public_url
        .clone()
        .unwrap_or_else(|| default_url(addr))
        .trim_end_matches('/')
        .to_string();
    bootstrap::check_url(&base, "--public-url")?;

    let mut app = Router::new();
    let mut entries = Vec::new();
    for r in results {
        let name = r.published_name();
        app = app.route_service(&format!("/os/{name}"), ServeFile::new(&r.zip));
        entries.push(r.published_entry(&name));
    }
    let data = list::merge(json!({"os_list": []}), entries, None)?;
    let pin = match opts.installer {
        InstallerSource::Pin(pin) => pin,
        InstallerSource::File(path) => {
            let bytes = std::fs::read(&path).ctx("read", &path)?;
            app = app.route_service("/installer.tar.gz", ServeFile::new(&path));
            InstallerPin::for_bytes(&format!("{base}/installer.tar.gz"), &bytes)?
        }
    };
    let script = bootstrap::render("serve", &base, &pin, &data)?;
    let data = to_json_text(&data);
    app = app
        .route(
            "/installer_data.json",
            get(move || async move { text(data, "application/json") }),
        )
        .route(
            "/install",
            get(move || async move { text(script, "text/plain; charset=utf-8") }),
        )
        .layer(middleware::from_fn(log));

    crate::diag::note(format_args!(
        "listening on {addr}, serving {} package(s) at {base}",
        results.len()
    ));
    crate::diag::note(format_args!(
        "installer {} (SHA-256 {})",
        pin.url, pin.sha256
    ));
    // The one line for the user, on stdout alone.
    println!("{}", bootstrap::one_liner(&base));
    axum::serve(listener, app)
        .with_graceful_shutdown(stop_signal())
        .await
        .map_err(|e| Error::invalid(format!("the server failed: {e}")))?;
    crate::diag::note("stopped");
    Ok(())
}

async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
}
