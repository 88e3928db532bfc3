//! Reading an idx v2: layout checked once at open, lookups by binary search.

use std::path::{Path, PathBuf};

use super::{Entry, HEADER_LEN, MAGIC};
use crate::ObjectId;
use crate::mmap::Map;

/// Why an idx cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Opening or mapping the file failed.
    #[error("could not read idx {path}")]
    Io {
        /// The idx.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The layout is wrong: magic, version, fan-out, or length.
    #[error("idx {path} is corrupt: {what}")]
    Corrupt {
        /// The idx.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The trailer is not the SHA-1 of the idx.
    #[error("idx {path} is corrupt: its checksum says {expected}, its content hashes to {actual}")]
    Checksum {
        /// The idx.
        path: PathBuf,
        /// The trailer.
        expected: ObjectId,
        /// The computed hash.
        actual: ObjectId,
    },
}

/// An open idx.
pub struct File {
    map: Map,
    path: PathBuf,
    count: u32,
    large: usize,
}

impl File {
    /// Opens `path` and checks its layout (not yet its checksum: see [`File::verify`]).
    pub fn open(path: &Path) -> Result<File, Error> {
        let map = Map::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_map(path, map)
    }

    /// An idx already in memory; `path` names it in errors.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<File, Error> {
        Self::from_map(path, Map::Owned(bytes))
    }

    fn from_map(path: &Path, map: Map) -> Result<File, Error> {
        let corrupt = |what: String| Error::Corrupt {
            path: path.to_owned(),
            what,
        };
        let d = map.bytes();
        if d.len() < HEADER_LEN + 40 {
            return Err(corrupt(format!(
                "{} bytes is too short for an idx v2",
                d.len()
            )));
        }
        if d[..4] != MAGIC || d[4..8] != 2u32.to_be_bytes() {
            return Err(corrupt("not an idx of version 2".into()));
        }
        let mut prev = 0u32;
        for i in 0..256 {
            let n = be32(d, 8 + i * 4);
            if n < prev {
                return Err(corrupt(format!(
                    "fan-out entry {i} ({n}) is below entry {} ({prev})",
                    i.saturating_sub(1)
                )));
            }
            prev = n;
        }
        let count = prev;
        let fixed = HEADER_LEN as u64 + u64::from(count) * 28 + 40;
        let len = d.len() as u64;
        if len < fixed || !(len - fixed).is_multiple_of(8) {
            return Err(corrupt(format!("{len} bytes does not fit {count} objects")));
        }
        let large = ((len - fixed) / 8) as usize;
        Ok(File {
            map,
            path: path.to_owned(),
            count,
            large,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of objects.
    pub fn count(&self) -> u32 {
        self.count
    }

    fn data(&self) -> &[u8] {
        self.map.bytes()
    }

    fn fanout(&self, byte: usize) -> u32 {
        be32(self.data(), 8 + byte * 4)
    }

    /// The id of the `i`th object (in id order).
    pub fn id(&self, i: u32) -> ObjectId {
        let at = HEADER_LEN + i as usize * 20;
        ObjectId::try_from(&self.data()[at..at + 20]).expect("ids have 20 bytes")
    }

    fn id_bytes(&self, i: u32) -> &[u8] {
        let at = HEADER_LEN + i as usize * 20;
        &self.data()[at..at + 20]
    }

    /// The CRC32 of the `i`th object's entry.
    pub fn crc32(&self, i: u32) -> u32 {
        be32(
            self.data(),
            HEADER_LEN + self.count as usize * 20 + i as usize * 4,
        )
    }

    /// The pack offset of the `i`th object.
    pub fn offset(&self, i: u32) -> Result<u64, Error> {
        let n = self.count as usize;
        let word = be32(self.data(), HEADER_LEN + n * 24 + i as usize * 4);
        if word & 0x8000_0000 == 0 {
            return Ok(u64::from(word));
        }
        let slot = (word & 0x7fff_ffff) as usize;
        if slot >= self.large {
            return Err(Error::Corrupt {
                path: self.path.clone(),
                what: format!(
                    "object {} points at large offset {slot}, but there are {}",
                    self.id(i),
                    self.large
                ),
            });
        }
        let at = HEADER_LEN + n * 28 + slot * 8;
        let d = self.data();
        Ok(u64::from_be_bytes(
            d[at..at + 8].try_into().expect("8 bytes"),
        ))
    }

    /// The `i`th entry.
    pub fn entry(&self, i: u32) -> Result<Entry, Error> {
        Ok(Entry {
            id: self.id(i),
            offset: self.offset(i)?,
            crc32: self.crc32(i),
        })
    }

    /// The position of `id`, if present.
    pub fn lookup(&self, id: &gix_hash::oid) -> Option<u32> {
        let first = usize::from(id.as_bytes()[0]);
        let mut lo = if first == 0 {
            0
        } else {
            self.fanout(first - 1)
        };
        let mut hi = self.fanout(first);
        let want = id.as_bytes();
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.id_bytes(mid).cmp(want) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// Positions of the ids that start with a hex prefix (see
    /// [`crate::id::decode_hex_prefix`]), at most `limit` of them.
    pub fn lookup_prefix(&self, prefix: &[u8], hex_len: usize, limit: usize) -> Vec<u32> {
        if hex_len < 2 || prefix.is_empty() {
            return (0..self.count)
                .filter(|&i| crate::id::matches_prefix(&self.id(i), prefix, hex_len))
                .take(limit)
                .collect();
        }
        let first = usize::from(prefix[0]);
        let lo = if first == 0 {
            0
        } else {
            self.fanout(first - 1)
        };
        let hi = self.fanout(first);
        // First id >= prefix (as bytes), then walk while it matches.
        let (mut a, mut b) = (lo, hi);
        while a < b {
            let mid = a + (b - a) / 2;
            if self.id_bytes(mid) < prefix {
                a = mid + 1;
            } else {
                b = mid;
            }
        }
        (a..hi)
            .take_while(|&i| crate::id::matches_prefix(&self.id(i), prefix, hex_len))
            .take(limit)
            .collect()
    }

    /// The pack checksum the idx was written for.
    pub fn pack_checksum(&self) -> ObjectId {
        let d = self.data();
        ObjectId::try_from(&d[d.len() - 40..d.len() - 20]).expect("20 bytes")
    }

    /// The idx's own checksum, as written.
    pub fn checksum(&self) -> ObjectId {
        let d = self.data();
        ObjectId::try_from(&d[d.len() - 20..]).expect("20 bytes")
    }

    /// Checks the trailer, that ids are strictly sorted and that every
    /// large-offset reference is in range.
    pub fn verify(&self) -> Result<(), Error> {
        let d = self.data();
        let actual = crate::id::sha1(&[&d[..d.len() - 20]]).map_err(|e| Error::Corrupt {
            path: self.path.clone(),
            what: e.to_string(),
        })?;
        if actual != self.checksum() {
            return Err(Error::Checksum {
                path: self.path.clone(),
                expected: self.checksum(),
                actual,
            });
        }
        for i in 1..self.count {
            if self.id_bytes(i - 1) >= self.id_bytes(i) {
                return Err(Error::Corrupt {
                    path: self.path.clone(),
                    what: format!("ids are not sorted at position {i} ({})", self.id(i)),
                });
            }
        }
        for i in 0..self.count {
            self.offset(i)?;
            let first = usize::from(self.id_bytes(i)[0]);
            let lo = if first == 0 {
                0
            } else {
                self.fanout(first - 1)
            };
            if i < lo || i >= self.fanout(first) {
                return Err(Error::Corrupt {
                    path: self.path.clone(),
                    what: format!(
                        "fan-out does not cover object {} at position {i}",
                        self.id(i)
                    ),
                });
            }
        }
        Ok(())
    }
}

fn be32(d: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(d[at..at + 4].try_into().expect("4 bytes"))
}
