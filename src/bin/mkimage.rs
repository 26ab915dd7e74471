//! mkimage: build a partitioned disk image from a JSON layout.
use clap::Parser;
use std::path::PathBuf;

/// Build a partitioned disk image (GPT or MBR; FAT32, ext4, btrfs, raw) from
/// a JSON layout, reproducibly, without root, loop devices or a VM.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// The layout (JSON, keys camelCase; see the README).
    #[arg(long)]
    layout: PathBuf,
    /// The disk image to write (sparse; appears only when complete).
    #[arg(long)]
    output: PathBuf,
    /// Also write a JSON report of what was built.
    #[arg(long)]
    report: Option<PathBuf>,
}

fn main() -> std::process::ExitCode {
    nixos_image_tools::cli::main("mkimage", run)
}

fn run(a: Args) -> nixos_image_tools::Result<()> {
    nixos_image_tools::mkimage::run(&nixos_image_tools::mkimage::Options {
        layout: &a.layout,
        output: &a.output,
        report: a.report.as_deref(),
    })
}
