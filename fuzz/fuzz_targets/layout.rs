//! The mkimage layout parser and validator: sizes and offsets from the
//! layout must be checked, never wrap.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nixos_image_tools::mkimage::layout::Layout;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Layout::parse(Path::new("layout.json"), text, Path::new("/nonexistent"));
    }
});
