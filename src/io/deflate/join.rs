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
    let at = walk(stream)?;
    rewrite(stream, at)
}

/// [`make_joinable`] for two streams at once, walked in one loop: the
/// walk is a chain of dependent table lookups, and two independent chains
/// keep the processor busy where one leaves it waiting on each load.
pub fn make_joinable_pair(a: &mut Vec<u8>, b: &mut Vec<u8>) -> Result<(), JoinError> {
    let [at_a, at_b] = walk_pair(a, b)?;
    rewrite(a, at_a)?;
    rewrite(b, at_b)
}

fn rewrite(stream: &mut Vec<u8>, (final_header, end): (u64, u64)) -> Result<(), JoinError> {
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
    let mut w = Walker::new(data);
    let mut next = w.start_block()?;
    loop {
        match next {
            Next::Done(header, end) => return Ok((header, end)),
            Next::Symbols => {
                w.symbols()?;
                next = w.end_block()?;
            }
        }
    }
}

/// [`walk`] of two streams, their symbols in one loop while both are in a
/// block with 8 bytes ahead; block headers, tables and the last bytes one
/// stream at a time.
pub fn walk_pair(a: &[u8], b: &[u8]) -> Result<[(u64, u64); 2], JoinError> {
    let mut w = [Walker::new(a), Walker::new(b)];
    let mut next = [w[0].start_block()?, w[1].start_block()?];
    loop {
        let alone = match next {
            [Next::Done(h0, e0), Next::Done(h1, e1)] => return Ok([(h0, e0), (h1, e1)]),
            [Next::Symbols, Next::Symbols] => {
                let ended = symbols_pair(&mut w)?;
                if ended == [false, false] {
                    // One stream is within 8 bytes of its end.
                    usize::from(w[0].r.next + 8 <= w[0].r.data.len())
                } else {
                    for i in 0..2 {
                        if ended[i] {
                            next[i] = w[i].end_block()?;
                        }
                    }
                    continue;
                }
            }
            [Next::Symbols, _] => 0,
            [_, Next::Symbols] => 1,
        };
        w[alone].symbols()?;
        next[alone] = w[alone].end_block()?;
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Next {
    /// In a block of Huffman-coded symbols.
    Symbols,
    /// The stream ended: the final block's header and the end bit.
    Done(u64, u64),
}

/// One stream's walk, resumable between blocks and inside them.
struct Walker<'a> {
    r: Bits<'a>,
    dynamic: Tables,
    /// The current block uses the fixed codes.
    fixed: bool,
    /// The table the next step reads (see [`Tables`]).
    base: usize,
    header: u64,
    last: bool,
}

impl<'a> Walker<'a> {
    fn new(data: &'a [u8]) -> Self {
        Walker {
            r: Bits::new(data),
            dynamic: Tables::default(),
            fixed: false,
            base: 0,
            header: 0,
            last: false,
        }
    }

    /// Read block headers, skipping stored blocks, until a block of
    /// symbols starts or the stream ends.
    fn start_block(&mut self) -> Result<Next, JoinError> {
        loop {
            let r = &mut self.r;
            r.refill()?;
            self.header = r.pos();
            self.last = r.take(1) == 1;
            self.base = 0;
            match r.take(2) {
                0 => {
                    r.align();
                    r.refill()?;
                    let len = r.take(16);
                    let nlen = r.take(16);
                    if len != !nlen & 0xFFFF {
                        return bad("a stored block's LEN and NLEN disagree");
                    }
                    r.skip_bytes(len as usize)?;
                    if self.last {
                        return self.finish();
                    }
                }
                1 => {
                    self.fixed = true;
                    return Ok(Next::Symbols);
                }
                2 => {
                    dynamic_tables(r, &mut self.dynamic)?;
                    self.fixed = false;
                    return Ok(Next::Symbols);
                }
                _ => return bad("block type 3 is reserved"),
            }
        }
    }

    /// After a block's end-of-block code.
    fn end_block(&mut self) -> Result<Next, JoinError> {
        if self.last {
            self.finish()
        } else {
            self.start_block()
        }
    }

    fn finish(&self) -> Result<Next, JoinError> {
        let end = self.r.pos();
        if end > self.r.data.len() as u64 * 8 {
            return bad("it ends in the middle of a block");
        }
        Ok(Next::Done(self.header, end))
    }

    /// The rest of the current block's symbols.
    fn symbols(&mut self) -> Result<(), JoinError> {
        symbols(&mut self.r, table(self.fixed, &self.dynamic), self.base)
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

/// Walk one block's symbols up to its end-of-block code, never producing
/// output: each step is one table lookup that says how many bits to drop
/// (a code and its extra bits) and which table the next step reads, so a
/// literal costs one dependent load and a match two, with no branch on
/// which comes next (unpredictable) and none but for the rare slow entries.
/// The walk before this one looked a distance up after every symbol and
/// dropped it for a literal: 25% slower on the benchmark's root chunks.
fn symbols(r: &mut Bits, t: &[u32], mut base: usize) -> Result<(), JoinError> {
    let data = r.data;
    // The reader's state in locals: kept in registers, not stored back on
    // every step (the store sat on the loop's critical path).
    let (mut buf, mut cnt, mut next) = (r.buf, r.cnt, r.next);
    while next + 8 <= data.len() {
        // At least 56 bits: two steps of at most 28 (a distance code of 15
        // bits and 13 extra bits).
        load_word(data, &mut buf, &mut cnt, &mut next);
        for _ in 0..2 {
            let e = t[base + (buf & MASK) as usize];
            if e & SLOW != 0 {
                (r.buf, r.cnt, r.next) = (buf, cnt, next);
                let (done, b) = slow_step(r, t, base, e)?;
                if done {
                    return Ok(());
                }
                (buf, cnt, next, base) = (r.buf, r.cnt, r.next, b);
                continue;
            }
            base = advance(&mut buf, &mut cnt, e);
        }
    }
    (r.buf, r.cnt, r.next) = (buf, cnt, next);
    loop {
        r.refill()?;
        let e = t[base + (r.buf & MASK) as usize];
        if e & SLOW != 0 {
            let (done, b) = slow_step(r, t, base, e)?;
            if done {
                return Ok(());
            }
            base = b;
        } else {
            base = advance(&mut r.buf, &mut r.cnt, e);
        }
    }
}

/// Drop a fast entry's bits; the table the next step reads.
#[inline(always)]
fn advance(buf: &mut u64, cnt: &mut u32, e: u32) -> usize {
    *buf >>= e & 0xFF;
    *cnt -= e & 0xFF;
    (e >> 16) as usize
}

/// A step whose primary entry is slow: a code longer than the primary
/// table, the end-of-block code or no code. Returns whether the block ended
/// and the table of the next step. Needs 28 bits in the buffer.
#[cold]
fn slow_step(r: &mut Bits, t: &[u32], base: usize, mut e: u32) -> Result<(bool, usize), JoinError> {
    if e & LINK != 0 {
        let bits = (e >> 8) & 0xF;
        let i = ((r.buf >> PRIMARY) & ((1u64 << bits) - 1)) as usize;
        e = t[(e >> 16) as usize + i];
    }
    if e & SLOW == 0 {
        return Ok((false, advance(&mut r.buf, &mut r.cnt, e)));
    }
    if e & EOB != 0 {
        r.drop(e & 0xFF);
        return Ok((true, 0));
    }
    bad(if base == 0 {
        "a bit sequence that is no literal/length code"
    } else {
        "a bit sequence that is no distance code"
    })
}

/// [`symbols`] of two walkers in one loop, until a block ends in either
/// (which: true) or either is within 8 bytes of its end (neither).
fn symbols_pair(w: &mut [Walker; 2]) -> Result<[bool; 2], JoinError> {
    let [w0, w1] = w;
    let (t0, t1) = (table(w0.fixed, &w0.dynamic), table(w1.fixed, &w1.dynamic));
    let (d0, d1) = (w0.r.data, w1.r.data);
    let (mut buf0, mut cnt0, mut next0, mut base0) = (w0.r.buf, w0.r.cnt, w0.r.next, w0.base);
    let (mut buf1, mut cnt1, mut next1, mut base1) = (w1.r.buf, w1.r.cnt, w1.r.next, w1.base);
    let mut ended = [false; 2];
    'refill: while next0 + 8 <= d0.len() && next1 + 8 <= d1.len() {
        load_word(d0, &mut buf0, &mut cnt0, &mut next0);
        load_word(d1, &mut buf1, &mut cnt1, &mut next1);
        for _ in 0..2 {
            let e0 = t0[base0 + (buf0 & MASK) as usize];
            let e1 = t1[base1 + (buf1 & MASK) as usize];
            if (e0 | e1) & SLOW == 0 {
                base0 = advance(&mut buf0, &mut cnt0, e0);
                base1 = advance(&mut buf1, &mut cnt1, e1);
                continue;
            }
            // A slow entry in either: that stream's step alone; the other
            // repeats its lookup next time.
            if e0 & SLOW != 0 {
                (w0.r.buf, w0.r.cnt, w0.r.next) = (buf0, cnt0, next0);
                (ended[0], base0) = slow_step(&mut w0.r, t0, base0, e0)?;
                (buf0, cnt0, next0) = (w0.r.buf, w0.r.cnt, w0.r.next);
            } else {
                (w1.r.buf, w1.r.cnt, w1.r.next) = (buf1, cnt1, next1);
                (ended[1], base1) = slow_step(&mut w1.r, t1, base1, e1)?;
                (buf1, cnt1, next1) = (w1.r.buf, w1.r.cnt, w1.r.next);
            }
            if ended != [false, false] {
                break 'refill;
            }
        }
    }
    (w0.r.buf, w0.r.cnt, w0.r.next, w0.base) = (buf0, cnt0, next0, base0);
    (w1.r.buf, w1.r.cnt, w1.r.next, w1.base) = (buf1, cnt1, next1, base1);
    Ok(ended)
}

fn dynamic_tables(r: &mut Bits, tables: &mut Tables) -> Result<(), JoinError> {
    const ORDER: [usize; 19] = [
        16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
    ];
    r.refill()?;
    let hlit = r.take(5) as usize + 257;
    let hdist = r.take(5) as usize + 1;
    let hclen = r.take(4) as usize + 4;
    let mut cl_lens = [0u8; 19];
    for &i in &ORDER[..hclen] {
        r.refill()?;
        cl_lens[i] = r.take(3) as u8;
    }
    // The code-length code (at most 7 bits, so a table of 128 entries):
    // entries carry the symbol where the other tables carry the next table.
    const CL_SIZE: usize = 1 << 7;
    tables.begin(CL_SIZE);
    tables.add(0, CL_SIZE, &cl_lens, |sym| (0, sym as u32))?;
    // HLIT and HDIST can say up to 288 and 32 (RFC 1951 uses 286 and 30).
    let mut lens = [0u8; 288 + 32];
    let lens = &mut lens[..hlit + hdist];
    let mut i = 0;
    while i < lens.len() {
        r.refill()?;
        let e = tables.t[r.buf as usize & (CL_SIZE - 1)];
        if e & SLOW != 0 {
            return bad("a bit sequence that is no code-length code");
        }
        r.drop(e & 0xFF);
        let (value, count) = match e >> 16 {
            sym @ 0..=15 => (sym as u8, 1),
            16 => {
                if i == 0 {
                    return bad("a repeat code with nothing to repeat");
                }
                (lens[i - 1], 3 + r.take(2) as usize)
            }
            17 => (0, 3 + r.take(3) as usize),
            _ => (0, 11 + r.take(7) as usize),
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
    tables.codes(&lens[..hlit], &lens[hlit..])
}

/// What follows a literal/length symbol: (extra bits, the next step's
/// table or a slow kind).
fn litlen_entry(sym: usize) -> (u8, u32) {
    match sym {
        0..=255 => (0, 0),
        256 => (0, EOB | SLOW),
        257..=285 => (LEN_EXTRA[sym - 257], DIST as u32),
        _ => (0, SLOW),
    }
}

fn dist_entry(sym: usize) -> (u8, u32) {
    match DIST_EXTRA.get(sym) {
        Some(&extra) => (extra, 0),
        None => (0, SLOW),
    }
}

/// The current block's tables: the fixed codes' or the block's own (a
/// function of the two fields, not of the walker, which stays borrowed).
fn table(fixed: bool, dynamic: &Tables) -> &[u32] {
    if fixed {
        &fixed_tables().t
    } else {
        &dynamic.t
    }
}

/// The fixed codes' tables, built once.
fn fixed_tables() -> &'static Tables {
    static FIXED: std::sync::OnceLock<Tables> = std::sync::OnceLock::new();
    FIXED.get_or_init(|| {
        let mut l = [0u8; 288];
        l[..144].fill(8);
        l[144..256].fill(9);
        l[256..280].fill(7);
        l[280..].fill(8);
        let mut t = Tables::default();
        t.codes(&l, &[5u8; 30]).expect("the fixed codes are valid");
        t
    })
}

/// The literal/length code and the distance code of one block as lookup
/// tables indexed by the next [`PRIMARY`] input bits (LSB first), in one
/// array: the literal/length table at 0, the distance table at [`DIST`],
/// subtables for longer codes after them.
///
/// An entry is `bits | next << 16`: drop `bits` (the code's length plus its
/// extra bits, which are skipped, never read), then look up in the table at
/// `next` (0 after a literal or a distance, [`DIST`] after a length). Slow
/// entries ([`SLOW`]) link to a subtable (`LINK`, `offset << 16 | subtable
/// bits << 8`), end the block (`EOB`) or mark a sequence that is no code.
///
/// Entries covering two or more short codes at once were tried and left
/// out: libdeflate starts a new block every ~37 KB of input here, and
/// merging the entries of each block's tables cost more than it saved.
#[derive(Default)]
struct Tables {
    t: Vec<u32>,
}

const PRIMARY: u32 = 10;
const MASK: u64 = (1 << PRIMARY) - 1;
const DIST: usize = 1 << PRIMARY;
const SLOW: u32 = 1 << 15;
const EOB: u32 = 1 << 14;
const LINK: u32 = 1 << 13;

impl Tables {
    /// `size` entries, all slow (no code), no subtables.
    fn begin(&mut self, size: usize) {
        self.t.clear();
        self.t.resize(size, SLOW);
    }

    fn codes(&mut self, litlen: &[u8], dist: &[u8]) -> Result<(), JoinError> {
        self.begin(2 * DIST);
        self.add(0, DIST, litlen, litlen_entry)?;
        self.add(DIST, DIST, dist, dist_entry)?;
        Ok(())
    }

    /// One canonical Huffman code from its code lengths into the primary
    /// table of `size` entries at `at` (smaller than [`DIST`] only for a
    /// code no longer than log2(size) bits). `entry(sym)` gives the
    /// symbol's extra bits and the upper half of its entry (or slow flags).
    fn add(
        &mut self,
        at: usize,
        size: usize,
        lens: &[u8],
        entry: impl Fn(usize) -> (u8, u32),
    ) -> Result<(), JoinError> {
        let mut count = [0u32; 16];
        for &l in lens {
            if l > 15 {
                return bad("a code length above 15");
            }
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
        // Each symbol's code, bit-reversed: deflate sends codes most
        // significant bit first, the reader takes bits least significant
        // first. And the longest code under each primary prefix, for the
        // size of its subtable.
        let mut rev = [0u32; 288];
        let mut longest = [0u8; DIST];
        for (sym, &l) in lens.iter().enumerate() {
            if l > 0 {
                let len = u32::from(l);
                rev[sym] = next[usize::from(l)].reverse_bits() >> (32 - len);
                next[usize::from(l)] += 1;
                if len > PRIMARY {
                    let p = (u64::from(rev[sym]) & MASK) as usize;
                    longest[p] = longest[p].max(l);
                }
            }
        }
        for (sym, &l) in lens.iter().enumerate() {
            if l == 0 {
                continue;
            }
            let len = u32::from(l);
            let (extra, hi) = entry(sym);
            let e = if hi & SLOW != 0 {
                hi | len
            } else {
                (len + u32::from(extra)) | hi << 16
            };
            if len <= PRIMARY {
                let mut i = rev[sym] as usize;
                while i < size {
                    self.t[at + i] = e;
                    i += 1 << len;
                }
                continue;
            }
            let p = (u64::from(rev[sym]) & MASK) as usize;
            if self.t[at + p] & LINK == 0 {
                let bits = u32::from(longest[p]) - PRIMARY;
                self.t[at + p] = SLOW | LINK | (self.t.len() as u32) << 16 | bits << 8;
                self.t.resize(self.t.len() + (1 << bits), SLOW);
            }
            let link = self.t[at + p];
            let (sub, bits) = ((link >> 16) as usize, (link >> 8) & 0xF);
            let mut i = (rev[sym] >> PRIMARY) as usize;
            while i < 1 << bits {
                self.t[sub + i] = e;
                i += 1 << (len - PRIMARY);
            }
        }
        Ok(())
    }

    /// The entry for `buf` in the table at `at`, through a subtable if
    /// linked.
    #[cfg(test)]
    fn lookup(&self, at: usize, buf: u64) -> u32 {
        let e = self.t[at + (buf & MASK) as usize];
        if e & LINK == 0 {
            return e;
        }
        let bits = (e >> 8) & 0xF;
        self.t[(e >> 16) as usize + ((buf >> PRIMARY) & ((1u64 << bits) - 1)) as usize]
    }
}

/// Fill `buf` to 56..=63 valid bits from the 8 bytes at `next` (which must
/// exist), without a branch: the bytes that do not fit whole are loaded
/// again next time, OR-ing the same bits into the same places.
#[inline(always)]
fn load_word(data: &[u8], buf: &mut u64, cnt: &mut u32, next: &mut usize) {
    let w = u64::from_le_bytes(data[*next..*next + 8].try_into().expect("8 bytes"));
    *buf |= w << *cnt;
    *next += ((63 - *cnt) >> 3) as usize;
    *cnt |= 56;
}

/// LSB-first bit reader with a 64-bit buffer. Past the end it reads zero
/// bytes, at most 8 of them: a walk that needs more is an error.
struct Bits<'a> {
    data: &'a [u8],
    /// Bytes loaded into `buf` so far (zero bytes past the end included).
    next: usize,
    buf: u64,
    /// Valid bits in `buf`.
    cnt: u32,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bits {
            data,
            next: 0,
            buf: 0,
            cnt: 0,
        }
    }

    /// Bit position of the next unread bit.
    fn pos(&self) -> u64 {
        self.next as u64 * 8 - u64::from(self.cnt)
    }

    /// Make at least 56 bits available.
    #[inline]
    fn refill(&mut self) -> Result<(), JoinError> {
        if self.cnt >= 56 {
            return Ok(());
        }
        if self.next + 8 <= self.data.len() {
            load_word(self.data, &mut self.buf, &mut self.cnt, &mut self.next);
            return Ok(());
        }
        while self.cnt <= 56 {
            if self.next >= self.data.len() + 8 {
                return bad("it ends in the middle of a block");
            }
            let byte = self.data.get(self.next).copied().unwrap_or(0);
            self.buf |= u64::from(byte) << self.cnt;
            self.next += 1;
            self.cnt += 8;
        }
        Ok(())
    }

    #[inline]
    fn drop(&mut self, n: u32) {
        self.buf >>= n;
        self.cnt -= n;
    }

    /// `n` bits (at most 16, after a refill).
    #[inline]
    fn take(&mut self, n: u32) -> u32 {
        let v = (self.buf & ((1u64 << n) - 1)) as u32;
        self.drop(n);
        v
    }

    fn align(&mut self) {
        let r = self.cnt % 8;
        self.drop(r);
    }

    /// Skip `n` whole bytes (the reader is byte-aligned).
    fn skip_bytes(&mut self, n: usize) -> Result<(), JoinError> {
        let pos = self.pos() + n as u64 * 8;
        if pos > self.data.len() as u64 * 8 {
            return bad("a stored block runs past the end");
        }
        self.next = (pos / 8) as usize;
        self.buf = 0;
        self.cnt = 0;
        Ok(())
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

    /// Two streams walked in one loop give what each gives alone, for
    /// every pair of inputs and levels (blocks and ends at different
    /// places), and an error when either is broken.
    #[test]
    fn pairs_walk_like_singles() {
        let streams: Vec<Vec<u8>> = [0, 1, 3, 6, 12]
            .into_iter()
            .flat_map(|level| inputs().into_iter().map(move |i| compress(level, &i)))
            .collect();
        for a in &streams {
            for b in &streams {
                let want = [walk(a).unwrap(), walk(b).unwrap()];
                assert_eq!(walk_pair(a, b).unwrap(), want);
            }
            let mut half = a.clone();
            half.truncate(a.len() / 2);
            if walk(&half).is_err() {
                assert!(walk_pair(a, &half).is_err());
                assert!(walk_pair(&half, a).is_err());
            }
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

    /// Codes of every length 1..=15, through the primary table and its
    /// subtables: each decodes to its symbol and drops its own length plus
    /// the extra bits given.
    #[test]
    fn long_codes_use_subtables() {
        let mut lens: Vec<u8> = (1..=15).collect();
        lens.push(15); // a complete code: 1/2 + 1/4 + ... + 2/2^15
        let mut t = Tables::default();
        t.begin(2 * DIST);
        t.add(0, DIST, &lens, |sym| ((sym % 3) as u8, sym as u32))
            .unwrap();
        assert!(t.t.len() > 2 * DIST, "no subtables were made");
        let mut code = 0u32;
        for (sym, &len) in lens.iter().enumerate() {
            let len = u32::from(len);
            if sym > 0 {
                code = (code + 1) << (len - u32::from(lens[sym - 1]));
            }
            let rev = u64::from(code.reverse_bits() >> (32 - len));
            // Whatever follows the code must not matter.
            for tail in [0u64, !0u64 << len] {
                let e = t.lookup(0, rev | tail);
                assert_eq!((e >> 16) as usize, sym);
                assert_eq!(e & 0xFF, len + (sym % 3) as u32);
            }
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
        // A dynamic header with the largest HLIT, HDIST and HCLEN the bits
        // can say, and no code-length code.
        let mut most = vec![0xFD, 0xFF, 0x01];
        most.resize(40, 0);
        assert!(make_joinable(&mut most).is_err());
    }
}
