//! Writing [`Block`]s back as deflate bits: the inverse of
//! [`crate::parse`], bit for bit, for any block it can read.

use crate::bits::BitWriter;
use crate::huffman::{Code, CodeError};
use crate::stream::{Block, CL_ORDER, Header, Kind, fixed_lengths};

/// Why blocks cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// A dynamic header whose lengths make no code.
    #[error("a dynamic header's code lengths make no code: {0}")]
    Code(#[from] CodeError),
    /// A dynamic header that does not spell out its lengths.
    #[error("a dynamic header is not well formed")]
    Header,
    /// A token whose symbol has no code in its block.
    #[error("a token has no code in its block")]
    Uncoded,
    /// A stored block whose bytes are not all there.
    #[error("a stored block needs {0} more plain bytes")]
    Plain(usize),
}

/// Writes blocks in order; their plain text is needed for stored blocks only.
#[derive(Debug, Default)]
pub struct Writer {
    w: BitWriter,
    fixed: Option<(Code, Code)>,
}

impl Writer {
    /// A writer at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes one block; `plain` holds at least a stored block's bytes.
    pub fn block(&mut self, b: &Block, plain: &[u8]) -> Result<(), WriteError> {
        let w = &mut self.w;
        w.bits(u32::from(b.last), 1);
        match &b.kind {
            Kind::Stored { pad, len } => {
                w.bits(0, 2);
                let n = w.to_boundary();
                w.bits(u32::from(*pad) & ((1 << n) - 1), n);
                w.bits(u32::from(*len), 16);
                w.bits(u32::from(!*len), 16);
                let bytes = plain.get(..usize::from(*len)).ok_or(WriteError::Plain(
                    usize::from(*len).saturating_sub(plain.len()),
                ))?;
                w.bytes(bytes);
                Ok(())
            }
            Kind::Fixed => {
                w.bits(1, 2);
                let (lit, dist) = self.fixed.get_or_insert_with(|| {
                    (
                        Code::new(&fixed_lengths()).expect("the fixed code is complete"),
                        Code::new(&[5; 30]).expect("the fixed code is complete"),
                    )
                });
                tokens(w, b, lit, dist)
            }
            Kind::Dynamic(h) => {
                w.bits(2, 2);
                let (lit, dist) = header(w, h)?;
                tokens(w, b, &lit, &dist)
            }
        }
    }

    /// Bits to the next byte boundary (what follows the last block).
    pub fn to_boundary(&self) -> u32 {
        self.w.to_boundary()
    }

    /// Writes the bits after the last block, and returns the stream.
    pub fn finish(mut self, tail: u8) -> Vec<u8> {
        let n = self.w.to_boundary();
        self.w.bits(u32::from(tail) & ((1 << n) - 1), n);
        self.w.finish()
    }

    /// Takes the whole bytes written so far (a partial byte stays).
    pub fn take_bytes(&mut self) -> Vec<u8> {
        self.w.take_bytes()
    }
}

fn header(w: &mut BitWriter, h: &Header) -> Result<(Code, Code), WriteError> {
    let (l, d) = h.lengths().ok_or(WriteError::Header)?;
    w.bits(u32::from(h.hlit - 257), 5);
    w.bits(u32::from(h.hdist) - 1, 5);
    w.bits(u32::from(h.hclen) - 4, 4);
    let mut by_symbol = [0u8; 19];
    for i in 0..usize::from(h.hclen) {
        w.bits(u32::from(h.cl_lengths[i]), 3);
        by_symbol[CL_ORDER[i]] = h.cl_lengths[i];
    }
    let cl = Code::new(&by_symbol)?;
    for &op in &h.ops {
        let sym = usize::from(op & 31);
        let (bits, n) = cl.encode(sym);
        if n == 0 {
            return Err(WriteError::Uncoded);
        }
        w.bits(bits, n);
        let extra = u32::from(op >> 8);
        match sym {
            16 => w.bits(extra, 2),
            17 => w.bits(extra, 3),
            18 => w.bits(extra, 7),
            _ => {}
        }
    }
    Ok((Code::new(&l)?, Code::new(&d)?))
}

fn tokens(w: &mut BitWriter, b: &Block, lit: &Code, dist: &Code) -> Result<(), WriteError> {
    for &t in &b.tokens {
        let (sym, extra, n) = t.length_symbol();
        let (bits, len) = lit.encode(sym);
        if len == 0 {
            return Err(WriteError::Uncoded);
        }
        w.bits(bits, len);
        if t.is_match() {
            w.bits(extra, n);
            let (sym, extra, n) = t.distance_symbol();
            let (bits, len) = dist.encode(sym);
            if len == 0 {
                return Err(WriteError::Uncoded);
            }
            w.bits(bits, len);
            w.bits(extra, n);
        }
    }
    let (bits, len) = lit.encode(256);
    if len == 0 {
        return Err(WriteError::Uncoded);
    }
    w.bits(bits, len);
    Ok(())
}
