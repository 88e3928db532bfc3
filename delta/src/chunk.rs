//! Fingerprints: a blob cut into content-defined chunks, each hashed.
//!
//! FastCDC (the 2020 variant, normalization level 1) puts cut points where
//! the content says, not at fixed offsets, so an insertion early in a file
//! shifts the chunks after it without changing them: two releases of a tree
//! share most of their chunk hashes. A chunk hash is xxh3-64 of the chunk:
//! plenty to *find* related content (every match is verified byte by byte
//! before it is used); ids stay SHA-1.

use serde::Serialize;

/// The hash of one chunk's bytes (xxh3-64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ChunkHash(pub u64);

/// One chunk of a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    /// Hash of its bytes.
    pub hash: ChunkHash,
    /// Offset in the blob.
    pub offset: u64,
    /// Length in bytes.
    pub len: u32,
}

/// Chunk size bounds, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// No chunk is shorter (but the last).
    pub min: u32,
    /// The mean the cut-point mask aims at.
    pub avg: u32,
    /// No chunk is longer.
    pub max: u32,
}

impl Default for Params {
    /// 1 KiB / 4 KiB / 32 KiB: a source file edit touches one or two chunks,
    /// and a 100 MB tar costs about 25,000 chunks (400 KB of fingerprint).
    fn default() -> Self {
        Params {
            min: 1 << 10,
            avg: 4 << 10,
            max: 32 << 10,
        }
    }
}

/// A blob's chunks, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprint {
    /// Size of the blob.
    pub size: u64,
    /// Its chunks, covering it exactly.
    pub chunks: Vec<Chunk>,
}

/// Cuts `data` into chunks and hashes each.
pub fn fingerprint(data: &[u8], p: &Params) -> Fingerprint {
    let cdc = fastcdc::v2020::FastCDC::with_level(
        data,
        p.min as usize,
        p.avg as usize,
        p.max as usize,
        fastcdc::v2020::Normalization::Level1,
    );
    let chunks = cdc
        .map(|c| Chunk {
            hash: ChunkHash(xxhash_rust::xxh3::xxh3_64(
                &data[c.offset..c.offset + c.length],
            )),
            offset: c.offset as u64,
            len: c.length as u32, // at most p.max
        })
        .collect();
    Fingerprint {
        size: data.len() as u64,
        chunks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_blob_and_survive_an_insertion() {
        let a = trees_testdata::random_bytes(1, 200_000);
        let mut b = a.clone();
        b.splice(1000..1000, b"inserted text".iter().copied());
        let (fa, fb) = (
            fingerprint(&a, &Params::default()),
            fingerprint(&b, &Params::default()),
        );
        let covered: u64 = fa.chunks.iter().map(|c| u64::from(c.len)).sum();
        assert_eq!(covered, a.len() as u64);
        assert!(
            fa.chunks
                .windows(2)
                .all(|w| w[0].offset + u64::from(w[0].len) == w[1].offset)
        );
        let ha: std::collections::HashSet<_> = fa.chunks.iter().map(|c| c.hash).collect();
        let shared = fb.chunks.iter().filter(|c| ha.contains(&c.hash)).count();
        assert!(
            shared + 2 >= fb.chunks.len(),
            "{shared} of {} chunks shared",
            fb.chunks.len()
        );
    }

    #[test]
    fn empty_blob_has_no_chunks() {
        assert!(fingerprint(&[], &Params::default()).chunks.is_empty());
    }
}
