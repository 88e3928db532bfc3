//! The recipe R: everything of a gzip file X that is not its content T.
//!
//! X is rebuilt as, for each member, its header bytes, its deflate stream
//! re-made chunk by chunk from T and the chunk's corrections, and its
//! 8-byte trailer; then any bytes that followed the last member. T is the
//! members' contents back to back. Layout (format 1; integers are unsigned
//! LEB128 varints unless a width is given):
//!
//! ```text
//! "TGZR"                 magic, 4 bytes
//! format                 1 byte: 1 = gzip framing as below, deflate
//!                        streams re-made by preflate-rs 0.7.6;
//!                        5 = the same framing, deflate streams re-made
//!                        by trees-deflate (crate::analyse::redeflate)
//! members                count, at least 1
//! per member:
//!   header_len, header   the member's header, byte for byte
//!   chunks               count, at least 1
//!   per chunk:
//!     plain_len          bytes of T this chunk re-makes, <= MAX_CHUNK
//!     deflate_len        bytes of deflate data it must give
//!     corrections_len, corrections
//!                        format 1: preflate-rs's corrections for the
//!                        chunk (the first chunk of a member also holds
//!                        its parameters); format 5: a trees-deflate
//!                        chunk recipe (model, settings, corrections)
//!   trailer              8 bytes: CRC32 and ISIZE as found
//! tail_len, tail         bytes after the last member, <= MAX_TAIL
//! ```
//!
//! Nothing in a recipe is trusted: [`Recipe::decode`] bounds every count
//! and length by what is left of its input and by the constants below,
//! and the rebuilt bytes are checked against X's id by the caller.

use crate::varint::{Reader, put, put_bytes};

/// The first bytes of every recipe.
pub const MAGIC: [u8; 4] = *b"TGZR";

/// Recipe format 1: our gzip framing, corrections of preflate-rs 0.7.6.
pub const FORMAT_PREFLATE_0_7_6: u8 = 1;

/// Recipe format 5: our gzip framing, deflate streams re-made by
/// trees-deflate (chunks of whole blocks; see [`crate::analyse::redeflate`]).
/// Formats are one namespace with the general recipe's (2 xz, 3 zstd,
/// 4 `ar`), as a record names its recipe's format: so 5, not 2.
pub const FORMAT_TREES_DEFLATE: u8 = 5;

/// The formats this build can rebuild.
pub const KNOWN_FORMATS: &[u8] = &[FORMAT_PREFLATE_0_7_6, FORMAT_TREES_DEFLATE];

/// Most plain bytes one chunk may re-make: a rebuild holds one chunk's
/// plain text and output, so this bounds its memory. Analysis cuts chunks
/// well below it (see [`crate::analyse::Limits`]); only a deflate block
/// larger than this (never made by zlib, whose blocks hold at most 32,767
/// tokens of 258 bytes) cannot be split.
pub const MAX_CHUNK: u64 = 64 << 20;

/// Most bytes kept after the last member (zero padding of tape-era tools,
/// a signature). More than this and the file is stored whole.
pub const MAX_TAIL: usize = 64 << 10;

/// One gzip member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The header, byte for byte.
    pub header: Vec<u8>,
    /// The deflate stream, in chunks.
    pub chunks: Vec<Chunk>,
    /// CRC32 and ISIZE, as found.
    pub trailer: [u8; 8],
}

/// A piece of a deflate stream that preflate-rs re-makes in one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Bytes of T it re-makes.
    pub plain_len: u64,
    /// Bytes of deflate data it gives.
    pub deflate_len: u64,
    /// preflate-rs's corrections.
    pub corrections: Vec<u8>,
}

/// A decoded recipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipe {
    /// Its format: one of [`KNOWN_FORMATS`].
    pub format: u8,
    /// The members, in order.
    pub members: Vec<Member>,
    /// Bytes after the last member.
    pub tail: Vec<u8>,
}

pub use crate::varint::FormatError;

impl Recipe {
    /// T's length: the sum of the chunks' plain lengths.
    pub fn content_len(&self) -> u64 {
        self.members
            .iter()
            .flat_map(|m| &m.chunks)
            .map(|c| c.plain_len)
            .sum()
    }

    /// X's length, as the recipe declares it.
    pub fn rebuilt_len(&self) -> u64 {
        let members: u64 = self
            .members
            .iter()
            .map(|m| {
                m.header.len() as u64
                    + m.chunks.iter().map(|c| c.deflate_len).sum::<u64>()
                    + m.trailer.len() as u64
            })
            .sum();
        members + self.tail.len() as u64
    }

    /// The encoder model each member's stream is re-made with (format 5;
    /// empty for format 1), as "zlib-ng -9".
    pub fn models(&self) -> Vec<String> {
        if self.format != FORMAT_TREES_DEFLATE {
            return Vec::new();
        }
        self.members
            .iter()
            .filter_map(|m| m.chunks.first())
            .map(
                |c| match trees_deflate::recreate::Carry::from_recipe(&c.corrections) {
                    Ok(carry) => carry.params().to_string(),
                    Err(e) => format!("unreadable: {e}"),
                },
            )
            .collect()
    }

    /// The recipe's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.push(self.format);
        put(&mut out, self.members.len() as u64);
        for m in &self.members {
            put_bytes(&mut out, &m.header);
            put_chunks(&mut out, &m.chunks);
            out.extend_from_slice(&m.trailer);
        }
        put_bytes(&mut out, &self.tail);
        out
    }

    /// Decodes a recipe; hostile bytes give an error, never a panic or an
    /// allocation larger than the input.
    pub fn decode(bytes: &[u8]) -> Result<Recipe, FormatError> {
        if bytes.get(..4) != Some(&MAGIC[..]) {
            return Err(FormatError::Magic);
        }
        let mut r = Reader { bytes, at: 4 };
        let format = r.byte("no format byte")?;
        if !KNOWN_FORMATS.contains(&format) {
            return Err(FormatError::UnknownFormat(format));
        }
        let n = r.count("member count")?;
        if n == 0 {
            return Err(r.corrupt("no members"));
        }
        let mut members = Vec::with_capacity(n);
        for _ in 0..n {
            let header = r.bytes("member header")?.to_vec();
            let cs = read_chunks(&mut r)?;
            let trailer = r.take(8, "trailer")?;
            members.push(Member {
                header,
                chunks: cs,
                trailer: trailer.try_into().map_err(|_| r.corrupt("trailer"))?,
            });
        }
        let tail = r.bytes("tail")?.to_vec();
        if tail.len() > MAX_TAIL {
            return Err(r.corrupt("a tail longer than 64 KiB"));
        }
        if r.at != bytes.len() {
            return Err(r.corrupt("bytes after the end"));
        }
        Ok(Recipe {
            format,
            members,
            tail,
        })
    }
}

/// A deflate stream's chunks: their count, then each one's plain length,
/// deflate length and corrections.
pub(crate) fn put_chunks(out: &mut Vec<u8>, chunks: &[Chunk]) {
    put(out, chunks.len() as u64);
    for c in chunks {
        put(out, c.plain_len);
        put(out, c.deflate_len);
        put_bytes(out, &c.corrections);
    }
}

/// Reads what [`put_chunks`] wrote: at least one chunk, each bounded.
pub(crate) fn read_chunks(r: &mut Reader<'_>) -> Result<Vec<Chunk>, FormatError> {
    let chunks = r.count("chunk count")?;
    if chunks == 0 {
        return Err(r.corrupt("a deflate stream without chunks"));
    }
    let mut cs = Vec::with_capacity(chunks);
    for _ in 0..chunks {
        let plain_len = r.varint("plain length")?;
        if plain_len > MAX_CHUNK {
            return Err(r.corrupt("a chunk longer than 64 MiB"));
        }
        let deflate_len = r.varint("deflate length")?;
        // Deflate expands by at most 5 bytes per 65,535 stored;
        // a chunk claiming more is damaged.
        if deflate_len > plain_len + plain_len / 8 + 1024 {
            return Err(r.corrupt("a chunk's deflate length exceeds any deflate of it"));
        }
        let corrections = r.bytes("corrections")?.to_vec();
        cs.push(Chunk {
            plain_len,
            deflate_len,
            corrections,
        });
    }
    Ok(cs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Recipe {
        Recipe {
            format: FORMAT_PREFLATE_0_7_6,
            members: vec![Member {
                header: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3],
                chunks: vec![
                    Chunk {
                        plain_len: 300,
                        deflate_len: 200,
                        corrections: vec![1, 2, 3],
                    },
                    Chunk {
                        plain_len: 1 << 20,
                        deflate_len: 1000,
                        corrections: vec![],
                    },
                ],
                trailer: [9; 8],
            }],
            tail: vec![0; 5],
        }
    }

    #[test]
    fn round_trip_and_lengths() {
        let r = sample();
        assert_eq!(Recipe::decode(&r.encode()), Ok(r.clone()));
        assert_eq!(r.content_len(), 300 + (1 << 20));
        assert_eq!(r.rebuilt_len(), 10 + 1200 + 8 + 5);
    }

    #[test]
    fn an_unknown_format_is_named() {
        let mut b = sample().encode();
        b[4] = 7;
        let e = Recipe::decode(&b).unwrap_err();
        assert_eq!(e, FormatError::UnknownFormat(7));
        assert!(e.to_string().contains("recipe format 7 is unknown"), "{e}");
    }

    proptest! {
        #[test]
        fn hostile_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Recipe::decode(&bytes);
            let mut b = MAGIC.to_vec();
            b.push(1);
            b.extend(&bytes);
            let _ = Recipe::decode(&b);
        }

        #[test]
        fn every_truncation_is_an_error(cut in 0usize..60) {
            let b = sample().encode();
            prop_assume!(cut < b.len());
            prop_assert!(Recipe::decode(&b[..cut]).is_err());
        }
    }
}
