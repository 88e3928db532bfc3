//! libdeflate's compressor at levels 1-9 (as of 1.14, Debian 12's), which
//! shares nothing with zlib's: its own match finders, parsers and rules
//! for short matches.
//!
//! - **Level 1** (`deflate_compress_fastest`) looks up a hash table of 4
//!   bytes (15 bits) with two entries a bucket, the newest first, and takes
//!   a match of 4 bytes or more; a match's inner positions go into the
//!   table too. Its blocks end at 65,535 bytes or 8,192 matches.
//! - **Levels 2-9** (`hc_matchfinder`) keep one entry per 3-byte hash
//!   (15 bits) and chains per 4-byte hash (16 bits), both multiplicative
//!   (`lz_hash`, 0x1E35A7BD). A search first checks the 3-byte entry (when
//!   it is not valid the search gives up), then walks the 4-byte chain at
//!   most `max_search_depth` nodes, up to `nice`.
//! - **Greedy** (2-4) takes the longest match if it reaches `min_len`
//!   (and a 3-byte match only within 4,096); **lazy** (5-7) looks one
//!   position ahead with half the depth and takes the later match if
//!   `4 × (longer by) + (log2 of the offsets' difference) > 2`; **lazy2**
//!   (8-9) also looks two ahead, with a quarter of the depth, against 6.
//!   A lazy 3-byte match must be within 8,192.
//! - `min_len` is chosen per block from how many different literals the
//!   block's first 4 KiB hold (few literals: cheap literals, longer
//!   matches), and the lazy parsers choose it again from the literals they
//!   have written, at 10,000 bytes into the block and after each doubling.
//! - Every position libdeflate looks at or skips over goes into the tables,
//!   in increasing order; a match window is 32,767 bytes. Its first search
//!   uses hash 0 for position 0 (its hashes are computed one position ahead).
//!
//! Table entries are positions plus one, so that 0 is "none" and position
//! 0 can be matched.

use super::search::common;
use super::{Found, Model};

/// libdeflate's window: a match reaches at most `WINDOW - 1` back.
const WINDOW: usize = 32768;
const LITERAL: Found = Found { len: 1, dist: 0 };
const MIN_BLOCK_LENGTH: usize = 5000;
const SOFT_MAX_BLOCK_LENGTH: usize = 300_000;

/// Which parser a level uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parser {
    Fastest,
    Greedy,
    Lazy,
    Lazy2,
}

/// A level's parser, `max_search_depth` and `nice_match_length`.
const LEVELS: [(Parser, u32, u32); 10] = [
    (Parser::Fastest, 0, 32),
    (Parser::Fastest, 0, 32),
    (Parser::Greedy, 6, 10),
    (Parser::Greedy, 12, 14),
    (Parser::Greedy, 16, 30),
    (Parser::Lazy, 16, 30),
    (Parser::Lazy, 35, 65),
    (Parser::Lazy, 100, 130),
    (Parser::Lazy2, 300, 258),
    (Parser::Lazy2, 600, 258),
];

fn lz_hash(seq: u32, bits: u32) -> usize {
    (seq.wrapping_mul(0x1E35_A7BD) >> (32 - bits)) as usize
}

fn bsr(x: u32) -> i32 {
    31 - x.max(1).leading_zeros() as i32
}

/// What the lazy parsers carry from one token to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Held {
    at: usize,
    len: u32,
    dist: u32,
}

/// libdeflate's state beyond the chains the model already has (`head`
/// is its 4-byte table, `prev` its chain links).
#[derive(Debug, Clone)]
pub(super) struct Ld {
    parser: Parser,
    depth: u32,
    nice: u32,
    hash3: Vec<u32>,
    /// Level 1's table: two entries a bucket.
    ht: Vec<[u32; 2]>,
    /// Level 1's window base, which slides early before a long match.
    base: usize,
    /// Literals written in the block, for `min_len`.
    lit: [u32; 256],
    begin: usize,
    min_len: u32,
    next_recalc: usize,
    /// A match found by a look ahead, the current one at its position.
    held: Option<Held>,
    /// lazy2: a literal here comes before `held`.
    forced: Option<usize>,
    /// Positions to skip into the tables after the predicted match.
    after: Option<(usize, usize)>,
    predicted: Option<(usize, Found)>,
}

impl Ld {
    pub(super) fn new(level: u8) -> Ld {
        let (parser, depth, nice) = LEVELS[usize::from(level.min(9))];
        Ld {
            parser,
            depth,
            nice,
            hash3: if parser == Parser::Fastest {
                Vec::new()
            } else {
                vec![0; 1 << 15]
            },
            ht: if parser == Parser::Fastest {
                vec![[0; 2]; 1 << 15]
            } else {
                Vec::new()
            },
            base: 0,
            lit: [0; 256],
            begin: 0,
            min_len: 3,
            next_recalc: 0,
            held: None,
            forced: None,
            after: None,
            predicted: None,
        }
    }

    /// Moves every position down by `drop` (see `Model::rebase`).
    pub(super) fn rebase(&mut self, drop: usize) {
        let d = u32::try_from(drop).unwrap_or(u32::MAX);
        for x in self.hash3.iter_mut().chain(self.ht.iter_mut().flatten()) {
            *x = x.saturating_sub(d);
        }
        self.base = self.base.saturating_sub(drop);
        self.begin = self.begin.saturating_sub(drop);
        self.next_recalc = self.next_recalc.saturating_sub(drop);
        self.held = self
            .held
            .and_then(|h| h.at.checked_sub(drop).map(|at| Held { at, ..h }));
        self.forced = self.forced.and_then(|f| f.checked_sub(drop));
        self.after = self
            .after
            .and_then(|(f, n)| f.checked_sub(drop).map(|f| (f, n)));
        self.predicted = self
            .predicted
            .and_then(|(q, f)| q.checked_sub(drop).map(|q| (q, f)));
    }
}

/// `choose_min_match_len`: from the number of different literals.
fn choose_min_len(used: usize, depth: u32) -> u32 {
    const MIN_LENS: [u8; 80] = [
        9, 9, 9, 9, 9, 9, 8, 8, 7, 7, 6, 6, 6, 6, 6, 6, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
        5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
        4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    ];
    let mut min_len = MIN_LENS.get(used).map_or(3, |&m| u32::from(m));
    if depth < 16 {
        min_len = min_len.min(match depth {
            0..5 => 4,
            5..10 => 5,
            _ => 7,
        });
    }
    min_len
}

impl Model {
    fn ld(&mut self) -> &mut Ld {
        self.ld.as_mut().expect("a libdeflate model has its state")
    }

    /// The 3- and 4-byte hashes of the position `p` (4 bytes ahead).
    fn ld_hashes(&self, d: &[u8], p: usize) -> (usize, usize) {
        if self.origin + p == 0 {
            return (0, 0);
        }
        let seq = u32::from_le_bytes([d[p], d[p + 1], d[p + 2], d[p + 3]]);
        (lz_hash(seq & 0xff_ffff, 15), lz_hash(seq, 16))
    }

    /// Puts `p` into the 3-byte table and the 4-byte chains; returns
    /// their entries before.
    fn ld_insert(&mut self, d: &[u8], p: usize) -> (u32, u32) {
        let (h3, h4) = self.ld_hashes(d, p);
        let ld = self
            .ld
            .as_deref_mut()
            .expect("a libdeflate model has its state");
        let (n3, n4) = (ld.hash3[h3], self.head[h4]);
        if p >= self.top {
            ld.hash3[h3] = p as u32 + 1;
            self.prev[p & self.wmask] = n4;
            self.head[h4] = p as u32 + 1;
            self.top = p + 1;
        }
        (n3, n4)
    }

    /// An entry's position if it is within the window of `p`.
    fn ld_node(x: u32, p: usize) -> Option<usize> {
        let pos = (x as usize).checked_sub(1)?;
        (pos < p && p - pos < WINDOW).then_some(pos)
    }

    /// `hc_matchfinder_longest_match` at `p`, to beat `best`: (length, distance).
    fn ld_search(&mut self, d: &[u8], p: usize, best: u32, depth: u32) -> (u32, usize) {
        let max_len = (d.len() - p).min(258);
        if max_len < 5 {
            return (best, 0);
        }
        let nice = (self.ld().nice as usize).min(max_len);
        let (n3, n4) = self.ld_insert(d, p);
        let scan = &d[p..p + max_len];
        let mut best = (best as usize, 0usize);
        let mut left = depth;
        let mut node = Model::ld_node(n4, p);
        if best.0 < 4 {
            let Some(c3) = Model::ld_node(n3, p) else {
                return (best.0 as u32, best.1);
            };
            if best.0 < 3 && d[c3..c3 + 3] == scan[..3] {
                best = (3, p - c3);
            }
            // The first node that matches 4 bytes.
            loop {
                let Some(c) = node else {
                    return (best.0 as u32, best.1);
                };
                if d[c..c + 4] == scan[..4] {
                    break;
                }
                node = Model::ld_node(self.prev[c & self.wmask], p);
                left -= 1;
                if left == 0 {
                    return (best.0 as u32, best.1);
                }
            }
        } else if best.0 >= nice {
            return (best.0 as u32, best.1);
        }
        while let Some(c) = node {
            let len = common(&d[c..], scan);
            if len > best.0 {
                best = (len, p - c);
                if len >= nice {
                    break;
                }
            }
            node = Model::ld_node(self.prev[c & self.wmask], p);
            left -= 1;
            if left == 0 {
                break;
            }
        }
        (best.0 as u32, best.1)
    }

    /// `hc_matchfinder_skip_bytes`: `count` positions from `from` into the tables.
    fn ld_skip(&mut self, d: &[u8], from: usize, count: usize) {
        if count + 5 > d.len() - from {
            return;
        }
        if self.ld().parser == Parser::Fastest {
            return self.ht_skip(d, from, count);
        }
        for q in from..from + count {
            self.ld_insert(d, q);
        }
    }

    /// Level 1's bucket of `p`.
    fn ht_bucket(&self, d: &[u8], p: usize) -> usize {
        if self.origin + p == 0 {
            return 0;
        }
        lz_hash(u32::from_le_bytes([d[p], d[p + 1], d[p + 2], d[p + 3]]), 15)
    }

    /// `ht_matchfinder_longest_match` at `p`.
    fn ht_search(&mut self, d: &[u8], p: usize) -> Found {
        let max_len = (d.len() - p).min(258);
        if max_len < 5 {
            return LITERAL;
        }
        let h = self.ht_bucket(d, p);
        let ld = self.ld();
        let nice = (ld.nice as usize).min(max_len);
        if p.saturating_sub(ld.base) >= WINDOW {
            ld.base += WINDOW;
        }
        let base = ld.base;
        // An entry the early slide saturated is gone even if near.
        let valid = |x: u32| Model::ld_node(x, p).filter(|&c| c + WINDOW >= base);
        let [n0, n1] = ld.ht[h];
        ld.ht[h][0] = p as u32 + 1;
        let Some(c0) = valid(n0) else {
            return LITERAL;
        };
        ld.ht[h][1] = n0;
        let scan = &d[p..p + max_len];
        let found = |c: usize, len: usize| Found {
            len: len as u16,
            dist: (p - c) as u16,
        };
        if d[c0..c0 + 4] == scan[..4] {
            let len = common(&d[c0..], scan);
            let Some(c1) = valid(n1).filter(|_| len < nice) else {
                return found(c0, len);
            };
            let l1 = common(&d[c1..], scan);
            if l1 > len {
                return found(c1, l1);
            }
            return found(c0, len);
        }
        match valid(n1) {
            Some(c1) if d[c1..c1 + 4] == scan[..4] => found(c1, common(&d[c1..], scan)),
            _ => LITERAL,
        }
    }

    /// `ht_matchfinder_skip_bytes`.
    fn ht_skip(&mut self, d: &[u8], from: usize, count: usize) {
        let ld = self.ld();
        if from.saturating_sub(ld.base) + count > WINDOW {
            ld.base += WINDOW;
        }
        for q in from..from + count {
            let h = self.ht_bucket(d, q);
            let ld = self.ld();
            ld.ht[h][1] = ld.ht[h][0];
            ld.ht[h][0] = q as u32 + 1;
        }
    }

    /// A new block: libdeflate chooses its `min_len` from the first 4 KiB.
    pub(super) fn ld_block_start(&mut self, d: &[u8], p: usize) {
        let ld = self.ld();
        let rest = d.len() - p;
        let max_end = if rest < SOFT_MAX_BLOCK_LENGTH + MIN_BLOCK_LENGTH {
            rest
        } else {
            SOFT_MAX_BLOCK_LENGTH
        };
        let mut used = [false; 256];
        for &b in &d[p..p + max_end.min(4096)] {
            used[usize::from(b)] = true;
        }
        ld.min_len = choose_min_len(used.iter().filter(|&&u| u).count(), ld.depth);
        ld.begin = p;
        ld.next_recalc = p + rest.min(10_000);
        ld.lit = [0; 256];
        ld.held = None;
        ld.forced = None;
    }

    /// The lazy parsers choose `min_len` again from the block's literals.
    fn ld_recalc(&mut self, d: &[u8], p: usize) {
        let ld = self.ld();
        if p < ld.next_recalc {
            return;
        }
        let cutoff = ld.lit.iter().sum::<u32>() >> 10;
        let used = ld.lit.iter().filter(|&&n| n > cutoff).count();
        ld.min_len = choose_min_len(used, ld.depth);
        ld.next_recalc += (d.len() - ld.next_recalc).min(p - ld.begin);
    }

    /// The token libdeflate writes at `p`.
    pub(super) fn ld_predict(&mut self, d: &[u8], p: usize) -> Found {
        let f = self.ld_choose(d, p);
        self.ld().predicted = Some((p, f));
        f
    }

    fn ld_choose(&mut self, d: &[u8], p: usize) -> Found {
        let ld = self.ld();
        ld.after = None;
        let (parser, depth, min_len) = (ld.parser, ld.depth, ld.min_len);
        if parser == Parser::Fastest {
            let f = self.ht_search(d, p);
            if f.len >= 4 {
                self.ld().after = Some((p + 1, usize::from(f.len) - 1));
                return f;
            }
            return LITERAL;
        }
        if parser == Parser::Greedy {
            let (len, dist) = self.ld_search(d, p, min_len - 1, depth);
            if len >= min_len && (len > 3 || dist <= 4096) {
                self.ld().after = Some((p + 1, len as usize - 1));
                return Found {
                    len: len as u16,
                    dist: dist as u16,
                };
            }
            return LITERAL;
        }
        if ld.forced == Some(p) {
            ld.forced = None;
            return LITERAL;
        }
        let cur = match ld.held.take() {
            Some(h) if h.at == p => h,
            _ => {
                self.ld_recalc(d, p);
                let min_len = self.ld().min_len;
                let (len, dist) = self.ld_search(d, p, min_len - 1, depth);
                if len < min_len || (len == 3 && dist > 8192) {
                    return LITERAL;
                }
                Held {
                    at: p,
                    len,
                    dist: dist as u32,
                }
            }
        };
        self.ld_lazy(d, cur, parser == Parser::Lazy2)
    }

    /// libdeflate's `have_cur_match`: the current match against the next
    /// position's (and lazy2's, the one after).
    fn ld_lazy(&mut self, d: &[u8], cur: Held, lazy2: bool) -> Found {
        let p = cur.at;
        let (depth, nice) = (self.ld().depth, self.ld().nice);
        let taken = Found {
            len: cur.len as u16,
            dist: cur.dist as u16,
        };
        let better = |len: u32, dist: usize, by: i32| {
            len >= cur.len && 4 * (len - cur.len) as i32 + bsr(cur.dist) - bsr(dist as u32) > by
        };
        if cur.len as usize >= (nice as usize).min(d.len() - p).min(258) {
            self.ld().after = Some((p + 1, cur.len as usize - 1));
            return taken;
        }
        let (len, dist) = self.ld_search(d, p + 1, cur.len - 1, depth >> 1);
        if better(len, dist, 2) {
            self.ld().held = Some(Held {
                at: p + 1,
                len,
                dist: dist as u32,
            });
            return LITERAL;
        }
        if !lazy2 {
            self.ld().after = Some((p + 2, cur.len as usize - 2));
            return taken;
        }
        let (len, dist) = self.ld_search(d, p + 2, cur.len - 1, depth >> 2);
        if better(len, dist, 6) {
            let ld = self.ld();
            ld.forced = Some(p + 1);
            ld.held = Some(Held {
                at: p + 2,
                len,
                dist: dist as u32,
            });
            return LITERAL;
        }
        if cur.len > 3 {
            self.ld().after = Some((p + 3, cur.len as usize - 3));
        }
        taken
    }

    /// A stored block's text: libdeflate's parser went over it all the same.
    pub(super) fn ld_skip_stored(&mut self, d: &[u8], p: usize, len: usize) {
        let ld = self.ld();
        (ld.held, ld.forced, ld.after, ld.predicted) = (None, None, None, None);
        if len > 0 {
            self.ld_skip(d, p, len);
        }
    }

    /// After the actual token at `p` of `len` bytes.
    pub(super) fn ld_advance(&mut self, d: &[u8], p: usize, len: usize) {
        let ld = self.ld();
        if len == 1 {
            ld.lit[usize::from(d[p])] += 1;
        }
        let right = matches!(ld.predicted.take(), Some((q, f)) if q == p
            && (usize::from(f.len) == len || (f.len < 3 && len == 1)));
        if right {
            if let Some((from, count)) = ld.after.take() {
                self.ld_skip(d, from, count);
            }
            return;
        }
        // Off libdeflate's path: insert what a match there would have.
        ld.held = None;
        ld.forced = None;
        ld.after = None;
        if len >= 3 {
            self.ld_skip(d, p + 1, len - 1);
        }
    }
}
