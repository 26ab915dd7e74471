//! serve: install from the machine that built the package. Serves build
//! results and the bootstrap script over HTTP and prints the line to run on
//! the Mac.

use clap::Parser;
use nixos_image_tools::bootstrap::{self, InstallerPin, DEFAULT_INSTALLER_URL};
use nixos_image_tools::error::Result;
use nixos_image_tools::publish::build_result::BuildResult;
use nixos_image_tools::serve::{self, InstallerSource};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "serve",
    version,
    about = "Serve NixOS packages to the Asahi Linux installer over HTTP; prints `curl -fsSL http://HOST:PORT/install | sh`"
)]
struct Cli {
    /// Build results: package output directories or their zips, newest first.
    #[arg(required = true)]
    results: Vec<PathBuf>,
    /// Address and port to listen on (port 0: any free port).
    #[arg(long, default_value = "0.0.0.0:8080")]
    listen: SocketAddr,
    /// The URL the Mac reaches this server at [default: http://<host name>.local:<port>].
    #[arg(long)]
    public_url: Option<String>,
    /// The asahi-installer release the bootstrap script runs.
    #[arg(long, default_value = DEFAULT_INSTALLER_URL, conflicts_with = "installer_file")]
    installer_url: String,
    /// Its SHA-256 [default: of what --installer-url serves now].
    #[arg(long, conflicts_with = "installer_file")]
    installer_sha256: Option<String>,
    /// An installer tarball on this machine, served at /installer.tar.gz and pinned.
    #[arg(long)]
    installer_file: Option<PathBuf>,
}

fn run(cli: Cli) -> Result<()> {
    let results = cli
        .results
        .iter()
        .map(|r| BuildResult::load(r))
        .collect::<Result<Vec<_>>>()?;
    let installer = match (cli.installer_file, cli.installer_sha256) {
        (Some(f), _) => InstallerSource::File(f),
        (None, Some(sha)) => InstallerSource::Pin(InstallerPin::new(&cli.installer_url, &sha)?),
        (None, None) => InstallerSource::Pin(bootstrap::pin_by_download(&cli.installer_url)?),
    };
    serve::run(
        &results,
        serve::Options {
            listen: cli.listen,
            public_url: cli.public_url,
            installer,
        },
    )
}

fn main() -> std::process::ExitCode {
    nixos_image_tools::cli::main("serve", run)
}
