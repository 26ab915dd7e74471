//! GPT/MBR reader: any bytes as a disk image. Every partition it accepts
//! lies inside the image and no two overlap.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::io::Write;

fuzz_target!(|data: &[u8]| {
    let mut f = tempfile::tempfile().unwrap();
    f.write_all(data).unwrap();
    let path = std::path::Path::new("fuzz.img");
    for ss in [None, Some(512), Some(4096)] {
        if let Ok(t) = nixos_image_tools::partition_table::read_table_with_sector_size(path, &f, ss)
        {
            let mut ranges: Vec<(u64, u64)> =
                t.partitions.iter().map(|p| (p.offset, p.size)).collect();
            ranges.sort();
            for (o, s) in &ranges {
                assert!(o.checked_add(*s).unwrap() <= data.len() as u64);
            }
            for w in ranges.windows(2) {
                assert!(w[0].0 + w[0].1 <= w[1].0);
            }
        }
    }
});
