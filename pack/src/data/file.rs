//! Reading a `.pack`: a bounds-checked view of a memory-mapped file.
//!
//! Nothing here trusts the file: the header, every entry header and every
//! zlib stream are checked against the file's length, and no buffer is
//! reserved beyond what the compressed bytes could possibly inflate to.

use std::path::{Path, PathBuf};

use super::entry::{self, Header};
use super::inflate;
use super::{HEADER_LEN, TRAILER_LEN};
use crate::ObjectId;
use crate::mmap::Map;

/// Why a pack cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Opening or mapping the file failed.
    #[error("could not read pack {path}")]
    Io {
        /// The pack.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Too short for a header and a trailer.
    #[error("pack {path} has {len} bytes, too few for a header and a trailer")]
    TooSmall {
        /// The pack.
        path: PathBuf,
        /// Its length.
        len: u64,
    },
    /// Does not start with "PACK" version 2 or 3.
    #[error("{path} is not a git pack of version 2 or 3")]
    BadSignature {
        /// The file.
        path: PathBuf,
    },
    /// An offset outside the entry area.
    #[error("offset {offset} is not inside the entries of pack {path}")]
    BadOffset {
        /// The pack.
        path: PathBuf,
        /// The offset.
        offset: u64,
    },
    /// An entry header is malformed.
    #[error("bad entry header at offset {offset} in pack {path}")]
    Header {
        /// The pack.
        path: PathBuf,
        /// The entry's offset.
        offset: u64,
        /// What is wrong.
        source: entry::Error,
    },
    /// An entry's zlib stream is corrupt, truncated, or inflates to the wrong size.
    #[error("entry at offset {offset} in pack {path}: {what}")]
    Inflate {
        /// The pack.
        path: PathBuf,
        /// The entry's offset.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// The trailer is not the SHA-1 of the pack.
    #[error("pack {path} is corrupt: its trailer says {expected}, its content hashes to {actual}")]
    Checksum {
        /// The pack.
        path: PathBuf,
        /// The trailer.
        expected: ObjectId,
        /// The computed hash.
        actual: ObjectId,
    },
}

/// An open pack.
pub struct File {
    map: Map,
    path: PathBuf,
    count: u32,
}

impl File {
    /// Opens and maps `path`, checking its header.
    pub fn open(path: &Path) -> Result<File, Error> {
        let map = Map::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_map(path, map)
    }

    /// A pack already in memory; `path` names it in errors.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<File, Error> {
        Self::from_map(path, Map::Owned(bytes))
    }

    fn from_map(path: &Path, map: Map) -> Result<File, Error> {
        let data = map.bytes();
        if data.len() < HEADER_LEN + TRAILER_LEN {
            return Err(Error::TooSmall {
                path: path.to_owned(),
                len: data.len() as u64,
            });
        }
        let version = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
        if &data[..4] != b"PACK" || !(version == 2 || version == 3) {
            return Err(Error::BadSignature {
                path: path.to_owned(),
            });
        }
        let count = u32::from_be_bytes([data[8], data[9], data[10], data[11]]);
        Ok(File {
            map,
            path: path.to_owned(),
            count,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of entries the header announces.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Length of the file in bytes.
    pub fn len(&self) -> u64 {
        self.map.bytes().len() as u64
    }

    /// True if the file is empty (never, for an opened pack).
    pub fn is_empty(&self) -> bool {
        self.map.bytes().is_empty()
    }

    /// The offset where the trailer starts: entries end here.
    pub fn entries_end(&self) -> u64 {
        self.len() - TRAILER_LEN as u64
    }

    /// The trailer: the pack's checksum as written.
    pub fn checksum(&self) -> ObjectId {
        let data = self.map.bytes();
        ObjectId::try_from(&data[data.len() - TRAILER_LEN..]).expect("the trailer has 20 bytes")
    }

    /// The raw bytes of `start..end`, if inside the entry area.
    pub fn bytes(&self, start: u64, end: u64) -> Result<&[u8], Error> {
        if start > end || end > self.entries_end() {
            return Err(self.bad_offset(start));
        }
        Ok(&self.map.bytes()[start as usize..end as usize])
    }

    fn bad_offset(&self, offset: u64) -> Error {
        Error::BadOffset {
            path: self.path.clone(),
            offset,
        }
    }

    /// Parses the header of the entry at `offset`.
    pub fn header(&self, offset: u64) -> Result<Header, Error> {
        if offset < HEADER_LEN as u64 || offset >= self.entries_end() {
            return Err(self.bad_offset(offset));
        }
        let rest = &self.map.bytes()[offset as usize..self.entries_end() as usize];
        entry::decode(rest, offset).map_err(|source| Error::Header {
            path: self.path.clone(),
            offset,
            source,
        })
    }

    /// Inflates the data of the entry at `offset` whose header is `h`.
    /// Returns the data and the offset where the zlib stream ended.
    pub fn inflate(&self, offset: u64, h: &Header) -> Result<(Vec<u8>, u64), Error> {
        let start = offset + h.len as u64;
        let input = self.bytes(start, self.entries_end())?;
        let (out, used) = inflate::inflate(input, h.size).map_err(|e| Error::Inflate {
            path: self.path.clone(),
            offset,
            what: e.to_string(),
        })?;
        Ok((out, start + used as u64))
    }

    /// Re-hashes the pack and compares with its trailer.
    pub fn verify_checksum(&self) -> Result<(), Error> {
        let data = self.map.bytes();
        let body = &data[..data.len() - TRAILER_LEN];
        let actual = crate::id::sha1(&[body]).map_err(|e| Error::Inflate {
            path: self.path.clone(),
            offset: 0,
            what: e.to_string(),
        })?;
        let expected = self.checksum();
        if actual != expected {
            return Err(Error::Checksum {
                path: self.path.clone(),
                expected,
                actual,
            });
        }
        Ok(())
    }
}
