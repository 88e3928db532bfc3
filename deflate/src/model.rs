//! A model of zlib's encoder (1.2 and 1.3, `deflate.c`): its hash chains,
//! its match search and its greedy and lazy parsers, replayed over the
//! plain text to predict each token of a stream.
//!
//! The replay follows the stream, not itself: after each actual token the
//! model moves to the position after it, so one surprise costs one
//! correction and the predictions after it are as good as before.
//!
//! What zlib does, and the model with it:
//!
//! - Every position `p` with 3 bytes ahead is hashed on those 3 bytes
//!   (`hash_bits = mem_level + 7`, each byte shifted in by
//!   `(hash_bits + 2) / 3` bits, so the hash is a function of the 3 bytes)
//!   and put at the head of its chain; position 0 is never a candidate
//!   (zlib's NIL).
//! - A search walks the chain from the newest, at most `max_chain`
//!   candidates (a quarter when the match to beat is already `good`
//!   long), none further than `MAX_DIST` (window - 262), and stops at the
//!   first match of `nice` bytes; of equal lengths the newest wins.
//! - Levels 1-3 are greedy: a match found is taken, and its inner
//!   positions are hashed only if it is at most `lazy` long.
//! - Levels 4-9 are lazy: a match at `p` is taken only if `p + 1` has no
//!   longer one (not searched when the match is `lazy` long already);
//!   3-byte matches further than 4,096 (`TOO_FAR`) are ignored.
//! - A block ends when it holds `2^(mem_level + 6) - 1` tokens.

/// Which family of encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Flavour {
    /// zlib 1.2 and 1.3 (and GNU gzip, which shares its parser).
    #[default]
    Zlib,
    /// zlib-ng and zlib-rs (Rust's flate2, cargo since 1.88), levels 7-9:
    /// zlib's lazy parser without `TOO_FAR`; levels 7-8 hash 4 bytes
    /// multiplicatively, level 9 hashes 3 and jumps between chains.
    ZlibNg,
    /// Chromium's zlib (node's `zlib`, npm's tarballs) on a CPU with
    /// SSE4.2 or ARMv8 CRC: zlib's parser, each position hashed by the
    /// CRC32C of its 4 bytes (3 from level 6 up).
    ChromiumCrc,
    /// Chromium's zlib since its CPU-independent hash:
    /// `(bytes * 66521 + 66521) >> 16`, of 4 bytes at every level.
    ChromiumMul,
}

/// Which encoder, with which settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Params {
    /// The encoder family.
    pub flavour: Flavour,
    /// zlib's level, 1 to 9.
    pub level: u8,
    /// zlib's `memLevel`, 1 to 9: the hash size and the block size.
    pub mem_level: u8,
    /// The window, 9 to 15 bits.
    pub window_bits: u8,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            flavour: Flavour::Zlib,
            level: 6,
            mem_level: 8,
            window_bits: 15,
        }
    }
}

impl std::fmt::Display for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.flavour {
            Flavour::Zlib => "zlib",
            Flavour::ZlibNg => "zlib-ng",
            Flavour::ChromiumCrc => "chromium-crc32c",
            Flavour::ChromiumMul => "chromium",
        };
        write!(f, "{name} -{}", self.level)?;
        if self.mem_level != 8 || self.window_bits != 15 {
            write!(
                f,
                " (memLevel {}, windowBits {})",
                self.mem_level, self.window_bits
            )?;
        }
        Ok(())
    }
}

impl Params {
    /// Whether the settings are ones zlib has.
    pub fn is_valid(&self) -> bool {
        let levels = match self.flavour {
            Flavour::Zlib | Flavour::ChromiumCrc | Flavour::ChromiumMul => 1..=9,
            Flavour::ZlibNg => 7..=9,
        };
        levels.contains(&self.level)
            && (1..=9).contains(&self.mem_level)
            && (9..=15).contains(&self.window_bits)
    }

    /// Tokens a block holds before zlib ends it.
    pub fn block_tokens(&self) -> usize {
        (1usize << (self.mem_level + 6)) - 1
    }
}

/// zlib's `configuration_table`: good, lazy, nice, chain, and whether the
/// level is lazy.
#[derive(Debug, Clone, Copy)]
struct Config {
    good: u16,
    lazy: u16,
    nice: u16,
    chain: u16,
    lazy_parse: bool,
}

const fn cfg(good: u16, lazy: u16, nice: u16, chain: u16, lazy_parse: bool) -> Config {
    Config {
        good,
        lazy,
        nice,
        chain,
        lazy_parse,
    }
}

const CONFIG: [Config; 10] = [
    cfg(0, 0, 0, 0, false),
    cfg(4, 4, 8, 4, false),
    cfg(4, 5, 16, 8, false),
    cfg(4, 6, 32, 32, false),
    cfg(4, 4, 16, 16, true),
    cfg(8, 16, 32, 32, true),
    cfg(8, 16, 128, 128, true),
    cfg(8, 32, 128, 256, true),
    cfg(32, 128, 258, 1024, true),
    cfg(32, 258, 258, 4096, true),
];

/// Bytes zlib keeps ahead of the search (`MIN_LOOKAHEAD`).
const LOOKAHEAD: usize = 258 + 3 + 1;
/// 3-byte matches further than this are not worth it (zlib's `TOO_FAR`).
const TOO_FAR: usize = 4096;

/// A match the model found: `len` below 3 means none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Found {
    /// Its length.
    pub len: u16,
    /// Its distance.
    pub dist: u16,
}

/// The replay: hash chains over the plain text, and the lazy parser's state.
#[derive(Debug, Clone)]
pub struct Model {
    params: Params,
    cfg: Config,
    shift: u32,
    hash_mask: usize,
    wmask: usize,
    max_dist: usize,
    head: Vec<u32>,
    prev: Vec<u32>,
    /// Positions below this are in the chains (or were skipped).
    inserted: usize,
    /// A match found at `pending.0` by the search made at the position before.
    pending: Option<(usize, Found)>,
    /// zlib-ng's 4-byte multiplicative hash (levels 7-8), not zlib's 3-byte one.
    hash4: bool,
    /// zlib-ng's chain-jumping search (level 9).
    jumps: bool,
}

impl Model {
    /// A model with empty chains.
    pub fn new(params: Params) -> Model {
        let ng = params.flavour == Flavour::ZlibNg;
        let hash4 = ng && params.level < 9;
        // zlib-ng's rolling hash is zlib's at memLevel 8; its 4-byte hash has 16 bits.
        let hash_bits = match (ng, hash4) {
            (false, _) => u32::from(params.mem_level) + 7,
            (true, false) => 15,
            (true, true) => 16,
        };
        let w = 1usize << params.window_bits;
        Model {
            params,
            cfg: CONFIG[usize::from(params.level.min(9))],
            shift: hash_bits.div_ceil(3),
            hash_mask: (1 << hash_bits) - 1,
            wmask: w - 1,
            max_dist: w - LOOKAHEAD,
            head: vec![0; 1 << hash_bits],
            prev: vec![0; w],
            inserted: 0,
            pending: None,
            hash4,
            jumps: ng && !hash4,
        }
    }

    /// The settings.
    pub fn params(&self) -> Params {
        self.params
    }

    /// The window the model needs kept before the next chunk's text.
    pub fn window(&self) -> usize {
        self.wmask + 1
    }

    /// Forgets the first `drop` bytes of the text: positions move down by
    /// `drop`, and those that fall off become NIL (as zlib's window slide).
    pub fn rebase(&mut self, drop: usize) {
        let d = u32::try_from(drop).unwrap_or(u32::MAX);
        for x in self.head.iter_mut().chain(self.prev.iter_mut()) {
            *x = x.saturating_sub(d);
        }
        self.inserted = self.inserted.saturating_sub(drop);
        self.pending = None;
    }

    fn hash(&self, d: &[u8], p: usize) -> usize {
        if let Flavour::ChromiumCrc | Flavour::ChromiumMul = self.params.flavour {
            // Past the end Chromium reads its window's padding; the model reads zeros.
            let b = |i: usize| d.get(p + i).copied().unwrap_or(0);
            let mut v = u32::from_le_bytes([b(0), b(1), b(2), b(3)]);
            if self.params.flavour == Flavour::ChromiumCrc && self.params.level >= 6 {
                v &= 0x00ff_ffff;
            }
            let h = if self.params.flavour == Flavour::ChromiumCrc {
                crc32c(v)
            } else {
                v.wrapping_mul(66521).wrapping_add(66521) >> 16
            };
            return h as usize & self.hash_mask;
        }
        if self.hash4 {
            let v = u32::from_le_bytes([d[p], d[p + 1], d[p + 2], d[p + 3]]);
            return (v.wrapping_mul(2_654_435_761) >> 16) as usize & self.hash_mask;
        }
        let s = self.shift;
        ((usize::from(d[p]) << (2 * s)) ^ (usize::from(d[p + 1]) << s) ^ usize::from(d[p + 2]))
            & self.hash_mask
    }

    /// Puts every position below `upto` that has 3 bytes ahead in the chains.
    fn insert_to(&mut self, d: &[u8], upto: usize) {
        // zlib-ng hashes a position only with 4 bytes ahead (WANT_MIN_MATCH).
        let ahead = if self.params.flavour == Flavour::ZlibNg {
            3
        } else {
            2
        };
        let end = upto.min(d.len().saturating_sub(ahead));
        while self.inserted < end {
            let p = self.inserted;
            let h = self.hash(d, p);
            self.prev[p & self.wmask] = self.head[h];
            self.head[h] = p as u32;
            self.inserted += 1;
        }
        self.inserted = self.inserted.max(upto);
    }

    /// The chain candidate before `p` (0: none).
    fn next_candidate(&self, cur: usize) -> usize {
        self.prev[cur & self.wmask] as usize
    }

    /// zlib's `longest_match` at `p` (already in the chains), to beat `best`.
    fn search(&self, d: &[u8], p: usize, best: u16) -> Found {
        if self.jumps {
            return self.search_jumping(d, p, best);
        }
        let none = Found { len: best, dist: 0 };
        if p + 3 > d.len() {
            return none;
        }
        let mut cur = self.next_candidate(p);
        if cur == 0 || p - cur > self.max_dist {
            return none;
        }
        let lookahead = (d.len() - p).min(258);
        let mut chain = u32::from(self.cfg.chain);
        if best >= self.cfg.good {
            chain >>= 2;
        }
        let nice = usize::from(self.cfg.nice).min(lookahead);
        let limit = p.saturating_sub(self.max_dist);
        let mut best_len = usize::from(best);
        let mut best_at = 0;
        let scan = &d[p..p + lookahead];
        loop {
            if best_len < lookahead && d[cur + best_len] == scan[best_len] {
                let len = common(&d[cur..], scan);
                if len > best_len {
                    best_len = len;
                    best_at = cur;
                    if len >= nice {
                        break;
                    }
                }
            }
            cur = self.next_candidate(cur);
            chain -= 1;
            if cur <= limit || chain == 0 {
                break;
            }
        }
        if best_at == 0 {
            return none;
        }
        Found {
            len: best_len as u16,
            dist: (p - best_at) as u16,
        }
    }

    /// zlib-ng's `longest_match_slow` (level 9): a match longer than
    /// `best` must hold, at each offset `k` within it, the 3 bytes at
    /// `p + k`, so the search may walk whichever of those 3-byte chains
    /// is sparsest (its newest entry oldest) instead of the chain of `p`,
    /// taking `position - k` as the candidate. It picks that chain when it
    /// starts with a match to beat, and again after each longer match
    /// found; `max_chain` counts the steps of the chains it walks, so it
    /// sees further back than zlib in text with long chains.
    fn search_jumping(&self, d: &[u8], p: usize, best: u16) -> Found {
        let none = Found { len: best, dist: 0 };
        if p + 4 > d.len() {
            return none;
        }
        let mut cur = self.next_candidate(p);
        if cur == 0 || p - cur > self.max_dist {
            return none;
        }
        let lookahead = d.len() - p;
        let scan = &d[p..p + lookahead.min(258)];
        let mut best_len = usize::from(best.max(2));
        let mut best_at = 0usize;
        let mut chain = u32::from(self.cfg.chain);
        if best_len >= usize::from(self.cfg.good) {
            chain >>= 2;
        }
        let nice = usize::from(self.cfg.nice);
        let base = p.saturating_sub(self.max_dist);
        let mut offset = 0usize;
        let found = |at: usize, len: usize| Found {
            len: len.min(lookahead) as u16,
            dist: (p - at) as u16,
        };
        if best_len >= 3 {
            // (Near the end zlib-ng hashes bytes past the input; the model stops there.)
            for k in (1..=best_len - 2).take_while(|k| p + k + 2 < d.len()) {
                let pos = self.head[self.hash(d, p + k)] as usize;
                if pos < cur {
                    cur = pos;
                    offset = k;
                }
            }
            if cur <= base + offset {
                return none;
            }
        }
        let mut limit = base + offset;
        loop {
            if cur >= p {
                break;
            }
            let cand = cur - offset;
            let len = common(&d[cand..], scan);
            if len > best_len {
                best_at = cand;
                if len >= lookahead {
                    return found(cand, lookahead);
                }
                best_len = len;
                if len >= nice {
                    break;
                }
                if len > 3 && cand + len < p {
                    // Jump to the sparsest chain among the 3-byte strings of the match.
                    let mut next = cand;
                    offset = 0;
                    for i in 0..=len - 3 {
                        let pos = self.prev[(cand + i) & self.wmask] as usize;
                        if pos < next {
                            if pos <= base + i {
                                return found(best_at, best_len);
                            }
                            next = pos;
                            offset = i;
                        }
                    }
                    cur = next;
                    // And the newest string ending one past the match: it may reach further.
                    let pos = self.head[self.hash(d, p + len - 4)] as usize;
                    if pos < cur {
                        offset = len - 4;
                        if pos <= base + offset {
                            return found(best_at, best_len);
                        }
                        cur = pos;
                    }
                    limit = base + offset;
                    continue;
                }
            }
            chain -= 1;
            if chain == 0 {
                break;
            }
            cur = self.next_candidate(cur);
            if cur <= limit {
                break;
            }
        }
        if best_at == 0 {
            return none;
        }
        found(best_at, best_len)
    }

    /// The model's token at `p`: a match, or a literal (`len` below 3).
    pub fn predict(&mut self, d: &[u8], p: usize) -> Found {
        self.insert_to(d, p + 1);
        let here = match self.pending {
            Some((q, f)) if q == p => f,
            _ => self.first_search(d, p),
        };
        if !self.cfg.lazy_parse {
            return here;
        }
        if here.len >= self.cfg.lazy || p + 1 >= d.len() {
            self.pending = None;
            return here;
        }
        self.insert_to(d, p + 2);
        let mut next = self.search(d, p + 1, here.len.max(2));
        self.too_far(&mut next);
        self.pending = Some((p + 1, next));
        if here.len >= 3 && next.len <= here.len {
            here
        } else {
            Found { len: 2, dist: 0 }
        }
    }

    fn first_search(&self, d: &[u8], p: usize) -> Found {
        let mut f = self.search(d, p, 2);
        if self.cfg.lazy_parse {
            self.too_far(&mut f);
        }
        f
    }

    fn too_far(&self, f: &mut Found) {
        if self.params.flavour != Flavour::ZlibNg && f.len == 3 && usize::from(f.dist) > TOO_FAR {
            f.len = 2;
        }
    }

    /// Moves past the actual token at `p` of `len` bytes (1: a literal).
    pub fn advance(&mut self, d: &[u8], p: usize, len: usize) {
        if len > 1 {
            self.pending = None;
            if !self.cfg.lazy_parse && (len > usize::from(self.cfg.lazy) || d.len() - (p + len) < 3)
            {
                // Greedy zlib skips hashing a long match's inner positions.
                self.insert_to(d, p + 1);
                self.inserted = self.inserted.max(p + len);
            }
        } else if !self.cfg.lazy_parse {
            self.pending = None;
        }
    }

    /// Moves past `len` bytes the model saw no tokens for (a stored block).
    pub fn skip(&mut self, d: &[u8], p: usize, len: usize) {
        self.insert_to(d, p + len);
        self.pending = None;
    }

    /// The candidates the chain at `p` (already inserted) offers within the
    /// window, newest first, at most `max`, as (match length, distance),
    /// each measured only when the caller asks for it.
    pub fn chain<'a>(
        &'a self,
        d: &'a [u8],
        p: usize,
        max: usize,
    ) -> impl Iterator<Item = (u16, u16)> + 'a {
        let scan = &d[p..(p + 258).min(d.len())];
        let mut cur = if p + 3 > d.len() {
            0
        } else {
            self.next_candidate(p)
        };
        let mut last = p;
        let mut left = max;
        std::iter::from_fn(move || {
            if cur == 0 || cur >= last || p - cur > self.wmask + 1 || left == 0 {
                return None;
            }
            let at = cur;
            last = cur;
            left -= 1;
            cur = self.next_candidate(cur);
            Some((common(&d[at..], scan) as u16, (p - at) as u16))
        })
    }
}

/// CRC32C (Castagnoli) of the 4 bytes of `v`, from 0 and without the
/// final inversion: what SSE4.2's `crc32` instruction and ARMv8's `crc32cw`
/// give for one 32-bit word.
fn crc32c(v: u32) -> u32 {
    let mut crc = 0u32;
    for byte in v.to_le_bytes() {
        crc = CRC32C[((crc ^ u32::from(byte)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

/// The byte-wise table of CRC32C's reflected polynomial.
const CRC32C: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82f6_3b78
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// Length of the common prefix of `a` and `b`, at most `b.len()`.
fn common(a: &[u8], b: &[u8]) -> usize {
    let n = b.len().min(a.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut i = 0;
    while i + 8 <= n {
        let x = u64::from_le_bytes(a[i..i + 8].try_into().expect("8 bytes"));
        let y = u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        if x != y {
            return i + ((x ^ y).trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}
