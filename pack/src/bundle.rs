//! A pack and its idx together: read objects by id, resolve delta chains,
//! verify everything.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::cache::Cache;
use crate::data::{self, Type};
use crate::id::{Kind, hash_object};
use crate::{ObjectId, delta, index};

/// git reads chains of any depth; we refuse chains deeper than this, which
/// also ends REF_DELTA cycles in a hostile pack.
pub const MAX_CHAIN: usize = 10_000;

/// Entries longer than this are checked against their CRC32 by positioned
/// reads in [`Bundle::verify_with`], not through the mapping.
const STREAM_CRC_ABOVE: u64 = 16 << 20;

/// Why an object cannot be read from a bundle.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The idx is unreadable.
    #[error(transparent)]
    Index(#[from] index::file::Error),
    /// The pack is unreadable.
    #[error(transparent)]
    Pack(#[from] data::file::Error),
    /// The idx was written for another pack.
    #[error("idx {idx} belongs to pack {expected}, but {pack} has checksum {actual}")]
    Mismatch {
        /// The idx.
        idx: PathBuf,
        /// The pack.
        pack: PathBuf,
        /// The pack checksum in the idx.
        expected: ObjectId,
        /// The pack's trailer.
        actual: ObjectId,
    },
    /// A delta cannot be applied.
    #[error("delta at offset {offset} in pack {path} is bad")]
    Delta {
        /// The pack.
        path: PathBuf,
        /// The delta entry's offset.
        offset: u64,
        /// What is wrong.
        source: delta::apply::Error,
    },
    /// An object is larger than the reader's limit.
    #[error(
        "object at offset {offset} in pack {path} has {size} bytes, more than the limit of {limit}"
    )]
    TooLarge {
        /// The pack.
        path: PathBuf,
        /// The entry's offset.
        offset: u64,
        /// Its announced size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A REF_DELTA base is not in the pack.
    #[error("delta at offset {offset} in pack {path} needs base {base}, which the pack lacks")]
    BaseMissing {
        /// The pack.
        path: PathBuf,
        /// The delta entry's offset.
        offset: u64,
        /// The missing base.
        base: ObjectId,
    },
    /// Streaming an object out failed (see [`crate::stream`]).
    #[error("cannot stream the object at offset {offset} of pack {path}")]
    Stream {
        /// The pack.
        path: PathBuf,
        /// The entry's offset.
        offset: u64,
        /// The cause.
        source: std::io::Error,
    },
    /// The chain is deeper than [`MAX_CHAIN`] (or loops).
    #[error(
        "delta chain from offset {offset} in pack {path} is deeper than {MAX_CHAIN} (or loops)"
    )]
    ChainTooDeep {
        /// The pack.
        path: PathBuf,
        /// Where the chain starts.
        offset: u64,
    },
}

/// A resolved object.
#[derive(Debug, Clone)]
pub struct Object {
    /// Its kind.
    pub kind: Kind,
    /// Its content.
    pub data: Arc<Vec<u8>>,
}

/// Something `verify` found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The object concerned, if the problem is about one.
    pub id: Option<ObjectId>,
    /// The offset in the pack, if known.
    pub offset: Option<u64>,
    /// What is wrong, naming the file.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.id, self.offset) {
            (Some(id), Some(o)) => write!(f, "object {id} at offset {o}: {}", self.message),
            (Some(id), None) => write!(f, "object {id}: {}", self.message),
            (None, Some(o)) => write!(f, "offset {o}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// An idx and the pack it indexes.
pub struct Bundle {
    /// The idx.
    pub index: index::File,
    /// The pack.
    pub pack: data::File,
    cache: Mutex<Cache>,
    max_object: u64,
}

impl Bundle {
    /// Opens `pack-X.idx` and the `pack-X.pack` beside it.
    pub fn open(idx: &Path) -> Result<Bundle, Error> {
        Self::open_pair(idx, &idx.with_extension("pack"))
    }

    /// Opens an idx and a pack, checking that they belong together.
    pub fn open_pair(idx: &Path, pack: &Path) -> Result<Bundle, Error> {
        let index = index::File::open(idx)?;
        let pack = data::File::open(pack)?;
        if index.pack_checksum() != pack.checksum() {
            return Err(Error::Mismatch {
                idx: idx.to_owned(),
                pack: pack.path().to_owned(),
                expected: index.pack_checksum(),
                actual: pack.checksum(),
            });
        }
        Ok(Self::from_parts(index, pack))
    }

    /// Opens an idx and a pack without checking that they belong together:
    /// for `verify`, to name each damaged object of a damaged pack.
    pub fn open_unchecked(idx: &Path, pack: &Path) -> Result<Bundle, Error> {
        Ok(Self::from_parts(
            index::File::open(idx)?,
            data::File::open(pack)?,
        ))
    }

    /// An idx and a pack already opened (say from bytes), unchecked as
    /// [`Bundle::open_unchecked`].
    pub fn from_parts(index: index::File, pack: data::File) -> Bundle {
        Bundle {
            index,
            pack,
            cache: Mutex::new(Cache::new(crate::cache::DEFAULT_BUDGET)),
            max_object: delta::apply::DEFAULT_RESULT_LIMIT,
        }
    }

    /// Refuses objects (whole or rebuilt from deltas) larger than `limit`
    /// bytes, before allocating them; the default is
    /// [`delta::apply::DEFAULT_RESULT_LIMIT`]. Allocation is fallible
    /// anyway: past an address-space limit a read fails, it does not abort.
    pub fn set_object_limit(&mut self, limit: u64) {
        self.max_object = limit;
    }

    /// The largest object a read rebuilds (see [`Bundle::set_object_limit`]).
    pub fn max_object(&self) -> u64 {
        self.max_object
    }

    /// Replaces the delta-base cache with one of `budget` bytes.
    pub fn set_cache_budget(&mut self, budget: usize) {
        self.cache = Mutex::new(Cache::new(budget));
    }

    /// The offset of `id`'s entry, if the pack has it.
    pub fn find(&self, id: &gix_hash::oid) -> Result<Option<u64>, Error> {
        match self.index.lookup(id) {
            Some(i) => Ok(Some(self.index.offset(i)?)),
            None => Ok(None),
        }
    }

    /// Reads `id`, if the pack has it.
    pub fn read(&self, id: &gix_hash::oid) -> Result<Option<Object>, Error> {
        match self.find(id)? {
            Some(offset) => self.read_at(offset).map(Some),
            None => Ok(None),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        // A panic while holding the lock leaves a cache that is still consistent.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads the object whose entry is at `offset`, resolving its delta chain.
    pub fn read_at(&self, offset: u64) -> Result<Object, Error> {
        let path = || self.pack.path().to_owned();
        let mut chain = Vec::new();
        let mut cur = offset;
        let (kind, mut data) = loop {
            if let Some(hit) = self.cache().get(cur) {
                break hit;
            }
            let h = self.pack.header(cur)?;
            match h.kind {
                Type::Whole(kind) => {
                    if h.size > self.max_object {
                        return Err(Error::TooLarge {
                            path: path(),
                            offset: cur,
                            size: h.size,
                            limit: self.max_object,
                        });
                    }
                    let (d, _) = self.pack.inflate(cur, &h)?;
                    let d = Arc::new(d);
                    if !chain.is_empty() {
                        self.cache().put(cur, kind, d.clone());
                    }
                    break (kind, d);
                }
                Type::OfsDelta { distance } => {
                    chain.push((cur, h));
                    cur -= distance; // entry::decode checked distance <= cur
                }
                Type::RefDelta { base } => {
                    chain.push((cur, h));
                    cur = self.find(&base)?.ok_or_else(|| Error::BaseMissing {
                        path: path(),
                        offset: cur,
                        base,
                    })?;
                }
            }
            if chain.len() > MAX_CHAIN {
                return Err(Error::ChainTooDeep {
                    path: path(),
                    offset,
                });
            }
        };
        for (off, h) in chain.into_iter().rev() {
            let (d, _) = self.pack.inflate(off, &h)?;
            let mut out = Vec::new();
            delta::apply::apply_with_limit(&data, &d, &mut out, self.max_object).map_err(
                |source| Error::Delta {
                    path: path(),
                    offset: off,
                    source,
                },
            )?;
            data = Arc::new(out);
            self.cache().put(off, kind, data.clone());
        }
        Ok(Object { kind, data })
    }

    /// The delta chain depth of the entry at `offset` (0 for a whole object).
    pub fn depth_at(&self, offset: u64) -> Result<usize, Error> {
        self.chain_end(offset).map(|(depth, _)| depth)
    }

    /// The depth of the chain from `offset`, and the kind of the whole
    /// entry that ends it (the kind of every object along it).
    pub(crate) fn chain_end(&self, offset: u64) -> Result<(usize, Kind), Error> {
        let mut cur = offset;
        for depth in 0..=MAX_CHAIN {
            cur = match self.pack.header(cur)?.kind {
                Type::Whole(kind) => return Ok((depth, kind)),
                Type::OfsDelta { distance } => cur - distance,
                Type::RefDelta { base } => self.find(&base)?.ok_or_else(|| Error::BaseMissing {
                    path: self.pack.path().to_owned(),
                    offset: cur,
                    base,
                })?,
            };
        }
        Err(Error::ChainTooDeep {
            path: self.pack.path().to_owned(),
            offset,
        })
    }

    /// Checks everything: both checksums, that they match, the idx layout,
    /// every entry's CRC32, and every object against its id. `progress`
    /// is told how many objects have been checked. Returns what is wrong.
    pub fn verify(&self, progress: &mut dyn FnMut(u32)) -> Vec<Problem> {
        self.verify_with(progress, None)
    }

    /// [`Bundle::verify`], streaming every object larger than `large.0`
    /// bytes through [`Bundle::hash_streamed`] (temporary files in
    /// `large.1`) instead of rebuilding it in memory.
    pub fn verify_with(
        &self,
        progress: &mut dyn FnMut(u32),
        large: Option<(u64, &Path)>,
    ) -> Vec<Problem> {
        let mut problems = Vec::new();
        let whole = |message: String| Problem {
            id: None,
            offset: None,
            message,
        };
        if let Err(e) = self.index.verify() {
            problems.push(whole(e.to_string()));
        }
        let checksum = match large {
            Some(_) if self.pack.len() > STREAM_CRC_ABOVE => self.verify_checksum_streamed(),
            _ => self.pack.verify_checksum().map_err(Into::into),
        };
        if let Err(e) = checksum {
            problems.push(whole(crate::error_chain(&e)));
        }
        if self.index.pack_checksum() != self.pack.checksum() {
            problems.push(whole(format!(
                "idx {} was written for pack {}, but {} ends in {}",
                self.index.path().display(),
                self.index.pack_checksum(),
                self.pack.path().display(),
                self.pack.checksum()
            )));
        }
        if self.index.count() != self.pack.count() {
            problems.push(whole(format!(
                "idx {} lists {} objects, pack {} announces {}",
                self.index.path().display(),
                self.index.count(),
                self.pack.path().display(),
                self.pack.count()
            )));
        }
        let mut by_offset = Vec::with_capacity(self.index.count() as usize);
        for i in 0..self.index.count() {
            match self.index.entry(i) {
                Ok(e) => by_offset.push(e),
                Err(e) => problems.push(Problem {
                    id: Some(self.index.id(i)),
                    offset: None,
                    message: e.to_string(),
                }),
            }
        }
        by_offset.sort_unstable_by_key(|e| e.offset);
        let end = self.pack.entries_end();
        for (n, e) in by_offset.iter().enumerate() {
            let next = by_offset.get(n + 1).map_or(end, |x| x.offset);
            let pack = self.pack.path().display();
            let problem = |message: String| Problem {
                id: Some(e.id),
                offset: Some(e.offset),
                message,
            };
            let crc = match large {
                Some((limit, _)) if next.saturating_sub(e.offset) > limit.min(STREAM_CRC_ABOVE) => {
                    self.crc32_streamed(e.offset, next)
                }
                _ => self
                    .pack
                    .bytes(e.offset, next)
                    .map(crc32fast::hash)
                    .map_err(Into::into),
            };
            match crc {
                Ok(crc) => {
                    if crc != e.crc32 {
                        problems.push(problem(format!(
                            "CRC32 of the entry in pack {pack} is {crc:08x}, the idx says {:08x}",
                            e.crc32
                        )));
                    }
                }
                Err(err) => problems.push(problem(err.to_string())),
            }
            let streamed = large.and_then(|(limit, tmp)| match self.object_size_at(e.offset) {
                Ok(size) if size > limit => Some(self.hash_streamed(e.offset, tmp)),
                _ => None,
            });
            if let Some(got) = streamed {
                match got {
                    Ok(actual) if actual == e.id => {}
                    Ok(actual) => problems.push(problem(format!(
                        "in pack {pack}, content hashes to {actual}"
                    ))),
                    Err(err) => problems.push(problem(crate::error_chain(&err))),
                }
                progress(n as u32 + 1);
                continue;
            }
            match self.read_at(e.offset) {
                Ok(obj) => match hash_object(obj.kind, &obj.data) {
                    Ok(actual) if actual == e.id => {}
                    Ok(actual) => problems.push(problem(format!(
                        "in pack {pack}, content hashes to {actual}"
                    ))),
                    Err(err) => problems.push(problem(err.to_string())),
                },
                Err(err) => problems.push(problem(crate::error_chain(&err))),
            }
            progress(n as u32 + 1);
        }
        problems
    }
}
