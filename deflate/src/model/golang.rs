//! Go's `compress/flate` (1.19; what Go programs, container tools among
//! them, write through `compress/gzip`).
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
//! - Level 1 is another encoder (`deflatefast.go`, Snappy's): the input in
//!   blocks of 65,535 bytes, a table of 2^14 entries (4 bytes little-endian,
//!   multiplied, 14 bits) holding a position and its 4 bytes, looked up at
//!   positions that step further apart the longer nothing matches (one
//!   step per 32 misses); a match (4 bytes or more, within 32,768, not past
//!   the block) is extended, the positions before and at its end go into
//!   the table, and a match starting right at its end is tried at once.
//!   A block's last 15 bytes are literals.

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

/// Level 1's block of input.
const FAST_BLOCK: usize = 65535;

/// Go's parser state beyond the chains (`head`, `prev`: positions plus one).
#[derive(Debug, Clone, Default)]
pub(super) struct Go {
    /// Level 1: its table (position plus one, and the 4 bytes there).
    table: Vec<(u32, u32)>,
    /// Level 1: the block being replayed (its first position).
    block: Option<usize>,
    /// Level 1: literals from `.0` up to `.1`, where the match `.2` starts
    /// (or, with a literal there, the block's remainder).
    plan: Option<(usize, usize, Found)>,
    /// Level 1: a match found right at the end of the one before.
    immediate: Option<(usize, Found)>,
    /// Level 1: where the next scan starts.
    scan: Option<usize>,
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
            table: if level <= 1 {
                vec![(0, 0); 1 << 14]
            } else {
                Vec::new()
            },
            ..Go::default()
        }
    }

    pub(super) fn rebase(&mut self, drop: usize) {
        let d = u32::try_from(drop).unwrap_or(u32::MAX);
        for e in &mut self.table {
            e.0 = e.0.saturating_sub(d);
        }
        let back = |q: usize| q.checked_sub(drop);
        self.block = self.block.and_then(back);
        self.scan = self.scan.and_then(back);
        self.plan = self
            .plan
            .and_then(|(a, b, f)| Some((back(a)?, back(b)?, f)));
        self.immediate = self.immediate.and_then(|(q, f)| back(q).map(|q| (q, f)));
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
        if !self.go().table.is_empty() {
            return self.go_fast_predict(d, p);
        }
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
        if !self.go().table.is_empty() {
            return self.go_fast_advance(d, p, len);
        }
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
        if !self.go().table.is_empty() {
            let go = self.go_mut();
            (go.plan, go.immediate, go.scan, go.predicted) = (None, None, None, None);
            return;
        }
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

/// Level 1's hash of 4 bytes (little-endian), 14 bits.
fn fast_hash(v: u32) -> usize {
    (v.wrapping_mul(0x1E35_A7BD) >> 18) as usize
}

fn load32(d: &[u8], p: usize) -> u32 {
    u32::from_le_bytes([d[p], d[p + 1], d[p + 2], d[p + 3]])
}

impl Model {
    fn go_mut(&mut self) -> &mut Go {
        self.go.as_deref_mut().expect("a Go model has its state")
    }

    /// Level 1's block around `p`: its start and end in the text.
    fn fast_block(&self, d: &[u8], p: usize) -> (usize, usize) {
        let start = (self.origin + p) / FAST_BLOCK * FAST_BLOCK;
        let start = start.saturating_sub(self.origin);
        (start, (start + FAST_BLOCK).min(d.len()))
    }

    /// A table entry's position, if it holds the 4 bytes `v` within reach of `s`.
    fn fast_candidate(&self, e: (u32, u32), s: usize, v: u32) -> Option<usize> {
        let pos = (e.0 as usize).checked_sub(1)?;
        (pos < s && s - pos <= WINDOW && e.1 == v).then_some(pos)
    }

    /// The match at `s` from `pos`, extended within the block.
    fn fast_match(d: &[u8], s: usize, pos: usize, end: usize) -> Found {
        let len = 4 + common(&d[pos + 4..], &d[s + 4..(s + 258).min(end)]);
        Found {
            len: len as u16,
            dist: (s - pos) as u16,
        }
    }

    /// Level 1's scan from `from` (the first literal) until a match: the
    /// plan of the literals and the match after them.
    fn fast_plan(&mut self, d: &[u8], from: usize, scan: usize, end: usize) {
        let limit = end.saturating_sub(15);
        let remainder = (from, end, LITERAL);
        if scan > limit || end - self.fast_block(d, from).0 < 17 {
            self.go_mut().plan = Some(remainder);
            return;
        }
        let (mut skip, mut next) = (32usize, scan);
        let mut cv = load32(d, scan);
        let mut h = fast_hash(cv);
        loop {
            let s = next;
            let step = skip >> 5;
            next = s + step;
            skip += step;
            if next > limit {
                self.go_mut().plan = Some(remainder);
                return;
            }
            let cand = self.go().table[h];
            let now = load32(d, next);
            self.go_mut().table[h] = (s as u32 + 1, cv);
            h = fast_hash(now);
            if let Some(pos) = self.fast_candidate(cand, s, cv) {
                let m = Model::fast_match(d, s, pos, end);
                self.go_mut().plan = Some((from, s, m));
                return;
            }
            cv = now;
        }
    }

    /// The token level 1 writes at `p`.
    pub(super) fn go_fast_predict(&mut self, d: &[u8], p: usize) -> Found {
        let (start, end) = self.fast_block(d, p);
        if self.go().block != Some(start) {
            let go = self.go_mut();
            (go.block, go.plan, go.immediate, go.scan) = (Some(start), None, None, Some(start));
        }
        let go = self.go_mut();
        let f = match (go.immediate, go.plan) {
            (Some((q, f)), _) if q == p => f,
            (_, Some((from, at, f))) if from <= p && p <= at && p < end => {
                if p < at {
                    LITERAL
                } else {
                    f
                }
            }
            _ => {
                let scan = go.scan.take().unwrap_or(p).max(p);
                self.fast_plan(d, p, scan, end);
                match self.go().plan {
                    Some((_, at, f)) if at == p => f,
                    _ => LITERAL,
                }
            }
        };
        self.go_mut().predicted = Some((p, f));
        f
    }

    /// After level 1's match ends at `e`: the table learns the positions
    /// before and at `e`, and a match right there is tried.
    fn fast_after_match(&mut self, d: &[u8], e: usize) {
        let (_, end) = self.fast_block(d, e.saturating_sub(1));
        let go = self.go_mut();
        (go.plan, go.immediate, go.scan) = (None, None, None);
        if e + 15 >= end || e < 1 {
            self.go_mut().plan = Some((e, end, LITERAL));
            return;
        }
        let before = load32(d, e - 1);
        let here = load32(d, e);
        let go = self.go_mut();
        go.table[fast_hash(before)] = (e as u32, before);
        let cand = go.table[fast_hash(here)];
        go.table[fast_hash(here)] = (e as u32 + 1, here);
        match self.fast_candidate(cand, e, here) {
            Some(pos) => {
                let m = Model::fast_match(d, e, pos, end);
                self.go_mut().immediate = Some((e, m));
            }
            None => self.go_mut().scan = Some(e + 1),
        }
    }

    /// After level 1's actual token at `p` of `len` bytes.
    pub(super) fn go_fast_advance(&mut self, d: &[u8], p: usize, len: usize) {
        let go = self.go_mut();
        let right = matches!(go.predicted.take(), Some((q, f)) if q == p
            && (usize::from(f.len) == len || (f.len < 3 && len == 1)));
        if len >= 3 {
            self.fast_after_match(d, p + len);
        } else if !right {
            let go = self.go_mut();
            (go.plan, go.immediate, go.scan) = (None, None, Some(p + 1));
        }
    }
}
