//! installer_data.json: any bytes through the JSON parser and every check.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nixos_image_tools::asahi::installer_data::check::{check_data, package_ref_problem};

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        for p in check_data(&v) {
            assert!(!nixos_image_tools::escape::line(&p).contains('\n'));
        }
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = package_ref_problem(s);
        let _ = nixos_image_tools::asahi::installer_data::parse_installer_size(s);
    }
});
