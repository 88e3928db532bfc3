//! Canonical Huffman codes (RFC 1951, 3.2.2): code lengths in, codes out,
//! and a table-driven decoder.
//!
//! A stream may carry any lengths, including incomplete codes (zlib's
//! inflate takes a lone one-bit distance code) and, if hostile,
//! over-subscribed ones; [`Code::new`] refuses the latter, and the decoder
//! refuses a bit pattern that no symbol has.

use crate::bits::BitReader;

/// Longest code deflate allows.
pub const MAX_BITS: u32 = 15;

/// Bits the decoder resolves with one table lookup; longer codes are
/// finished bit by bit (they are rare: at most the least frequent symbols).
const FAST_BITS: u32 = 10;

/// Why a set of code lengths is not a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// More codes of some length than the lengths before leave room for.
    #[error("over-subscribed Huffman code lengths")]
    OverSubscribed,
    /// A length over 15.
    #[error("a Huffman code length over 15")]
    TooLong,
}

/// A canonical code: each symbol's length and its bits, reversed for
/// LSB-first writing, and the tables to decode it.
#[derive(Debug, Clone)]
pub struct Code {
    lengths: Vec<u8>,
    /// Per symbol: its code, bit-reversed.
    reversed: Vec<u16>,
    /// `FAST_BITS`-bit lookups: symbol << 4 | length, or 0 when the code is
    /// longer (or absent).
    fast: Vec<u16>,
    /// Codes per length, and the symbols in canonical order, for the slow path.
    count: [u16; MAX_BITS as usize + 1],
    sorted: Vec<u16>,
}

impl Code {
    /// The canonical code of these lengths (0 = symbol absent).
    pub fn new(lengths: &[u8]) -> Result<Code, CodeError> {
        let mut count = [0u16; MAX_BITS as usize + 1];
        for &l in lengths {
            if u32::from(l) > MAX_BITS {
                return Err(CodeError::TooLong);
            }
            count[l as usize] += 1;
        }
        count[0] = 0;
        let mut left: i32 = 1;
        for &c in &count[1..] {
            left = 2 * left - i32::from(c);
            if left < 0 {
                return Err(CodeError::OverSubscribed);
            }
        }
        let mut next = [0u16; MAX_BITS as usize + 2];
        let mut code = 0u16;
        for bits in 1..=MAX_BITS as usize {
            code = (code + count[bits - 1]) << 1;
            next[bits] = code;
        }
        let mut offs = [0u16; MAX_BITS as usize + 2];
        for bits in 1..=MAX_BITS as usize {
            offs[bits + 1] = offs[bits] + count[bits];
        }
        let mut sorted = vec![0u16; usize::from(offs[MAX_BITS as usize + 1])];
        let mut reversed = vec![0u16; lengths.len()];
        let mut fast = vec![0u16; 1 << FAST_BITS];
        for (sym, &l) in lengths.iter().enumerate() {
            if l == 0 {
                continue;
            }
            let l = usize::from(l);
            let c = next[l];
            next[l] += 1;
            let r = c.reverse_bits() >> (16 - l);
            reversed[sym] = r;
            sorted[usize::from(offs[l])] = sym as u16;
            offs[l] += 1;
            if l as u32 <= FAST_BITS {
                let entry = (sym as u16) << 4 | l as u16;
                let mut i = usize::from(r);
                while i < fast.len() {
                    fast[i] = entry;
                    i += 1 << l;
                }
            }
        }
        Ok(Code {
            lengths: lengths.to_vec(),
            reversed,
            fast,
            count,
            sorted,
        })
    }

    /// The code lengths it was made from.
    pub fn lengths(&self) -> &[u8] {
        &self.lengths
    }

    /// A symbol's bits (reversed, ready for [`crate::bits::BitWriter::bits`])
    /// and length; length 0 when the symbol has no code.
    pub fn encode(&self, sym: usize) -> (u32, u32) {
        match self.lengths.get(sym) {
            Some(&l) => (u32::from(self.reversed[sym]), u32::from(l)),
            None => (0, 0),
        }
    }

    /// Decodes one symbol; `None` when the bits are no symbol's or the
    /// input ends.
    pub fn decode(&self, r: &mut BitReader<'_>) -> Option<u16> {
        let (bits, real) = r.peek(MAX_BITS);
        let entry = self.fast[(bits & ((1 << FAST_BITS) - 1)) as usize];
        if entry != 0 {
            let len = u32::from(entry & 15);
            if len > real {
                return None;
            }
            r.consume(len);
            return Some(entry >> 4);
        }
        // Canonical decoding, one bit at a time (as puff.c explains it):
        // `code` is the bits so far, MSB-first; `first` the first code of
        // this length; `index` the first symbol of this length in `sorted`.
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..=MAX_BITS.min(real) {
            code |= ((bits >> (len - 1)) & 1) as i32;
            let count = i32::from(self.count[len as usize]);
            if code - count < first {
                let sym = self.sorted[(index + (code - first)) as usize];
                r.consume(len);
                return Some(sym);
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bits::BitWriter;

    #[test]
    fn rfc_example_codes() {
        // RFC 1951, 3.2.2: lengths (3, 3, 3, 3, 3, 2, 4, 4) give
        // 010 011 100 101 110 00 1110 1111.
        let c = Code::new(&[3, 3, 3, 3, 3, 2, 4, 4]).unwrap();
        let want = [0b010, 0b011, 0b100, 0b101, 0b110, 0b00, 0b1110, 0b1111u32];
        for (s, &w) in want.iter().enumerate() {
            let (bits, len) = c.encode(s);
            assert_eq!(bits.reverse_bits() >> (32 - len), w, "symbol {s}");
        }
    }

    #[test]
    fn decode_inverts_encode_including_long_codes() {
        let mut lengths = vec![0u8; 20];
        // 1, 2, ..., 14, 15, 15: complete, with codes past FAST_BITS.
        for (i, l) in lengths.iter_mut().take(15).enumerate() {
            *l = (i + 1) as u8;
        }
        lengths[19] = 15;
        let c = Code::new(&lengths).unwrap();
        let syms: Vec<usize> = (0..20).filter(|&s| lengths[s] > 0).rev().collect();
        let mut w = BitWriter::new();
        for &s in &syms {
            let (b, l) = c.encode(s);
            w.bits(b, l);
        }
        let bytes = w.finish();
        let mut r = BitReader::new(&bytes);
        for &s in &syms {
            assert_eq!(c.decode(&mut r), Some(s as u16));
        }
    }

    #[test]
    fn over_subscribed_and_incomplete() {
        assert_eq!(
            Code::new(&[1, 1, 1]).unwrap_err(),
            CodeError::OverSubscribed
        );
        let lone = Code::new(&[0, 1]).unwrap();
        let bytes = [0b10u8];
        let mut r = BitReader::new(&bytes);
        assert_eq!(lone.decode(&mut r), Some(1));
        assert_eq!(lone.decode(&mut r), None, "the unused pattern is no symbol");
    }
}
