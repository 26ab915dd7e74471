//! FAT reader: any bytes as an ESP partition; open, walk, copy every file.
//! Bounded: the bytes copied never exceed the partition (no loops, no
//! shared clusters), which libFuzzer's -timeout and -rss_limit_mb enforce
//! in time and memory.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nixos_image_tools::fat::read as fatread;
use std::io::Write;

struct Count(u64);
impl Write for Count {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let mut f = tempfile::tempfile().unwrap();
    f.write_all(data).unwrap();
    let path = std::path::Path::new("fuzz.img");
    let Ok(fs) = fatread::open(path, &f, 0, data.len() as u64, "partition 1") else {
        return;
    };
    let Ok(entries) = fatread::list(&fs, path) else {
        return;
    };
    assert!(entries.len() as u64 <= data.len() as u64 / 32);
    let mut out = Count(0);
    for e in entries.iter().filter(|e| !e.is_dir) {
        let _ = fatread::copy_file(path, e, &mut out, path);
    }
    assert!(
        out.0 <= data.len() as u64,
        "{} bytes out of {}",
        out.0,
        data.len()
    );
});
