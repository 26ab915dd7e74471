//! gen-installer-data: build, merge and check `installer_data.json` for the
//! Asahi Linux installer.

use clap::{Parser, Subcommand};
use nixos_image_tools::asahi::installer_data::{check, entry, merge};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "gen-installer-data",
    version,
    about = "Build, merge and check installer_data.json for the Asahi Linux installer"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write one os_list entry for a package, from its manifest.
    Entry {
        /// The manifest carve-partitions asahi-package wrote next to the zip.
        #[arg(long)]
        manifest: PathBuf,
        /// Package name, e.g. nixos-asahi.
        #[arg(long)]
        name: String,
        /// Package version, e.g. 0.2.0.
        #[arg(long)]
        version: String,
        /// Root filesystem of the package.
        #[arg(long, value_enum)]
        fs: entry::RootFs,
        /// Absolute http(s) URL of the zip; if it ends with "/", the manifest's
        /// file name is appended. A bare file name is resolved by the installer
        /// as $REPO_BASE/os/<name>.
        #[arg(long)]
        package_url: String,
        /// Menu text [default: "<default-os-name> (<name>-<version>-<fs>)"].
        #[arg(long)]
        display_name: Option<String>,
        /// Default name of the installed OS (volume names).
        #[arg(long, default_value = "NixOS")]
        default_os_name: String,
        /// ESP volume id, e.g. 0x12cea600 [default: derived from <name>-<version>-<fs>].
        #[arg(long)]
        volume_id: Option<String>,
        /// Firmware versions the OS supports, comma-separated, from 12.3, 12.3.1,
        /// 13.5, 14.8.3 [default: 12.3,12.3.1,13.5].
        #[arg(long, value_delimiter = ',')]
        supported_fw: Option<Vec<String>>,
        /// Zip member shown as the OS icon (.icns).
        #[arg(long)]
        icon: Option<String>,
        /// Where to write the entry (JSON).
        #[arg(long)]
        output: PathBuf,
    },
    /// Merge entries (first = newest) into an installer_data.json, replacing
    /// entries for the same package.
    Merge {
        /// The installer_data.json to update (created if missing).
        #[arg(long)]
        into: PathBuf,
        /// Entry files written by `entry`, newest first.
        #[arg(required = true)]
        entries: Vec<PathBuf>,
        /// Keep only the newest N entries.
        #[arg(long)]
        keep: Option<usize>,
    },
    /// Report what the installer would trip on in an installer_data.json
    /// (and, with --package, in the zip).
    Check {
        /// The installer_data.json to check.
        file: PathBuf,
        /// The package zip of an entry (matched by file name).
        #[arg(long)]
        package: Option<PathBuf>,
    },
}

fn main() -> std::process::ExitCode {
    nixos_image_tools::cli::main("gen-installer-data", run)
}

fn run(cli: Cli) -> nixos_image_tools::Result<()> {
    match cli.command {
        Command::Entry {
            manifest,
            name,
            version,
            fs,
            package_url,
            display_name,
            default_os_name,
            volume_id,
            supported_fw,
            icon,
            output,
        } => entry::run(
            &manifest,
            &entry::EntryOptions {
                name,
                version,
                fs,
                package_url,
                display_name,
                default_os_name,
                volume_id,
                supported_fw,
                icon,
            },
            &output,
        )?,
        Command::Merge {
            into,
            entries,
            keep,
        } => print!("{}", merge::run(&into, &entries, keep)?),
        Command::Check { file, package } => print!("{}", check::run(&file, package.as_deref())?),
    }
    Ok(())
}
