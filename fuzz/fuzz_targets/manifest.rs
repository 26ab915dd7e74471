//! The package manifest parser, and the member list taken from it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nixos_image_tools::asahi::installer_data::zip_members::from_manifest;
use nixos_image_tools::asahi::manifest::Manifest;
use std::io::Write;

fuzz_target!(|data: &[u8]| {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(data).unwrap();
    if let Ok(m) = Manifest::read(f.path()) {
        let _ = from_manifest(&m);
        let _ = m.to_json();
    }
});
