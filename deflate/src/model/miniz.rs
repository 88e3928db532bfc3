//! miniz's compressor (`tdefl`), as miniz_oxide 0.8 has it: flate2's
//! default backend, so the gzip of most Rust programs that do not choose
//! zlib-rs (maturin's sdists among them).
//!
//! - **Level 1** (`compress_fast`) takes the input 4,096 bytes at a time:
//!   a 12-bit hash of 3 bytes (`t ^ (t >> 17)`) names one earlier token
//!   start, taken if its 3 bytes match (a 3-byte match only within 8,192),
//!   and matches stop at the end of the 4 KiB piece, whose last 1-3 bytes
//!   are literals.
//! - **Levels 2-10** (`compress_normal`) hash every position on 3 bytes
//!   (zlib's hash at 15 bits) as it enters the lookahead, and search the
//!   chain in groups of three links per probe (`NUM_PROBES` by level,
//!   fewer once the match to beat is 32 long); a link is only looked at
//!   when the two bytes that would make it longer match. Levels 2-3 are
//!   greedy; 4-10 keep a match found and take it unless the next position
//!   has a longer one (128 or longer is taken at once). A 3-byte match
//!   further than 8,192 is dropped, and so is a match whose distance
//!   equals the position's offset in the 32 KiB dictionary (a quirk).
//! - Positions are stored as 16 bits: a chain link's distance is taken
//!   modulo 65,536, and position 0 modulo 65,536 ends a chain. The model
//!   keeps them so, in tables of its own, which need no moving when the
//!   text before a chunk is dropped.
//! - The window is 32,768 less the lookahead (258 bytes, or 4,096 at level
//!   1), so a match reaches at most 32,510 back (28,672 at level 1).

use super::search::common;
use super::{Found, Model};

const DICT: usize = 32768;
const MASK: usize = DICT - 1;
const LITERAL: Found = Found { len: 1, dist: 0 };
/// miniz's `NUM_PROBES` by level.
const NUM_PROBES: [u32; 11] = [0, 1, 6, 32, 16, 32, 128, 256, 512, 768, 1500];
/// Level 1's piece of input.
const FAST_PIECE: usize = 4096;

/// miniz's tables and the lazy parser's state.
#[derive(Debug, Clone)]
pub(super) struct Mz {
    fast: bool,
    greedy: bool,
    probes: [u32; 2],
    /// Hash heads (level 1: 4,096 token starts; else 32,768 chain heads).
    hash: Vec<u16>,
    /// Chain links by position modulo 32,768 (levels 2-10).
    next: Vec<u16>,
    /// Positions below this are in the chains.
    inserted: usize,
    /// A match found at this position, waiting for the next position's search.
    saved: Option<(usize, u32, u32)>,
    /// The token at this position, already chosen.
    decided: Option<(usize, Found)>,
    predicted: Option<(usize, Found)>,
}

impl Mz {
    pub(super) fn new(level: u8) -> Mz {
        let n = NUM_PROBES[usize::from(level.min(10))] & 0xfff;
        let fast = level <= 1;
        Mz {
            fast,
            greedy: level <= 3,
            probes: [1 + n.div_ceil(3), 1 + (n >> 2).div_ceil(3)],
            hash: vec![0; if fast { 4096 } else { DICT }],
            next: if fast { Vec::new() } else { vec![0; DICT] },
            inserted: 0,
            saved: None,
            decided: None,
            predicted: None,
        }
    }

    /// Moves the text's positions down by `drop` (the tables hold
    /// positions of the stream, modulo 65,536, and stay).
    pub(super) fn rebase(&mut self, drop: usize) {
        self.inserted = self.inserted.saturating_sub(drop);
        self.saved = self
            .saved
            .and_then(|(q, l, x)| q.checked_sub(drop).map(|q| (q, l, x)));
        let back = |(q, f): (usize, Found)| q.checked_sub(drop).map(|q| (q, f));
        self.decided = self.decided.and_then(back);
        self.predicted = self.predicted.and_then(back);
    }
}

impl Model {
    fn mz(&self) -> &Mz {
        self.mz.as_deref().expect("a miniz model has its state")
    }

    fn mz_mut(&mut self) -> &mut Mz {
        self.mz.as_deref_mut().expect("a miniz model has its state")
    }

    /// The 16 bits miniz keeps of the position `p` of the text.
    fn mz_pos(&self, p: usize) -> u16 {
        (self.origin + p) as u16
    }

    /// Every position below `upto` with 3 bytes ahead into the chains.
    fn mz_insert_to(&mut self, d: &[u8], upto: usize) {
        let end = upto.min(d.len().saturating_sub(2));
        let origin = self.origin;
        let mz = self.mz.as_deref_mut().expect("a miniz model has its state");
        while mz.inserted < end {
            let q = mz.inserted;
            let h =
                ((usize::from(d[q]) << 10) ^ (usize::from(d[q + 1]) << 5) ^ usize::from(d[q + 2]))
                    & MASK;
            mz.next[q & MASK] = mz.hash[h];
            mz.hash[h] = (origin + q) as u16;
            mz.inserted += 1;
        }
        mz.inserted = mz.inserted.max(upto);
    }

    /// miniz's `find_match` at `p`, to beat `len`: (distance, length);
    /// the distance is 0 when nothing longer was found.
    fn mz_find(&self, d: &[u8], p: usize, max_dist: usize, max_len: usize, len: u32) -> (u32, u32) {
        let mz = self.mz();
        let max_len = max_len.min(258) as u32;
        let mut len = len.max(1);
        if max_len <= len {
            return (0, len);
        }
        let here = self.mz_pos(p);
        // Past the text miniz reads stale bytes; the model reads none.
        let pair = |i: usize| (d.get(i).copied(), d.get(i + 1).copied());
        let mut probes = mz.probes[usize::from(len >= 32)];
        let mut best = 0u32;
        let mut probe = p;
        let mut c01 = pair(p + len as usize - 1);
        let s01 = pair(p);
        loop {
            let mut dist = None;
            while dist.is_none() {
                probes -= 1;
                if probes == 0 {
                    return (best, len);
                }
                for _ in 0..3 {
                    let link = mz.next[probe & MASK];
                    let dd = usize::from(here.wrapping_sub(link));
                    if link == 0 || dd > max_dist || dd > p {
                        return (best, len);
                    }
                    probe = p - dd;
                    if pair(probe + len as usize - 1) == c01 {
                        dist = Some(dd);
                        break;
                    }
                }
            }
            let dist = dist.unwrap_or(0);
            if dist == 0 {
                return (best, len);
            }
            if pair(probe) != s01 {
                continue;
            }
            let l = 2 + common(&d[probe + 2..], &d[p + 2..(p + 258).min(d.len())]);
            if l >= 258 {
                return (dist as u32, max_len);
            }
            if l as u32 > len {
                best = dist as u32;
                len = max_len.min(l as u32);
                if len >= max_len {
                    return (best, len);
                }
                c01 = pair(p + len as usize - 1);
            }
        }
    }

    /// One step of `compress_normal` at `x`: its search and filters.
    fn mz_step(&mut self, d: &[u8], x: usize, len: u32) -> (u32, u32) {
        self.mz_insert_to(d, x + 1);
        let lookahead = (d.len() - x).min(258);
        let max_dist = (self.origin + x).min(DICT - lookahead);
        let (dist, len) = self.mz_find(d, x, max_dist, lookahead, len);
        if (len == 3 && dist >= 8192) || (self.origin + x) & MASK == dist as usize {
            return (0, 0);
        }
        (dist, len)
    }

    /// The token miniz writes at `p`.
    pub(super) fn mz_predict(&mut self, d: &[u8], p: usize) -> Found {
        let f = if self.mz().fast {
            self.mz_fast(d, p)
        } else {
            self.mz_normal(d, p)
        };
        self.mz_mut().predicted = Some((p, f));
        f
    }

    fn mz_normal(&mut self, d: &[u8], p: usize) -> Found {
        let found = |len: u32, dist: u32| Found {
            len: len as u16,
            dist: dist as u16,
        };
        if let Some((q, f)) = self.mz_mut().decided.take()
            && q == p
        {
            return f;
        }
        let (len, dist) = match self.mz_mut().saved.take() {
            Some((q, len, dist)) if q == p => (len, dist),
            _ => {
                let (dist, len) = self.mz_step(d, p, 2);
                if dist == 0 {
                    return LITERAL;
                }
                if self.mz().greedy || len >= 128 {
                    return found(len, dist);
                }
                (len, dist)
            }
        };
        // A match kept: the next position's search decides.
        let (d2, l2) = self.mz_step(d, p + 1, len);
        if l2 > len {
            let mz = self.mz_mut();
            if l2 >= 128 {
                mz.decided = Some((p + 1, found(l2, d2)));
            } else {
                mz.saved = Some((p + 1, l2, d2));
            }
            return LITERAL;
        }
        found(len, dist)
    }

    /// `compress_fast` at `p`.
    fn mz_fast(&mut self, d: &[u8], p: usize) -> Found {
        let at = self.origin + p;
        let piece_end = ((at / FAST_PIECE + 1) * FAST_PIECE - self.origin).min(d.len());
        let lookahead = piece_end - p;
        if lookahead < 4 {
            return LITERAL;
        }
        let t = u32::from_le_bytes([d[p], d[p + 1], d[p + 2], 0]);
        let h = ((t ^ (t >> 17)) & 4095) as usize;
        let here = self.mz_pos(p);
        let mz = self.mz_mut();
        let dist = usize::from(here.wrapping_sub(mz.hash[h]));
        mz.hash[h] = here;
        let max_dist = at.min(DICT - lookahead);
        if dist == 0 || dist > max_dist || dist > p || d[p - dist..p - dist + 3] != d[p..p + 3] {
            return LITERAL;
        }
        let len = common(&d[p - dist..], &d[p..(p + 258).min(d.len())]);
        if len < 3 || (len == 3 && dist >= 8192) {
            return LITERAL;
        }
        Found {
            len: len.min(lookahead) as u16,
            dist: dist as u16,
        }
    }

    /// After the actual token at `p`: off the model's path, its pending
    /// choices are dropped.
    pub(super) fn mz_advance(&mut self, p: usize, len: usize) {
        let mz = self.mz_mut();
        let right = matches!(mz.predicted.take(), Some((q, f)) if q == p
            && (usize::from(f.len) == len || (f.len < 3 && len == 1)));
        if !right {
            mz.saved = None;
            mz.decided = None;
        }
    }

    /// A stored block: miniz's parser went over its text all the same.
    pub(super) fn mz_skip(&mut self, d: &[u8], p: usize, len: usize) {
        if !self.mz().fast {
            self.mz_insert_to(d, p + len);
        }
        let mz = self.mz_mut();
        (mz.saved, mz.decided, mz.predicted) = (None, None, None);
    }

    /// The chain at `p` for naming a mispredicted match: level 1 keeps
    /// none; the others, miniz's own, newest first.
    pub(super) fn mz_link(&self, p: usize, at: usize) -> Option<usize> {
        let mz = self.mz();
        if mz.fast {
            return None;
        }
        let link = mz.next[at & MASK];
        let dd = usize::from(self.mz_pos(p).wrapping_sub(link));
        (link != 0 && dd != 0 && dd <= p && p - dd < at).then(|| p - dd)
    }
}
