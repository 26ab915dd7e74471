//! Everything that knows the Asahi Linux installer: the package zip and its
//! manifest (`carve-partitions asahi-package`) and `installer_data.json`
//! (`gen-installer-data`). Built on the generic layers (`partition_table`,
//! `fat`, `io`), which never depend on this one.

pub mod installer_data;
pub mod manifest;
pub mod package;
