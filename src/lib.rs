//! nixos-image-tools: build partitioned disk images from directory trees,
//! carve them apart, and package them for the Asahi Linux installer,
//! reproducibly and without a VM.
//!
//! The binaries in `src/bin/` are thin front ends over these modules.

pub mod asahi;
pub mod carve;
pub mod cli;
pub mod deterministic_copy;
pub mod epoch;
pub mod error;
pub mod escape;
pub mod fat;
pub mod guard;
pub mod ids;
pub mod io;
pub mod mkimage;
pub mod partition_table;
pub mod units;

pub use error::{Error, Result};
