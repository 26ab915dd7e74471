//! Parallel deflate join: any bytes, any chunking, any write pattern, level
//! and thread count inflate back to the input, with the CRC and size the
//! summary reports. And the join's walk, given any bytes as a stream,
//! returns an error or a result, never panics, alone or two streams at once.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nixos_image_tools::io::deflate::{deflate_range, join, ChunkedDeflate, DeflateOptions};
use std::io::Write;

fn inflate(z: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let n = libdeflater::Decompressor::new()
        .deflate_decompress(z, &mut out)
        .expect("the joined stream inflates");
    assert_eq!(n, len);
    out
}

fuzz_target!(|data: &[u8]| {
    let _ = join::make_joinable(&mut data.to_vec());
    let (a, b) = data.split_at(data.len() / 2);
    match (join::walk(a), join::walk(b)) {
        (Ok(x), Ok(y)) => assert_eq!(join::walk_pair(a, b).unwrap(), [x, y]),
        _ => assert!(join::walk_pair(a, b).is_err()),
    }
    if data.len() < 4 {
        return;
    }
    let (head, input) = data.split_at(4);
    let opts = DeflateOptions {
        level: 1 + u32::from(head[0]) % 12,
        threads: 1 + usize::from(head[1] % 3),
        chunk_size: 1 + usize::from(u16::from_le_bytes([head[2], head[3]])),
        sha256: head[1] & 0x80 != 0,
    };
    // Streamed, in writes of a size taken from the input.
    let step = 1 + usize::from(head[2] % 97);
    let mut enc = ChunkedDeflate::new(Vec::new(), &opts).unwrap();
    for piece in input.chunks(step) {
        enc.write_all(piece).unwrap();
    }
    let z = enc.finish().unwrap();
    assert_eq!(inflate(&z, input.len()), input);
    // From a file, on worker threads.
    let mut f = tempfile::tempfile().unwrap();
    f.write_all(input).unwrap();
    let mut z = Vec::new();
    let s = deflate_range(&f, 0, input.len() as u64, &mut z, &opts, &mut |_| {}).unwrap();
    assert_eq!(s.uncompressed, input.len() as u64);
    assert_eq!(s.crc32, crc(input));
    assert_eq!(inflate(&z, input.len()), input);
});

fn crc(b: &[u8]) -> u32 {
    let mut c = libdeflater::Crc::new();
    c.update(b);
    c.sum()
}
