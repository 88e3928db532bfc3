//! What a deflate stream is made of, as [`crate::parse`] reads it and
//! [`crate::write`] writes it back: blocks, each with every choice its
//! encoder made, so that writing them gives the same bits.
//!
//! Deflate leaves an encoder free in more places than the tokens: a block's
//! type and where it ends; a dynamic block's code lengths and how they are
//! run-length coded; length 258 as symbol 285 or as 284 with extra bits 31;
//! the padding bits before a stored block's length; the bits after the last
//! block. Each is kept here.

/// One token: a literal byte or a match, packed in 32 bits.
///
/// Bit 31 set: a match, with `length - 3` in bits 0-7, `distance - 1` in
/// bits 8-22 and bit 23 set when length 258 was sent as symbol 284 with
/// extra bits 31 (valid, though no common encoder does it). Otherwise a
/// literal in bits 0-7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Token(u32);

const MATCH: u32 = 1 << 31;
const ALT_258: u32 = 1 << 23;

impl Token {
    /// A literal byte.
    pub fn literal(b: u8) -> Token {
        Token(u32::from(b))
    }

    /// A match of `len` (3 to 258) bytes at `dist` (1 to 32,768) back.
    pub fn matched(len: u16, dist: u16) -> Token {
        debug_assert!((3..=258).contains(&len) && (1..=32768).contains(&dist));
        Token(MATCH | u32::from(len - 3) | u32::from(dist - 1) << 8)
    }

    /// Length 258 sent as symbol 284 plus 31.
    pub fn matched_258_as_284(dist: u16) -> Token {
        Token(Self::matched(258, dist).0 | ALT_258)
    }

    /// Whether it is a match.
    pub fn is_match(self) -> bool {
        self.0 & MATCH != 0
    }

    /// The literal byte (meaningless for a match).
    pub fn byte(self) -> u8 {
        self.0 as u8
    }

    /// A match's length (1 for a literal: the bytes it covers).
    pub fn plain_len(self) -> u16 {
        if self.is_match() {
            (self.0 & 0xff) as u16 + 3
        } else {
            1
        }
    }

    /// A match's distance (0 for a literal).
    pub fn dist(self) -> u16 {
        if self.is_match() {
            ((self.0 >> 8) & 0x7fff) as u16 + 1
        } else {
            0
        }
    }

    /// Whether length 258 is sent as 284 plus 31.
    pub fn alt_258(self) -> bool {
        self.0 & ALT_258 != 0
    }

    /// The literal/length symbol (0-285) and its extra bits and their count.
    pub fn length_symbol(self) -> (usize, u32, u32) {
        if !self.is_match() {
            return (usize::from(self.byte()), 0, 0);
        }
        if self.alt_258() {
            return (284, 31, 5);
        }
        let len = self.plain_len();
        if len == 258 {
            return (285, 0, 0);
        }
        let i = LENGTH_CODE[usize::from(len - 3)];
        let base = LENGTH_BASE[usize::from(i)];
        (
            257 + usize::from(i),
            u32::from(len - base),
            u32::from(LENGTH_EXTRA[usize::from(i)]),
        )
    }

    /// The distance symbol (0-29) and its extra bits and their count.
    pub fn distance_symbol(self) -> (usize, u32, u32) {
        let d = self.dist();
        let i = distance_code(d);
        (i, u32::from(d - DIST_BASE[i]), u32::from(DIST_EXTRA[i]))
    }
}

/// First length of each length symbol 257-285.
pub const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
/// Extra bits of each length symbol.
pub const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// First distance of each distance symbol 0-29.
pub const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
/// Extra bits of each distance symbol.
pub const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// Length symbol index (0-28) of lengths 3-258.
const LENGTH_CODE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut code = 0;
    while code < 28 {
        let mut l = LENGTH_BASE[code];
        while l < LENGTH_BASE[code] + (1 << LENGTH_EXTRA[code]) && l < 258 {
            t[(l - 3) as usize] = code as u8;
            l += 1;
        }
        code += 1;
    }
    t[255] = 28;
    t
};

/// The distance symbol of `d` (1 to 32,768).
pub fn distance_code(d: u16) -> usize {
    // The largest base not above d: 30 entries, a binary search.
    match DIST_BASE.binary_search(&d) {
        Ok(i) => i,
        Err(i) => i - 1,
    }
}

/// The order in which a dynamic header sends the code-length code's lengths.
pub const CL_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// A dynamic block's header as sent: everything needed to write its bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Literal/length code lengths sent (257 to 288).
    pub hlit: u16,
    /// Distance code lengths sent (1 to 32).
    pub hdist: u8,
    /// Code-length code lengths sent (4 to 19).
    pub hclen: u8,
    /// The code-length code's lengths, in [`CL_ORDER`] (the first `hclen`
    /// are sent).
    pub cl_lengths: [u8; 19],
    /// The run-length coded code lengths: symbol (0-18) in bits 0-4, its
    /// extra bits' value from bit 8.
    pub ops: Vec<u16>,
}

impl Header {
    /// The header that sends `hlit` literal/length and `hdist` distance
    /// lengths as `ops`, with the code-length code `cl` (a length per
    /// symbol, 0-18): its lengths in sending order, and as many of them
    /// sent as end with the last non-zero (at least 4).
    pub fn assemble(hlit: usize, hdist: usize, ops: Vec<u16>, cl: &[u8]) -> Header {
        let mut cl_lengths = [0u8; 19];
        for (i, &s) in CL_ORDER.iter().enumerate() {
            cl_lengths[i] = cl.get(s).copied().unwrap_or(0);
        }
        let hclen = (cl_lengths.iter().rposition(|&l| l != 0).unwrap_or(0) + 1).max(4);
        Header {
            hlit: hlit as u16,
            hdist: hdist as u8,
            hclen: hclen as u8,
            cl_lengths,
            ops,
        }
    }

    /// How often each code-length symbol (0-18) occurs in `ops`.
    pub fn op_counts(ops: &[u16]) -> [u32; 19] {
        let mut n = [0u32; 19];
        for &op in ops {
            n[usize::from(op & 31).min(18)] += 1;
        }
        n
    }

    /// The literal/length and distance code lengths the ops spell out, or
    /// `None` when they do not give exactly `hlit + hdist` lengths.
    pub fn lengths(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        let n = usize::from(self.hlit) + usize::from(self.hdist);
        let mut all = Vec::with_capacity(n);
        for &op in &self.ops {
            let (sym, extra) = (op & 31, op >> 8);
            let (value, times) = match sym {
                0..=15 => (sym as u8, 1),
                16 => (*all.last()?, 3 + usize::from(extra)),
                17 => (0, 3 + usize::from(extra)),
                18 => (0, 11 + usize::from(extra)),
                _ => return None,
            };
            if all.len() + times > n {
                return None;
            }
            all.extend(std::iter::repeat_n(value, times));
        }
        if all.len() != n {
            return None;
        }
        let dist = all.split_off(usize::from(self.hlit));
        Some((all, dist))
    }
}

/// How a block codes its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Stored: `len` plain bytes, after `pad` (the bits up to the byte
    /// boundary, which encoders set to zero but need not).
    Stored {
        /// The padding bits' value.
        pad: u8,
        /// The block's plain bytes (0 to 65,535).
        len: u16,
    },
    /// The fixed codes of RFC 1951, 3.2.6.
    Fixed,
    /// Codes sent in the block's header.
    Dynamic(Header),
}

/// One block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Whether it is the last block (BFINAL).
    pub last: bool,
    /// Its type and header.
    pub kind: Kind,
    /// Its tokens (none for a stored block); the end-of-block symbol is implied.
    pub tokens: Vec<Token>,
}

impl Block {
    /// Plain bytes the block gives.
    pub fn plain_len(&self) -> u64 {
        match self.kind {
            Kind::Stored { len, .. } => u64::from(len),
            _ => self.tokens.iter().map(|t| u64::from(t.plain_len())).sum(),
        }
    }
}

/// Fixed literal/length code lengths (RFC 1951, 3.2.6).
pub fn fixed_lengths() -> Vec<u8> {
    let mut l = vec![8u8; 288];
    l[144..256].fill(9);
    l[256..280].fill(7);
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_length_and_distance_has_its_symbol() {
        for len in 3..=258u16 {
            let t = Token::matched(len, 1);
            let (sym, extra, n) = t.length_symbol();
            let i = sym - 257;
            assert_eq!(LENGTH_BASE[i] + extra as u16, len);
            assert!(extra < 1 << n || n == 0 && extra == 0);
        }
        for d in 1..=32768u16 {
            let (i, extra, n) = Token::matched(3, d).distance_symbol();
            assert_eq!(DIST_BASE[i] + extra as u16, d);
            assert!(extra < 1 << n || n == 0 && extra == 0);
        }
        let t = Token::matched_258_as_284(7);
        assert_eq!(
            (t.plain_len(), t.dist(), t.length_symbol()),
            (258, 7, (284, 31, 5))
        );
    }
}
