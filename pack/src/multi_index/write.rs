//! Writing a multi-pack-index, byte for byte as `git multi-pack-index write`
//! (git 2.47, without `--bitmap`) does: chunks PNAM, OIDF, OIDL, OOFF, and
//! LOFF only when some offset needs more than 32 bits.
//!
//! # Which copy of an object
//!
//! An object in several packs is listed once, with the copy of the pack
//! that comes first in the `packs` given to [`write()`]. git 2.47
//! (`midx-write.c`, `midx_oid_compare`) takes the first copy in this order:
//!
//! 1. the copy in the preferred pack (`--preferred-pack`; with `--bitmap`
//!    and none named, git prefers the oldest pack that has objects);
//! 2. then the copy in the pack whose `.pack` file has the newest mtime, in
//!    whole seconds (`st_mtime`);
//! 3. then the copy in the pack whose idx git met first while listing the
//!    pack directory (`readdir` order, not name order).
//!
//! So to write what git writes, pass the packs sorted by those three keys.
//! Ties of mtime fall to the directory order, which the file system
//! decides; both choices give a valid multi-pack-index. (When git rewrites
//! over an existing multi-pack-index, the objects it already lists count
//! as oldest, mtime 0, with their old pack-int-ids: write from scratch to
//! compare.)

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;

use super::{
    ALIGNMENT, CHUNK_ENTRY_LEN, Entry, HASH_VERSION, HEADER_LEN, LARGE_OFFSET_BIT, LOFF, MAGIC,
    OIDF, OIDL, OOFF, PNAM, VERSION, is_pack_name,
};
use crate::{ObjectId, index};

/// One pack to list: its idx, and the idx's name in the pack directory.
#[derive(Clone, Copy)]
pub struct Pack<'a> {
    /// The idx's file name: `pack-<40 hex digits>.idx`.
    pub name: &'a str,
    /// The open idx.
    pub index: &'a index::File,
}

/// What the multi-pack-index writer refuses.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing failed.
    #[error("could not write the multi-pack-index")]
    Io(#[from] std::io::Error),
    /// An idx could not be read (a large offset out of range).
    #[error("could not read idx {name} for the multi-pack-index")]
    Index {
        /// The idx's name.
        name: String,
        /// The cause.
        source: index::file::Error,
    },
    /// An idx lists its ids out of order (`index::File::verify` would say so).
    #[error("idx {name} is corrupt: its ids are not sorted (at {id})")]
    Unsorted {
        /// The idx's name.
        name: String,
        /// The first id found out of order.
        id: ObjectId,
    },
    /// A name is not `pack-<40 hex digits>.idx`.
    #[error("{0:?} is not a pack idx name (pack-<40 hex digits>.idx)")]
    BadName(String),
    /// Two packs have the same name.
    #[error("pack {0} is listed twice")]
    DuplicatePack(String),
    /// git refuses to write a multi-pack-index of no packs.
    #[error("a multi-pack-index needs at least one pack")]
    NoPacks,
    /// Counts are 32 bits, LOFF indexes 31.
    #[error("{0} packs, objects or large offsets are more than a multi-pack-index can hold")]
    TooMany(u64),
    /// The checksum hash saw a collision attack.
    #[error("computing the multi-pack-index checksum")]
    Hash(#[from] crate::id::HashError),
}

/// Writes the multi-pack-index of `packs` to `out` and returns its checksum
/// (its trailer). An object in several packs is listed with its copy in
/// the earliest of `packs` (see the [module docs](self) for git's order).
pub fn write(packs: &[Pack<'_>], mut out: impl Write) -> Result<ObjectId, Error> {
    let int_ids = pack_int_ids(packs)?;
    let entries = merge(packs, &int_ids)?;
    let mut names: Vec<&str> = packs.iter().map(|p| p.name).collect();
    names.sort_unstable();
    let chunks = chunks(&names, &entries)?;

    let table_len = (chunks.len() + 1) * CHUNK_ENTRY_LEN;
    let body_len: usize = chunks.iter().map(|(_, c)| c.len()).sum();
    let mut buf = Vec::with_capacity(HEADER_LEN + table_len + body_len + 20);
    buf.extend_from_slice(&MAGIC);
    buf.push(VERSION);
    buf.push(HASH_VERSION);
    buf.push(u8::try_from(chunks.len()).expect("at most five chunks"));
    buf.push(0); // no base multi-pack-indexes
    let pack_count = u32::try_from(names.len()).expect("checked by pack_int_ids");
    buf.extend_from_slice(&pack_count.to_be_bytes());
    let mut at = (HEADER_LEN + table_len) as u64;
    for (id, chunk) in &chunks {
        buf.extend_from_slice(id);
        buf.extend_from_slice(&at.to_be_bytes());
        at += chunk.len() as u64;
    }
    buf.extend_from_slice(&[0; 4]);
    buf.extend_from_slice(&at.to_be_bytes());
    for (_, chunk) in &chunks {
        buf.extend_from_slice(chunk);
    }
    let checksum = crate::id::sha1(&[&buf])?;
    buf.extend_from_slice(checksum.as_slice());
    out.write_all(&buf)?;
    out.flush()?;
    Ok(checksum)
}

/// The pack-int-id of each of `packs`: its place among the names in
/// strcmp order (which for UTF-8 is `str`'s order).
fn pack_int_ids(packs: &[Pack<'_>]) -> Result<Vec<u32>, Error> {
    if packs.is_empty() {
        return Err(Error::NoPacks);
    }
    if u32::try_from(packs.len()).is_err() {
        return Err(Error::TooMany(packs.len() as u64));
    }
    if let Some(p) = packs.iter().find(|p| !is_pack_name(p.name)) {
        return Err(Error::BadName(p.name.to_owned()));
    }
    let mut order: Vec<usize> = (0..packs.len()).collect();
    order.sort_unstable_by_key(|&i| packs[i].name);
    if let Some(w) = order
        .windows(2)
        .find(|w| packs[w[0]].name == packs[w[1]].name)
    {
        return Err(Error::DuplicatePack(packs[w[0]].name.to_owned()));
    }
    let mut ids = vec![0u32; packs.len()];
    for (int_id, &i) in order.iter().enumerate() {
        ids[i] = int_id as u32;
    }
    Ok(ids)
}

/// Merges the sorted ids of all packs; of the copies of an id, the one of
/// the earliest pack in `packs` comes out of the heap first and is kept.
fn merge(packs: &[Pack<'_>], int_ids: &[u32]) -> Result<Vec<Entry>, Error> {
    let mut heap = BinaryHeap::with_capacity(packs.len());
    for (i, p) in packs.iter().enumerate() {
        if p.index.count() > 0 {
            heap.push(Reverse((p.index.id(0), i, 0u32)));
        }
    }
    let largest = packs.iter().map(|p| p.index.count()).max().unwrap_or(0);
    let mut entries: Vec<Entry> = Vec::with_capacity(largest as usize);
    while let Some(Reverse((id, i, pos))) = heap.pop() {
        let p = &packs[i];
        if pos + 1 < p.index.count() {
            heap.push(Reverse((p.index.id(pos + 1), i, pos + 1)));
        }
        match entries.last() {
            Some(last) if last.id == id => continue,
            Some(last) if last.id > id => {
                return Err(Error::Unsorted {
                    name: p.name.to_owned(),
                    id,
                });
            }
            _ => {}
        }
        if entries.len() >= u32::MAX as usize {
            return Err(Error::TooMany(entries.len() as u64 + 1));
        }
        let offset = p.index.offset(pos).map_err(|source| Error::Index {
            name: p.name.to_owned(),
            source,
        })?;
        entries.push(Entry {
            id,
            pack: int_ids[i],
            offset,
        });
    }
    Ok(entries)
}

/// A chunk's id and its bytes.
type Chunk = ([u8; 4], Vec<u8>);

/// The chunks, in git's order.
fn chunks(names: &[&str], entries: &[Entry]) -> Result<Vec<Chunk>, Error> {
    let mut pnam = Vec::with_capacity(names.len() * 50 + ALIGNMENT);
    for name in names {
        pnam.extend_from_slice(name.as_bytes());
        pnam.push(0);
    }
    pnam.resize(pnam.len().next_multiple_of(ALIGNMENT), 0);

    let mut counts = [0u32; 256];
    for e in entries {
        counts[usize::from(e.id.as_slice()[0])] += 1;
    }
    let mut oidf = Vec::with_capacity(256 * 4);
    let mut running = 0u32;
    for n in counts {
        running += n;
        oidf.extend_from_slice(&running.to_be_bytes());
    }

    let mut oidl = Vec::with_capacity(entries.len() * 20);
    for e in entries {
        oidl.extend_from_slice(e.id.as_slice());
    }

    // git: LOFF exists only if some offset needs 33 bits or more; then it
    // holds every offset with the top bit of 32 set. Without it, offsets
    // below 2^32 are stored as they are.
    let needs_loff = entries.iter().any(|e| e.offset > u64::from(u32::MAX));
    let goes_to_loff = |e: &Entry| needs_loff && e.offset >= u64::from(LARGE_OFFSET_BIT);
    let mut ooff = Vec::with_capacity(entries.len() * 8);
    let mut loff = Vec::new();
    for e in entries {
        ooff.extend_from_slice(&e.pack.to_be_bytes());
        let word = if goes_to_loff(e) {
            let slot = (loff.len() / 8) as u64;
            if slot >= u64::from(LARGE_OFFSET_BIT) {
                return Err(Error::TooMany(slot + 1));
            }
            loff.extend_from_slice(&e.offset.to_be_bytes());
            slot as u32 | LARGE_OFFSET_BIT
        } else {
            e.offset as u32
        };
        ooff.extend_from_slice(&word.to_be_bytes());
    }

    let mut chunks = vec![(PNAM, pnam), (OIDF, oidf), (OIDL, oidl), (OOFF, ooff)];
    if needs_loff {
        chunks.push((LOFF, loff));
    }
    Ok(chunks)
}
