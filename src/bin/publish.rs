//! publish: put build results on S3-compatible storage or in a directory a
//! web server serves, for the Asahi Linux installer; `publish gc` removes
//! zips nothing points at any more.

use clap::{Args, Parser, Subcommand};
use nixos_image_tools::bootstrap::{self, InstallerPin, DEFAULT_INSTALLER_URL};
use nixos_image_tools::error::Result;
use nixos_image_tools::publish::build_result::BuildResult;
use nixos_image_tools::publish::local::LocalStore;
use nixos_image_tools::publish::s3::{S3Options, S3Store};
use nixos_image_tools::publish::store::Store;
use nixos_image_tools::publish::{self, gc};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "publish",
    version,
    args_conflicts_with_subcommands = true,
    about = "Publish NixOS packages for the Asahi Linux installer to S3-compatible storage or a directory"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    push: Push,
}

#[derive(Subcommand)]
enum Command {
    /// Delete zips that neither the live list nor a recent snapshot names.
    Gc {
        #[command(flatten)]
        dest: Destination,
        /// Keep zips younger than this many days (a publish may be about to list them).
        #[arg(long, default_value_t = 7)]
        grace_days: u64,
        /// Zips named by snapshots younger than this many days are kept.
        #[arg(long, default_value_t = 30)]
        snapshot_days: u64,
        /// Print what would be deleted; delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct Push {
    /// Build results: package output directories (zip, manifest and
    /// installer_data entry), or their zips; the first becomes the newest entry.
    results: Vec<PathBuf>,
    #[command(flatten)]
    dest: Option<Destination>,
    /// The URL the destination is served from (REPO_BASE), e.g. https://cdn.example.org/nixos.
    #[arg(long)]
    public_url: Option<String>,
    /// Keep the newest N entries of each variant (name and filesystem).
    #[arg(long)]
    keep: Option<usize>,
    /// The asahi-installer release the bootstrap script runs.
    #[arg(long, default_value = DEFAULT_INSTALLER_URL)]
    installer_url: String,
    /// Its SHA-256 [default: of what --installer-url serves now].
    #[arg(long)]
    installer_sha256: Option<String>,
    /// Print the plan; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print what was done as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Clone)]
struct Destination {
    /// s3://bucket[/prefix] (credentials from AWS_* or AWS_PROFILE) or a directory.
    #[arg(long = "to", id = "to")]
    to: String,
    /// S3 endpoint URL, for R2, MinIO and others [default: AWS_ENDPOINT or AWS].
    #[arg(long)]
    endpoint: Option<String>,
    /// S3 region [default: AWS_REGION / AWS_DEFAULT_REGION].
    #[arg(long)]
    region: Option<String>,
    /// Multipart part size in MiB (memory use is about (concurrency + 1) parts).
    #[arg(long, default_value_t = 16)]
    part_size_mib: usize,
    /// Parts uploaded at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// The slowest upload, in KiB/s, that must not time out; with the part
    /// size and concurrency it sets each request's timeout.
    #[arg(long, default_value_t = 256)]
    min_upload_kib_per_s: u64,
}

fn open(d: &Destination) -> Result<Box<dyn Store>> {
    if d.to.starts_with("s3://") {
        Ok(Box::new(S3Store::new(S3Options {
            url: d.to.clone(),
            endpoint: d.endpoint.clone(),
            region: d.region.clone(),
            part_size: d.part_size_mib.max(5) << 20,
            concurrency: d.concurrency.max(1),
            min_rate: d.min_upload_kib_per_s << 10,
        })?))
    } else {
        Ok(Box::new(LocalStore::new(std::path::Path::new(&d.to))?))
    }
}

fn print_json(v: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).expect("reports serialise")
    );
}

fn push(p: Push) -> Result<()> {
    use nixos_image_tools::Error;
    let dest = p
        .dest
        .as_ref()
        .ok_or_else(|| Error::invalid("--to is required: an s3:// URL or a directory"))?;
    let public_url = p.public_url.as_deref().ok_or_else(|| {
        Error::invalid("--public-url is required: the URL the destination is served from")
    })?;
    let public_url = public_url.trim_end_matches('/').to_string();
    bootstrap::check_url(&public_url, "--public-url")?;
    if p.results.is_empty() {
        return Err(Error::invalid(
            "no build results given: pass package outputs (result directories)",
        ));
    }
    if p.keep == Some(0) {
        return Err(Error::invalid(
            "--keep 0 would publish an empty list: keep at least 1",
        ));
    }
    let results = p
        .results
        .iter()
        .map(|r| BuildResult::load(r))
        .collect::<Result<Vec<_>>>()?;
    let pin = match &p.installer_sha256 {
        Some(sha) => InstallerPin::new(&p.installer_url, sha)?,
        None => bootstrap::pin_by_download(&p.installer_url)?,
    };
    let store = open(dest)?;
    let opts = publish::Options {
        public_url,
        keep: p.keep,
        dry_run: p.dry_run,
        pin,
    };
    let report = publish::run(store.as_ref(), &results, &opts)?;
    if p.json {
        print_json(&report);
    } else {
        publish::print_report(&report);
    }
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        None => push(cli.push),
        Some(Command::Gc {
            dest,
            grace_days,
            snapshot_days,
            dry_run,
            json,
        }) => {
            let store = open(&dest)?;
            let day = Duration::from_secs(86_400);
            let report = gc::run(
                store.as_ref(),
                day * grace_days as u32,
                day * snapshot_days as u32,
                dry_run,
            )?;
            if json {
                print_json(&report);
            } else {
                let verb = if dry_run { "would delete" } else { "deleted" };
                println!(
                    "{verb} {} zip(s), kept {} named and {} younger than {grace_days} days",
                    report.deleted.len(),
                    report.kept_named,
                    report.kept_young.len()
                );
                for k in &report.deleted {
                    println!("  {k}");
                }
            }
            Ok(())
        }
    }
}

fn main() -> std::process::ExitCode {
    nixos_image_tools::cli::main("publish", run)
}
