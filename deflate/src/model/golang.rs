//! Go's `compress/flate` (1.19; what Go programs, container tools among
//! them, write through `compress/gzip`), levels 2-9. Level 1 is a different
//! encoder (`deflatefast.go`) and has no model.
//!
//! - Each position with 4 bytes ahead is hashed on them, read big-endian
//!   (`x * 0x1E35A7BD >> 15`, 17 bits), into chains of positions plus one.
//! - The search walks the chain from the newest, at most `chain` candidates,
//!   down to 32,768 back (that one included) and not before the start of
//!   Go's window, which slides by 32,768 once the position passes 65,274
//!   into it; it takes a candidate longer than the best so far, and of 4
//!   bytes only within 4,096; it stops at `nice`. It always starts from a
//!   best of 3, whatever the match before.
//! - Levels 2-3 are greedy, inserting a match's inner positions only when
//!   it is at most 5 (6) long; levels 4-9 are zlib's lazy parser (the next
//!   position is not searched when the match is `lazy` long).
//! - A block holds 16,384 tokens.

use super::search::common;
use super::{Found, Model};

const WINDOW: usize = 32768;
const LITERAL: Found = Found { len: 1, dist: 0 };

/// Go's level table: good, lazy, nice, chain, fastSkipHashing (0: never
/// skip, the lazy levels).
const LEVELS: [(u16, u16, u16, u16, u16); 10] = [
    (0, 0, 0, 0, 0),
    (0, 0, 0, 0, 0),
    (4, 0, 16, 8, 5),
    (4, 0, 32, 32, 6),
    (4, 4, 16, 16, 0),
    (8, 16, 32, 32, 0),
    (8, 16, 128, 128, 0),
    (8, 32, 128, 256, 0),
    (32, 128, 258, 1024, 0),
    (32, 258, 258, 4096, 0),
];

/// Go's parser state beyond the chains (`head`, `prev`: positions plus one).
#[derive(Debug, Clone, Default)]
pub(super) struct Go {
    lazy: u16,
    nice: u16,
    chain: u16,
    skip: u16,
    /// Where Go's window starts, in the text.
    base: usize,
    predicted: Option<(usize, Found)>,
}

impl Go {
    pub(super) fn new(level: u8) -> Go {
        let (_, lazy, nice, chain, skip) = LEVELS[usize::from(level.min(9))];
        Go {
            lazy,
            nice,
            chain,
            skip,
            ..Go::default()
        }
    }

    pub(super) fn rebase(&mut self, drop: usize) {
        self.base = self.base.saturating_sub(drop);
        self.predicted = self
            .predicted
            .and_then(|(q, f)| q.checked_sub(drop).map(|q| (q, f)));
    }
}

impl Model {
    fn go(&self) -> &Go {
        self.go.as_deref().expect("a Go model has its state")
    }

    /// Go's `hash4`: 4 bytes big-endian, multiplied, 17 bits.
    fn go_hash(d: &[u8], p: usize) -> usize {
        let v = u32::from_be_bytes([d[p], d[p + 1], d[p + 2], d[p + 3]]);
        (v.wrapping_mul(0x1E35_A7BD) >> 15) as usize
    }

    /// Puts `q` into the chains (once, in order); the chain's head before.
    fn go_insert(&mut self, d: &[u8], q: usize) -> u32 {
        if q + 4 > d.len() {
            return 0;
        }
        let h = Model::go_hash(d, q);
        let head = self.head[h];
        if q >= self.top {
            self.prev[q & self.wmask] = head;
            self.head[h] = q as u32 + 1;
            self.top = q + 1;
        }
        head
    }

    /// Go's `findMatch` at `p`, from the chain's head entry.
    fn go_search(&self, d: &[u8], p: usize, head: u32) -> Found {
        let go = self.go();
        let min_index = p.saturating_sub(WINDOW).max(go.base);
        let Some(mut cur) = (head as usize)
            .checked_sub(1)
            .filter(|&c| c >= min_index && c < p)
        else {
            return LITERAL;
        };
        let look = (d.len() - p).min(258);
        let scan = &d[p..p + look];
        let nice = usize::from(go.nice).min(look);
        let (mut length, mut best) = (3usize, None);
        for _ in 0..go.chain {
            let n = common(&d[cur..], scan);
            if n > length && (n > 4 || p - cur <= 4096) {
                length = n;
                best = Some(cur);
                if n >= nice {
                    break;
                }
            }
            if cur == min_index {
                break;
            }
            match (self.prev[cur & self.wmask] as usize).checked_sub(1) {
                Some(i) if i >= min_index && i < cur => cur = i,
                _ => break,
            }
        }
        match best {
            Some(c) => Found {
                len: length as u16,
                dist: (p - c) as u16,
            },
            None => LITERAL,
        }
    }

    /// Go's window slides once the position passes 65,274 into it.
    fn go_slide(&mut self, p: usize) {
        let go = self.go.as_deref_mut().expect("a Go model has its state");
        if p >= go.base + 2 * WINDOW - 262 {
            go.base += WINDOW;
        }
    }

    /// The token Go writes at `p`.
    pub(super) fn go_predict(&mut self, d: &[u8], p: usize) -> Found {
        self.go_slide(p);
        let (lazy, skip) = (self.go().lazy, self.go().skip);
        let here = match self.pending.take() {
            Some((q, f)) if q == p => f,
            _ => {
                let head = self.go_insert(d, p);
                if d.len() - p > 3 {
                    self.go_search(d, p, head)
                } else {
                    LITERAL
                }
            }
        };
        let f = if skip != 0 {
            // Greedy: a match of 4 or more is taken.
            if here.len >= 4 { here } else { LITERAL }
        } else {
            let head = self.go_insert(d, p + 1);
            let next = if p + 1 < d.len()
                && d.len() - (p + 1) > usize::from(here.len.max(3))
                && here.len.max(3) < lazy
            {
                self.go_search(d, p + 1, head)
            } else {
                LITERAL
            };
            if here.len >= 4 && next.len.max(3) <= here.len {
                here
            } else {
                self.pending = Some((p + 1, next));
                LITERAL
            }
        };
        self.go
            .as_deref_mut()
            .expect("a Go model has its state")
            .predicted = Some((p, f));
        f
    }

    /// After the actual token at `p` of `len` bytes: its inner positions
    /// go into the chains (greedy levels: only a short match's).
    pub(super) fn go_advance(&mut self, d: &[u8], p: usize, len: usize) {
        let go = self.go.as_deref_mut().expect("a Go model has its state");
        let right = matches!(go.predicted.take(), Some((q, f)) if q == p
            && (usize::from(f.len) == len || (f.len < 3 && len == 1)));
        if !right {
            self.pending = None;
        }
        if len >= 3 {
            self.pending = None;
            let skip = self.go().skip;
            if skip == 0 || len <= usize::from(skip) {
                for q in p + 1..p + len {
                    self.go_insert(d, q);
                }
            } else {
                self.top = self.top.max(p + len);
            }
        }
    }

    /// A stored block's text: Go's parser went over it all the same.
    pub(super) fn go_skip(&mut self, d: &[u8], p: usize, len: usize) {
        for q in p..p + len {
            self.go_insert(d, q);
        }
        self.pending = None;
        self.go
            .as_deref_mut()
            .expect("a Go model has its state")
            .predicted = None;
    }
}
