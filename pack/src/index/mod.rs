//! The `.idx` file (version 2): find an object's offset in a pack by id.
//!
//! ```text
//! "\377tOc" | version 2                       4 + 4 bytes
//! fan-out: 256 big-endian u32s; entry i counts the ids whose first byte <= i
//! ids: N x 20 bytes, sorted
//! CRC32 of each entry's raw bytes in the pack: N x 4
//! offsets: N x 4; if the top bit is set, the other 31 bits index the
//!          table of 8-byte offsets that follows (entries at 2 GiB and past)
//! large offsets: M x 8
//! SHA-1 of the pack | SHA-1 of everything before it in this file
//! ```

pub mod file;
pub mod write;

pub use file::File;
pub use write::write;

use crate::ObjectId;

/// One object's line in an idx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The object's id.
    pub id: ObjectId,
    /// Offset of its entry in the pack.
    pub offset: u64,
    /// CRC32 of the entry's raw bytes (header, base reference, zlib stream).
    pub crc32: u32,
}

/// The idx magic: "\377tOc".
pub const MAGIC: [u8; 4] = [0xff, b't', b'O', b'c'];
/// Bytes before the ids: magic, version, fan-out.
pub const HEADER_LEN: usize = 8 + 256 * 4;
/// Offsets at or above this go to the 64-bit table (git: `off32_limit`).
pub const LARGE_OFFSET: u64 = 0x8000_0000;
