//! A stream into its plain text and recipe, and back.
//!
//! A long stream is done in chunks, each a run of whole blocks; the model
//! (its hash chains and the last window of text) carries from one chunk to
//! the next ([`Carry`]), so a chunk costs what the stream would have, and
//! memory follows the chunk. Each chunk's recipe:
//!
//! ```text
//! model        1 byte: 1 = zlib, 2 = zlib-ng/zlib-rs, 3 = Chromium (CRC32C
//!              hash), 4 = Chromium (multiplicative hash), 5 = libdeflate,
//!              6 = miniz, 7 = Go (crate::model)
//! level        1 byte: 1-9 (miniz: 1-10)
//! mem_level    1 byte: 1-9
//! window_bits  1 byte: 9-15
//! corrections  the rest: range-coded (crate::rc), in stream order:
//!   per block:
//!     type              2 bits (dynamic?, then fixed?), by the previous type
//!     stored: padding, length
//!     else, per token:  "the block ends here" (unless the text is used
//!                       up), then the token against the model
//!                       (crate::corrections)
//!       after the last: "ends here"
//!       dynamic: "header differs from zlib's", and if so the header
//!     BFINAL, by whether the text is used up
//!     if not BFINAL and the chunk's text is used up: "the chunk ends here"
//!   after the last block (BFINAL): the bits up to the byte boundary
//! ```
//!
//! A chunk ends at a block boundary, which may be inside a byte: the
//! writer keeps that byte's first bits for the next chunk.
//!
//! A recipe is hostile input: every number it decodes is checked against
//! the plain text and deflate's limits, and the stream it re-makes may not
//! pass the caller's bound.

use crate::corrections::{Contexts, Misfit};
use crate::model::{Flavour, Model, Params};
use crate::parse::{ParseError, Parser};
use crate::rc::{Decoder, Encoder};
use crate::stream::{Block, Header, Kind, Token};
use crate::write::{WriteError, Writer};
use crate::{go_header, ld_header, mz_header, trees};

/// The model a recipe names: zlib.
pub const MODEL_ZLIB: u8 = 1;
/// zlib-ng and zlib-rs.
pub const MODEL_ZLIB_NG: u8 = 2;
/// Chromium's zlib, CRC32C hash.
pub const MODEL_CHROMIUM_CRC: u8 = 3;
/// Chromium's zlib, multiplicative hash.
pub const MODEL_CHROMIUM_MUL: u8 = 4;
/// libdeflate.
pub const MODEL_LIBDEFLATE: u8 = 5;
/// miniz (miniz_oxide).
pub const MODEL_MINIZ: u8 = 6;
/// Go's `compress/flate`.
pub const MODEL_GO: u8 = 7;

/// Why a stream cannot be analysed or re-made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The stream is not deflate.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The recipe is not one this build reads.
    #[error("the recipe names model {model} with settings {settings:?}, unknown to this build")]
    Model {
        /// Its model byte.
        model: u8,
        /// Its settings bytes.
        settings: [u8; 3],
    },
    /// The recipe is too short to name its model.
    #[error("the recipe is {0} bytes, too short to name its model")]
    Short(usize),
    /// The corrections do not fit the plain text.
    #[error(transparent)]
    Misfit(#[from] Misfit),
    /// The blocks the recipe describes cannot be written.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The re-made stream would pass the caller's bound.
    #[error("the re-made stream passes its bound of {0} bytes")]
    TooLong(usize),
    /// The recipe ends before the stream does.
    #[error("the recipe ends before the stream does")]
    Truncated,
}

/// A stream split into its plain text and recipe.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The plain text.
    pub plain: Vec<u8>,
    /// The recipe.
    pub recipe: Vec<u8>,
    /// Bytes of input the stream took.
    pub len: usize,
    /// The model's settings.
    pub params: Params,
}

/// Parses a whole stream (at most `limit` plain bytes per block).
pub fn parse(stream: &[u8], limit: usize) -> Result<(Vec<Block>, Vec<u8>, u8, usize), Error> {
    let mut p = Parser::new(stream);
    let mut plain = Vec::new();
    let mut blocks = Vec::new();
    while let Some(b) = p.next_block(&mut plain, limit)? {
        blocks.push(b);
    }
    let end = p.end()?;
    Ok((blocks, plain, end.tail, end.len))
}

/// Every setting [`estimate`] considers.
pub fn candidates() -> Vec<Params> {
    let all = [
        Flavour::Zlib,
        Flavour::ZlibNg,
        Flavour::ChromiumCrc,
        Flavour::ChromiumMul,
        Flavour::Libdeflate,
        Flavour::Miniz,
        Flavour::Go,
    ];
    all.into_iter()
        .flat_map(|flavour| {
            (1..=10).rev().map(move |level| Params {
                flavour,
                level,
                ..Params::default()
            })
        })
        .filter(Params::is_valid)
        .collect()
}

/// Plain bytes of the first and second round of [`estimate`], and how
/// many settings go on to the second: a cheap look at all of them, a
/// longer one at the few that did best.
const ESTIMATE: [usize; 2] = [16 << 10, 512 << 10];
const FINALISTS: usize = 3;
/// At most this many go on when several tie.
const MAX_FINALISTS: usize = 12;

/// The settings under which a stream's first blocks need the fewest
/// corrections.
pub fn estimate(blocks: &[Block], plain: &[u8]) -> Params {
    // The first chunk has no window: the model reads `plain` itself.
    let cost = |params: Params, stop: usize| {
        corrections(&mut Model::new(params), plain, 0, blocks, Some(0), stop).len()
    };
    let mut round: Vec<(usize, Params)> = candidates()
        .into_iter()
        .map(|p| (cost(p, ESTIMATE[0]), p))
        .collect();
    round.sort_by_key(|r| r.0);
    // A model that needs (almost) nothing where every other needs more is
    // the encoder: no second round (most downloads; it halves their cost).
    if let [(best, p), (next, _), ..] = round[..]
        && best <= DECISIVE
        && next > 2 * best
    {
        return p;
    }
    // Levels that make the same first tokens tie: all that tie with the
    // best three go on (miniz 6-10 on 16 KiB of text, say).
    let cut = round.get(FINALISTS - 1).map_or(usize::MAX, |r| r.0);
    round.retain(|r| r.0 <= cut);
    round.truncate(MAX_FINALISTS);
    let mut best = round
        .iter()
        .map(|&(_, p)| (cost(p, ESTIMATE[1]), p))
        .collect::<Vec<_>>();
    best.sort_by_key(|r| r.0);
    best.first().map_or_else(Params::default, |b| b.1)
}

/// A first-round cost (bytes of corrections, with the coder's flush) at
/// which a model is taken without a second round.
const DECISIVE: usize = 16;

/// As [`estimate`], but `hint` (the settings that made the stream before
/// this one: the zip member before, whose encoder made this one too) is
/// tried first and taken if its first round is decisive on its own. One
/// model instead of sixty: a zip of a thousand small members is analysed
/// that much faster, and a wrong hint costs one model more.
pub fn estimate_with_hint(blocks: &[Block], plain: &[u8], hint: Option<Params>) -> Params {
    if let Some(h) = hint
        && corrections(&mut Model::new(h), plain, 0, blocks, Some(0), ESTIMATE[0]).len() <= DECISIVE
    {
        return h;
    }
    estimate(blocks, plain)
}

/// Splits a whole `stream` in one chunk, estimating the settings.
pub fn analyse(stream: &[u8], limit: usize) -> Result<Analysis, Error> {
    let (blocks, plain, tail, len) = parse(stream, limit)?;
    let params = estimate(&blocks, &plain);
    let mut carry = Carry::new(params);
    let recipe = carry.encode(&blocks, &plain, Some(tail));
    Ok(Analysis {
        plain,
        recipe,
        len,
        params,
    })
}

/// Re-makes a whole stream from a one-chunk recipe and its plain text; the
/// stream may be at most `max_len` bytes.
pub fn recreate(recipe: &[u8], plain: &[u8], max_len: usize) -> Result<Vec<u8>, Error> {
    let mut carry = Carry::from_recipe(recipe)?;
    let mut w = Writer::new();
    let mut out = Vec::new();
    match carry.decode(recipe, plain, &mut w, &mut out, max_len)? {
        Some(tail) => {
            out.extend(w.finish(tail));
            if out.len() > max_len {
                return Err(Error::TooLong(max_len));
            }
            Ok(out)
        }
        None => Err(Error::Truncated),
    }
}

/// What one chunk leaves the next: the model and the text it still needs.
#[derive(Debug, Clone)]
pub struct Carry {
    model: Model,
    window: Vec<u8>,
}

impl Carry {
    /// The state before a stream's first chunk.
    pub fn new(params: Params) -> Carry {
        Carry {
            model: Model::new(params),
            window: Vec::new(),
        }
    }

    /// The state before the first chunk of the stream this recipe starts.
    pub fn from_recipe(recipe: &[u8]) -> Result<Carry, Error> {
        Ok(Carry::new(header(recipe)?.0))
    }

    /// The model's settings.
    pub fn params(&self) -> Params {
        self.model.params()
    }

    /// The window and a chunk's text, as the model indexes them.
    fn text(&self, plain: &[u8]) -> Vec<u8> {
        let mut d = Vec::with_capacity(self.window.len() + plain.len());
        d.extend_from_slice(&self.window);
        d.extend_from_slice(plain);
        d
    }

    /// Keeps what the next chunk needs of `d`: whole windows are dropped,
    /// so that chain positions keep their slots.
    fn keep(&mut self, d: Vec<u8>) {
        let w = self.model.window();
        let drop = d.len().saturating_sub(w) / w * w;
        self.model.rebase(drop);
        self.window = d;
        self.window.drain(..drop);
    }

    /// The recipe of one chunk: `blocks` give exactly `plain`; `tail` is
    /// the bits after the last block when the chunk ends the stream.
    pub fn encode(&mut self, blocks: &[Block], plain: &[u8], tail: Option<u8>) -> Vec<u8> {
        let d = self.text(plain);
        let start = self.window.len();
        let mut out = header_bytes(self.params()).to_vec();
        out.extend(corrections(
            &mut self.model,
            &d,
            start,
            blocks,
            tail,
            usize::MAX,
        ));
        self.keep(d);
        out
    }

    /// Re-makes one chunk from its recipe and text, writing its blocks to
    /// `w` and the bytes they complete to `out` (at most `max_len` in
    /// all). Returns the bits after the last block when the chunk ended
    /// the stream (the caller then finishes `w`), `None` when more chunks follow.
    pub fn decode(
        &mut self,
        recipe: &[u8],
        plain: &[u8],
        w: &mut Writer,
        out: &mut Vec<u8>,
        max_len: usize,
    ) -> Result<Option<u8>, Error> {
        let (params, rest) = header(recipe)?;
        if params != self.params() {
            return Err(Error::Model {
                model: recipe[0],
                settings: [recipe[1], recipe[2], recipe[3]],
            });
        }
        let d = self.text(plain);
        let start = self.window.len();
        let tail = decode_blocks(&mut self.model, &d, start, rest, w, out, max_len)?;
        self.keep(d);
        Ok(tail)
    }
}

fn header_bytes(params: Params) -> [u8; 4] {
    let model = match params.flavour {
        Flavour::Zlib => MODEL_ZLIB,
        Flavour::ZlibNg => MODEL_ZLIB_NG,
        Flavour::ChromiumCrc => MODEL_CHROMIUM_CRC,
        Flavour::ChromiumMul => MODEL_CHROMIUM_MUL,
        Flavour::Libdeflate => MODEL_LIBDEFLATE,
        Flavour::Miniz => MODEL_MINIZ,
        Flavour::Go => MODEL_GO,
    };
    [model, params.level, params.mem_level, params.window_bits]
}

fn header(recipe: &[u8]) -> Result<(Params, &[u8]), Error> {
    let (&[model, level, mem_level, window_bits], rest) = recipe
        .split_first_chunk::<4>()
        .ok_or(Error::Short(recipe.len()))?;
    let flavour = match model {
        MODEL_ZLIB => Some(Flavour::Zlib),
        MODEL_ZLIB_NG => Some(Flavour::ZlibNg),
        MODEL_CHROMIUM_CRC => Some(Flavour::ChromiumCrc),
        MODEL_CHROMIUM_MUL => Some(Flavour::ChromiumMul),
        MODEL_LIBDEFLATE => Some(Flavour::Libdeflate),
        MODEL_MINIZ => Some(Flavour::Miniz),
        MODEL_GO => Some(Flavour::Go),
        _ => None,
    };
    let params = Params {
        flavour: flavour.unwrap_or_default(),
        level,
        mem_level,
        window_bits,
    };
    if flavour.is_none() || !params.is_valid() {
        return Err(Error::Model {
            model,
            settings: [level, mem_level, window_bits],
        });
    }
    Ok((params, rest))
}

/// The range-coded corrections of `blocks`, whose text is `d[start..]`,
/// up to the block that passes `stop` bytes of it.
fn corrections(
    m: &mut Model,
    d: &[u8],
    start: usize,
    blocks: &[Block],
    tail: Option<u8>,
    stop: usize,
) -> Vec<u8> {
    let params = m.params();
    let mut e = Encoder::new();
    let mut c = Contexts::default();
    let mut p = start;
    let mut prev_kind = 0usize;
    for (n, b) in blocks.iter().enumerate() {
        let kind = kind_index(&b.kind);
        e.bit(&mut c.kind[prev_kind][0], kind == 2);
        if kind != 2 {
            e.bit(&mut c.kind[prev_kind][1], kind == 1);
        }
        prev_kind = kind;
        if let Kind::Stored { pad, len } = b.kind {
            c.stored[0].put(&mut e, u32::from(pad));
            c.stored[1].put(&mut e, u32::from(len));
            m.skip(d, p, usize::from(len));
            p += usize::from(len);
        } else {
            m.block_start(d, p);
            for (i, &t) in b.tokens.iter().enumerate() {
                let full = usize::from(i == params.block_tokens());
                e.bit(&mut c.end[full], false);
                c.put_token(&mut e, m, d, p, t);
                p += usize::from(t.plain_len());
                if p - start > stop {
                    // An estimate: a block may hold the whole stream.
                    return e.finish();
                }
            }
            if p < d.len() {
                let full = usize::from(b.tokens.len() == params.block_tokens());
                e.bit(&mut c.end[full], true);
            }
            if let Kind::Dynamic(h) = &b.kind {
                let wrong = predicted_header(params, &b.tokens) != *h;
                e.bit(&mut c.header_wrong, wrong);
                if wrong {
                    put_header(&mut e, &mut c, h);
                }
            }
        }
        e.bit(&mut c.last[usize::from(p == d.len())], b.last);
        if !b.last && p == d.len() {
            e.bit(&mut c.chunk_end, n + 1 == blocks.len());
        }
        if p - start > stop {
            break;
        }
    }
    if let Some(t) = tail {
        c.tail.put(&mut e, u32::from(t));
    }
    e.finish()
}

/// The dynamic header the model's encoder sends for a block of `tokens`.
fn predicted_header(params: Params, tokens: &[Token]) -> Header {
    match params.flavour {
        Flavour::Libdeflate => ld_header::header(tokens),
        Flavour::Miniz => mz_header::header(tokens),
        Flavour::Go => go_header::header(tokens),
        _ => trees::header(tokens),
    }
}

fn kind_index(k: &Kind) -> usize {
    match k {
        Kind::Stored { .. } => 0,
        Kind::Fixed => 1,
        Kind::Dynamic(_) => 2,
    }
}

fn put_header(e: &mut Encoder, c: &mut Contexts, h: &Header) {
    c.header[0].put(e, u32::from(h.hlit - 257));
    c.header[0].put(e, u32::from(h.hdist - 1));
    c.header[0].put(e, u32::from(h.hclen - 4));
    for &l in &h.cl_lengths[..usize::from(h.hclen)] {
        c.header[1].put(e, u32::from(l));
    }
    for &op in &h.ops {
        c.header[2].put(e, u32::from(op & 31));
        if op & 31 >= 16 {
            c.header[3].put(e, u32::from(op >> 8));
        }
    }
}

fn get_header(dec: &mut Decoder<'_>, c: &mut Contexts) -> Option<Header> {
    let hlit = 257 + c.header[0].get(dec).min(31) as u16;
    let hdist = 1 + c.header[0].get(dec).min(31) as u8;
    let hclen = 4 + c.header[0].get(dec).min(15) as u8;
    let mut cl_lengths = [0u8; 19];
    for l in cl_lengths.iter_mut().take(usize::from(hclen)) {
        *l = u8::try_from(c.header[1].get(dec))
            .ok()
            .filter(|&l| l <= 7)?;
    }
    let n = usize::from(hlit) + usize::from(hdist);
    let (mut have, mut ops) = (0usize, Vec::new());
    while have < n {
        let sym = c.header[2].get(dec);
        let (extra, times) = match sym {
            0..=15 => (0, 1),
            16..=18 => {
                let e = c.header[3].get(dec);
                let (max, base) = [(3, 3), (7, 3), (127, 11)][sym as usize - 16];
                if e > max || (sym == 16 && have == 0) {
                    return None;
                }
                (e, base + e as usize)
            }
            _ => return None,
        };
        have += times;
        ops.push(sym as u16 | (extra as u16) << 8);
    }
    let h = Header {
        hlit,
        hdist,
        hclen,
        cl_lengths,
        ops,
    };
    h.lengths().map(|_| h)
}

/// Decodes and writes the blocks of one chunk; the bits after the last
/// block when it ends the stream.
fn decode_blocks(
    m: &mut Model,
    d: &[u8],
    start: usize,
    rest: &[u8],
    w: &mut Writer,
    out: &mut Vec<u8>,
    max_len: usize,
) -> Result<Option<u8>, Error> {
    let params = m.params();
    let mut dec = Decoder::new(rest);
    let mut c = Contexts::default();
    let mut p = start;
    let mut prev_kind = 0usize;
    loop {
        if dec.overran() {
            return Err(Error::Truncated);
        }
        let kind = if dec.bit(&mut c.kind[prev_kind][0]) {
            2
        } else {
            usize::from(dec.bit(&mut c.kind[prev_kind][1]))
        };
        prev_kind = kind;
        let at = p;
        let mut block = if kind == 0 {
            let pad = c.stored[0].get(&mut dec);
            let len = c.stored[1].get(&mut dec);
            let (Ok(pad), Ok(len)) = (u8::try_from(pad), u16::try_from(len)) else {
                return Err(Misfit(p).into());
            };
            if p + usize::from(len) > d.len() {
                return Err(Misfit(p).into());
            }
            m.skip(d, p, usize::from(len));
            p += usize::from(len);
            Block {
                last: false,
                kind: Kind::Stored { pad, len },
                tokens: Vec::new(),
            }
        } else {
            m.block_start(d, p);
            let mut tokens = Vec::new();
            while p < d.len() {
                let full = usize::from(tokens.len() == params.block_tokens());
                if dec.bit(&mut c.end[full]) {
                    break;
                }
                let t = c.get_token(&mut dec, m, d, p)?;
                p += usize::from(t.plain_len());
                tokens.push(t);
                if dec.overran() {
                    return Err(Error::Truncated);
                }
            }
            let kind = if kind == 1 {
                Kind::Fixed
            } else if dec.bit(&mut c.header_wrong) {
                Kind::Dynamic(get_header(&mut dec, &mut c).ok_or(Misfit(p))?)
            } else {
                Kind::Dynamic(predicted_header(params, &tokens))
            };
            Block {
                last: false,
                kind,
                tokens,
            }
        };
        block.last = dec.bit(&mut c.last[usize::from(p == d.len())]);
        w.block(&block, &d[at..])?;
        out.extend(w.take_bytes());
        if out.len() > max_len {
            return Err(Error::TooLong(max_len));
        }
        if block.last {
            if p != d.len() {
                return Err(Misfit(p).into());
            }
            let tail = u8::try_from(c.tail.get(&mut dec)).map_err(|_| Misfit(p))?;
            return Ok(Some(tail));
        }
        if p == d.len() && dec.bit(&mut c.chunk_end) {
            return Ok(None);
        }
    }
}
