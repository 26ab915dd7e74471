//! deterministic-copy: stage a tree (a NixOS closure) reproducibly.
use clap::Parser;
use nixos_image_tools::deterministic_copy::{self, Options};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Copy trees reproducibly: sorted traversal, every time set to one value,
/// modes normalised to 0644/0755 (store paths 0444/0555), symlinks verbatim, hard links kept, no
/// xattrs, no owners. The result appears at DEST only when complete.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    /// closureInfo `store-paths` file: each listed path P is copied to DEST/nix/store/<basename of P>.
    #[arg(long, value_name = "FILE")]
    paths_from: Option<PathBuf>,
    /// Time (seconds since 1970) for every file, directory and symlink
    /// [default: $SOURCE_DATE_EPOCH, else 1].
    #[arg(long, value_name = "EPOCH", value_parser = clap::value_parser!(i64).range(0..))]
    mtime: Option<i64>,
    /// Parallel copy threads [default: CPUs, at most 8]. The result does not depend on it.
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    jobs: Option<u32>,
    /// Sources (a directory's contents are merged into DEST; a file or symlink lands
    /// at DEST/<name>), then DEST, which must not exist.
    #[arg(value_name = "SRC... DEST", required = true)]
    paths: Vec<PathBuf>,
}

fn main() -> ExitCode {
    nixos_image_tools::cli::main("deterministic-copy", run)
}

fn run(mut cli: Cli) -> nixos_image_tools::Result<()> {
    let dest = cli.paths.pop().expect("clap requires at least one path");
    let mtime = match cli.mtime {
        Some(t) => t,
        None => nixos_image_tools::epoch::source_date_epoch_or(1)?,
    };
    let terminal = std::io::stderr().is_terminal();
    let report = deterministic_copy::run(&Options {
        sources: cli.paths,
        paths_from: cli.paths_from,
        dest,
        mtime,
        jobs: cli
            .jobs
            .map_or_else(deterministic_copy::default_jobs, |j| j as usize),
        progress: terminal,
    })?;
    if terminal {
        nixos_image_tools::diag::note(report);
    }
    Ok(())
}
