//! A zip archive into its members' data, each a content of its own, and a
//! general recipe ([`crate::pieces`], format 6).
//!
//! Everything that is not a member's data is framing, kept as literal
//! pieces in the order found: bytes before the first member (a
//! self-extractor's stub), each local header with its name and extra
//! field, data descriptors, the central directory, the end records (zip64
//! too), the comment and anything after it. A member's data is
//!
//! - stored (method 0): the content as it is, a [`Piece::Stored`];
//! - deflated (method 8): its text, re-made by trees-deflate, a
//!   [`Piece::Deflate`];
//! - anything else (another method, an encrypted member, a member whose
//!   local header contradicts the directory, a deflate stream that does
//!   not end exactly where the directory says): its bytes as they are, a
//!   content of its own all the same, so an unchanged member still
//!   dedupes by id.
//!
//! So no zip is refused for one odd member; one that [`crate::zip::parse`]
//! refuses (no end record, members that overlap, offsets outside the
//! file) is stored whole. As everywhere, the caller rebuilds X from what
//! would be stored and compares ids before it relies on the split.

use super::{Contents, Count, Error, Refusal};
use crate::pieces::Piece;

/// Splits the zip `x`: the pieces and the contents' lengths, in order.
pub(crate) fn split(
    x: &[u8],
    contents: &mut dyn Contents,
    memory: u64,
    pieces: &mut Vec<Piece>,
    lens: &mut Vec<u64>,
) -> Result<(), Error> {
    let archive = crate::zip::parse(x).map_err(|e| Refusal::NotContainer(format!("zip: {e}")))?;
    let limits = crate::analyse::Limits::for_memory(memory);
    let mut at = 0usize;
    // One encoder made every member: the settings found for one are tried
    // first for the next.
    let mut hint = None;
    for m in &archive.members {
        let end = m
            .data_start
            .checked_add(m.data_len)
            .filter(|&e| e <= x.len() && m.data_start >= at)
            .ok_or_else(|| Refusal::NotContainer("zip: members out of order".to_owned()))?;
        pieces.push(Piece::Literal(x[at..m.data_start].to_vec()));
        let data = &x[m.data_start..end];
        at = end;
        if data.is_empty() {
            continue;
        }
        // Deflated, and the directory and local header agree: re-made.
        let deflated = m.method == 8 && m.consistent && m.flags & 1 == 0;
        let remade = if deflated {
            contents.start()?;
            let mut count = Count {
                c: &mut *contents,
                n: 0,
            };
            let chunks = crate::analyse::raw_deflate(data, &mut count, limits, &mut hint)?;
            let plain_len = count.n;
            if chunks.is_none() {
                contents.abandon()?;
            }
            chunks.map(|chunks| Piece::Deflate { plain_len, chunks })
        } else {
            None
        };
        match remade {
            Some(p) => {
                lens.push(p.plain_len());
                pieces.push(p);
            }
            // Stored, or kept as its bytes: a content all the same.
            None => {
                contents.start()?;
                contents.write_all(data)?;
                lens.push(data.len() as u64);
                pieces.push(Piece::Stored {
                    plain_len: data.len() as u64,
                });
            }
        }
    }
    pieces.push(Piece::Literal(x[at..].to_vec()));
    if lens.is_empty() {
        return Err(Refusal::NotContainer("a zip archive without member data".to_owned()).into());
    }
    Ok(())
}
