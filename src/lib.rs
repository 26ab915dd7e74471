//! nixos-image-tools: build partitioned disk images from directory trees,
//! carve them apart, and package them for the Asahi Linux installer,
//! reproducibly and without a VM.
//!
//! The binaries in `src/bin/` are thin front ends over these modules.

pub mod bootstrap;
pub mod carve;
pub mod deflate_join;
pub mod deflate_parallel;
pub mod deterministic_copy;
pub mod epoch;
pub mod error;
pub mod fat;
pub mod ids;
pub mod installer_data;
pub mod layout;
pub mod manifest;
pub mod mkimage;
pub mod output;
pub mod package;
pub mod partition_table;
pub mod progress;
pub mod publish;
pub mod serve;
pub mod sparse;
pub mod units;
pub mod xattr;

pub use error::{Error, Result};
