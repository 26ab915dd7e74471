//! Deflate one large byte range on all cores into a single raw deflate stream.
//!
//! The range is cut into fixed-size chunks; each chunk is compressed on its
//! own by libdeflate (no shared dictionary) and made joinable (see
//! [`join`]: the final-block bit cleared, an empty stored block
//! appended, as a zlib sync flush ends), so the pieces concatenate into one
//! valid stream that ends with an empty final block. CRC-32s are combined;
//! the SHA-256, when asked for, is computed in order. Because every chunk's bytes depend only
//! on its data and the level, the output is identical for any thread count.
//!
//! libdeflate rather than zlib(-rs): on this project's benchmark input it
//! is about 40% faster at a slightly better ratio (bench/, README).
//!
//! Holes (SEEK_HOLE) are never read, and all-zero chunks are not compressed:
//! both reuse one precomputed compressed zero chunk.

pub mod join;

use join::make_joinable;
use libdeflater::{CompressionLvl, Compressor};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

/// An empty final block with fixed Huffman codes: BFINAL=1, BTYPE=01, EOB.
const FINAL_BLOCK: [u8; 2] = [0x03, 0x00];

#[derive(Clone, Debug)]
pub struct DeflateOptions {
    /// zlib level 0-9.
    pub level: u32,
    /// Worker threads; 0 means all available cores.
    pub threads: usize,
    pub chunk_size: usize,
    /// Also hash the whole range, zero runs and holes included (SHA-256
    /// cannot skip them): on one thread, about a sixth of the CPU time of
    /// a mostly empty root partition, so only on request.
    pub sha256: bool,
}

impl Default for DeflateOptions {
    fn default() -> Self {
        DeflateOptions {
            level: DEFAULT_LEVEL,
            threads: 0,
            chunk_size: 1 << 20,
            sha256: false,
        }
    }
}

/// Chosen by measurement (bench/): see the README's performance section.
pub const DEFAULT_LEVEL: u32 = 3;

/// libdeflate's levels.
pub const MAX_LEVEL: u32 = 12;

fn compressor(level: u32) -> io::Result<Compressor> {
    let lvl = CompressionLvl::new(level as i32).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("deflate level {level} is not one of 0..={MAX_LEVEL}"),
        )
    })?;
    Ok(Compressor::new(lvl))
}

#[derive(Clone, Debug)]
pub struct DeflateSummary {
    pub crc32: u32,
    pub uncompressed: u64,
    pub compressed: u64,
    /// With [`DeflateOptions::sha256`].
    pub sha256: Option<[u8; 32]>,
    /// Bytes never read because they were holes in the source.
    pub hole_bytes: u64,
}

pub fn effective_threads(requested: usize) -> usize {
    if requested > 0 {
        requested
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

enum Payload {
    /// All zeros (a hole, or data that reads as zeros).
    Zero,
    Data(Vec<u8>),
}

struct Job {
    seq: u64,
    len: usize,
    payload: Payload,
}

struct Done {
    seq: u64,
    len: usize,
    compressed: Arc<Vec<u8>>,
    crc: crc32fast::Hasher,
    /// The uncompressed data (for SHA-256), returned to the pool afterwards.
    data: Option<Vec<u8>>,
}

/// Compress `[offset, offset + len)` of `src` into `out` as one raw deflate
/// stream. `progress` is called with the number of input bytes done.
pub fn deflate_range(
    src: &File,
    offset: u64,
    len: u64,
    out: &mut dyn Write,
    opts: &DeflateOptions,
    progress: &mut dyn FnMut(u64),
) -> io::Result<DeflateSummary> {
    let threads = effective_threads(opts.threads);
    let chunk = opts.chunk_size.max(4096);
    let extents = crate::io::sparse::data_extents(src, offset, len)?;
    let zero = ZeroChunks::new(opts.level, chunk)?;

    let (job_tx, job_rx) = sync_channel::<Job>(threads * 2);
    let (done_tx, done_rx) = sync_channel::<io::Result<Done>>(threads * 2);
    let (pool_tx, pool_rx) = sync_channel::<Vec<u8>>(threads * 4 + 2);
    for _ in 0..threads * 4 + 2 {
        pool_tx.send(vec![0u8; chunk]).expect("pool has room");
    }
    let job_rx = Arc::new(Mutex::new(job_rx));

    std::thread::scope(|s| {
        let reader_done = done_tx.clone();
        let pool_back = pool_tx.clone();
        s.spawn(move || {
            let pool = (&pool_rx, &pool_back);
            if let Err(e) = read_chunks(src, offset, len, chunk, &extents, pool, &job_tx) {
                let _ = reader_done.send(Err(e));
            }
        });
        for _ in 0..threads {
            let job_rx = Arc::clone(&job_rx);
            let done_tx = done_tx.clone();
            let zero = zero.clone();
            let level = opts.level;
            s.spawn(move || compress_jobs(&job_rx, &done_tx, level, &zero));
        }
        drop(done_tx);
        let sha = opts.sha256.then(Sha256::new);
        write_in_order(done_rx, out, &pool_tx, len, chunk, sha, progress)
    })
}

/// Reader: classify each chunk as hole, zero or data, reading only data extents.
fn read_chunks(
    src: &File,
    offset: u64,
    len: u64,
    chunk: usize,
    extents: &[(u64, u64)],
    pool: (&Receiver<Vec<u8>>, &SyncSender<Vec<u8>>),
    jobs: &SyncSender<Job>,
) -> io::Result<()> {
    let mut ext = 0usize;
    let mut seq = 0u64;
    let mut pos = 0u64;
    while pos < len {
        let n = (len - pos).min(chunk as u64) as usize;
        let (start, end) = (offset + pos, offset + pos + n as u64);
        while ext < extents.len() && extents[ext].0 + extents[ext].1 <= start {
            ext += 1;
        }
        let has_data = ext < extents.len() && extents[ext].0 < end;
        let payload = if has_data {
            let mut buf = match pool.0.recv() {
                Ok(b) => b,
                Err(_) => return Ok(()), // writer stopped: it reports why
            };
            buf.resize(n, 0);
            src.read_exact_at(&mut buf, start)?;
            if is_zero(&buf) {
                let _ = pool.1.send(buf);
                Payload::Zero
            } else {
                Payload::Data(buf)
            }
        } else {
            Payload::Zero
        };
        if jobs
            .send(Job {
                seq,
                len: n,
                payload,
            })
            .is_err()
        {
            return Ok(());
        }
        seq += 1;
        pos += n as u64;
    }
    Ok(())
}

fn is_zero(buf: &[u8]) -> bool {
    // SAFETY: every bit pattern is a valid u128.
    let (head, words, tail) = unsafe { buf.align_to::<u128>() };
    head.iter().all(|&b| b == 0) && words.iter().all(|&w| w == 0) && tail.iter().all(|&b| b == 0)
}

/// Worker: compress data chunks, and walk them (see [`join`]) two at a
/// time when a second is waiting: the walks of two chunks in one loop take
/// two thirds of the time of walking them one after the other.
fn compress_jobs(
    jobs: &Mutex<Receiver<Job>>,
    done: &SyncSender<io::Result<Done>>,
    level: u32,
    zero: &ZeroChunks,
) {
    let mut c = match compressor(level) {
        Ok(c) => c,
        Err(e) => {
            let _ = done.send(Err(e));
            return;
        }
    };
    let mut scratch = Vec::new();
    let send = |done_or: io::Result<Done>| done.send(done_or).is_ok();
    loop {
        let Ok(job) = jobs.lock().expect("job queue lock").recv() else {
            return;
        };
        let Payload::Data(data) = job.payload else {
            if !send(Ok(zero_done(&job, zero))) {
                return;
            }
            continue;
        };
        // A second data chunk if one is waiting; zero chunks met on the way
        // are sent at once.
        let mut second = None;
        while let Ok(next) = jobs.lock().expect("job queue lock").try_recv() {
            match next.payload {
                Payload::Data(data) => {
                    second = Some((next.seq, next.len, data));
                    break;
                }
                Payload::Zero => {
                    if !send(Ok(zero_done(&next, zero))) {
                        return;
                    }
                }
            }
        }
        let first = (job.seq, job.len, data);
        let sent = match second {
            Some(second) => match compress_pair(&mut c, &mut scratch, first, second) {
                Ok([a, b]) => send(Ok(a)) && send(Ok(b)),
                Err(e) => send(Err(e)),
            },
            None => send(compress_one(&mut c, &mut scratch, first)),
        };
        if !sent {
            return;
        }
    }
}

fn zero_done(job: &Job, zero: &ZeroChunks) -> Done {
    let (bytes, crc) = zero.get(job.len);
    Done {
        seq: job.seq,
        len: job.len,
        compressed: bytes,
        crc,
        data: None,
    }
}

type DataJob = (u64, usize, Vec<u8>);

fn compress_one(c: &mut Compressor, scratch: &mut Vec<u8>, job: DataJob) -> io::Result<Done> {
    let bytes = compress_chunk(c, &job.2, scratch)?;
    Ok(data_done(job, bytes))
}

fn compress_pair(
    c: &mut Compressor,
    scratch: &mut Vec<u8>,
    a: DataJob,
    b: DataJob,
) -> io::Result<[Done; 2]> {
    let mut x = compress_raw(c, &a.2, scratch)?;
    let mut y = compress_raw(c, &b.2, scratch)?;
    join::make_joinable_pair(&mut x, &mut y).map_err(io::Error::other)?;
    Ok([data_done(a, x), data_done(b, y)])
}

fn data_done((seq, len, data): DataJob, compressed: Vec<u8>) -> Done {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&data);
    Done {
        seq,
        len,
        compressed: Arc::new(compressed),
        crc,
        data: Some(data),
    }
}

/// Raw-deflate one chunk on its own, ending like a sync flush.
fn compress_chunk(c: &mut Compressor, data: &[u8], scratch: &mut Vec<u8>) -> io::Result<Vec<u8>> {
    let mut out = compress_raw(c, data, scratch)?;
    make_joinable(&mut out).map_err(io::Error::other)?;
    Ok(out)
}

/// libdeflate's complete stream for `data`. `scratch` is the compressor's
/// output buffer, kept by the caller: zeroing a new one for every chunk
/// cost more than copying out what was written.
fn compress_raw(c: &mut Compressor, data: &[u8], scratch: &mut Vec<u8>) -> io::Result<Vec<u8>> {
    let bound = c.deflate_compress_bound(data.len());
    if scratch.len() < bound {
        scratch.resize(bound, 0);
    }
    let n = c
        .deflate_compress(data, scratch)
        .map_err(|e| io::Error::other(format!("libdeflate: {e:?}")))?;
    // Room for the empty stored block the join appends.
    let mut out = Vec::with_capacity(n + 5);
    out.extend_from_slice(&scratch[..n]);
    Ok(out)
}

/// A compressed chunk and the CRC state of its input.
type Compressed = (Arc<Vec<u8>>, crc32fast::Hasher);

/// Compressed all-zero chunks, computed once per length.
#[derive(Clone)]
struct ZeroChunks {
    level: u32,
    chunk: usize,
    full: Compressed,
    cache: Arc<Mutex<BTreeMap<usize, Compressed>>>,
}

impl ZeroChunks {
    fn new(level: u32, chunk: usize) -> io::Result<Self> {
        let full = Self::compute(level, chunk)?;
        Ok(ZeroChunks {
            level,
            chunk,
            full,
            cache: Arc::default(),
        })
    }

    fn compute(level: u32, len: usize) -> io::Result<Compressed> {
        let zeros = vec![0u8; len];
        let bytes = compress_chunk(&mut compressor(level)?, &zeros, &mut Vec::new())?;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&zeros);
        Ok((Arc::new(bytes), crc))
    }

    fn get(&self, len: usize) -> Compressed {
        if len == self.chunk {
            return (Arc::clone(&self.full.0), self.full.1.clone());
        }
        let mut cache = self.cache.lock().expect("zero cache lock");
        let entry = cache.entry(len).or_insert_with(|| {
            Self::compute(self.level, len).expect("the level worked for the full chunk")
        });
        (Arc::clone(&entry.0), entry.1.clone())
    }
}

/// Writer: put chunks back in order, write them, combine CRCs, hash the input.
fn write_in_order(
    done: Receiver<io::Result<Done>>,
    out: &mut dyn Write,
    pool: &SyncSender<Vec<u8>>,
    len: u64,
    chunk: usize,
    mut sha: Option<Sha256>,
    progress: &mut dyn FnMut(u64),
) -> io::Result<DeflateSummary> {
    let zeros = vec![0u8; if sha.is_some() { chunk } else { 0 }];
    let mut pending: BTreeMap<u64, Done> = BTreeMap::new();
    let mut next = 0u64;
    let mut crc = crc32fast::Hasher::new();
    let (mut written, mut compressed, mut hole_bytes) = (0u64, 0u64, 0u64);
    while written < len {
        let d = match done.recv() {
            Ok(r) => r?,
            Err(_) => return Err(io::Error::other("the compression threads stopped early")),
        };
        pending.insert(d.seq, d);
        while let Some(d) = pending.remove(&next) {
            out.write_all(&d.compressed)?;
            compressed += d.compressed.len() as u64;
            crc.combine(&d.crc);
            match d.data {
                Some(data) => {
                    if let Some(sha) = &mut sha {
                        sha.update(&data);
                    }
                    let _ = pool.send(data);
                }
                None => {
                    if let Some(sha) = &mut sha {
                        sha.update(&zeros[..d.len]);
                    }
                    hole_bytes += d.len as u64;
                }
            }
            written += d.len as u64;
            next += 1;
            progress(written);
        }
    }
    out.write_all(&FINAL_BLOCK)?;
    compressed += FINAL_BLOCK.len() as u64;
    Ok(DeflateSummary {
        crc32: crc.finalize(),
        uncompressed: len,
        compressed,
        sha256: sha.map(|s| s.finalize().into()),
        hole_bytes,
    })
}

/// Deflates what is written to it in the same independent chunks as
/// [`deflate_range`]: for the ESP's files. A file of one chunk is
/// compressed on the calling thread; from the second chunk on, chunks go to
/// worker threads (started then) and are written back in order, so a
/// kernel or an initrd does not leave the other cores idle.
/// [`ChunkedDeflate::finish`] ends the stream.
pub struct ChunkedDeflate<W: Write> {
    inner: W,
    /// For a file of one chunk; the workers have their own.
    c: Compressor,
    level: u32,
    threads: usize,
    buf: Vec<u8>,
    chunk: usize,
    pool: Option<Pool>,
}

/// Worker threads compressing numbered chunks, and the results not yet
/// written (they may finish out of order).
struct Pool {
    jobs: std::sync::mpsc::Sender<(u64, Vec<u8>)>,
    done: Receiver<(u64, io::Result<Vec<u8>>)>,
    pending: BTreeMap<u64, io::Result<Vec<u8>>>,
    sent: u64,
    written: u64,
}

impl<W: Write> ChunkedDeflate<W> {
    pub fn new(inner: W, opts: &DeflateOptions) -> io::Result<Self> {
        let chunk = opts.chunk_size.max(4096);
        Ok(ChunkedDeflate {
            inner,
            c: compressor(opts.level)?,
            level: opts.level,
            threads: effective_threads(opts.threads),
            buf: Vec::with_capacity(chunk),
            chunk,
            pool: None,
        })
    }

    fn start_pool(&self) -> Pool {
        let (jobs, job_rx) = std::sync::mpsc::channel::<(u64, Vec<u8>)>();
        let (done_tx, done) = std::sync::mpsc::channel();
        let job_rx = Arc::new(Mutex::new(job_rx));
        for _ in 0..self.threads {
            let (job_rx, done_tx, level) = (Arc::clone(&job_rx), done_tx.clone(), self.level);
            std::thread::spawn(move || {
                let mut c = compressor(level).expect("the level was checked in new");
                let mut scratch = Vec::new();
                loop {
                    let job = job_rx.lock().expect("job queue lock").recv();
                    let Ok((seq, data)) = job else { return };
                    let out = compress_chunk(&mut c, &data, &mut scratch);
                    if done_tx.send((seq, out)).is_err() {
                        return;
                    }
                }
            });
        }
        Pool {
            jobs,
            done,
            pending: BTreeMap::new(),
            sent: 0,
            written: 0,
        }
    }

    /// Write finished chunks in order; wait while more than `in_flight`
    /// are out.
    fn drain(&mut self, in_flight: u64) -> io::Result<()> {
        let Some(pool) = &mut self.pool else {
            return Ok(());
        };
        loop {
            while let Some(out) = pool.pending.remove(&pool.written) {
                self.inner.write_all(&out?)?;
                pool.written += 1;
            }
            if pool.sent - pool.written <= in_flight {
                return Ok(());
            }
            let (seq, out) = pool
                .done
                .recv()
                .map_err(|_| io::Error::other("the compression threads stopped early"))?;
            pool.pending.insert(seq, out);
        }
    }

    /// Compress the buffered chunk; `last` when no more data follows.
    fn flush_chunk(&mut self, last: bool) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if self.pool.is_none() && last {
            // The whole file was one chunk.
            let bytes = compress_chunk(&mut self.c, &self.buf, &mut Vec::new())?;
            self.buf.clear();
            return self.inner.write_all(&bytes);
        }
        if self.pool.is_none() {
            self.pool = Some(self.start_pool());
        }
        let data = std::mem::replace(&mut self.buf, Vec::with_capacity(self.chunk));
        let pool = self.pool.as_mut().expect("started above");
        pool.jobs
            .send((pool.sent, data))
            .map_err(|_| io::Error::other("the compression threads stopped early"))?;
        pool.sent += 1;
        self.drain(2 * self.threads as u64)
    }

    /// Compress what is buffered and end the stream with a final block.
    pub fn finish(mut self) -> io::Result<W> {
        self.flush_chunk(true)?;
        self.drain(0)?;
        self.inner.write_all(&FINAL_BLOCK)?;
        // Dropping the pool's job sender ends its threads.
        Ok(self.inner)
    }
}

impl<W: Write> Write for ChunkedDeflate<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        // A full chunk is sent when more data follows, so that a file of
        // exactly one chunk is still compressed here.
        if self.buf.len() == self.chunk {
            self.flush_chunk(false)?;
        }
        let n = data.len().min(self.chunk - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn sample_file(dir: &std::path::Path) -> (File, Vec<u8>) {
        let path = dir.join("src");
        let f = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        let len = 5 * (1 << 20) + 12345;
        f.set_len(len as u64).unwrap();
        let mut expect = vec![0u8; len];
        let mut x = 12345u32;
        for (i, b) in expect.iter_mut().enumerate() {
            if (1 << 20..(2 << 20) + 777).contains(&i) || i > 4 << 20 {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                *b = if i % 7 == 0 {
                    (x >> 24) as u8
                } else {
                    b'a' + (i % 13) as u8
                };
            }
        }
        f.write_all_at(&expect, 0).unwrap();
        // Leave a real hole in the middle.
        f.set_len(len as u64).unwrap();
        (f, expect)
    }

    #[test]
    fn stream_decodes_and_is_thread_independent() {
        let dir = tempfile::tempdir().unwrap();
        let (f, expect) = sample_file(dir.path());
        let mut outputs = Vec::new();
        for threads in [1, 2, 5] {
            let mut out = Vec::new();
            let opts = DeflateOptions {
                threads,
                chunk_size: 1 << 20,
                level: 4,
                sha256: true,
            };
            let s =
                deflate_range(&f, 0, expect.len() as u64, &mut out, &opts, &mut |_| {}).unwrap();
            assert_eq!(s.crc32, crc32fast::hash(&expect));
            assert_eq!(s.compressed, out.len() as u64);
            let sha: [u8; 32] = Sha256::digest(&expect).into();
            assert_eq!(s.sha256, Some(sha));
            let mut dec = Vec::new();
            flate2::read::DeflateDecoder::new(&out[..])
                .read_to_end(&mut dec)
                .unwrap();
            assert!(dec == expect, "round trip");
            outputs.push(out);
        }
        assert!(outputs.windows(2).all(|w| w[0] == w[1]));
    }

    /// Input of mixed kinds, in chunk-sized pieces: text, byte-code-like
    /// records, noise, a written zero chunk, a hole and a short tail.
    fn mixed_file(dir: &std::path::Path) -> (File, u64) {
        let f = File::create_new(dir.join("mixed")).unwrap();
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mib = 1usize << 20;
        let words = [&b"nixos "[..], b"store ", b"/nix/", b"\n", b"lib", b"64 "];
        let mut data = Vec::new();
        while data.len() < mib {
            data.extend_from_slice(words[(rnd() % 6) as usize]);
        }
        data.truncate(mib);
        data.extend((0..mib).map(|i| {
            if i % 16 < 4 {
                rnd() as u8
            } else {
                (i % 251) as u8
            }
        }));
        data.extend((0..mib / 2).map(|_| rnd() as u8));
        data.extend((0..mib / 2).map(|i| {
            if (i / 512) % 2 == 0 {
                0
            } else {
                rnd() as u8 % 4
            }
        }));
        data.resize(data.len() + mib, 0);
        f.write_all_at(&data, 0).unwrap();
        let tail: Vec<u8> = (0..77_777)
            .map(|i| b"tail"[i % 4] ^ (rnd() as u8 & 1))
            .collect();
        let tail_at = (data.len() + 2 * mib) as u64;
        f.write_all_at(&tail, tail_at).unwrap();
        (f, tail_at + tail.len() as u64)
    }

    /// The stream's bytes are pinned (SHA-256s taken at f8fbca1): a faster
    /// path must leave packages byte-identical, for any thread count.
    #[test]
    fn output_is_pinned() {
        let dir = tempfile::tempdir().unwrap();
        let (f, len) = mixed_file(dir.path());
        for (level, want) in [
            (
                1,
                "e9b2229c97f2a1368c2a2e4bbe7a41e0eaabf3988764ebcffc2fb02e6f557f9e",
            ),
            (
                3,
                "fad96776410d8a1ebe50dbd75bf0b0dc29395469d09240d2e4bf764f05bd6c3f",
            ),
            (
                6,
                "e4fa248012ff3c72bac1b3c583ce1d0ff7080252784720c1340bdc7cd47f6713",
            ),
        ] {
            for threads in [1, 2, 3] {
                let mut out = Vec::new();
                let opts = DeflateOptions {
                    level,
                    threads,
                    chunk_size: 1 << 20,
                    sha256: false,
                };
                deflate_range(&f, 0, len, &mut out, &opts, &mut |_| {}).unwrap();
                let got: [u8; 32] = Sha256::digest(&out).into();
                let got: String = got.iter().map(|b| format!("{b:02x}")).collect();
                assert_eq!(got, want, "level {level}, {threads} threads");
                // The same bytes written through ChunkedDeflate (the ESP's
                // files), in writes that do not line up with the chunks.
                let mut data = vec![0u8; len as usize];
                f.read_exact_at(&mut data, 0).unwrap();
                let mut enc = ChunkedDeflate::new(Vec::new(), &opts).unwrap();
                for piece in data.chunks(65_521) {
                    enc.write_all(piece).unwrap();
                }
                assert!(
                    enc.finish().unwrap() == out,
                    "ChunkedDeflate, level {level}, {threads} threads"
                );
            }
        }
    }

    #[test]
    fn offset_range_and_empty() {
        let dir = tempfile::tempdir().unwrap();
        let (f, expect) = sample_file(dir.path());
        let mut out = Vec::new();
        let s = deflate_range(
            &f,
            4096,
            3 << 20,
            &mut out,
            &DeflateOptions::default(),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(s.crc32, crc32fast::hash(&expect[4096..4096 + (3 << 20)]));
        let mut empty = Vec::new();
        let s = deflate_range(
            &f,
            0,
            0,
            &mut empty,
            &DeflateOptions::default(),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(s.crc32, 0);
        let mut dec = Vec::new();
        flate2::read::DeflateDecoder::new(&empty[..])
            .read_to_end(&mut dec)
            .unwrap();
        assert!(dec.is_empty());
    }
}
