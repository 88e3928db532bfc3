//! Re-making X from its content T and its recipe R.
//!
//! For each member: its header; its deflate stream, chunk by chunk, each
//! chunk's plain text read from T (exactly `plain_len` bytes, so memory
//! follows the chunk, not X) and re-made by trees-deflate (format 5,
//! [`redeflate`]) or preflate-rs's `RecreateStreamProcessor`
//! (format 1), whose output must have the chunk's recorded length; its
//! trailer. Then the tail. T must end exactly where the last
//! chunk does.
//!
//! This runs preflate-rs in the calling process and so trusts R: hostile
//! corrections can panic inside preflate-rs (caught here) but also loop
//! allocating without bound, which no thread can stop. Readers of stored
//! recipes therefore rebuild in a separate, limited process
//! ([`crate::worker`]); this function is what that process runs, and what
//! repack runs on a recipe it has just made from X.

pub mod redeflate;

use std::io::{self, Cursor, Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};

use preflate_rs::RecreateStreamProcessor;

use crate::analyse::panic_text;
use crate::recipe::{FORMAT_TREES_DEFLATE, KNOWN_FORMATS, MAX_CHUNK, Recipe};

/// Why a rebuild failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The recipe's format is not one this build rebuilds.
    #[error("recipe format {0} is unknown to this build")]
    UnknownFormat(u8),
    /// T ended before the recipe did, or went on after it.
    #[error("the content has {actual} bytes where the recipe needs {expected}")]
    ContentLength {
        /// What the recipe needs (or at least needs).
        expected: u64,
        /// What T gave.
        actual: u64,
    },
    /// preflate-rs refused the corrections.
    #[error("chunk {chunk} of member {member}: preflate-rs cannot re-make it: {message}")]
    Preflate {
        /// The member, from 0.
        member: usize,
        /// The chunk, from 0.
        chunk: usize,
        /// What it said (or its panic).
        message: String,
    },
    /// trees-deflate cannot re-make a chunk (format 5).
    #[error("chunk {chunk} of member {member}: trees-deflate cannot re-make it: {message}")]
    Redeflate {
        /// The member, from 0.
        member: usize,
        /// The chunk, from 0.
        chunk: usize,
        /// What it said.
        message: String,
    },
    /// A chunk re-made to a length other than the recorded one.
    #[error("chunk {chunk} of member {member} re-made {actual} bytes, not the recorded {expected}")]
    ChunkLength {
        /// The member, from 0.
        member: usize,
        /// The chunk, from 0.
        chunk: usize,
        /// The recorded length.
        expected: u64,
        /// What came out.
        actual: u64,
    },
    /// Reading T or writing X failed.
    #[error("cannot read the content or write the result")]
    Io(#[from] io::Error),
}

/// Writes X, re-made from `recipe` and the content read from `content`, to
/// `out`; returns X's length.
pub fn rebuild(recipe: &Recipe, content: &mut dyn Read, out: &mut dyn Write) -> Result<u64, Error> {
    if !KNOWN_FORMATS.contains(&recipe.format) {
        return Err(Error::UnknownFormat(recipe.format));
    }
    let mut written = 0u64;
    let mut consumed = 0u64;
    let mut plain = Vec::new();
    for (m, member) in recipe.members.iter().enumerate() {
        out.write_all(&member.header)?;
        written += member.header.len() as u64;
        if recipe.format == FORMAT_TREES_DEFLATE {
            let mut text = chunk_text(content, &mut consumed, recipe.content_len());
            written += redeflate::rebuild_member(m, &member.chunks, &mut text, out)?;
            out.write_all(&member.trailer)?;
            written += member.trailer.len() as u64;
            continue;
        }
        let mut p = RecreateStreamProcessor::new();
        for (c, chunk) in member.chunks.iter().enumerate() {
            let got = read_exact_or_less(content, chunk.plain_len, &mut plain)?;
            consumed += got;
            if got != chunk.plain_len {
                return Err(Error::ContentLength {
                    expected: recipe.content_len(),
                    actual: consumed,
                });
            }
            let made = catch_unwind(AssertUnwindSafe(|| {
                p.recompress(&mut Cursor::new(&plain), &chunk.corrections)
            }));
            let deflate = match made {
                Ok(Ok((bytes, _blocks))) => bytes,
                Ok(Err(e)) => {
                    return Err(Error::Preflate {
                        member: m,
                        chunk: c,
                        message: format!(
                            "{:?}: {}",
                            e.exit_code(),
                            e.message().lines().next().unwrap_or_default()
                        ),
                    });
                }
                Err(panic) => {
                    return Err(Error::Preflate {
                        member: m,
                        chunk: c,
                        message: format!("preflate-rs panicked: {}", panic_text(&panic)),
                    });
                }
            };
            if deflate.len() as u64 != chunk.deflate_len {
                return Err(Error::ChunkLength {
                    member: m,
                    chunk: c,
                    expected: chunk.deflate_len,
                    actual: deflate.len() as u64,
                });
            }
            out.write_all(&deflate)?;
            written += deflate.len() as u64;
        }
        out.write_all(&member.trailer)?;
        written += member.trailer.len() as u64;
    }
    let extra = content.read(&mut [0u8; 1])?;
    if extra != 0 {
        return Err(Error::ContentLength {
            expected: recipe.content_len(),
            actual: consumed + 1,
        });
    }
    out.write_all(&recipe.tail)?;
    written += recipe.tail.len() as u64;
    Ok(written)
}

/// Reads a chunk's `len` bytes of `content` into `buf` (at most
/// [`MAX_CHUNK`], so memory follows the chunk); how many there were.
/// Re-makes a raw deflate stream (a [`crate::pieces::Piece::Deflate`])
/// from its chunks, its text read from `content`; returns the bytes
/// written.
pub(crate) fn raw_deflate(
    chunks: &[crate::recipe::Chunk],
    content: &mut dyn Read,
    out: &mut dyn Write,
) -> Result<u64, Error> {
    let expected: u64 = chunks.iter().map(|c| c.plain_len).sum();
    let mut consumed = 0u64;
    let mut text = chunk_text(content, &mut consumed, expected);
    redeflate::rebuild_member(0, chunks, &mut text, out)
}

/// Reads each chunk's text from `content`, counting into `consumed`; the
/// content ending early is an error that says it needed `expected`.
fn chunk_text<'a>(
    content: &'a mut dyn Read,
    consumed: &'a mut u64,
    expected: u64,
) -> impl FnMut(&crate::recipe::Chunk, &mut Vec<u8>) -> Result<(), Error> + 'a {
    move |chunk, plain| {
        let got = read_exact_or_less(content, chunk.plain_len, plain)?;
        *consumed += got;
        if got == chunk.plain_len {
            Ok(())
        } else {
            Err(Error::ContentLength {
                expected,
                actual: *consumed,
            })
        }
    }
}

fn read_exact_or_less(content: &mut dyn Read, len: u64, buf: &mut Vec<u8>) -> io::Result<u64> {
    buf.clear();
    let n = usize::try_from(len.min(MAX_CHUNK)).unwrap_or(0);
    buf.try_reserve_exact(n)
        .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
    Ok(content.take(n as u64).read_to_end(buf)? as u64)
}
