//! The `.pack` file: a header, entries, and a SHA-1 trailer.
//!
//! ```text
//! "PACK" | version (4 bytes, 2) | number of entries (4 bytes)   all big-endian
//! entry*: type and size header | [base] | zlib stream
//! SHA-1 of everything before it
//! ```
//!
//! An entry's header holds its type (3 bits) and the size of its *inflated*
//! data: the object for whole entries, the delta for delta entries. An
//! OFS_DELTA entry then names its base by the distance back to the base's
//! entry, a REF_DELTA entry by the base's 20-byte id.

pub mod entry;
pub mod file;
pub mod inflate;
pub mod write;

pub use entry::{Header, Type};
pub use file::File;
pub use write::Writer;

/// Length of the pack header: "PACK", version, count.
pub const HEADER_LEN: usize = 12;
/// Length of the SHA-1 trailer.
pub const TRAILER_LEN: usize = 20;
