//! nixos-image-tools: build partitioned disk images from directory trees,
//! carve them apart, and package them for the Asahi Linux installer,
//! reproducibly and without a VM.
//!
//! The binaries in `src/bin/` are thin front ends (argument parsing and one
//! call) over these modules:
//!
//! | tool                                   | module                       |
//! |----------------------------------------|------------------------------|
//! | `mkimage`                              | [`mkimage`]                  |
//! | `carve-partitions list/extract/unpack` | [`carve`]                    |
//! | `carve-partitions asahi-package`       | [`asahi::package`]           |
//! | `gen-installer-data`                   | [`asahi::installer_data`]    |
//! | `deterministic-copy`                   | [`deterministic_copy`]       |
//! | `publish`                              | [`publish`], [`bootstrap`]   |
//! | `serve`                                | [`serve`], [`bootstrap`]     |
//!
//! Below them, shared by several tools and knowing none: [`partition_table`]
//! (GPT/MBR), [`fat`] (our FAT32 writer, fatfs' reader), [`io`] (atomic
//! outputs, child processes, sparse copies, progress, parallel deflate), and
//! the facts [`error`], [`ids`], [`units`], [`epoch`]. [`asahi`] is the only
//! module that knows the installer; nothing generic depends on it.

pub mod asahi;
pub mod bootstrap;
pub mod carve;
pub mod cli;
pub mod deterministic_copy;
pub mod diag;
pub mod epoch;
pub mod error;
pub mod escape;
pub mod fat;
pub mod guard;
pub mod ids;
pub mod io;
pub mod mkimage;
pub mod partition_table;
pub mod publish;
pub mod serve;
pub mod units;

pub use error::{Error, Result};
