//! The multi-pack-index (`objects/pack/multi-pack-index`, version 1): one
//! sorted table of the objects of several packs, saying for each id which
//! pack holds it and where, as `git multi-pack-index write` makes it.
//!
//! ```text
//! header, 12 bytes:
//!   "MIDX" | version 1 | hash version 1 (SHA-1) | number of chunks C
//!   | number of base multi-pack-indexes (0) | number of packs P (u32)
//! chunk table: C + 1 entries of (4-byte id, 8-byte offset in the file);
//!   the last has id 0 and the offset where the trailer starts, so each
//!   chunk ends where the next begins; offsets are multiples of 4
//! chunks, in the order git writes them:
//!   PNAM  the packs' idx names ("pack-<hex>.idx"), each NUL-terminated,
//!         in strcmp order, then 0-3 NULs to a multiple of 4 bytes; a
//!         pack's place in this list is its pack-int-id
//!   OIDF  fan-out: 256 u32s; entry i counts the ids whose first byte <= i
//!   OIDL  N ids of 20 bytes, sorted, each once
//!   OOFF  N x (pack-int-id u32, offset u32); when LOFF is present, an
//!         offset with its top bit set is instead, without that bit, the
//!         index of the object's offset in LOFF
//!   LOFF  8-byte offsets; written only when some offset needs more than
//!         32 bits, and then holding every offset of 2^31 or more
//! SHA-1 of everything before it
//! ```
//!
//! All numbers are big-endian. Without LOFF, offsets from 2^31 to 2^32 - 1
//! are stored as they are, top bit and all. git also writes RIDX and BTMP
//! (only with `--bitmap`) and BASE (incremental chains, which we do not
//! read); readers skip the chunks they do not know, as git does.

pub mod file;
pub mod write;

pub use file::File;
pub use write::{Pack, write};

use crate::ObjectId;

/// One object's line in a multi-pack-index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The object's id.
    pub id: ObjectId,
    /// The pack-int-id of the pack that holds the chosen copy: its place
    /// in [`File::pack_names`].
    pub pack: u32,
    /// Offset of the object's entry in that pack.
    pub offset: u64,
}

/// The file magic, "MIDX".
pub const MAGIC: [u8; 4] = *b"MIDX";
/// The only version git 2.47 writes and reads.
pub const VERSION: u8 = 1;
/// The hash version of SHA-1 (2 would be SHA-256).
pub const HASH_VERSION: u8 = 1;
/// Bytes of the header, before the chunk table.
pub const HEADER_LEN: usize = 12;
/// Bytes of one chunk-table entry: id and offset.
pub const CHUNK_ENTRY_LEN: usize = 12;
/// Chunks start at multiples of this (git: `MIDX_CHUNK_ALIGNMENT`).
pub const ALIGNMENT: usize = 4;
/// Chunk id of the pack names.
pub const PNAM: [u8; 4] = *b"PNAM";
/// Chunk id of the fan-out.
pub const OIDF: [u8; 4] = *b"OIDF";
/// Chunk id of the sorted ids.
pub const OIDL: [u8; 4] = *b"OIDL";
/// Chunk id of the (pack, offset) pairs.
pub const OOFF: [u8; 4] = *b"OOFF";
/// Chunk id of the 64-bit offsets.
pub const LOFF: [u8; 4] = *b"LOFF";
/// In OOFF, the bit that sends an offset to LOFF (when LOFF exists).
pub const LARGE_OFFSET_BIT: u32 = 0x8000_0000;

/// Whether `name` is a pack idx name as git makes them: `pack-`, 40
/// lowercase hex digits, `.idx`.
pub fn is_pack_name(name: &str) -> bool {
    name.len() == 49
        && name.starts_with("pack-")
        && name.ends_with(".idx")
        && name.as_bytes()[5..45]
            .iter()
            .all(|&b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
