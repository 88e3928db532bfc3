//! Recipe format 5, analysis: a member's deflate stream split by
//! trees-deflate, which models zlib, zlib-ng/zlib-rs and Chromium's zlib
//! and writes what its model does not predict as corrections, so that it
//! takes every valid stream.
//!
//! The stream is cut into chunks of whole blocks, each at most about
//! [`Limits::chunk`] plain bytes: a chunk's corrections are a
//! trees-deflate chunk recipe, its `plain_len` the text its blocks give
//! and its `deflate_len` the bytes its blocks complete. A block may end
//! inside a byte; that byte counts in the chunk that completes it (the
//! last chunk completes the stream's last byte). The model, its window
//! and the partial byte carry from chunk to chunk, so memory follows the
//! chunk and not the stream ([`crate::rebuild::redeflate`] is the way back).

use std::io::Write;

use trees_deflate::parse::{ParseError, Parser};
use trees_deflate::recreate::{self, Carry};
use trees_deflate::stream::Block;

use super::{Error, Input, Limits, Refusal};
use crate::recipe::{Chunk, MAX_CHUNK};

/// Plain text kept before a chunk for distances that reach back into it.
const WINDOW: usize = 32 << 10;

/// Analyses one member's deflate stream, from `input.start` to its end.
/// `hint`: the settings of the stream before it in the same file, tried
/// first ([`recreate::estimate_with_hint`]); set to this stream's.
pub(crate) fn chunks(
    input: &mut Input<'_>,
    content: &mut dyn Write,
    limits: Limits,
    hint: &mut Option<trees_deflate::model::Params>,
) -> Result<Vec<Chunk>, Error> {
    let mut chunks = Vec::new();
    let mut carry: Option<Carry> = None;
    let mut bit = 0u32;
    // The last WINDOW bytes of text before the chunk, then the chunk's.
    let mut text: Vec<u8> = Vec::new();
    loop {
        let slice = input.want(limits.feed)?;
        let whole_input = slice.len() < limits.feed;
        let window = text.len().saturating_sub(WINDOW);
        text.drain(..window);
        let before = text.len();
        let mut parser = Parser::at_bit(slice, bit).map_err(|e| refuse(e, whole_input, limits))?;
        let mut blocks: Vec<Block> = Vec::new();
        let mut last = false;
        while text.len() - before < limits.chunk && !last {
            let b = parser
                .next_block(&mut text, MAX_CHUNK as usize)
                .map_err(|e| refuse(e, whole_input, limits))?
                .ok_or_else(|| {
                    Refusal::NotGzip("a deflate stream without a last block".to_owned())
                })?;
            last = b.last;
            blocks.push(b);
        }
        let plain = &text[before..];
        let (deflate_len, tail) = if last {
            let end = parser.end().map_err(|e| refuse(e, whole_input, limits))?;
            (end.len, Some(end.tail))
        } else {
            ((parser.position() / 8) as usize, None)
        };
        let carry = carry.get_or_insert_with(|| {
            let params = recreate::estimate_with_hint(&blocks, plain, *hint);
            *hint = Some(params);
            Carry::new(params)
        });
        let corrections = carry.encode(&blocks, plain, tail);
        content.write_all(plain)?;
        chunks.push(Chunk {
            plain_len: plain.len() as u64,
            deflate_len: deflate_len as u64,
            corrections,
        });
        bit = (parser.position() % 8) as u32;
        input.start += deflate_len;
        if last {
            return Ok(chunks);
        }
    }
}

/// Why a stream is stored whole: truncated, over the bound, or not deflate.
fn refuse(e: ParseError, whole_input: bool, limits: Limits) -> Error {
    let why = match e {
        ParseError::Short(_) if !whole_input => {
            return Refusal::OverMemory(format!(
                "a deflate block longer than {} compressed bytes",
                limits.feed
            ))
            .into();
        }
        ParseError::TooLong(n) => {
            return Refusal::OverMemory(format!("a deflate block of more than {n} plain bytes"))
                .into();
        }
        ParseError::Short(_) => "truncated deflate stream".to_owned(),
        e => format!("not a deflate stream: {e}"),
    };
    Refusal::NotGzip(why).into()
}
