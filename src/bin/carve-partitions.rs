//! carve-partitions: read a disk image's partition table; cut partitions out
//! sparsely, unpack a FAT partition's files, or write the Asahi installer zip.

use clap::{Parser, Subcommand};
use nixos_image_tools::asahi::package::{asahi_package, PackageOptions};
use nixos_image_tools::carve;
use nixos_image_tools::io::deflate::{DeflateOptions, DEFAULT_LEVEL, MAX_LEVEL};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the partitions of a GPT or MBR disk image (512 or 4096-byte sectors).
    List {
        image: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Force the sector size instead of detecting it.
        #[arg(long, value_parser = carve::parse_sector_size)]
        sector_size: Option<u32>,
    },
    /// Copy one partition's bytes to a file, sparsely (holes stay holes).
    Extract {
        image: PathBuf,
        /// Partition: 1-based index, GPT name, or type alias (esp, linux, ...).
        #[arg(long, short)]
        partition: String,
        #[arg(long, short)]
        output: PathBuf,
        #[arg(long, value_parser = carve::parse_sector_size)]
        sector_size: Option<u32>,
    },
    /// Unpack the files of a FAT partition into a new directory.
    Unpack {
        image: PathBuf,
        #[arg(long, short)]
        partition: String,
        #[arg(long, short)]
        output: PathBuf,
        /// Timestamp for every file and directory (default: SOURCE_DATE_EPOCH, else 1).
        #[arg(long)]
        mtime: Option<i64>,
        #[arg(long, value_parser = carve::parse_sector_size)]
        sector_size: Option<u32>,
    },
    /// Write the Asahi installer zip (esp/ + root.img) and its manifest.
    AsahiPackage {
        image: PathBuf,
        /// The ESP (FAT) partition: index, GPT name or type alias.
        #[arg(long)]
        esp: String,
        /// The root filesystem partition: index, GPT name or type alias.
        #[arg(long)]
        root: String,
        #[arg(long, short)]
        output: PathBuf,
        /// Manifest path (default: the zip's name with .manifest.json).
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Leave this path below the ESP root out (repeatable); EFI/nixos/.extra-files always is.
        #[arg(long)]
        exclude: Vec<String>,
        /// Deflate level, 1-12 (libdeflate's; the default was chosen by measurement, see bench/).
        #[arg(long, default_value_t = DEFAULT_LEVEL, value_parser = clap::value_parser!(u32).range(1..=MAX_LEVEL as i64))]
        level: u32,
        /// Compression threads (default: all cores). The zip is the same for any count.
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Also record root.img's SHA-256 in the manifest: hashes the whole
        /// root partition, zeros included, at about a sixth more CPU time.
        #[arg(long)]
        root_sha256: bool,
        #[arg(long, value_parser = carve::parse_sector_size)]
        sector_size: Option<u32>,
    },
}

fn run(cli: Cli) -> nixos_image_tools::Result<()> {
    match cli.command {
        Command::List {
            image,
            json,
            sector_size,
        } => {
            print!("{}", carve::list(&image, sector_size, json)?);
        }
        Command::Extract {
            image,
            partition,
            output,
            sector_size,
        } => {
            carve::extract(&image, &partition, &output, sector_size)?;
        }
        Command::Unpack {
            image,
            partition,
            output,
            mtime,
            sector_size,
        } => {
            carve::unpack(&image, &partition, &output, mtime, sector_size)?;
        }
        Command::AsahiPackage {
            image,
            esp,
            root,
            output,
            manifest,
            exclude,
            level,
            threads,
            root_sha256,
            sector_size,
        } => {
            let opts = PackageOptions {
                esp,
                root,
                output,
                manifest,
                excludes: exclude,
                deflate: DeflateOptions {
                    level,
                    threads,
                    sha256: root_sha256,
                    ..DeflateOptions::default()
                },
                sector_size,
            };
            asahi_package(&image, &opts)?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    nixos_image_tools::cli::main("carve-partitions", run)
}
