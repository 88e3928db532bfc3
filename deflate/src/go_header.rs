//! The dynamic header Go's `compress/flate` sends for a block: its own
//! length-limited Huffman codes and its run-length coding.
//!
//! - Code lengths are optimal within the limit (15, 7 for the code-length
//!   code), by Go's `bitCounts` (a package-merge over levels); the number
//!   of codes of each length is dealt out, shortest first, to the most
//!   frequent symbols in (count, symbol) order. One or two symbols get
//!   length 1 each.
//! - The counts come from the tokens, and the header's sizes too: HLIT and
//!   HDIST end at the last symbol used (a block with no match sends one
//!   distance code, symbol 0).
//! - The literal/length and distance lengths are run-length coded as one
//!   sequence: a run of a length is sent once and then as 16s of up to 6;
//!   zeros as 18s of up to 138, then a 17, then single zeros.

use crate::stream::{Header, Token};
use crate::trees::counts;

/// Go's `bitCounts`: how many codes of each length (index = length) for
/// the counts `list`, ascending, at most `max_bits` long.
fn bit_counts(list: &[i64], max_bits: usize) -> Vec<i64> {
    #[derive(Clone, Copy, Default)]
    struct Level {
        last_freq: i64,
        next_char_freq: i64,
        next_pair_freq: i64,
        needed: i64,
    }
    const MAX: i64 = i32::MAX as i64;
    let n = list.len();
    let freq = |i: usize| list.get(i).copied().unwrap_or(MAX);
    let max_bits = max_bits.min(n - 1);
    let mut levels = [Level::default(); 18];
    let mut leaf_counts = [[0i64; 18]; 18];
    for level in 1..=max_bits {
        levels[level] = Level {
            last_freq: freq(1),
            next_char_freq: freq(2),
            next_pair_freq: if level == 1 { MAX } else { freq(0) + freq(1) },
            needed: 0,
        };
        leaf_counts[level][level] = 2;
    }
    levels[max_bits].needed = 2 * n as i64 - 4;
    let mut level = max_bits;
    loop {
        if levels[level].next_pair_freq == MAX && levels[level].next_char_freq == MAX {
            levels[level].needed = 0;
            levels[level + 1].next_pair_freq = MAX;
            level += 1;
            continue;
        }
        let prev_freq = levels[level].last_freq;
        if levels[level].next_char_freq < levels[level].next_pair_freq {
            let k = leaf_counts[level][level] + 1;
            levels[level].last_freq = levels[level].next_char_freq;
            leaf_counts[level][level] = k;
            levels[level].next_char_freq = freq(k as usize);
        } else {
            levels[level].last_freq = levels[level].next_pair_freq;
            let below = leaf_counts[level - 1];
            leaf_counts[level][..level].copy_from_slice(&below[..level]);
            levels[level - 1].needed = 2;
        }
        levels[level].needed -= 1;
        if levels[level].needed == 0 {
            if level == max_bits {
                break;
            }
            levels[level + 1].next_pair_freq = prev_freq + levels[level].last_freq;
            level += 1;
        } else {
            while level > 1 && levels[level - 1].needed > 0 {
                level -= 1;
            }
        }
    }
    let counts = leaf_counts[max_bits];
    let mut bit_count = vec![0i64; max_bits + 1];
    for (bits, level) in (1..=max_bits).rev().enumerate() {
        bit_count[bits + 1] = counts[level] - counts[level - 1];
    }
    bit_count
}

/// Code lengths for `freqs` within `max_bits`, as Go's `generate`.
fn code_lengths(freqs: &[u32], max_bits: usize) -> Vec<u8> {
    let mut lens = vec![0u8; freqs.len()];
    let mut list: Vec<(i64, usize)> = (0..freqs.len())
        .filter(|&s| freqs[s] != 0)
        .map(|s| (i64::from(freqs[s]), s))
        .collect();
    if list.len() <= 2 {
        for &(_, s) in &list {
            lens[s] = 1;
        }
        return lens;
    }
    list.sort_unstable();
    let f: Vec<i64> = list.iter().map(|x| x.0).collect();
    let bit_count = bit_counts(&f, max_bits);
    let mut end = list.len();
    for (len, &bits) in bit_count.iter().enumerate().skip(1) {
        let bits = bits as usize;
        for &(_, s) in &list[end - bits..end] {
            lens[s] = len as u8;
        }
        end -= bits;
    }
    lens
}

/// Go's `generateCodegen`: the lengths run-length coded, as header ops.
fn run_lengths(sizes: &[u8]) -> Vec<u16> {
    let mut ops = Vec::new();
    let mut i = 0;
    while i < sizes.len() {
        let size = sizes[i];
        let mut count = sizes[i..].iter().take_while(|&&s| s == size).count();
        i += count;
        if size != 0 {
            ops.push(u16::from(size));
            count -= 1;
            while count >= 3 {
                let n = count.min(6);
                ops.push(16 | ((n - 3) as u16) << 8);
                count -= n;
            }
        } else {
            while count >= 11 {
                let n = count.min(138);
                ops.push(18 | ((n - 11) as u16) << 8);
                count -= n;
            }
            if count >= 3 {
                ops.push(17 | ((count - 3) as u16) << 8);
                count = 0;
            }
        }
        ops.extend(std::iter::repeat_n(u16::from(size), count));
    }
    ops
}

/// The header Go sends for a block of these tokens.
pub fn header(tokens: &[Token]) -> Header {
    let (lit, mut dist) = counts(tokens);
    let hlit = lit.iter().rposition(|&f| f != 0).map_or(257, |i| i + 1);
    let hdist = match dist.iter().rposition(|&f| f != 0) {
        Some(i) => i + 1,
        None => {
            dist[0] = 1;
            1
        }
    };
    let ll = code_lengths(&lit, 15);
    let dl = code_lengths(&dist, 15);
    let mut all = ll[..hlit].to_vec();
    all.extend_from_slice(&dl[..hdist]);
    let ops = run_lengths(&all);
    let cl = code_lengths(&Header::op_counts(&ops), 7);
    Header::assemble(hlit, hdist, ops, &cl)
}
