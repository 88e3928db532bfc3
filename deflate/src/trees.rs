//! The dynamic header zlib would send for a block: Huffman code lengths
//! built from the block's symbol counts the way zlib's `trees.c` builds
//! them, and run-length coded the way it sends them.
//!
//! zlib, zlib-ng, zlib-rs and Chromium's zlib share this code, so a block
//! from any of them has the header predicted here; a header that differs
//! is stored in the recipe instead (see [`crate::recreate`]).
//!
//! The tree is a Huffman tree built with a heap whose ties go to the node
//! of lesser depth; lengths over the limit (15, or 7 for the code-length
//! code) are repaired by moving leaves down from the deepest level with
//! room, the least frequent symbols taking the longest codes. At least two
//! codes are always made (symbols 0 and 1 fill in), so that a one-symbol
//! tree still sends a bit.

use crate::stream::{Header, Token};

/// Code lengths for `freq` (one count per symbol), none over `max_bits`,
/// and the largest symbol that has a code.
pub fn lengths(freq: &[u32], max_bits: u8) -> (Vec<u8>, usize) {
    let elems = freq.len();
    let mut f: Vec<u32> = freq.to_vec();
    f.resize(2 * elems + 1, 0);
    let mut depth = vec![0u8; 2 * elems + 1];
    let mut dad = vec![0usize; 2 * elems + 1];
    // heap[1..=len] is the heap; heap[max..] holds removed nodes, the first
    // removed (least frequent) at the end.
    let size = 2 * elems + 1;
    let mut heap = vec![0usize; size + 1];
    let mut len = 0usize;
    let mut max_code: isize = -1;
    for (n, &c) in freq.iter().enumerate() {
        if c != 0 {
            len += 1;
            heap[len] = n;
            max_code = n as isize;
        }
    }
    while len < 2 {
        let node = if max_code < 2 {
            max_code += 1;
            max_code as usize
        } else {
            0
        };
        len += 1;
        heap[len] = node;
        f[node] = 1;
        depth[node] = 0;
    }
    let smaller = |f: &[u32], depth: &[u8], n: usize, m: usize| {
        f[n] < f[m] || (f[n] == f[m] && depth[n] <= depth[m])
    };
    let down = |heap: &mut [usize], len: usize, f: &[u32], depth: &[u8], mut k: usize| {
        let v = heap[k];
        let mut j = k << 1;
        while j <= len {
            if j < len && smaller(f, depth, heap[j + 1], heap[j]) {
                j += 1;
            }
            if smaller(f, depth, v, heap[j]) {
                break;
            }
            heap[k] = heap[j];
            k = j;
            j <<= 1;
        }
        heap[k] = v;
    };
    for k in (1..=len / 2).rev() {
        down(&mut heap, len, &f, &depth, k);
    }
    let mut node = elems;
    let mut max = size;
    while len >= 2 {
        let n = heap[1];
        heap[1] = heap[len];
        len -= 1;
        down(&mut heap, len, &f, &depth, 1);
        let m = heap[1];
        max -= 1;
        heap[max] = n;
        max -= 1;
        heap[max] = m;
        f[node] = f[n] + f[m];
        depth[node] = depth[n].max(depth[m]) + 1;
        dad[n] = node;
        dad[m] = node;
        heap[1] = node;
        node += 1;
        down(&mut heap, len, &f, &depth, 1);
    }
    max -= 1;
    heap[max] = heap[1];
    let max_code = max_code as usize;
    let out = bit_lengths(&heap, max, &dad, max_code, max_bits);
    (out, max_code)
}

/// Lengths from the finished tree, repaired to at most `max_bits`.
fn bit_lengths(
    heap: &[usize],
    max: usize,
    dad: &[usize],
    max_code: usize,
    max_bits: u8,
) -> Vec<u8> {
    let size = heap.len() - 1;
    let mut len = vec![0u8; dad.len()];
    let mut count = [0u32; 16];
    let mut overflow = 0i32;
    len[heap[max]] = 0;
    for &n in &heap[max + 1..size] {
        let mut bits = len[dad[n]] + 1;
        if bits > max_bits {
            bits = max_bits;
            overflow += 1;
        }
        len[n] = bits;
        if n <= max_code {
            count[usize::from(bits)] += 1;
        }
    }
    if overflow > 0 {
        while overflow > 0 {
            let mut bits = usize::from(max_bits) - 1;
            while count[bits] == 0 {
                bits -= 1;
            }
            count[bits] -= 1;
            count[bits + 1] += 2;
            count[usize::from(max_bits)] -= 1;
            overflow -= 2;
        }
        // Hand the lengths out again, longest first to the least frequent.
        let mut h = size;
        for bits in (1..=usize::from(max_bits)).rev() {
            let mut n = count[bits];
            while n != 0 {
                h -= 1;
                let m = heap[h];
                if m > max_code {
                    continue;
                }
                len[m] = bits as u8;
                n -= 1;
            }
        }
    }
    len.truncate(max_code + 1);
    len
}

/// zlib's run-length coding of `lengths` (one tree's, not across the two):
/// code-length symbols with extra bits, as [`Header::ops`] holds them.
pub fn run_lengths(lengths: &[u8], ops: &mut Vec<u16>) {
    let mut prev: i32 = -1;
    let mut count = 0;
    let (mut max_count, mut min_count) = if lengths.first() == Some(&0) {
        (138, 3)
    } else {
        (7, 4)
    };
    for n in 0..lengths.len() {
        let cur = i32::from(lengths[n]);
        let next = lengths.get(n + 1).map_or(-1, |&l| i32::from(l));
        count += 1;
        if count < max_count && cur == next {
            continue;
        }
        if count < min_count {
            ops.extend(std::iter::repeat_n(cur as u16, count as usize));
        } else if cur != 0 {
            if cur != prev {
                ops.push(cur as u16);
                count -= 1;
            }
            ops.push(16 | ((count - 3) as u16) << 8);
        } else if count <= 10 {
            ops.push(17 | ((count - 3) as u16) << 8);
        } else {
            ops.push(18 | ((count - 11) as u16) << 8);
        }
        count = 0;
        prev = cur;
        (max_count, min_count) = if next == 0 {
            (138, 3)
        } else if cur == next {
            (6, 3)
        } else {
            (7, 4)
        };
    }
}

/// The literal/length and distance symbol counts of a block's tokens
/// (with its end-of-block symbol).
pub fn counts(tokens: &[Token]) -> ([u32; 286], [u32; 30]) {
    let mut lit = [0u32; 286];
    let mut dist = [0u32; 30];
    lit[256] = 1;
    for &t in tokens {
        lit[t.length_symbol().0] += 1;
        if t.is_match() {
            dist[t.distance_symbol().0] += 1;
        }
    }
    (lit, dist)
}

/// [`counts`] over every symbol a code can have (288 and 32), as the
/// encoders that size their tables so count them.
pub fn counts_all(tokens: &[Token]) -> (Vec<u32>, Vec<u32>) {
    let (lit, dist) = counts(tokens);
    let mut lit = lit.to_vec();
    lit.resize(288, 0);
    let mut dist = dist.to_vec();
    dist.resize(32, 0);
    (lit, dist)
}

/// The header zlib sends for a block of these tokens.
pub fn header(tokens: &[Token]) -> Header {
    let (lit, dist) = counts(tokens);
    let (ll, lmax) = lengths(&lit, 15);
    let (dl, dmax) = lengths(&dist, 15);
    let mut ops = Vec::new();
    run_lengths(&ll[..=lmax], &mut ops);
    run_lengths(&dl[..=dmax], &mut ops);
    let (cl, _) = lengths(&Header::op_counts(&ops), 7);
    Header::assemble(lmax + 1, dmax + 1, ops, &cl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_a_complete_code_within_the_limit() {
        // Fibonacci counts force lengths past 15, which must be repaired.
        let mut freq = vec![0u32; 30];
        let (mut a, mut b) = (1u32, 1u32);
        for f in freq.iter_mut() {
            *f = a;
            (a, b) = (b, a.saturating_add(b));
        }
        let (l, max) = lengths(&freq, 15);
        assert_eq!(max, 29);
        assert!(l.iter().all(|&x| (1..=15).contains(&x)));
        let kraft: f64 = l.iter().map(|&x| 0.5f64.powi(i32::from(x))).sum();
        assert!((kraft - 1.0).abs() < 1e-12, "{kraft}");
    }

    #[test]
    fn one_symbol_still_gets_two_codes() {
        let mut freq = [0u32; 30];
        freq[5] = 9;
        let (l, max) = lengths(&freq, 15);
        assert_eq!((max, l[0], l[5]), (5, 1, 1));
        let (l, max) = lengths(&[0u32; 30], 15);
        assert_eq!((max, &l[..]), (1, &[1u8, 1][..]));
    }
}
