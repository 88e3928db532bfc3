//! Recipe format 5, rebuild: a member's deflate stream re-made by
//! trees-deflate from its chunks ([`crate::analyse::redeflate`] made
//! them), the model and a block's partial byte carried from chunk to
//! chunk.

use std::io::Write;

use trees_deflate::recreate::Carry;
use trees_deflate::write::Writer;

use super::Error as RebuildError;
use crate::recipe::Chunk;

/// Reads a chunk's text into the buffer, or says why not.
pub(crate) type ChunkText<'a> = dyn FnMut(&Chunk, &mut Vec<u8>) -> Result<(), RebuildError> + 'a;

/// Re-makes member `member`'s stream from its chunks, each chunk's text
/// read by `chunk_text`; returns the bytes written.
pub(crate) fn rebuild_member(
    member: usize,
    chunks: &[Chunk],
    chunk_text: &mut ChunkText<'_>,
    out: &mut dyn Write,
) -> Result<u64, RebuildError> {
    let mut plain = Vec::new();
    let mut carry: Option<Carry> = None;
    let mut w = Writer::new();
    let mut written = 0u64;
    for (c, chunk) in chunks.iter().enumerate() {
        chunk_text(chunk, &mut plain)?;
        let fail = |message: String| RebuildError::Redeflate {
            member,
            chunk: c,
            message,
        };
        if carry.is_none() {
            carry = Some(Carry::from_recipe(&chunk.corrections).map_err(|e| fail(e.to_string()))?);
        }
        let carry = carry.as_mut().expect("set just above");
        let mut bytes = Vec::new();
        let limit = usize::try_from(chunk.deflate_len).unwrap_or(usize::MAX);
        let end = carry
            .decode(&chunk.corrections, &plain, &mut w, &mut bytes, limit)
            .map_err(|e| fail(e.to_string()))?;
        let last = c + 1 == chunks.len();
        match end {
            Some(tail) if last => bytes.extend(std::mem::take(&mut w).finish(tail)),
            None if !last => {}
            Some(_) => {
                return Err(fail(
                    "the stream ends before the recipe's last chunk".into(),
                ));
            }
            None => {
                return Err(fail(
                    "the recipe's last chunk does not end the stream".into(),
                ));
            }
        }
        if bytes.len() as u64 != chunk.deflate_len {
            return Err(RebuildError::ChunkLength {
                member,
                chunk: c,
                expected: chunk.deflate_len,
                actual: bytes.len() as u64,
            });
        }
        out.write_all(&bytes)?;
        written += bytes.len() as u64;
    }
    Ok(written)
}
