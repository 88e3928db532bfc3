//! How a recipe codes where a stream differs from the model: the
//! probabilities of every decision, and the token-level code shared by the
//! analyser and the re-creator.
//!
//! At each token the recipe says whether the model was right. When it was
//! not: a literal where the model matched; or a match, named by where it
//! sits among the candidates of the model's own hash chain ("the i-th
//! candidate that matches at least 3 bytes, g bytes short of all it
//! matches": both sides walk the chain only as far as i), or, when the
//! chain does not hold it, by its length and distance outright. Length
//! 258 sent as 284 + 31 is one more bit.

use crate::model::Model;
use crate::rc::{Bit, Decoder, Encoder, Number};
use crate::stream::Token;

/// Chain candidates looked at to name a mispredicted match.
pub const MAX_CANDIDATES: usize = 256;

/// Why corrections do not fit the plain text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the recipe's corrections do not fit the plain text at byte {0}")]
pub struct Misfit(pub usize);

/// Every adaptive probability of a recipe.
#[derive(Debug, Clone, Default)]
pub struct Contexts {
    /// Block type: dynamic or not, then fixed or stored; by the previous type.
    pub kind: [[Bit; 2]; 3],
    /// BFINAL, by whether the plain text is used up.
    pub last: [Bit; 2],
    /// The chunk ends after this block (asked when its text is used up).
    pub chunk_end: Bit,
    /// A block ends before this token; by whether the model's block is full.
    pub end: [Bit; 2],
    /// The model was wrong; by whether it predicted a match.
    pub wrong: [Bit; 2],
    /// The encoder refilled its input before this token (zlib-ng medium);
    /// by whether a 512-byte boundary of the input is near.
    pub refill: [Bit; 2],
    /// A literal where the model predicted a match.
    pub literal_instead: Bit,
    /// The match is among the chain's candidates.
    pub in_chain: Bit,
    /// The candidate's match length minus the match's.
    pub gap: Number,
    /// Which candidate (of those matching 3 bytes or more).
    pub index: Number,
    /// A match named outright: length - 3, distance - 1.
    pub raw_len: Number,
    /// See `raw_len`.
    pub raw_dist: Number,
    /// Length 258 sent as 284 + 31.
    pub alt_258: Bit,
    /// A stored block's padding and length.
    pub stored: [Number; 2],
    /// The dynamic header differs from zlib's.
    pub header_wrong: Bit,
    /// A header sent outright: counts, code-length lengths, ops, extra bits.
    pub header: [Number; 5],
    /// The bits after the last block.
    pub tail: Number,
}

impl Contexts {
    /// Codes the actual token `t` at `p` against the model's prediction.
    pub fn put_token(&mut self, e: &mut Encoder, m: &mut Model, d: &[u8], p: usize, t: Token) {
        if let Some(ctx) = m.refill_point(p) {
            // A literal where the model holds a match: the refill explains it.
            let refilled = !t.is_match() && m.refill_explains_literal(d, p);
            e.bit(&mut self.refill[ctx], refilled);
            if refilled {
                m.refill();
            }
        }
        let f = m.predict(d, p);
        let predicted_match = f.len >= 3;
        let right = if predicted_match {
            t.is_match() && t.plain_len() == f.len && t.dist() == f.dist
        } else {
            !t.is_match()
        };
        e.bit(&mut self.wrong[usize::from(predicted_match)], !right);
        if !right {
            let mut literal = false;
            if predicted_match {
                literal = !t.is_match();
                e.bit(&mut self.literal_instead, literal);
            }
            if !literal {
                self.put_match(e, m, d, p, t);
            }
        }
        if t.plain_len() == 258 {
            e.bit(&mut self.alt_258, t.alt_258());
        }
        m.advance(d, p, usize::from(t.plain_len()));
    }

    fn put_match(&mut self, e: &mut Encoder, m: &Model, d: &[u8], p: usize, t: Token) {
        let found = m
            .chain(d, p, MAX_CANDIDATES)
            .filter(|c| c.0 >= 3)
            .enumerate()
            .find(|(_, c)| c.1 == t.dist() && c.0 >= t.plain_len());
        e.bit(&mut self.in_chain, found.is_some());
        match found {
            Some((i, c)) => {
                self.index.put(e, i as u32);
                self.gap.put(e, u32::from(c.0 - t.plain_len()));
            }
            None => {
                self.raw_len.put(e, u32::from(t.plain_len() - 3));
                self.raw_dist.put(e, u32::from(t.dist() - 1));
            }
        }
    }

    /// Decodes the token at `p`; checks that it fits the plain text.
    pub fn get_token(
        &mut self,
        dec: &mut Decoder<'_>,
        m: &mut Model,
        d: &[u8],
        p: usize,
    ) -> Result<Token, Misfit> {
        if let Some(ctx) = m.refill_point(p)
            && dec.bit(&mut self.refill[ctx])
        {
            m.refill();
        }
        let f = m.predict(d, p);
        let predicted_match = f.len >= 3;
        let wrong = dec.bit(&mut self.wrong[usize::from(predicted_match)]);
        let (len, dist) = if !wrong {
            if predicted_match {
                (f.len, f.dist)
            } else {
                (1, 0)
            }
        } else if predicted_match && dec.bit(&mut self.literal_instead) {
            (1, 0)
        } else {
            self.get_match(dec, m, d, p)?
        };
        let t = if len == 1 {
            Token::literal(d[p])
        } else {
            if !fits(d, p, len, dist) {
                return Err(Misfit(p));
            }
            if len == 258 && dec.bit(&mut self.alt_258) {
                Token::matched_258_as_284(dist)
            } else {
                Token::matched(len, dist)
            }
        };
        m.advance(d, p, usize::from(len));
        Ok(t)
    }

    fn get_match(
        &mut self,
        dec: &mut Decoder<'_>,
        m: &Model,
        d: &[u8],
        p: usize,
    ) -> Result<(u16, u16), Misfit> {
        if dec.bit(&mut self.in_chain) {
            let i = self.index.get(dec) as usize;
            let c = m
                .chain(d, p, MAX_CANDIDATES)
                .filter(|c| c.0 >= 3)
                .nth(i)
                .ok_or(Misfit(p))?;
            let gap = self.gap.get(dec);
            let len = u32::from(c.0)
                .checked_sub(gap)
                .filter(|&l| l >= 3)
                .ok_or(Misfit(p))?;
            Ok((len as u16, c.1))
        } else {
            let len = self.raw_len.get(dec).checked_add(3).filter(|&l| l <= 258);
            let dist = self
                .raw_dist
                .get(dec)
                .checked_add(1)
                .filter(|&x| x <= 32768);
            match (len, dist) {
                (Some(l), Some(x)) => Ok((l as u16, x as u16)),
                _ => Err(Misfit(p)),
            }
        }
    }
}

/// Whether a match of `len` at `dist` back gives the plain text at `p`.
fn fits(d: &[u8], p: usize, len: u16, dist: u16) -> bool {
    let (len, dist) = (usize::from(len), usize::from(dist));
    if dist == 0 || dist > p || p + len > d.len() {
        return false;
    }
    (0..len).all(|k| d[p + k] == d[p - dist + k])
}
