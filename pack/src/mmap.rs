//! The one place that maps files into memory.

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
        // writers only ever create new files under new names (see DESIGN.md).
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
