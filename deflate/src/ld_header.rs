//! The dynamic header libdeflate sends for a block: its own Huffman code
//! construction and its own run-length coding of the code lengths, which
//! differ from zlib's (`trees.rs`) in the choices they leave open.
//!
//! - Symbols with a nonzero count are sorted by (count, symbol) and the
//!   tree is built in place over that order (two queues, leaves and
//!   internal nodes; of equal counts, two leaves are merged before an
//!   internal node). Depths past the limit (14 for literal/lengths, 15 for
//!   distances, 7 for the code-length code) are repaired by moving each
//!   too-deep leaf to the deepest level that still has a leaf to split.
//!   Lengths are then dealt out longest first, in sorted order.
//! - A code with one symbol gets two codewords of length 1: symbol 0 and
//!   the one used (or 1).
//! - Code lengths are run-length coded greedily: zero runs as 18 (11-138)
//!   then 17 (3-10); a run of another length of 4 or more as the length
//!   once and then 16s (3-6) while at least 3 remain.
//! - Trailing zero lengths are trimmed to at least 257 and 1 codes, and
//!   the code-length code's lengths to at least 4, in deflate's order.

use crate::stream::{Header, Token};
use crate::trees::counts_all;

const SYMBOL_BITS: u32 = 10;
const SYMBOL_MASK: u32 = (1 << SYMBOL_BITS) - 1;
const FREQ_MASK: u32 = !SYMBOL_MASK;

/// Code lengths for `freqs` within `max` bits, as
/// `deflate_make_huffman_code` makes them.
fn code_lengths(freqs: &[u32], max: usize) -> Vec<u8> {
    let mut lens = vec![0u8; freqs.len()];
    let mut a: Vec<u32> = (0..freqs.len() as u32)
        .filter(|&s| freqs[s as usize] != 0)
        .map(|s| s | (freqs[s as usize].min(FREQ_MASK >> SYMBOL_BITS) << SYMBOL_BITS))
        .collect();
    // Counting sort then heapsort: ascending by count, then symbol.
    a.sort_unstable();
    match a.len() {
        0 => return lens,
        1 => {
            let sym = (a[0] & SYMBOL_MASK) as usize;
            lens[0] = 1;
            lens[if sym == 0 { 1 } else { sym }] = 1;
            return lens;
        }
        _ => {}
    }
    build_tree(&mut a);
    let counts = length_counts(&mut a, max);
    let mut i = 0;
    for len in (1..=max).rev() {
        for _ in 0..counts[len] {
            lens[(a[i] & SYMBOL_MASK) as usize] = len as u8;
            i += 1;
        }
    }
    lens
}

/// libdeflate's `build_tree`: leaves `a[i..]` and internal nodes `a[b..e]`
/// in one array; each node consumed gets its parent's index in its upper bits.
fn build_tree(a: &mut [u32]) {
    let last = a.len() - 1;
    let (mut i, mut b, mut e) = (0, 0, 0);
    let freq = |x: u32| x & FREQ_MASK;
    let parent = |x: u32, e: usize| ((e as u32) << SYMBOL_BITS) | (x & SYMBOL_MASK);
    loop {
        let new_freq;
        if i < last && (b == e || freq(a[i + 1]) <= freq(a[b])) {
            new_freq = freq(a[i]) + freq(a[i + 1]);
            i += 2;
        } else if b + 2 <= e && (i > last || freq(a[b + 1]) < freq(a[i])) {
            new_freq = freq(a[b]) + freq(a[b + 1]);
            a[b] = parent(a[b], e);
            a[b + 1] = parent(a[b + 1], e);
            b += 2;
        } else {
            new_freq = freq(a[i]) + freq(a[b]);
            a[b] = parent(a[b], e);
            i += 1;
            b += 1;
        }
        a[e] = new_freq | (a[e] & SYMBOL_MASK);
        e += 1;
        if e >= last {
            break;
        }
    }
}

/// libdeflate's `compute_length_counts`: leaves per depth, limited to `max`.
fn length_counts(a: &mut [u32], max: usize) -> Vec<u32> {
    let root = a.len() - 2;
    let mut counts = vec![0u32; max + 2];
    counts[1] = 2;
    a[root] &= SYMBOL_MASK;
    for node in (0..root).rev() {
        let parent = (a[node] >> SYMBOL_BITS) as usize;
        let mut depth = (a[parent] >> SYMBOL_BITS) as usize + 1;
        a[node] = (a[node] & SYMBOL_MASK) | ((depth as u32) << SYMBOL_BITS);
        if depth >= max {
            depth = max;
            loop {
                depth -= 1;
                if counts[depth] != 0 {
                    break;
                }
            }
        }
        counts[depth] -= 1;
        counts[depth + 1] += 2;
    }
    counts
}

/// libdeflate's run-length coding of the code lengths: ops as in
/// [`Header::ops`].
fn run_lengths(lens: &[u8]) -> Vec<u16> {
    let mut ops = Vec::new();
    let mut start = 0;
    while start < lens.len() {
        let len = lens[start];
        let mut end = start + 1;
        while end < lens.len() && lens[end] == len {
            end += 1;
        }
        if len == 0 {
            while end - start >= 11 {
                let extra = (end - start - 11).min(0x7f);
                ops.push(18 | (extra as u16) << 8);
                start += 11 + extra;
            }
            if end - start >= 3 {
                let extra = (end - start - 3).min(7);
                ops.push(17 | (extra as u16) << 8);
                start += 3 + extra;
            }
        } else if end - start >= 4 {
            ops.push(u16::from(len));
            start += 1;
            loop {
                let extra = (end - start - 3).min(3);
                ops.push(16 | (extra as u16) << 8);
                start += 3 + extra;
                if end - start < 3 {
                    break;
                }
            }
        }
        while start < end {
            ops.push(u16::from(len));
            start += 1;
        }
    }
    ops
}

/// The header libdeflate sends for a block of these tokens.
pub fn header(tokens: &[Token]) -> Header {
    let (lit, dist) = counts_all(tokens);
    let ll = code_lengths(&lit, 14);
    let dl = code_lengths(&dist, 15);
    let hlit = (258..=288).rev().find(|&n| ll[n - 1] != 0).unwrap_or(257);
    let hdist = (2..=32).rev().find(|&n| dl[n - 1] != 0).unwrap_or(1);
    let mut all = ll[..hlit].to_vec();
    all.extend_from_slice(&dl[..hdist]);
    let ops = run_lengths(&all);
    let cl = code_lengths(&Header::op_counts(&ops), 7);
    Header::assemble(hlit, hdist, ops, &cl)
}
