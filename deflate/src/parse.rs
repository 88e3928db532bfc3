//! Reading a raw deflate stream (RFC 1951) into [`Block`]s, one block at
//! a time, with every choice its encoder made, and its plain text.
//!
//! The input is hostile: every length, symbol and distance is checked, a
//! bit pattern no symbol has is an error, and a block may give at most the
//! caller's limit of plain bytes, so memory follows the caller's bound and
//! not the stream's claims.

use crate::bits::{BitReader, ShortInput};
use crate::huffman::{Code, CodeError};
use crate::stream::{
    Block, CL_ORDER, DIST_BASE, DIST_EXTRA, Header, Kind, LENGTH_BASE, LENGTH_EXTRA, Token,
    fixed_lengths,
};

/// Why a stream cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The input ends inside the stream.
    #[error(transparent)]
    Short(#[from] ShortInput),
    /// Block type 3.
    #[error("block type 3 is reserved")]
    BlockType,
    /// A stored block whose length and its complement disagree.
    #[error("a stored block's length {len:#06x} is not the complement of {nlen:#06x}")]
    StoredLength {
        /// LEN.
        len: u16,
        /// NLEN.
        nlen: u16,
    },
    /// Code lengths that make no code.
    #[error("bad code lengths in a dynamic header: {0}")]
    Code(#[from] CodeError),
    /// A dynamic header that is not well formed.
    #[error("bad dynamic header: {0}")]
    Header(&'static str),
    /// A bit pattern that no symbol has, or a symbol deflate does not define.
    #[error("an invalid {0} symbol")]
    Symbol(&'static str),
    /// A distance further back than the plain text so far.
    #[error("a distance of {dist} with only {have} bytes before it")]
    Distance {
        /// The distance.
        dist: u16,
        /// Plain bytes available.
        have: usize,
    },
    /// A block gives more plain bytes than the caller allows.
    #[error("a block gives more than {0} plain bytes")]
    TooLong(usize),
}

/// Reads a deflate stream block by block.
#[derive(Debug, Clone)]
pub struct Parser<'a> {
    r: BitReader<'a>,
    done: bool,
    fixed: Option<(Code, Code)>,
}

/// What follows the last block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct End {
    /// The bits after the last block's end up to the byte boundary (their
    /// value; encoders write zeros).
    pub tail: u8,
    /// Bytes of input the stream took.
    pub len: usize,
}

impl<'a> Parser<'a> {
    /// A parser at the start of `deflate`.
    pub fn new(deflate: &'a [u8]) -> Self {
        Parser {
            r: BitReader::new(deflate),
            done: false,
            fixed: None,
        }
    }

    /// A parser at bit `bit` (0 to 7) of `deflate`'s first byte: where a
    /// stream read in chunks goes on after a block that ended mid-byte.
    pub fn at_bit(deflate: &'a [u8], bit: u32) -> Result<Self, ParseError> {
        let mut p = Parser::new(deflate);
        p.r.bits(bit.min(7))?;
        Ok(p)
    }

    /// Bits read so far, from the first byte's first bit.
    pub fn position(&self) -> u64 {
        self.r.position()
    }

    /// Reads the next block, appending its plain bytes to `out` (whose
    /// bytes before are the window that distances reach into), at most
    /// `limit` of them. `None` after the last block.
    pub fn next_block(
        &mut self,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<Option<Block>, ParseError> {
        if self.done {
            return Ok(None);
        }
        let last = self.r.bits(1)? == 1;
        let kind = self.r.bits(2)?;
        self.done = last;
        let block = match kind {
            0 => {
                let pad = self.r.to_boundary();
                let pad = self.r.bits(pad)? as u8;
                let len = self.r.bits(16)? as u16;
                let nlen = self.r.bits(16)? as u16;
                if nlen != !len {
                    return Err(ParseError::StoredLength { len, nlen });
                }
                if usize::from(len) > limit {
                    return Err(ParseError::TooLong(limit));
                }
                out.extend_from_slice(self.r.bytes(usize::from(len))?);
                Block {
                    last,
                    kind: Kind::Stored { pad, len },
                    tokens: Vec::new(),
                }
            }
            1 => {
                let (lit, dist) = self.fixed.get_or_insert_with(|| {
                    (
                        Code::new(&fixed_lengths()).expect("the fixed code is complete"),
                        Code::new(&[5; 30]).expect("the fixed code is complete"),
                    )
                });
                let tokens = tokens(&mut self.r, lit, dist, out, limit)?;
                Block {
                    last,
                    kind: Kind::Fixed,
                    tokens,
                }
            }
            2 => {
                let header = header(&mut self.r)?;
                let (l, d) = header
                    .lengths()
                    .ok_or(ParseError::Header("code lengths overrun"))?;
                if l[256] == 0 {
                    return Err(ParseError::Header("no end-of-block code"));
                }
                let (lit, dist) = (Code::new(&l)?, Code::new(&d)?);
                let tokens = tokens(&mut self.r, &lit, &dist, out, limit)?;
                Block {
                    last,
                    kind: Kind::Dynamic(header),
                    tokens,
                }
            }
            _ => return Err(ParseError::BlockType),
        };
        Ok(Some(block))
    }

    /// After the last block: the bits up to the byte boundary, and the
    /// stream's length in bytes.
    pub fn end(&mut self) -> Result<End, ParseError> {
        let n = self.r.to_boundary();
        let tail = self.r.bits(n)? as u8;
        Ok(End {
            tail,
            len: self.r.bytes_used(),
        })
    }
}

/// Reads a dynamic block's header, as sent.
fn header(r: &mut BitReader<'_>) -> Result<Header, ParseError> {
    let hlit = r.bits(5)? as u16 + 257;
    let hdist = r.bits(5)? as u8 + 1;
    let hclen = r.bits(4)? as u8 + 4;
    if hlit > 286 || hdist > 30 {
        // zlib's inflate refuses these too ("too many length or distance symbols").
        return Err(ParseError::Header(
            "more than 286 length or 30 distance codes",
        ));
    }
    let mut cl_lengths = [0u8; 19];
    let mut by_symbol = [0u8; 19];
    for i in 0..usize::from(hclen) {
        let l = r.bits(3)? as u8;
        cl_lengths[i] = l;
        by_symbol[CL_ORDER[i]] = l;
    }
    let cl = Code::new(&by_symbol)?;
    let n = usize::from(hlit) + usize::from(hdist);
    let mut ops = Vec::new();
    let mut have = 0usize;
    while have < n {
        let sym = cl.decode(r).ok_or(ParseError::Symbol("code length"))?;
        let (extra, times) = match sym {
            0..=15 => (0, 1),
            16 => {
                if have == 0 {
                    return Err(ParseError::Header("a repeat with no length before it"));
                }
                let e = r.bits(2)?;
                (e, 3 + e as usize)
            }
            17 => {
                let e = r.bits(3)?;
                (e, 3 + e as usize)
            }
            _ => {
                let e = r.bits(7)?;
                (e, 11 + e as usize)
            }
        };
        have += times;
        ops.push(sym | (extra as u16) << 8);
    }
    if have != n {
        return Err(ParseError::Header("code lengths overrun"));
    }
    Ok(Header {
        hlit,
        hdist,
        hclen,
        cl_lengths,
        ops,
    })
}

/// Reads a block's tokens up to its end-of-block symbol.
fn tokens(
    r: &mut BitReader<'_>,
    lit: &Code,
    dist: &Code,
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<Vec<Token>, ParseError> {
    let start = out.len();
    let mut tokens = Vec::new();
    loop {
        let sym = lit.decode(r).ok_or(ParseError::Symbol("literal/length"))?;
        if sym < 256 {
            if out.len() - start >= limit {
                return Err(ParseError::TooLong(limit));
            }
            out.push(sym as u8);
            tokens.push(Token::literal(sym as u8));
            continue;
        }
        if sym == 256 {
            return Ok(tokens);
        }
        let i = usize::from(sym - 257);
        if i >= 29 {
            return Err(ParseError::Symbol("length"));
        }
        let extra = r.bits(u32::from(LENGTH_EXTRA[i]))? as u16;
        let len = LENGTH_BASE[i] + extra;
        let ds = usize::from(dist.decode(r).ok_or(ParseError::Symbol("distance"))?);
        if ds >= 30 {
            return Err(ParseError::Symbol("distance"));
        }
        let d = DIST_BASE[ds] + r.bits(u32::from(DIST_EXTRA[ds]))? as u16;
        if usize::from(d) > out.len() {
            return Err(ParseError::Distance {
                dist: d,
                have: out.len(),
            });
        }
        if out.len() - start + usize::from(len) > limit {
            return Err(ParseError::TooLong(limit));
        }
        let from = out.len() - usize::from(d);
        for k in 0..usize::from(len) {
            let b = out[from + k];
            out.push(b);
        }
        tokens.push(if len == 258 && sym == 284 {
            Token::matched_258_as_284(d)
        } else {
            Token::matched(len, d)
        });
    }
}
