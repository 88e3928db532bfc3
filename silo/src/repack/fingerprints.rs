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
//! "TRFP" version:u32=3  min:u32 avg:u32 max:u32 tar_aware:u32  count:u32
//!        families:u32 lone:u32
//! count x, in the order of the pack's idx (ascending id), no id written:
//!         { size:var  depth:var  chunks:var
//!           chunks x { hash:u64  gap:var  len:var } }
//! xxh3-64 of everything before it: u64   (integers little-endian; var is
//!                                          an unsigned LEB128 varint)
//! ```
//! A chunk starts `gap` bytes after the end of the one before it (after
//! byte 0 for the first), so chunks are in order, apart, and must end
//! inside the object. `count` must be the number of objects in the idx.
//!
//! Versions 1 and 2, written before December 2026, are still read. They
//! repeat each object's id and spend fixed-width integers on it
//! (`id:[20] size:u64 depth:u32 chunks:u32`, chunks `hash:u64 offset:u64
//! len:u32`), 36 bytes an object where version 3 spends 3 to 6: on the
//! pack of 30 CI zips (29,711 objects), 1.17 MB against 0.18 MB. Version
//! 1 has no `families`, `lone` or `depth`: its pack's shape is then read
//! from the pack.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use trees_delta::Fingerprint;
use trees_delta::chunk::{Chunk, ChunkHash, Params};
use trees_pack::ObjectId;

use crate::families::{Count, Shape};

const MAGIC: &[u8; 4] = b"TRFP";
const VERSION: u32 = 3;
/// The last version that wrote ids and fixed-width integers.
const VERSION_WIDE: u32 = 2;
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

/// Appends `v` as an unsigned LEB128 varint.
fn put_var(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v & 0x7f) as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Serializes the sketches of `fps` made with `params`, and `shape`, the
/// shape of their pack. `fps` must hold every object of the pack, once:
/// the file names objects by their place in the pack's idx.
pub fn encode(params: &Params, fps: &[(ObjectId, &Fingerprint)], shape: &Shape) -> Vec<u8> {
    let mut fps = fps.to_vec();
    fps.sort_unstable_by_key(|(id, _)| *id);
    fps.dedup_by_key(|(id, _)| *id);
    let chunks: usize = fps.iter().map(|(_, f)| f.chunks.len()).sum();
    let mut out = Vec::with_capacity(48 + fps.len() * 4 + chunks * CHUNK_LEN / 4);
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
    for (id, fp) in &fps {
        let kept = sketch(fp);
        put_var(&mut out, fp.size);
        put_var(
            &mut out,
            u64::from(shape.depth.get(id).copied().unwrap_or(0)),
        );
        put_var(&mut out, kept.chunks.len() as u64);
        let mut end = 0;
        for c in &kept.chunks {
            out.extend_from_slice(&c.hash.0.to_le_bytes());
            // Chunks of a fingerprint are in order and apart.
            put_var(&mut out, c.offset.saturating_sub(end));
            put_var(&mut out, u64::from(c.len));
            end = c.offset + u64::from(c.len);
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
    #[error("not a fingerprint file of version 1 to {VERSION}")]
    Header,
    /// It does not hold the objects of the pack beside it.
    #[error("it holds {file} objects where its pack has {pack}")]
    Objects {
        /// Objects in the file.
        file: usize,
        /// Objects in the pack's idx.
        pack: usize,
    },
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
    fn var(&mut self) -> Result<u64, Error> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.take(1)?[0];
            if shift == 63 && b > 1 {
                return Err(Error::Malformed(self.at));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Error::Malformed(self.at))
    }
    fn var_u32(&mut self) -> Result<u32, Error> {
        let at = self.at;
        u32::try_from(self.var()?).map_err(|_| Error::Malformed(at))
    }
}

/// Parses a fingerprint file made with `params`, beside the pack whose idx
/// lists `ids` (in its order: version 3 names objects by their place).
pub fn decode(bytes: &[u8], params: &Params, ids: &[ObjectId]) -> Result<Decoded, Error> {
    let body_len = bytes.len().checked_sub(8).ok_or(Error::Header)?;
    let (body, sum) = bytes.split_at(body_len);
    let mut c = Cursor { buf: body, at: 0 };
    if c.take(4).map_err(|_| Error::Header)? != MAGIC {
        return Err(Error::Header);
    }
    let version = c.u32()?;
    if !(1..=VERSION).contains(&version) {
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
    let mut shape = (version >= VERSION_WIDE)
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
    let out = if version == VERSION {
        if count != ids.len() {
            return Err(Error::Objects {
                file: count,
                pack: ids.len(),
            });
        }
        // Each object takes at least 3 bytes: bound the map by what is there.
        if count > body.len() / 3 {
            return Err(Error::Malformed(c.at));
        }
        compact(&mut c, ids, shape.as_mut())?
    } else {
        // Each object takes at least 32 bytes: bound the map by what is there.
        if count > body.len() / 32 {
            return Err(Error::Malformed(c.at));
        }
        wide(&mut c, count, shape.as_mut())?
    };
    if c.at != body.len() {
        return Err(Error::Malformed(c.at));
    }
    Ok(Decoded {
        sketches: out,
        shape,
    })
}

/// The objects of a version 3 file, named by `ids`.
fn compact(
    c: &mut Cursor<'_>,
    ids: &[ObjectId],
    mut shape: Option<&mut Shape>,
) -> Result<HashMap<ObjectId, Fingerprint>, Error> {
    let mut out = HashMap::with_capacity(ids.len());
    for id in ids {
        let size = c.var()?;
        let depth = c.var_u32()?;
        if let Some(s) = shape.as_deref_mut() {
            s.depth.insert(*id, depth);
        }
        let n = usize::try_from(c.var()?).map_err(|_| Error::Malformed(c.at))?;
        // Each chunk takes at least 10 bytes.
        if n > (c.buf.len() - c.at) / 10 {
            return Err(Error::Malformed(c.at));
        }
        let mut chunks = Vec::with_capacity(n);
        let mut end = 0u64;
        for _ in 0..n {
            let hash = ChunkHash(c.u64()?);
            let offset = end.checked_add(c.var()?).ok_or(Error::Malformed(c.at))?;
            let len = c.var_u32()?;
            end = offset
                .checked_add(u64::from(len))
                .ok_or(Error::Malformed(c.at))?;
            if end > size || !hash.0.is_multiple_of(SAMPLE) {
                return Err(Error::Malformed(c.at));
            }
            chunks.push(Chunk { hash, offset, len });
        }
        out.insert(*id, Fingerprint { size, chunks });
    }
    Ok(out)
}

/// The `count` objects of a version 1 or 2 file, which names them.
fn wide(
    c: &mut Cursor<'_>,
    count: usize,
    mut shape: Option<&mut Shape>,
) -> Result<HashMap<ObjectId, Fingerprint>, Error> {
    let body_len = c.buf.len();
    let mut out = HashMap::with_capacity(count);
    for _ in 0..count {
        let id = ObjectId::try_from(c.take(20)?).map_err(|_| Error::Malformed(c.at))?;
        let size = c.u64()?;
        if let Some(s) = shape.as_deref_mut() {
            s.depth.insert(id, c.u32()?);
        }
        let n = c.u32()? as usize;
        if n > (body_len - c.at) / CHUNK_LEN {
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
    Ok(out)
}

/// Reads the fingerprint file of the pack `idx`, if it is there and sound;
/// says why not in the log otherwise.
pub(crate) fn read(
    storage: &dyn crate::storage::Storage,
    idx: &Path,
    params: &Params,
    ids: &[ObjectId],
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
    match decode(&bytes, params, ids) {
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

    fn sample() -> (Params, Vec<(ObjectId, Fingerprint)>, Shape) {
        let p = Params::default();
        let mut fps = Vec::new();
        for (seed, len) in [(3, 50_000), (4, 700), (5, 0)] {
            let data = trees_testdata::random_bytes(seed, len);
            let id = trees_pack::id::hash_object(trees_pack::id::Kind::Blob, &data).unwrap();
            fps.push((id, trees_delta::fingerprint(&data, &p)));
        }
        let shape = Shape {
            count: Count {
                families: 0,
                lone: 3,
            },
            depth: fps.iter().map(|(id, _)| (*id, 7)).collect(),
        };
        (p, fps, shape)
    }

    #[test]
    fn round_trip_and_every_damage_is_refused() {
        let (p, fps, shape) = sample();
        let pairs: Vec<(ObjectId, &Fingerprint)> = fps.iter().map(|(i, f)| (*i, f)).collect();
        let bytes = encode(&p, &pairs, &shape);
        let mut ids: Vec<ObjectId> = fps.iter().map(|(i, _)| *i).collect();
        ids.sort_unstable();
        let big = &fps[0].1;
        assert!(sketch(big).chunks.len() < big.chunks.len() / 4);
        let d = decode(&bytes, &p, &ids).unwrap();
        for (id, fp) in &fps {
            assert_eq!(d.sketches[id], sketch(fp));
        }
        assert_eq!(d.shape, Some(shape));
        // 44 bytes of header and trailer, 3 to 5 an object, 10 to 14 a chunk.
        let chunks: usize = fps.iter().map(|(_, f)| sketch(f).chunks.len()).sum();
        assert!(
            bytes.len() <= 44 + 3 * 5 + 14 * chunks,
            "{} bytes",
            bytes.len()
        );
        let other = Params {
            tar_aware: false,
            ..p
        };
        assert!(matches!(decode(&bytes, &other, &ids), Err(Error::Params)));
        assert!(matches!(
            decode(&bytes, &p, &ids[..2]),
            Err(Error::Objects { file: 3, pack: 2 })
        ));
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(decode(&bad, &p, &ids).is_err(), "flip at {i} accepted");
        }
        for n in 0..bytes.len() {
            assert!(
                decode(&bytes[..n], &p, &ids).is_err(),
                "cut at {n} accepted"
            );
        }
    }

    /// Version 2, as written before version 3, for one object.
    fn version_2(p: &Params, id: &ObjectId, fp: &Fingerprint, depth: u32) -> Vec<u8> {
        let kept = sketch(fp);
        let mut out = MAGIC.to_vec();
        for v in [2, p.min, p.avg, p.max, u32::from(p.tar_aware), 1, 0, 1] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(id.as_slice());
        out.extend_from_slice(&fp.size.to_le_bytes());
        out.extend_from_slice(&depth.to_le_bytes());
        out.extend_from_slice(&(kept.chunks.len() as u32).to_le_bytes());
        for c in &kept.chunks {
            out.extend_from_slice(&c.hash.0.to_le_bytes());
            out.extend_from_slice(&c.offset.to_le_bytes());
            out.extend_from_slice(&c.len.to_le_bytes());
        }
        let sum = xxhash_rust::xxh3::xxh3_64(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    #[test]
    fn version_2_files_are_still_read_and_are_larger() {
        let (p, fps, _) = sample();
        let (id, fp) = &fps[0];
        let old = version_2(&p, id, fp, 4);
        // The ids passed do not matter to a file that names its objects.
        let d = decode(&old, &p, &[]).unwrap();
        assert_eq!(d.sketches[id], sketch(fp));
        assert_eq!(d.shape.unwrap().depth[id], 4);
        let shape = Shape {
            count: Count {
                families: 0,
                lone: 1,
            },
            depth: [(*id, 4)].into_iter().collect(),
        };
        let new = encode(&p, &[(*id, fp)], &shape);
        assert_eq!(decode(&new, &p, &[*id]).unwrap().sketches, d.sketches);
        assert!(
            new.len() * 3 < old.len() * 2,
            "{} vs {}",
            new.len(),
            old.len()
        );
    }
}
