//! The dynamic header miniz (`tdefl`, miniz_oxide) sends for a block: its
//! own Huffman code construction and run-length coding of code lengths.
//!
//! - Symbols with a nonzero count are sorted by (count, symbol) and given
//!   lengths by the in-place minimum-redundancy algorithm, on 16-bit counts
//!   whose sums wrap; lengths past 15 (7 for the code-length code) are
//!   folded into the longest, and the code is repaired one leaf at a time
//!   from the deepest level that has one. Lengths are dealt out longest
//!   first to the least frequent.
//! - A code with one symbol gives it length 1 alone.
//! - Code lengths are run-length coded as they come: a run of zeros is
//!   written when a non-zero comes (or at 138), as zeros (1-2), 17 (3-10)
//!   or 18 (11-138); a repeat of the last length is counted up to 6 and
//!   written as the length again (1-2) or 16 (3-6).
//! - 257 literal/length and 1 distance length at least (of 286 and 30).

use crate::stream::{Header, Token};
use crate::trees::counts_all;

/// Code lengths for `freqs` within `max` bits, as miniz's `optimize_table`.
fn code_lengths(freqs: &[u32], max: usize) -> Vec<u8> {
    // miniz counts in 16 bits.
    let mut syms: Vec<(u16, u16)> = (0..freqs.len())
        .map(|s| (freqs[s] as u16, s as u16))
        .filter(|&(k, _)| k != 0)
        .collect();
    // A stable radix sort by count: ties stay in symbol order.
    syms.sort_by_key(|&(k, s)| (k, s));
    let mut keys: Vec<u16> = syms.iter().map(|s| s.0).collect();
    minimum_redundancy(&mut keys);
    let mut num = [0i32; 33];
    for &k in &keys {
        num[usize::from(k).min(32)] += 1;
    }
    enforce_max(&mut num, keys.len(), max);
    let mut lens = vec![0u8; freqs.len()];
    let mut last = syms.len();
    for (len, &n) in num.iter().enumerate().take(max + 1).skip(1) {
        let first = last - n as usize;
        for s in &syms[first..last] {
            lens[usize::from(s.1)] = len as u8;
        }
        last = first;
    }
    lens
}

/// `calculate_minimum_redundancy`: code lengths in place of the sorted
/// counts, with 16-bit arithmetic as miniz does it.
fn minimum_redundancy(a: &mut [u16]) {
    let n = a.len();
    match n {
        0 => return,
        1 => {
            a[0] = 1;
            return;
        }
        _ => {}
    }
    a[0] = a[0].wrapping_add(a[1]);
    let (mut root, mut leaf) = (0usize, 2usize);
    for next in 1..n - 1 {
        if leaf >= n || a[root] < a[leaf] {
            a[next] = a[root];
            a[root] = next as u16;
            root += 1;
        } else {
            a[next] = a[leaf];
            leaf += 1;
        }
        if leaf >= n || (root < next && a[root] < a[leaf]) {
            a[next] = a[next].wrapping_add(a[root]);
            a[root] = next as u16;
            root += 1;
        } else {
            a[next] = a[next].wrapping_add(a[leaf]);
            leaf += 1;
        }
    }
    a[n - 2] = 0;
    for next in (0..n - 2).rev() {
        a[next] = a[usize::from(a[next])].wrapping_add(1);
    }
    let (mut avbl, mut used, mut depth) = (1i32, 0i32, 0u16);
    let (mut root, mut next) = (n as i32 - 2, n as i32 - 1);
    while avbl > 0 {
        while root >= 0 && a[root as usize] == depth {
            used += 1;
            root -= 1;
        }
        while avbl > used && next >= 0 {
            a[next as usize] = depth;
            next -= 1;
            avbl -= 1;
        }
        avbl = 2 * used;
        depth += 1;
        used = 0;
    }
}

/// `enforce_max_code_size`.
fn enforce_max(num: &mut [i32; 33], n: usize, max: usize) {
    if n <= 1 {
        return;
    }
    let over: i32 = num[max + 1..].iter().sum();
    num[max] += over;
    let total: u32 = (1..=max).map(|l| (num[l] as u32) << (max - l)).sum();
    for _ in (1u32 << max)..total {
        num[max] -= 1;
        if let Some(i) = (1..max).rev().find(|&i| num[i] != 0) {
            num[i] -= 1;
            num[i + 1] += 2;
        }
    }
}

/// miniz's run-length coding of the code lengths, into [`Header::ops`].
fn run_lengths(lens: &[u8]) -> Vec<u16> {
    let mut ops = Vec::new();
    let (mut zeros, mut repeat, mut prev) = (0u16, 0u16, 0xffu8);
    let flush_repeat = |ops: &mut Vec<u16>, repeat: &mut u16, prev: u8| {
        if *repeat >= 3 {
            ops.push(16 | (*repeat - 3) << 8);
        } else {
            ops.extend(std::iter::repeat_n(u16::from(prev), usize::from(*repeat)));
        }
        *repeat = 0;
    };
    let flush_zeros = |ops: &mut Vec<u16>, zeros: &mut u16| {
        match *zeros {
            0..3 => ops.extend(std::iter::repeat_n(0, usize::from(*zeros))),
            3..=10 => ops.push(17 | (*zeros - 3) << 8),
            _ => ops.push(18 | (*zeros - 11) << 8),
        }
        *zeros = 0;
    };
    for &len in lens {
        if len == 0 {
            flush_repeat(&mut ops, &mut repeat, prev);
            zeros += 1;
            if zeros == 138 {
                flush_zeros(&mut ops, &mut zeros);
            }
        } else {
            flush_zeros(&mut ops, &mut zeros);
            if len != prev {
                flush_repeat(&mut ops, &mut repeat, prev);
                ops.push(u16::from(len));
            } else {
                repeat += 1;
                if repeat == 6 {
                    flush_repeat(&mut ops, &mut repeat, prev);
                }
            }
        }
        prev = len;
    }
    if repeat != 0 {
        flush_repeat(&mut ops, &mut repeat, prev);
    } else {
        flush_zeros(&mut ops, &mut zeros);
    }
    ops
}

/// The header miniz sends for a block of these tokens.
pub fn header(tokens: &[Token]) -> Header {
    let (lit, dist) = counts_all(tokens);
    let ll = code_lengths(&lit, 15);
    let dl = code_lengths(&dist, 15);
    let hlit = 286 - ll[257..286].iter().rev().take_while(|&&l| l == 0).count();
    let hdist = 30 - dl[1..30].iter().rev().take_while(|&&l| l == 0).count();
    let mut all = ll[..hlit].to_vec();
    all.extend_from_slice(&dl[..hdist]);
    let ops = run_lengths(&all);
    let cl = code_lengths(&Header::op_counts(&ops), 7);
    Header::assemble(hlit, hdist, ops, &cl)
}
