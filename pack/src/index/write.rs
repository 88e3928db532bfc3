//! Writing an idx v2, byte for byte as `git index-pack` does.

use std::io::Write;

use super::{Entry, HEADER_LEN, LARGE_OFFSET, MAGIC};
use crate::ObjectId;

/// What the idx writer refuses.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing failed.
    #[error("could not write the idx")]
    Io(#[from] std::io::Error),
    /// Two entries have the same id.
    #[error("object {0} appears twice in the pack")]
    Duplicate(ObjectId),
    /// git's idx v2 counts entries in 32 bits, and large offsets in 31.
    #[error("{0} objects are more than an idx v2 can hold")]
    TooMany(usize),
    /// The checksum hash saw a collision attack.
    #[error("computing the idx checksum")]
    Hash(#[from] crate::id::HashError),
}

/// Writes the idx of the pack whose checksum is `pack_checksum` and whose
/// entries are `entries` (sorted here), returning the idx's own checksum.
pub fn write(
    entries: &mut [Entry],
    pack_checksum: &ObjectId,
    mut out: impl Write,
) -> Result<ObjectId, Error> {
    entries.sort_unstable_by_key(|e| e.id);
    if let Some(w) = entries.windows(2).find(|w| w[0].id == w[1].id) {
        return Err(Error::Duplicate(w[0].id));
    }
    if entries.len() > u32::MAX as usize {
        return Err(Error::TooMany(entries.len()));
    }
    let large = entries.iter().filter(|e| e.offset >= LARGE_OFFSET).count();
    if large >= LARGE_OFFSET as usize {
        return Err(Error::TooMany(entries.len()));
    }
    let mut buf = Vec::with_capacity(HEADER_LEN + entries.len() * 28 + large * 8 + 40);
    buf.extend_from_slice(&MAGIC);
    buf.extend_from_slice(&2u32.to_be_bytes());
    let mut fanout = [0u32; 256];
    for e in entries.iter() {
        fanout[usize::from(e.id.as_slice()[0])] += 1;
    }
    let mut running = 0u32;
    for n in fanout {
        running += n;
        buf.extend_from_slice(&running.to_be_bytes());
    }
    for e in entries.iter() {
        buf.extend_from_slice(e.id.as_slice());
    }
    for e in entries.iter() {
        buf.extend_from_slice(&e.crc32.to_be_bytes());
    }
    let mut next_large = 0u32;
    for e in entries.iter() {
        let word = if e.offset >= LARGE_OFFSET {
            next_large += 1;
            (next_large - 1) | 0x8000_0000
        } else {
            e.offset as u32
        };
        buf.extend_from_slice(&word.to_be_bytes());
    }
    for e in entries.iter().filter(|e| e.offset >= LARGE_OFFSET) {
        buf.extend_from_slice(&e.offset.to_be_bytes());
    }
    buf.extend_from_slice(pack_checksum.as_slice());
    let checksum = crate::id::sha1(&[&buf])?;
    buf.extend_from_slice(checksum.as_slice());
    out.write_all(&buf)?;
    out.flush()?;
    Ok(checksum)
}
