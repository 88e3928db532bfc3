//! Bits in deflate's order: least significant bit of each byte first
//! (RFC 1951, 3.1.1). Huffman codes are sent most significant bit first,
//! so writers reverse them once when the code is built
//! ([`crate::huffman::Code`]), and the reader here only ever takes bits
//! LSB-first.

/// Reads bits from a byte slice. Reading past the end is an error, never
/// a panic: deflate input is hostile.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    bytes: &'a [u8],
    /// The next byte to load into `acc`.
    next: usize,
    /// Bits not yet consumed, the lowest first.
    acc: u64,
    /// How many bits of `acc` are valid.
    have: u32,
}

/// The input ended inside a bit field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the deflate stream ends early")]
pub struct ShortInput;

impl<'a> BitReader<'a> {
    /// A reader at the first bit of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        BitReader {
            bytes,
            next: 0,
            acc: 0,
            have: 0,
        }
    }

    fn refill(&mut self) {
        while self.have <= 56 && self.next < self.bytes.len() {
            self.acc |= u64::from(self.bytes[self.next]) << self.have;
            self.next += 1;
            self.have += 8;
        }
    }

    /// The next `n` (at most 32) bits without consuming them, zero past the
    /// end, and how many of them are real.
    pub fn peek(&mut self, n: u32) -> (u32, u32) {
        debug_assert!(n <= 32);
        if self.have < n {
            self.refill();
        }
        let mask = if n == 32 {
            u64::from(u32::MAX)
        } else {
            (1u64 << n) - 1
        };
        ((self.acc & mask) as u32, self.have.min(n))
    }

    /// Consumes `n` bits that [`BitReader::peek`] showed to be real.
    pub fn consume(&mut self, n: u32) {
        debug_assert!(n <= self.have);
        self.acc >>= n;
        self.have -= n;
    }

    /// Reads `n` (at most 32) bits.
    pub fn bits(&mut self, n: u32) -> Result<u32, ShortInput> {
        let (v, real) = self.peek(n);
        if real < n {
            return Err(ShortInput);
        }
        self.consume(n);
        Ok(v)
    }

    /// Bits left before the next byte boundary (0 to 7).
    pub fn to_boundary(&self) -> u32 {
        self.have % 8
    }

    /// Bits consumed so far.
    pub fn position(&self) -> u64 {
        self.next as u64 * 8 - u64::from(self.have)
    }

    /// Whole bytes consumed so far (the byte being read counts once its
    /// first bit is taken).
    pub fn bytes_used(&self) -> usize {
        self.next - (self.have / 8) as usize
    }

    /// Reads `n` whole bytes; the reader must be at a byte boundary.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], ShortInput> {
        debug_assert_eq!(self.have % 8, 0);
        let at = self.bytes_used();
        let end = at.checked_add(n).ok_or(ShortInput)?;
        let out = self.bytes.get(at..end).ok_or(ShortInput)?;
        self.next = end;
        self.acc = 0;
        self.have = 0;
        Ok(out)
    }
}

/// Writes bits in deflate's order.
#[derive(Debug, Default, Clone)]
pub struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    have: u32,
}

impl BitWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes the low `n` (at most 32) bits of `v`.
    pub fn bits(&mut self, v: u32, n: u32) {
        debug_assert!(n <= 32);
        debug_assert!(n == 32 || v >> n == 0, "{v} does not fit {n} bits");
        self.acc |= u64::from(v) << self.have;
        self.have += n;
        while self.have >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.have -= 8;
        }
    }

    /// Bits to write before the next byte boundary (0 to 7).
    pub fn to_boundary(&self) -> u32 {
        (8 - self.have % 8) % 8
    }

    /// Appends whole bytes; the writer must be at a byte boundary.
    pub fn bytes(&mut self, b: &[u8]) {
        debug_assert_eq!(self.have, 0);
        self.out.extend_from_slice(b);
    }

    /// Bytes written so far (whole ones).
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty() && self.have == 0
    }

    /// The bytes; a partial last byte is padded with zero bits.
    pub fn finish(mut self) -> Vec<u8> {
        if self.have > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }

    /// Takes the whole bytes written so far, keeping a partial byte.
    pub fn take_bytes(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip_in_lsb_order() {
        let mut w = BitWriter::new();
        w.bits(1, 1);
        w.bits(0b10, 2);
        w.bits(0x1234_5678, 32);
        w.bits(0, w.to_boundary());
        w.bytes(&[7, 8]);
        w.bits(5, 3);
        let b = w.finish();
        assert_eq!(b[0] & 0b111, 0b101);
        let mut r = BitReader::new(&b);
        assert_eq!(r.bits(1), Ok(1));
        assert_eq!(r.bits(2), Ok(0b10));
        assert_eq!(r.bits(32), Ok(0x1234_5678));
        let pad = r.to_boundary();
        assert_eq!(r.bits(pad), Ok(0));
        assert_eq!(r.bytes(2), Ok(&[7u8, 8][..]));
        assert_eq!(r.bits(3), Ok(5));
        assert_eq!(r.bits(6), Err(ShortInput));
        assert_eq!(r.bytes_used(), b.len());
    }
}
