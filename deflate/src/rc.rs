//! An adaptive binary range coder: how a recipe spends almost nothing on
//! predictions that come true.
//!
//! The coder is the one LZMA made familiar (a 32-bit range, carry
//! propagation through a cached byte), with 16-bit probabilities so that
//! a bit that is nearly always the same costs under a thousandth of a bit:
//! a recipe asks "was the model right?" at every token, and a stream has
//! hundreds of thousands of them. Each probability adapts by 1/32 of the
//! distance to the bit it saw.
//!
//! The decoder reads zeros past its input's end: hostile input decodes to
//! some bits, never to a panic, and every caller bounds how many it asks for.

/// Probability bits: `p / 65536` is the chance of a 0.
const BITS: u32 = 16;
/// Adaptation speed: 1/32 of the way to the bit seen.
const SHIFT: u32 = 5;
/// The range is renormalised below this.
const TOP: u32 = 1 << 24;

/// The probability of a 0, adapting to the bits coded with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bit(u16);

impl Default for Bit {
    fn default() -> Self {
        Bit(1 << (BITS - 1))
    }
}

impl Bit {
    fn update(&mut self, bit: bool) {
        if bit {
            self.0 -= self.0 >> SHIFT;
        } else {
            self.0 += ((1u32 << BITS) - u32::from(self.0)) as u16 >> SHIFT;
        }
    }
}

/// Writes bits.
#[derive(Debug)]
pub struct Encoder {
    low: u64,
    range: u32,
    cache: u8,
    pending: u64,
    out: Vec<u8>,
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder {
            low: 0,
            range: u32::MAX,
            cache: 0,
            pending: 1,
            out: Vec::new(),
        }
    }
}

impl Encoder {
    /// An empty coder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Codes `bit` with probability `p`, which then adapts.
    pub fn bit(&mut self, p: &mut Bit, bit: bool) {
        let bound = (self.range >> BITS) * u32::from(p.0);
        if bit {
            self.low += u64::from(bound);
            self.range -= bound;
        } else {
            self.range = bound;
        }
        p.update(bit);
        while self.range < TOP {
            self.range <<= 8;
            self.shift_low();
        }
    }

    fn shift_low(&mut self) {
        if self.low < 0xff00_0000 || self.low >= 1 << 32 {
            let carry = (self.low >> 32) as u8;
            let mut byte = self.cache;
            while self.pending > 0 {
                self.out.push(byte.wrapping_add(carry));
                byte = 0xff;
                self.pending -= 1;
            }
            self.cache = (self.low >> 24) as u8;
        }
        self.pending += 1;
        self.low = (self.low & 0x00ff_ffff) << 8;
    }

    /// The coded bytes.
    pub fn finish(mut self) -> Vec<u8> {
        for _ in 0..5 {
            self.shift_low();
        }
        // The first byte is always the initial cache, 0: drop it.
        self.out.remove(0);
        self.out
    }
}

/// Reads bits.
#[derive(Debug)]
pub struct Decoder<'a> {
    input: &'a [u8],
    at: usize,
    code: u32,
    range: u32,
}

impl<'a> Decoder<'a> {
    /// A decoder of what [`Encoder::finish`] gave.
    pub fn new(input: &'a [u8]) -> Self {
        let mut d = Decoder {
            input,
            at: 0,
            code: 0,
            range: u32::MAX,
        };
        for _ in 0..4 {
            d.code = d.code << 8 | u32::from(d.next());
        }
        d
    }

    fn next(&mut self) -> u8 {
        let b = self.input.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    /// Decodes a bit coded with probability `p`, which then adapts.
    pub fn bit(&mut self, p: &mut Bit) -> bool {
        let bound = (self.range >> BITS) * u32::from(p.0);
        let bit = if self.code < bound {
            self.range = bound;
            false
        } else {
            self.code -= bound;
            self.range -= bound;
            true
        };
        p.update(bit);
        while self.range < TOP {
            self.range <<= 8;
            self.code = self.code << 8 | u32::from(self.next());
        }
        bit
    }

    /// Whether the decoder read past its input (by more than the coder's
    /// own look-ahead): the recipe was cut short or is not a recipe.
    pub fn overran(&self) -> bool {
        self.at > self.input.len() + 4
    }
}

/// Adaptive codes of unsigned numbers up to 2^32 - 1: Elias gamma, each
/// bit with its own probability (the unary length by position, the
/// mantissa by length and position), so small and recurring values are cheap.
#[derive(Debug, Clone)]
pub struct Number {
    unary: [Bit; 33],
    mantissa: Vec<Bit>,
}

impl Default for Number {
    fn default() -> Self {
        Number {
            unary: [Bit::default(); 33],
            mantissa: vec![Bit::default(); 33 * 32],
        }
    }
}

impl Number {
    /// Codes `v`.
    pub fn put(&mut self, e: &mut Encoder, v: u32) {
        let x = u64::from(v) + 1;
        let n = 63 - x.leading_zeros(); // bits after the leading 1
        for i in 0..n {
            e.bit(&mut self.unary[i as usize], true);
        }
        if n < 32 {
            e.bit(&mut self.unary[n as usize], false);
        }
        for i in (0..n).rev() {
            let ctx = (n * 32 + i) as usize;
            e.bit(&mut self.mantissa[ctx], x >> i & 1 == 1);
        }
    }

    /// Decodes a number; hostile input gives some number up to 2^32 - 1.
    pub fn get(&mut self, d: &mut Decoder<'_>) -> u32 {
        let mut n = 0u32;
        while n < 32 && d.bit(&mut self.unary[n as usize]) {
            n += 1;
        }
        let mut x = 1u64;
        for i in (0..n).rev() {
            let ctx = (n * 32 + i) as usize;
            x = x << 1 | u64::from(d.bit(&mut self.mantissa[ctx]));
        }
        (x - 1).min(u64::from(u32::MAX)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_nearly_certain_bit_costs_almost_nothing() {
        let mut e = Encoder::new();
        let mut p = Bit::default();
        for i in 0..200_000 {
            e.bit(&mut p, i == 100_000);
        }
        let bytes = e.finish();
        assert!(
            bytes.len() < 40,
            "{} bytes for 200,000 near-certain bits",
            bytes.len()
        );
        let mut d = Decoder::new(&bytes);
        let mut p = Bit::default();
        for i in 0..200_000 {
            assert_eq!(d.bit(&mut p), i == 100_000, "bit {i}");
        }
        assert!(!d.overran());
    }

    proptest! {
        #[test]
        fn bits_and_numbers_round_trip(values in proptest::collection::vec(any::<u32>(), 0..300), small in proptest::collection::vec(0u32..20, 0..300)) {
            let mut e = Encoder::new();
            let (mut a, mut b, mut c) = (Number::default(), Number::default(), Bit::default());
            for (&v, &s) in values.iter().zip(&small) {
                a.put(&mut e, v);
                b.put(&mut e, s);
                e.bit(&mut c, s % 3 == 0);
            }
            let bytes = e.finish();
            let mut d = Decoder::new(&bytes);
            let (mut a, mut b, mut c) = (Number::default(), Number::default(), Bit::default());
            for (&v, &s) in values.iter().zip(&small) {
                prop_assert_eq!(a.get(&mut d), v);
                prop_assert_eq!(b.get(&mut d), s);
                prop_assert_eq!(d.bit(&mut c), s % 3 == 0);
            }
        }

        #[test]
        fn hostile_bytes_decode_to_something(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut d = Decoder::new(&bytes);
            let mut n = Number::default();
            for _ in 0..100 {
                let _ = n.get(&mut d);
            }
        }
    }
}
