//! The match searches of the model: zlib's `longest_match` and
//! zlib-ng's `longest_match_slow` with its chain jumping.

use super::{Found, Model};

impl Model {
    /// zlib's `longest_match` at `p` (already in the chains), to beat `best`.
    pub(super) fn search(&self, d: &[u8], p: usize, best: u16) -> Found {
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
}

/// Length of the common prefix of `a` and `b`, at most `b.len()`.
pub(super) fn common(a: &[u8], b: &[u8]) -> usize {
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
