//! Models of deflate encoders, replayed over the plain text to predict
//! each token of a stream: zlib's (1.2 and 1.3, `deflate.c`: this module,
//! with Chromium's hashes and zlib-ng's levels 7-9), zlib-ng's levels 1-6
//! (`ng`), libdeflate's (`libdeflate`), miniz's (`miniz`) and Go's
//! (`golang`); `params` names them and their settings.
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

mod golang;
mod libdeflate;
mod miniz;
mod ng;
mod params;
mod search;

use params::{CONFIG, CONFIG_NG, Config, Strategy};
pub use params::{Flavour, Params};
use search::common;

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
    /// The parser replayed.
    strategy: Strategy,
    /// zlib-ng levels 1-6: positions below this were inserted or skipped
    /// (zlib-ng inserts in increasing order, each position once).
    top: usize,
    /// Where `pending`'s match was first searched (`deflate_medium`'s `orgstart`).
    org: usize,
    /// The token last predicted, and where.
    predicted: Option<(usize, Found)>,
    /// Bytes of the stream before the text's first byte.
    origin: usize,
    /// Times zlib-ng's window has slid.
    slides: usize,
    /// Where the last token the model predicted starts.
    last: usize,
    /// While trying a prediction: the chain entries it changed, to undo.
    journal: Option<Vec<(usize, u32, usize, u32)>>,
    /// libdeflate's own tables and parser state.
    ld: Option<Box<libdeflate::Ld>>,
    /// miniz's own tables and parser state.
    mz: Option<Box<miniz::Mz>>,
    /// Go's parser state.
    go: Option<Box<golang::Go>>,
}

impl Model {
    /// A model with empty chains.
    pub fn new(params: Params) -> Model {
        let ng = params.flavour == Flavour::ZlibNg;
        let hash4 = ng && params.level < 9;
        // zlib-ng's rolling hash is zlib's at memLevel 8; its 4-byte hash has 16 bits.
        let hash_bits = match (ng, hash4) {
            // libdeflate's 4-byte table has 16 bits, Go's 17.
            _ if params.flavour == Flavour::Libdeflate => 16,
            _ if params.flavour == Flavour::Go => 17,
            (false, _) => u32::from(params.mem_level) + 7,
            (true, false) => 15,
            (true, true) => 16,
        };
        let w = 1usize << params.window_bits;
        Model {
            params,
            cfg: if params.strategy() == Strategy::Zlib {
                CONFIG[usize::from(params.level.min(9))]
            } else {
                CONFIG_NG[usize::from(params.level.min(6))]
            },
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
            strategy: params.strategy(),
            top: 0,
            org: 0,
            predicted: None,
            origin: 0,
            slides: 0,
            last: 0,
            journal: None,
            ld: (params.flavour == Flavour::Libdeflate)
                .then(|| Box::new(libdeflate::Ld::new(params.level))),
            mz: (params.flavour == Flavour::Miniz).then(|| Box::new(miniz::Mz::new(params.level))),
            go: (params.flavour == Flavour::Go).then(|| Box::new(golang::Go::new(params.level))),
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
        if self.strategy == Strategy::Zlib {
            self.pending = None;
            return;
        }
        // zlib-ng's parsers keep their state across blocks, so across chunks too.
        let back = |(q, f): (usize, Found)| q.checked_sub(drop).map(|q| (q, f));
        self.pending = self.pending.and_then(back);
        self.predicted = self.predicted.and_then(back);
        self.top = self.top.saturating_sub(drop);
        self.org = self.org.saturating_sub(drop);
        self.last = self.last.saturating_sub(drop);
        self.origin += drop;
        if let Some(ld) = &mut self.ld {
            ld.rebase(drop);
        }
        if let Some(mz) = &mut self.mz {
            mz.rebase(drop);
        }
        if let Some(go) = &mut self.go {
            go.rebase(drop);
        }
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

    /// The model's token at `p`: a match, or a literal (`len` below 3).
    pub fn predict(&mut self, d: &[u8], p: usize) -> Found {
        match self.strategy {
            Strategy::Zlib => {}
            Strategy::Quick => return self.predict_quick(d, p),
            Strategy::Fast => return self.predict_fast(d, p),
            Strategy::Medium => return self.predict_medium(d, p),
            Strategy::Libdeflate => return self.ld_predict(d, p),
            Strategy::Miniz => return self.mz_predict(d, p),
            Strategy::Go => return self.go_predict(d, p),
        }
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
        match self.strategy {
            Strategy::Zlib => {}
            Strategy::Quick => return,
            Strategy::Fast => return self.advance_fast(d, p, len),
            Strategy::Medium => return self.advance_medium(d, p, len),
            Strategy::Libdeflate => return self.ld_advance(d, p, len),
            Strategy::Miniz => return self.mz_advance(p, len),
            Strategy::Go => return self.go_advance(d, p, len),
        }
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
        match self.strategy {
            Strategy::Zlib => {}
            Strategy::Libdeflate => return self.ld_skip_stored(d, p, len),
            Strategy::Miniz => return self.mz_skip(d, p, len),
            Strategy::Go => return self.go_skip(d, p, len),
            _ => return self.skip_ng(d, p, len),
        }
        self.insert_to(d, p + len);
        self.pending = None;
    }

    /// Where the encoder may have refilled its input just before `p`, with
    /// a consequence the model can name: zlib-ng's `deflate_medium`
    /// forgets the match it looked ahead for at each refill (each call of
    /// a program that writes its input in pieces), and searches `p` anew,
    /// which it already inserted, so it writes a literal. The context of
    /// the question (`Some(context)`), or `None` where the model has no
    /// such question.
    pub fn refill_point(&self, p: usize) -> Option<usize> {
        match self.strategy {
            Strategy::Medium => self.medium_refill_point(p),
            _ => None,
        }
    }

    /// Whether a refill before `p` is what explains a literal there: the
    /// model without it predicts a match (the model is left as it was).
    pub fn refill_explains_literal(&mut self, d: &[u8], p: usize) -> bool {
        self.strategy == Strategy::Medium && self.medium_would_match(d, p)
    }

    /// The encoder refilled before the token at `p`: see [`Model::refill_point`].
    pub fn refill(&mut self) {
        self.pending = None;
    }

    /// A block of tokens starts at `p` (libdeflate chooses settings per block).
    pub fn block_start(&mut self, d: &[u8], p: usize) {
        if self.strategy == Strategy::Libdeflate {
            self.ld_block_start(d, p);
        }
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
        // libdeflate's and Go's tables hold positions plus one; zlib's, 0 for none;
        // miniz's are its own.
        let off = usize::from(self.ld.is_some() || self.go.is_some());
        let link = move |at: usize| {
            if self.mz.is_some() {
                return self.mz_link(p, at);
            }
            (self.prev[at & self.wmask] as usize)
                .checked_sub(off)
                .filter(|&c| off == 1 || c != 0)
        };
        let mut cur = if p + 3 > d.len() { None } else { link(p) };
        let mut last = p;
        let mut left = max;
        std::iter::from_fn(move || {
            let at = cur.filter(|&c| c < last && p - c <= self.wmask + 1 && left > 0)?;
            last = at;
            left -= 1;
            cur = link(at);
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
