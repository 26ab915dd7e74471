//! FAT filesystems: `write` formats a FAT32 filesystem from a directory tree
//! (our own writer: see its module docs for why), `read` lists and extracts
//! files with the fatfs crate, whose reading side is correct.

pub mod read;
pub mod write;
