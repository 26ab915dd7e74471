//! Turning a complete raw deflate stream into one that can be followed by
//! more: what a zlib sync flush produces, for an encoder without flushes.
//!
//! libdeflate (the fastest deflate encoder for its ratio, measured in
//! `bench/`) compresses a whole buffer into a complete stream whose last
//! block has BFINAL set, and it has no flush mode. To join independently
//! compressed chunks into one stream, [`make_joinable`] walks the stream's
//! blocks (decoding the Huffman symbols without producing output) to find
//! the final block's header and the bit where the stream ends, clears BFINAL,
//! and appends an empty stored block (three zero bits, padding, `00 00 FF
//! FF`): the bytes a sync flush ends with. The walk must end exactly in the
//! stream's last byte, so output that does not parse as expected is an
//! error, never a silently broken zip.
//!
//! No crate exposes block boundaries of a deflate stream, so this is our
//! own (RFC 1951), tested against flate2's decoder in the unit tests.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinError(String);

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the deflate stream does not parse: {}", self.0)
    }
}

impl std::error::Error for JoinError {}

fn bad<T>(what: &str) -> Result<T, JoinError> {
    Err(JoinError(what.to_string()))
}

/// Rewrite the complete raw deflate stream in `stream` so that it ends
/// without a final block, on a byte boundary: another stream's blocks can
/// then follow it.
pub fn make_joinable(stream: &mut Vec<u8>) -> Result<(), JoinError> {
    let (final_header, end) = walk(stream)?;
    if end.div_ceil(8) != stream.len() as u64 {
        return bad(&format!(
            "it ends at bit {end}, but the encoder wrote {} bytes",
            stream.len()
        ));
    }
    stream[(final_header / 8) as usize] &= !(1u8 << (final_header % 8));
    // An empty stored block: BFINAL=0, BTYPE=00 (three zero bits after the
    // end-of-block code), zero padding to the byte boundary, LEN=0, NLEN=!0.
    let aligned = (end + 3).div_ceil(8) as usize;
    let keep = end.div_ceil(8) as usize;
    if end % 8 != 0 {
        stream[keep - 1] &= (1u8 << (end % 8)) - 1;
    }
    stream.resize(aligned, 0);
    stream.extend_from_slice(&[0x00, 0x00, 0xFF, 0xFF]);
    Ok(())
}

/// The bit position of the final block's header and the bit just after the
/// stream's last end-of-block code.
pub fn walk(data: &[u8]) -> Result<(u64, u64), JoinError> {
    let mut r = Bits::new(data);
    let fixed = FixedTables::new();
    loop {
        let header = r.pos();
        let last = r.take(1)? == 1;
        match r.take(2)? {
            0 => {
                r.align();
                let len = r.take(16)?;
                let nlen = r.take(16)?;
                if len != !nlen & 0xFFFF {
                    return bad("a stored block's LEN and NLEN disagree");
                }
                r.skip_bytes(len as usize)?;
            }
            1 => symbols(&mut r, &fixed.litlen, &fixed.dist)?,
            2 => {
                let (litlen, dist) = dynamic_tables(&mut r)?;
                symbols(&mut r, &litlen, &dist)?;
            }
            _ => return bad("block type 3 is reserved"),
        }
        if last {
            return Ok((header, r.pos()));
        }
    }
}

/// Extra bits of length symbols 257..=285 and distance symbols 0..=29.
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

fn symbols(r: &mut Bits, litlen: &Huffman, dist: &Huffman) -> Result<(), JoinError> {
    loop {
        let sym = litlen.decode(r)?;
        match sym {
            0..=255 => {}
            256 => return Ok(()),
            257..=285 => {
                r.take(u32::from(LEN_EXTRA[usize::from(sym - 257)]))?;
                let d = dist.decode(r)?;
                if d >= 30 {
                    return bad("distance symbol 30 or 31");
                }
                r.take(u32::from(DIST_EXTRA[usize::from(d)]))?;
            }
            _ => return bad("length symbol 286 or 287"),
        }
    }
}

fn dynamic_tables(r: &mut Bits) -> Result<(Huffman, Huffman), JoinError> {
    const ORDER: [usize; 19] = [
        16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
    ];
    let hlit = r.take(5)? as usize + 257;
    let hdist = r.take(5)? as usize + 1;
    let hclen = r.take(4)? as usize + 4;
    let mut cl_lens = [0u8; 19];
    for &i in &ORDER[..hclen] {
        cl_lens[i] = r.take(3)? as u8;
    }
    let cl = Huffman::new(&cl_lens)?;
    let mut lens = vec![0u8; hlit + hdist];
    let mut i = 0;
    while i < lens.len() {
        let (value, count) = match cl.decode(r)? {
            s @ 0..=15 => (s as u8, 1),
            16 => {
                if i == 0 {
                    return bad("a repeat code with nothing to repeat");
                }
                (lens[i - 1], 3 + r.take(2)? as usize)
            }
            17 => (0, 3 + r.take(3)? as usize),
            _ => (0, 11 + r.take(7)? as usize),
        };
        if i + count > lens.len() {
            return bad("code lengths run past HLIT + HDIST");
        }
        lens[i..i + count].fill(value);
        i += count;
    }
    if lens[256] == 0 {
        return bad("no code for end-of-block");
    }
    Ok((Huffman::new(&lens[..hlit])?, Huffman::new(&lens[hlit..])?))
}

struct FixedTables {
    litlen: Huffman,
    dist: Huffman,
}

impl FixedTables {
    fn new() -> Self {
        let mut l = [0u8; 288];
        l[..144].fill(8);
        l[144..256].fill(9);
        l[256..280].fill(7);
        l[280..].fill(8);
        FixedTables {
            litlen: Huffman::new(&l).expect("the fixed code is complete"),
            dist: Huffman::new(&[5u8; 30]).expect("the fixed distance code is valid"),
        }
    }
}

/// A canonical Huffman code as one lookup table indexed by the next
/// `bits` input bits (LSB first): (symbol, code length), length 0 = invalid.
struct Huffman {
    bits: u32,
    table: Vec<(u16, u8)>,
}

impl Huffman {
    fn new(lens: &[u8]) -> Result<Self, JoinError> {
        let bits = u32::from(lens.iter().copied().max().unwrap_or(0));
        if bits > 15 {
            return bad("a code length above 15");
        }
        let mut count = [0u32; 16];
        for &l in lens {
            count[usize::from(l)] += 1;
        }
        count[0] = 0;
        // Kraft: an over-subscribed code cannot be decoded.
        let mut left = 1i64;
        for c in &count[1..] {
            left = left * 2 - i64::from(*c);
            if left < 0 {
                return bad("an over-subscribed Huffman code");
            }
        }
        let mut next = [0u32; 16];
        let mut code = 0u32;
        for len in 1..16 {
            code = (code + count[len - 1]) << 1;
            next[len] = code;
        }
        let mut table = vec![(0u16, 0u8); 1usize << bits];
        for (sym, &len) in lens.iter().enumerate() {
            if len == 0 {
                continue;
            }
            let len32 = u32::from(len);
            let c = next[usize::from(len)];
            next[usize::from(len)] += 1;
            // Deflate sends codes most significant bit first.
            let rev = c.reverse_bits() >> (32 - len32);
            let mut i = rev as usize;
            while i < table.len() {
                table[i] = (sym as u16, len);
                i += 1 << len32;
            }
        }
        Ok(Huffman { bits, table })
    }

    #[inline]
    fn decode(&self, r: &mut Bits) -> Result<u16, JoinError> {
        let (sym, len) = self.table[r.peek(self.bits) as usize];
        if len == 0 {
            return bad("a bit sequence that is no code");
        }
        r.consume(u32::from(len))?;
        Ok(sym)
    }
}

/// LSB-first bit reader. Reading past the end yields zero bits, and
/// `consume` reports it as an error.
struct Bits<'a> {
    data: &'a [u8],
    /// Bit position of the next unread bit.
    pos: u64,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bits { data, pos: 0 }
    }

    fn pos(&self) -> u64 {
        self.pos
    }

    #[inline]
    fn peek(&self, n: u32) -> u32 {
        let byte = (self.pos / 8) as usize;
        let word = match self.data.get(byte..byte + 8) {
            Some(w) => u64::from_le_bytes(w.try_into().expect("8 bytes")),
            None => {
                let mut w = [0u8; 8];
                let avail = self.data.len().saturating_sub(byte).min(8);
                w[..avail].copy_from_slice(&self.data[byte..byte + avail]);
                u64::from_le_bytes(w)
            }
        };
        let v = word >> (self.pos % 8);
        (v & ((1u64 << n) - 1)) as u32
    }

    #[inline]
    fn consume(&mut self, n: u32) -> Result<(), JoinError> {
        self.pos += u64::from(n);
        if self.pos > self.data.len() as u64 * 8 {
            return bad("it ends in the middle of a block");
        }
        Ok(())
    }

    #[inline]
    fn take(&mut self, n: u32) -> Result<u32, JoinError> {
        let v = self.peek(n);
        self.consume(n)?;
        Ok(v)
    }

    fn align(&mut self) {
        self.pos = self.pos.div_ceil(8) * 8;
    }

    fn skip_bytes(&mut self, n: usize) -> Result<(), JoinError> {
        self.consume(n as u32 * 8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn inputs() -> Vec<Vec<u8>> {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let text: Vec<u8> = (0..300_000)
            .map(|i| b"the quick brown fox jumps over the lazy dog\n"[i % 44])
            .collect();
        let random: Vec<u8> = (0..200_000).map(|_| rnd() as u8).collect();
        let mixed: Vec<u8> = (0..(1 << 20))
            .map(|i| {
                if (i / 4096) % 3 == 0 {
                    rnd() as u8
                } else {
                    b"abcabcabd"[(rnd() % 9) as usize]
                }
            })
            .collect();
        vec![
            vec![],
            vec![7],
            vec![0; 1 << 20],
            text,
            random,
            mixed,
            (0..=255u8).cycle().take(70_000).collect(),
        ]
    }

    fn inflate(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::DeflateDecoder::new(data)
            .read_to_end(&mut out)
            .expect("the joined stream decodes");
        out
    }

    fn compress(level: i32, data: &[u8]) -> Vec<u8> {
        let mut c = libdeflater::Compressor::new(libdeflater::CompressionLvl::new(level).unwrap());
        let mut out = vec![0u8; c.deflate_compress_bound(data.len())];
        let n = c.deflate_compress(data, &mut out).unwrap();
        out.truncate(n);
        out
    }

    /// Every input at several levels (fixed, dynamic and stored blocks):
    /// the joined pieces, closed by a final empty block, decode to the
    /// concatenated inputs.
    #[test]
    fn joined_chunks_decode_to_the_inputs() {
        for level in [0, 1, 4, 6, 12] {
            let mut stream = Vec::new();
            let mut expect = Vec::new();
            for input in inputs() {
                let mut piece = compress(level, &input);
                make_joinable(&mut piece).unwrap();
                // Joinable pieces end like a sync flush.
                assert!(piece.ends_with(&[0, 0, 0xFF, 0xFF]));
                stream.extend_from_slice(&piece);
                expect.extend_from_slice(&input);
            }
            stream.extend_from_slice(&[0x03, 0x00]);
            assert!(inflate(&stream) == expect, "level {level}");
        }
    }

    /// zlib's own sync-flushed output parses too, ending where it says.
    #[test]
    fn walks_zlib_output() {
        for input in inputs() {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
            std::io::Write::write_all(&mut e, &input).unwrap();
            let out = e.finish().unwrap();
            let (_, end) = walk(&out).unwrap();
            assert_eq!(end.div_ceil(8), out.len() as u64);
        }
    }

    #[test]
    fn broken_streams_are_errors() {
        let mut piece = compress(6, &inputs()[5]);
        let whole = piece.clone();
        piece.truncate(piece.len() / 2);
        assert!(make_joinable(&mut piece).is_err());
        // Trailing garbage: the walk ends before the last byte.
        let mut longer = whole.clone();
        longer.extend_from_slice(&[1, 2, 3]);
        assert!(make_joinable(&mut longer).is_err());
        // Block type 3.
        assert!(make_joinable(&mut vec![0x07, 0, 0]).is_err());
    }
}
