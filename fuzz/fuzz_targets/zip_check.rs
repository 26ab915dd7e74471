//! The zip reader behind `gen-installer-data check`, then the package check
//! against a spec-shaped entry.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nixos_image_tools::asahi::installer_data::{check::check_package, zip_members::read_zip};
use std::io::Write;

fuzz_target!(|data: &[u8]| {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(data).unwrap();
    if let Ok(members) = read_zip(f.path()) {
        let entry = serde_json::json!({
            "name": "NixOS", "default_os_name": "NixOS", "boot_object": "m1n1.bin",
            "next_object": "m1n1/boot.bin", "package": "p.zip",
            "supported_fw": ["13.5"],
            "partitions": [
                {"name": "EFI", "type": "EFI", "size": "536870912B", "format": "fat",
                 "volume_id": "0x12cea600", "source": "esp",
                 "copy_firmware": true, "copy_installer_data": true},
                {"name": "Root", "type": "Linux", "size": "4096B", "expand": true,
                 "image": "root.img"}]
        });
        let _ = check_package(&entry, &members);
    }
});
