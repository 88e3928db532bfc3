//! The one place that maps files into memory: whole packs and idx files
//! for the readers, and windows of large temporary files for the callers
//! that handle objects too large to hold in memory ([`Region`]).

use std::fs;
use std::io;
use std::path::Path;

/// A read-only view of a whole file.
pub(crate) enum Map {
    Mapped(memmap2::Mmap),
    /// Zero-length files cannot be mapped; they are empty buffers.
    Empty,
    /// Bytes already in memory (fuzzing, tests, data fetched elsewhere).
    Owned(Vec<u8>),
}

impl Map {
    pub(crate) fn open(path: &Path) -> io::Result<Map> {
        let file = fs::File::open(path)?;
        if file.metadata()?.len() == 0 {
            return Ok(Map::Empty);
        }
        // SAFETY: packs and idx files are immutable once renamed into place:
        // writers only ever create new files under new names (see docs/formats.md,
        // "Layout on disk", and `trees_silo::storage`).
        // A file truncated under us by another program would fault, as it
        // would for git; every read below is bounds-checked against the
        // length seen here.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(Map::Mapped(map))
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Map::Mapped(m) => m,
            Map::Empty => &[],
            Map::Owned(v) => v,
        }
    }
}

/// A read-only window of a file, mapped. Dropping it unmaps it, and with
/// it the pages it made resident: a caller that walks a file of gigabytes
/// one window at a time keeps its resident set to a window.
pub struct Region {
    map: Option<memmap2::Mmap>,
    /// Where the caller's bytes start inside the page-aligned mapping.
    skip: usize,
    len: usize,
}

impl Region {
    /// Maps `len` bytes of `file` from `start`. The file must not change
    /// while it is mapped: map only files that no one else writes (the
    /// immutable packs, or private temporary files).
    pub fn map(file: &fs::File, start: u64, len: usize) -> io::Result<Region> {
        if len == 0 {
            return Ok(Region {
                map: None,
                skip: 0,
                len: 0,
            });
        }
        let end = start
            .checked_add(len as u64)
            .filter(|&e| e <= file.metadata().map_or(0, |m| m.len()))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "window past the end of the file",
                )
            })?;
        const PAGE: u64 = 1 << 16; // a multiple of every page size in use
        let aligned = start / PAGE * PAGE;
        let skip = (start - aligned) as usize;
        let map_len = usize::try_from(end - aligned)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "window too large"))?;
        // SAFETY: see above: the caller maps only files that do not change
        // while mapped; the range was checked against the file's length.
        #[allow(unsafe_code)]
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(aligned)
                .len(map_len)
                .map(file)?
        };
        Ok(Region {
            map: Some(map),
            skip,
            len,
        })
    }
}

impl std::ops::Deref for Region {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.map {
            Some(m) => &m[self.skip..self.skip + self.len],
            None => &[],
        }
    }
}
