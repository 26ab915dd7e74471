//! Everything that knows the Asahi Linux installer: the package zip and its
//! manifest (`carve-partitions asahi-package`) and `installer_data.json`
//! (`gen-installer-data`). Built on the generic layers (`partition_table`,
//! `fat`, `io`), which never depend on this one.

pub mod installer_data;
pub mod manifest;
pub mod package;

// The installer's contract, in one place. Its code is the reference
// (AsahiLinux/asahi-installer, `src/osinstall.py`, `src/main.py`).

/// The zip directory copied onto the ESP (an entry's `source`).
pub const ESP_SOURCE: &str = "esp";
/// The zip member written raw onto the root partition (an entry's `image`).
pub const ROOT_IMAGE: &str = "root.img";
/// The zip member m1n1 chainloads, relative to the ESP (`next_object`).
pub const NEXT_OBJECT: &str = "m1n1/boot.bin";
/// A partition image's size must be a multiple of this: the installer
/// aborts otherwise ("must be a multiple of 4KiB").
pub const IMAGE_ALIGN: u64 = 4096;
/// Where the installer copies the Mac's own firmware on the ESP.
pub const VENDOR_FW: &str = "vendorfw";

/// Always left out of `esp/`:
/// - `EFI/nixos/.extra-files`: NixOS's bookkeeping of extraFiles, which the
///   earlier packaging dropped too;
/// - [`VENDOR_FW`]: the installer copies the Mac's own firmware there with
///   `shutil.copytree`, which fails (after partitioning) when the directory
///   already exists (osinstall.py, `copy_firmware`).
pub const DEFAULT_EXCLUDES: &[&str] = &["EFI/nixos/.extra-files", VENDOR_FW];

/// The firmware versions the installer's `IPSW_VERSIONS` offers; `supported_fw`
/// values are compared with these as exact strings (`ipsw.version in supported_fw`).
pub const KNOWN_FW: &[&str] = &["12.3", "12.3.1", "13.5", "14.8.3"];

/// Default `supported_fw`: every firmware the NixOS Apple Silicon kernel runs
/// with. `14.8.3` is only ever offered to M3 machines, which NixOS does not
/// support; see the README ("supported_fw") for the installer code paths.
pub const DEFAULT_FW: &[&str] = &["12.3", "12.3.1", "13.5"];

/// Compression methods Python's `zipfile` (the installer's reader) decodes.
pub const READABLE_METHODS: &[(u16, &str)] =
    &[(0, "stored"), (8, "deflate"), (12, "bzip2"), (14, "lzma")];
