//! Fingerprint files, `pack/pack-<sha>.fp`: a sketch of every object of a
//! pack, written beside it by repack, so that the next incremental repack
//! relates new blobs to the packed ones without reading those again.
//!
//! A sketch keeps one chunk in [`SAMPLE`] (those whose hash is 0 modulo
//! it: the same chunks in every blob that has them), so bytes shared
//! between two sketches estimate 1/[`SAMPLE`] of those the blobs share,
//! at 1/[`SAMPLE`] of the size: with every chunk, the file of a tree of
//! small files came to 9% of its pack; sampled, about 2%. The full
//! fingerprint of a chosen base is made again from its bytes, which the
//! delta needs anyway.
//!
//! A cache: nothing else depends on it, git ignores it, and a missing,
//! damaged or foreign file only means that the pack's objects are read and
//! fingerprinted again. It is input all the same: every count and length is
//! checked against the bytes left before anything is allocated.
//!
//! It also keeps the pack's shape ([`Shape`]): how many families it holds
//! and each object's delta chain depth, which is all a nightly needs of an
//! old pack to decide whether to extend it. With it, a nightly on a bucket
//! reads no byte of a pack it does not copy.
//!
//! ```text
//! "TRFP" version:u32=2  min:u32 avg:u32 max:u32 tar_aware:u32  count:u32
//!        families:u32 lone:u32
//! count x { id:[20]  size:u64  depth:u32  chunks:u32
//!           chunks x { hash:u64 offset:u64 len:u32 } }
//! xxh3-64 of everything before it: u64        (integers little-endian)
//! ```
//! Chunks must be in order, apart, and inside the object. Version 1 (no
//! `families`, `lone` or `depth`) is still read: its pack's shape is then
//! read from the pack.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use trees_delta::Fingerprint;
use trees_delta::chunk::{Chunk, ChunkHash, Params};
use trees_pack::ObjectId;

use crate::families::{Count, Shape};

const MAGIC: &[u8; 4] = b"TRFP";
const VERSION: u32 = 2;
/// One chunk in this many is kept in a sketch.
pub const SAMPLE: u64 = 8;
const CHUNK_LEN: usize = 20;

/// The sketch of a fingerprint: its chunks whose hash is 0 modulo [`SAMPLE`].
pub fn sketch(fp: &Fingerprint) -> Fingerprint {
    Fingerprint {
        size: fp.size,
        chunks: fp
            .chunks
            .iter()
            .filter(|c| c.hash.0.is_multiple_of(SAMPLE))
            .copied()
            .collect(),
    }
}

/// The fingerprint file of the pack whose idx is `idx`.
pub fn path_for(idx: &Path) -> PathBuf {
    idx.with_extension("fp")
}

/// What a fingerprint file holds.
#[derive(Debug)]
pub struct Decoded {
    /// The sketch of each object.
    pub sketches: HashMap<ObjectId, Fingerprint>,
    /// The pack's shape (version 2 on).
    pub shape: Option<Shape>,
}

/// Serializes the sketches of `fps` (one per id) made with `params`, and
/// `shape`, the shape of their pack.
pub fn encode(params: &Params, fps: &[(ObjectId, &Fingerprint)], shape: &Shape) -> Vec<u8> {
    let chunks: usize = fps.iter().map(|(_, f)| f.chunks.len()).sum();
    let mut out = Vec::with_capacity(32 + fps.len() * 32 + chunks * CHUNK_LEN / 4);
    out.extend_from_slice(MAGIC);
    for v in [
        VERSION,
        params.min,
        params.avg,
        params.max,
        u32::from(params.tar_aware),
        fps.len() as u32,
        u32::try_from(shape.count.families).unwrap_or(u32::MAX),
        u32::try_from(shape.count.lone).unwrap_or(u32::MAX),
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for (id, fp) in fps {
        let kept = sketch(fp);
        out.extend_from_slice(id.as_slice());
        out.extend_from_slice(&fp.size.to_le_bytes());
        let depth = shape.depth.get(id).copied().unwrap_or(0);
        out.extend_from_slice(&depth.to_le_bytes());
        out.extend_from_slice(&(kept.chunks.len() as u32).to_le_bytes());
        for c in &kept.chunks {
            out.extend_from_slice(&c.hash.0.to_le_bytes());
            out.extend_from_slice(&c.offset.to_le_bytes());
            out.extend_from_slice(&c.len.to_le_bytes());
        }
    }
    let sum = xxhash_rust::xxh3::xxh3_64(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// Why a fingerprint file was not used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not this format, or a version this build does not read.
    #[error("not a fingerprint file of version 1 or {VERSION}")]
    Header,
    /// Made with other chunking parameters: its chunks would not match.
    #[error("made with other chunking parameters")]
    Params,
    /// The trailing xxh3 does not match.
    #[error("checksum mismatch")]
    Checksum,
    /// A count, offset or length that does not fit.
    #[error("truncated or malformed at byte {0}")]
    Malformed(usize),
}

struct Cursor<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], Error> {
        let end = self.at.checked_add(n).ok_or(Error::Malformed(self.at))?;
        let s = self
            .buf
            .get(self.at..end)
            .ok_or(Error::Malformed(self.at))?;
        self.at = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, Error> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, Error> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
}

/// Parses a fingerprint file made with `params`.
pub fn decode(bytes: &[u8], params: &Params) -> Result<Decoded, Error> {
    let body_len = bytes.len().checked_sub(8).ok_or(Error::Header)?;
    let (body, sum) = bytes.split_at(body_len);
    let mut c = Cursor { buf: body, at: 0 };
    if c.take(4).map_err(|_| Error::Header)? != MAGIC {
        return Err(Error::Header);
    }
    let version = c.u32()?;
    if version != 1 && version != VERSION {
        return Err(Error::Header);
    }
    let mut want = [0u8; 8];
    want.copy_from_slice(sum);
    if xxhash_rust::xxh3::xxh3_64(body) != u64::from_le_bytes(want) {
        return Err(Error::Checksum);
    }
    let made = [c.u32()?, c.u32()?, c.u32()?, c.u32()?];
    if made
        != [
            params.min,
            params.avg,
            params.max,
            u32::from(params.tar_aware),
        ]
    {
        return Err(Error::Params);
    }
    let count = c.u32()? as usize;
    let mut shape = (version == VERSION)
        .then(|| -> Result<Shape, Error> {
            Ok(Shape {
                count: Count {
                    families: u64::from(c.u32()?),
                    lone: u64::from(c.u32()?),
                },
                depth: HashMap::new(),
            })
        })
        .transpose()?;
    // Each object takes at least 32 bytes: bound the map by what is there.
    if count > body.len() / 32 {
        return Err(Error::Malformed(c.at));
    }
    let mut out = HashMap::with_capacity(count);
    for _ in 0..count {
        let id = ObjectId::try_from(c.take(20)?).map_err(|_| Error::Malformed(c.at))?;
        let size = c.u64()?;
        if let Some(s) = shape.as_mut() {
            s.depth.insert(id, c.u32()?);
        }
        let n = c.u32()? as usize;
        if n > (body.len() - c.at) / CHUNK_LEN {
            return Err(Error::Malformed(c.at));
        }
        let mut chunks = Vec::with_capacity(n);
        let mut end = 0u64;
        for _ in 0..n {
            let hash = ChunkHash(c.u64()?);
            let offset = c.u64()?;
            let len = c.u32()?;
            if offset < end || !hash.0.is_multiple_of(SAMPLE) {
                return Err(Error::Malformed(c.at));
            }
            end = offset
                .checked_add(u64::from(len))
                .ok_or(Error::Malformed(c.at))?;
            if end > size {
                return Err(Error::Malformed(c.at));
            }
            chunks.push(Chunk { hash, offset, len });
        }
        out.insert(id, Fingerprint { size, chunks });
    }
    if c.at != body.len() {
        return Err(Error::Malformed(c.at));
    }
    Ok(Decoded {
        sketches: out,
        shape,
    })
}

/// Reads the fingerprint file of the pack `idx`, if it is there and sound;
/// says why not in the log otherwise.
pub(crate) fn read(
    storage: &dyn crate::storage::Storage,
    idx: &Path,
    params: &Params,
) -> Option<Decoded> {
    let path = path_for(idx);
    let bytes = match storage.read_range(&path, 0..u64::MAX) {
        Ok(Some(b)) => b,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!("{e}; fingerprinting its pack again");
            return None;
        }
    };
    match decode(&bytes, params) {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!("{}: {e}; fingerprinting its pack again", path.display());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_damage_is_refused() {
        let p = Params::default();
        let data = trees_testdata::random_bytes(3, 50_000);
        let fp = trees_delta::fingerprint(&data, &p);
        let id = trees_pack::id::hash_object(trees_pack::id::Kind::Blob, &data).unwrap();
        let shape = Shape {
            count: Count {
                families: 0,
                lone: 1,
            },
            depth: [(id, 7)].into_iter().collect(),
        };
        let bytes = encode(&p, &[(id, &fp)], &shape);
        assert!(sketch(&fp).chunks.len() < fp.chunks.len() / 4);
        let d = decode(&bytes, &p).unwrap();
        assert_eq!(d.sketches[&id], sketch(&fp));
        assert_eq!(d.shape, Some(shape));
        let other = Params {
            tar_aware: false,
            ..p
        };
        assert!(matches!(decode(&bytes, &other), Err(Error::Params)));
        for i in (0..bytes.len()).step_by(7) {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(decode(&bad, &p).is_err(), "flip at {i} accepted");
        }
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n], &p).is_err(), "cut at {n} accepted");
        }
    }
}
