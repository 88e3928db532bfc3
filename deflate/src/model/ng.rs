//! zlib-ng's and zlib-rs's parsers of levels 1 to 6, which zlib does not
//! have: `deflate_quick` (1), `deflate_fast` (2) and `deflate_medium`
//! (3-6), with their match search (zlib-ng's `longest_match`).
//!
//! All three hash 4 bytes multiplicatively, take no match shorter than 4
//! (`WANT_MIN_MATCH`), and insert each position into the chains at most
//! once and in increasing order, so the model keeps a watermark (`top`)
//! instead of zlib's "inserted up to here".
//!
//! - **quick** looks only at the head of the chain: a match there of 4
//!   bytes or more is taken, else a literal. Inner positions of a match are
//!   never inserted. It writes one fixed block until the stream is
//!   finished, so its blocks are not predicted from their token count.
//! - **fast** is zlib's greedy parser with zlib-ng's search. A match is
//!   taken if 4 bytes or more; its inner positions are inserted when it is
//!   at most `lazy` long, else only its last position.
//! - **medium** searches at the position after each token too (levels 5
//!   and 6): when the match found there can be extended backwards over the
//!   whole current match ("fizzle"), the current match shrinks to nothing
//!   or a literal and the next one grows. The next match is kept for the
//!   next round, except when the window is about to slide (then zlib-ng
//!   skips the look ahead) and after each slide. A match longer than
//!   16 × `lazy` inserts only its last position.
//! - The search stops at the first candidate that passes the quick check
//!   and is no longer (levels below 5), at `nice`, and after `max_chain`
//!   candidates.
//!
//! The replay follows the actual tokens: when one differs from the
//! prediction, the model inserts for it what zlib-ng would have, and drops
//! the match it looked ahead for.

use super::search::common;
use super::{Found, Model};

/// The shortest match zlib-ng takes, and the bytes it hashes.
const WANT_MIN_MATCH: usize = 4;

/// zlib's `MIN_LOOKAHEAD`.
const MIN_LOOKAHEAD: usize = 258 + 3 + 1;

/// A literal.
const LITERAL: Found = Found { len: 1, dist: 0 };

impl Model {
    /// zlib-ng's `quick_insert_string`: puts `p` at the head of its chain
    /// and returns the head before. A position below the watermark is
    /// not inserted again; its chain's head is returned as it is.
    fn ng_insert(&mut self, d: &[u8], p: usize) -> usize {
        if p + WANT_MIN_MATCH > d.len() {
            return 0;
        }
        let h = self.hash(d, p);
        let head = self.head[h] as usize;
        if p >= self.top {
            if let Some(j) = &mut self.journal {
                let w = p & self.wmask;
                j.push((h, self.head[h], w, self.prev[w]));
            }
            self.prev[p & self.wmask] = head as u32;
            self.head[h] = p as u32;
            self.top = p + 1;
        }
        head
    }

    /// zlib-ng's `longest_match` at `p` from the chain's `head`.
    fn search_ng(&self, d: &[u8], p: usize, head: usize) -> Found {
        if head == 0 || head >= p || p - head > self.max_dist {
            return LITERAL;
        }
        let lookahead = d.len() - p;
        let scan = &d[p..p + lookahead.min(258)];
        let early_exit = self.params.level < 5;
        let nice = usize::from(self.cfg.nice);
        let limit = p.saturating_sub(self.max_dist);
        let mut chain = self.cfg.chain;
        let (mut best_len, mut best_at) = (2usize, 0usize);
        let mut cur = head;
        while cur < p {
            // Below 8 bytes the first 8 are compared; above, those and the 8
            // ending one past the best: a candidate failing that is skipped.
            let quick = best_len < 8 || {
                let o = best_len - 7;
                d[cur..cur + 8] == scan[..8] && d[cur + o..cur + o + 8] == scan[o..o + 8]
            };
            if quick {
                let len = common(&d[cur..], scan);
                if len > best_len {
                    best_at = cur;
                    best_len = len;
                    if len >= lookahead || len >= nice {
                        break;
                    }
                } else if early_exit && best_len >= 8 {
                    break;
                }
            }
            chain -= 1;
            if chain == 0 {
                break;
            }
            cur = self.prev[cur & self.wmask] as usize;
            if cur <= limit {
                break;
            }
        }
        if best_at == 0 || best_len < WANT_MIN_MATCH {
            return LITERAL;
        }
        Found {
            len: best_len as u16,
            dist: (p - best_at) as u16,
        }
    }

    /// `deflate_quick`: the head of the chain, if it matches 4 bytes.
    pub(super) fn predict_quick(&mut self, d: &[u8], p: usize) -> Found {
        if p + WANT_MIN_MATCH > d.len() {
            return LITERAL;
        }
        let head = self.ng_insert(d, p);
        // quick takes position 0 (its NIL) as a candidate like any other.
        if head >= p || p - head > self.max_dist || d[head..head + 4] != d[p..p + 4] {
            return LITERAL;
        }
        let len = common(&d[head..], &d[p..(p + 258).min(d.len())]);
        Found {
            len: len as u16,
            dist: (p - head) as u16,
        }
    }

    /// A search at `p` with no match carried to it.
    fn fresh(&mut self, d: &[u8], p: usize) -> Found {
        if p + WANT_MIN_MATCH > d.len() {
            return LITERAL;
        }
        let head = self.ng_insert(d, p);
        self.search_ng(d, p, head)
    }

    /// `deflate_fast`.
    pub(super) fn predict_fast(&mut self, d: &[u8], p: usize) -> Found {
        self.fresh(d, p)
    }

    /// What `deflate_fast` inserts after a match of `len` at `p`.
    pub(super) fn advance_fast(&mut self, d: &[u8], p: usize, len: usize) {
        if len < WANT_MIN_MATCH {
            return;
        }
        if len <= usize::from(self.cfg.lazy) && d.len() - (p + len) >= WANT_MIN_MATCH {
            for q in p + 1..p + len {
                self.ng_insert(d, q);
            }
        } else {
            self.ng_insert(d, p + len - 1);
        }
    }

    /// Where `x` sits in zlib-ng's window of `2 × wsize` bytes.
    fn win(&self, x: usize) -> usize {
        (self.origin + x).saturating_sub(self.slides * (self.wmask + 1))
    }

    /// `deflate_medium`.
    pub(super) fn predict_medium(&mut self, d: &[u8], p: usize) -> Found {
        let wsize = self.wmask + 1;
        if self.win(p) > 2 * wsize - MIN_LOOKAHEAD {
            // fill_window slides, and the match looked ahead for is lost.
            self.slides += 1;
            self.pending = None;
        }
        let early_exit = self.params.level < 5;
        loop {
            let (mut cur, org) = match self.pending.take() {
                Some((q, f)) if q == p => (f, self.org),
                _ => (self.fresh(d, p), p),
            };
            self.insert_match(d, p, usize::from(cur.len), org);
            let q = p + usize::from(cur.len);
            if !early_exit && d.len() - p > MIN_LOOKAHEAD && self.win(q) < 2 * wsize - MIN_LOOKAHEAD
            {
                let head = self.ng_insert(d, q);
                let mut next = self.search_ng(d, q, head);
                let mut at = q;
                self.org = q;
                if next.len >= 3
                    && let Some((c, s, l)) = self.fizzle(d, cur.len, q, next)
                {
                    cur.len = c;
                    at = s;
                    next.len = l;
                    self.org = q + 1;
                }
                self.pending = Some((at, next));
            } else {
                self.pending = None;
            }
            if cur.len > 0 {
                let f = if cur.len >= 3 { cur } else { LITERAL };
                self.predicted = Some((p, f));
                self.last = p;
                return f;
            }
            // The next match took all of this one: it starts here.
        }
    }

    /// Whether the stream may have been refilled before `p` (see
    /// [`Model::refill_point`]): `Some(1)` when a 512-byte boundary of the
    /// input, less zlib's lookahead, falls since the last token.
    pub(super) fn medium_refill_point(&self, p: usize) -> Option<usize> {
        let held = matches!(self.pending, Some((q, f)) if q == p && f.len >= 3);
        if !held || self.params.level < 5 {
            return None;
        }
        let edge = |x: usize| (self.origin + x + MIN_LOOKAHEAD - 1) / 512;
        Some(usize::from(edge(p) > edge(self.last)))
    }

    /// Whether the model, as it stands, predicts a match at `p`; it is
    /// left as it was (the chains it changes are journalled and restored).
    pub(super) fn medium_would_match(&mut self, d: &[u8], p: usize) -> bool {
        let keep = (
            self.pending,
            self.org,
            self.predicted,
            self.top,
            self.last,
            self.slides,
        );
        self.journal = Some(Vec::new());
        let f = self.predict_medium(d, p);
        for (h, head, w, prev) in self.journal.take().unwrap_or_default().into_iter().rev() {
            self.head[h] = head;
            self.prev[w] = prev;
        }
        (
            self.pending,
            self.org,
            self.predicted,
            self.top,
            self.last,
            self.slides,
        ) = keep;
        f.len >= 3
    }

    /// What `deflate_medium` does after the actual token: nothing when the
    /// model predicted its length, else insert for it and look ahead anew.
    pub(super) fn advance_medium(&mut self, d: &[u8], p: usize, len: usize) {
        if let Some((q, f)) = self.predicted.take()
            && q == p
            && usize::from(f.len) == len
        {
            return;
        }
        self.pending = None;
        if len >= WANT_MIN_MATCH {
            self.insert_match(d, p, len, p);
        }
    }

    /// zlib-ng's `insert_match`: the positions of a token at `s` of `len`
    /// bytes go into the chains (those of `org` and after, when the token
    /// is a match moved back from `org` by `fizzle`).
    fn insert_match(&mut self, d: &[u8], s: usize, len: usize, org: usize) {
        if d.len() - s <= len + WANT_MIN_MATCH {
            return;
        }
        if len < WANT_MIN_MATCH {
            // Literals: zlib-ng inserts nothing past the first.
            return;
        }
        if len <= 16 * usize::from(self.cfg.lazy) {
            for q in (s + 1).max(org)..s + len {
                self.ng_insert(d, q);
            }
        } else {
            self.ng_insert(d, s + len - 1);
        }
    }

    /// zlib-ng's `fizzle_matches`: when the next match (at `ns`) extends
    /// backwards over all but at most one byte of the current one (of
    /// `clen` bytes, ending at `ns`), the next match takes those bytes.
    /// Returns the current match's new length (0 or 1), and the next's
    /// new start and length.
    fn fizzle(&self, d: &[u8], clen: u16, ns: usize, next: Found) -> Option<(u16, usize, u16)> {
        let nm = ns - usize::from(next.dist);
        let c = usize::from(clen);
        if c <= 1 || c > 1 + self.win(nm) || c > 1 + self.win(ns) {
            return None;
        }
        if d.get((nm + 1).checked_sub(c)?)? != d.get((ns + 1).checked_sub(c)?)? {
            return None;
        }
        let limit = self.win(ns).saturating_sub(self.max_dist);
        let (mut c, mut s, mut m, mut l) = (c, ns, nm, usize::from(next.len));
        let mut changed = 0;
        while m >= 1 && d[m - 1] == d[s - 1] {
            if c < 1 || self.win(s) <= limit || l >= 256 || self.win(m) <= 1 {
                break;
            }
            (s, m, l, c) = (s - 1, m - 1, l + 1, c - 1);
            changed += 1;
        }
        (changed > 0 && c <= 1).then_some((c as u16, s, l as u16))
    }

    /// A stored block's text: its positions go into the chains.
    pub(super) fn skip_ng(&mut self, d: &[u8], p: usize, len: usize) {
        for q in p..p + len {
            self.ng_insert(d, q);
        }
        self.pending = None;
        self.predicted = None;
    }
}
