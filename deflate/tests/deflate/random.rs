//! A deflate encoder of the test's own that takes random decisions: block
//! types, where blocks end, code lengths (any complete code, not the
//! optimal one), how they are run-length coded, length 258 as 284 + 31,
//! padding and tail bits. zlib-rs's inflate must read what it writes,
//! and the parser must give back the very blocks it chose.

use proptest::prelude::*;
use trees_deflate::stream::{Block, CL_ORDER, Header, Kind, Token};

use super::write::{parse_all, write_all};

/// The random draws the encoder needs: xorshift64*, seeded by proptest.
pub struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Random lengths of a complete prefix code with `k` >= 2 codes, none
/// longer than `max`: leaves split at random.
fn complete_code(rng: &mut Rng, k: usize, max: u8) -> Vec<u8> {
    let mut leaves = vec![1u8, 1];
    while leaves.len() < k {
        let splittable: Vec<usize> = (0..leaves.len()).filter(|&i| leaves[i] < max).collect();
        let i = splittable[rng.below(splittable.len() as u64) as usize];
        leaves[i] += 1;
        let l = leaves[i];
        leaves.push(l);
    }
    leaves
}

/// Gives the symbols in `used` (and maybe some others) random complete
/// code lengths; `n` symbols in all.
fn lengths_for(rng: &mut Rng, used: &[bool], max: u8) -> Vec<u8> {
    let mut coded: Vec<usize> = (0..used.len())
        .filter(|&s| used[s] || rng.chance(5))
        .collect();
    while coded.len() < 2 {
        let s = rng.below(used.len() as u64) as usize;
        if !coded.contains(&s) {
            coded.push(s);
        }
    }
    let mut ls = complete_code(rng, coded.len(), max);
    // Shuffle which symbol gets which length.
    for i in (1..ls.len()).rev() {
        ls.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut out = vec![0u8; used.len()];
    for (s, l) in coded.into_iter().zip(ls) {
        out[s] = l;
    }
    out
}

/// A random run-length coding of `all` (code-length symbols 0-18).
fn rle(rng: &mut Rng, all: &[u8]) -> Vec<u16> {
    let mut ops = Vec::new();
    let mut i = 0;
    while i < all.len() {
        let v = all[i];
        let run = all[i..].iter().take_while(|&&x| x == v).count();
        if v == 0 && run >= 11 && rng.chance(60) {
            let n = 11 + rng.below((run.min(138) - 11 + 1) as u64) as usize;
            ops.push(18 | ((n - 11) as u16) << 8);
            i += n;
        } else if v == 0 && run >= 3 && rng.chance(50) {
            let n = 3 + rng.below((run.min(10) - 3 + 1) as u64) as usize;
            ops.push(17 | ((n - 3) as u16) << 8);
            i += n;
        } else if i > 0 && all[i - 1] == v && run >= 3 && rng.chance(60) {
            let n = 3 + rng.below((run.min(6) - 3 + 1) as u64) as usize;
            ops.push(16 | ((n - 3) as u16) << 8);
            i += n;
        } else {
            ops.push(u16::from(v));
            i += 1;
        }
    }
    ops
}

fn dynamic_header(rng: &mut Rng, tokens: &[Token]) -> Header {
    let mut lit_used = vec![false; 286];
    let mut dist_used = vec![false; 30];
    lit_used[256] = true;
    for t in tokens {
        lit_used[t.length_symbol().0] = true;
        if t.is_match() {
            dist_used[t.distance_symbol().0] = true;
        }
    }
    let lit = lengths_for(rng, &lit_used, 15);
    let dist = if !dist_used.contains(&true) && rng.chance(50) {
        vec![0u8] // no distance code at all
    } else if dist_used.iter().filter(|&&u| u).count() == 1 && rng.chance(50) {
        // One distance code of one bit: the incomplete code zlib allows.
        let mut d = vec![0u8; 30];
        d[dist_used.iter().position(|&u| u).unwrap()] = 1;
        d
    } else {
        lengths_for(rng, &dist_used, 15)
    };
    let hlit = (lit.iter().rposition(|&l| l > 0).unwrap() + 1).max(257);
    let hlit = hlit + rng.below((286 - hlit + 1) as u64).min(2) as usize;
    let hdist = (dist.iter().rposition(|&l| l > 0).map_or(1, |p| p + 1)).max(1);
    let hdist = hdist + if hdist < 30 && rng.chance(20) { 1 } else { 0 };
    let mut all: Vec<u8> = (0..hlit)
        .map(|s| lit.get(s).copied().unwrap_or(0))
        .collect();
    all.extend((0..hdist).map(|s| dist.get(s).copied().unwrap_or(0)));
    let ops = rle(rng, &all);
    let mut cl_used = vec![false; 19];
    for op in &ops {
        cl_used[usize::from(op & 31)] = true;
    }
    let by_symbol = lengths_for(rng, &cl_used, 7);
    let mut cl_lengths = [0u8; 19];
    for i in 0..19 {
        cl_lengths[i] = by_symbol[CL_ORDER[i]];
    }
    let needed = (cl_lengths.iter().rposition(|&l| l > 0).unwrap() + 1).max(4);
    let hclen = needed + rng.below((19 - needed + 1) as u64) as usize;
    Header {
        hlit: hlit as u16,
        hdist: hdist as u8,
        hclen: hclen as u8,
        cl_lengths,
        ops,
    }
}

/// A random stream: its blocks, plain text and tail bits.
fn random_stream(rng: &mut Rng) -> (Vec<Block>, Vec<u8>, u8) {
    let alphabet = 1 + rng.below(255) as u8;
    let mut plain: Vec<u8> = Vec::new();
    let mut blocks = Vec::new();
    // Written as it goes, so that a stored block's padding has exactly
    // the bits left before the boundary.
    let mut w = trees_deflate::write::Writer::new();
    let mut written = 0usize;
    let n = 1 + rng.below(5);
    for b in 0..n {
        let last = b + 1 == n;
        let kind = rng.below(3);
        if kind == 0 {
            let len = rng.below(300) as u16;
            plain.extend((0..len).map(|_| rng.below(u64::from(alphabet)) as u8));
            let bits = (w.to_boundary() + 8 - 3) % 8;
            let block = Block {
                last,
                kind: Kind::Stored {
                    pad: rng.below(1 << bits) as u8,
                    len,
                },
                tokens: vec![],
            };
            w.block(&block, &plain[written..]).unwrap();
            written = plain.len();
            blocks.push(block);
            continue;
        }
        let mut tokens = Vec::new();
        for _ in 0..rng.below(400) {
            if plain.is_empty() || rng.chance(40) {
                let c = rng.below(u64::from(alphabet)) as u8;
                plain.push(c);
                tokens.push(Token::literal(c));
                continue;
            }
            let dist = 1 + rng.below(plain.len().min(32768) as u64) as u16;
            let len = if rng.chance(10) {
                258
            } else {
                3 + rng.below(40) as u16
            };
            let t = if len == 258 && rng.chance(50) {
                Token::matched_258_as_284(dist)
            } else {
                Token::matched(len, dist)
            };
            let from = plain.len() - usize::from(dist);
            for k in 0..usize::from(len) {
                plain.push(plain[from + k]);
            }
            tokens.push(t);
        }
        let kind = if kind == 1 {
            Kind::Fixed
        } else {
            Kind::Dynamic(dynamic_header(rng, &tokens))
        };
        let block = Block { last, kind, tokens };
        w.block(&block, &[]).unwrap();
        written = plain.len();
        blocks.push(block);
    }
    let tail = rng.below(1 << w.to_boundary()) as u8;
    (blocks, plain, tail)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 120, .. ProptestConfig::default() })]
    #[test]
    fn random_streams_inflate_parse_and_write_back(seed in any::<u64>()) {
        let rng = &mut Rng(seed | 1);
        let (blocks, plain, tail) = random_stream(rng);
        let stream = write_all(&blocks, &plain, tail);
        prop_assert_eq!(&super::inflate(&stream), &plain, "zlib-rs reads what the random encoder wrote");
        let (again, plain2, end) = parse_all(&stream).expect("it parses");
        prop_assert_eq!(&plain2, &plain);
        prop_assert_eq!(end.len, stream.len());
        prop_assert_eq!(&again, &blocks, "the parser gives back the encoder's choices");
        prop_assert_eq!(write_all(&again, &plain, end.tail), stream);
    }

    /// The escape path: a stream no model predicts is still re-made exactly.
    #[test]
    fn random_streams_are_re_made_from_a_recipe(seed in any::<u64>()) {
        let rng = &mut Rng(seed | 1);
        let (blocks, plain, tail) = random_stream(rng);
        let stream = write_all(&blocks, &plain, tail);
        let a = trees_deflate::recreate::analyse(&stream, 1 << 20).expect("it analyses");
        prop_assert_eq!(&a.plain, &plain);
        let again = trees_deflate::recreate::recreate(&a.recipe, &a.plain, stream.len()).expect("re-made");
        prop_assert_eq!(again, stream);
    }
}
