//! How much disk a silo takes, part by part, counted the way `du` counts:
//! allocated blocks of every file and directory. One exception: a sparse
//! file counts its whole length, for the only sparse files of a silo are
//! the hollow packs of a bucket's replica (`trees_remote`), which stand for
//! packs of that length in the bucket.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::Silo;

/// Why usage could not be measured.
#[derive(Debug, thiserror::Error)]
#[error("cannot measure {path}")]
pub struct Error {
    /// The path.
    pub path: PathBuf,
    /// The cause.
    pub source: io::Error,
}

/// Disk usage of one part.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Part {
    /// Allocated bytes (what `du` reports).
    pub disk_bytes: u64,
    /// Sum of file sizes.
    pub apparent_bytes: u64,
    /// Number of files.
    pub files: u64,
}

impl std::ops::AddAssign for Part {
    fn add_assign(&mut self, o: Part) {
        self.disk_bytes += o.disk_bytes;
        self.apparent_bytes += o.apparent_bytes;
        self.files += o.files;
    }
}

/// Disk usage of a silo.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Usage {
    /// `objects/`: loose blobs.
    pub objects: Part,
    /// `pack/`: packs and idx files.
    pub pack: Part,
    /// `derived/`: recomputable data.
    pub derived: Part,
    /// The whole silo directory (what `du -s SILO` says).
    pub all: Part,
}

fn walk(path: &Path) -> Result<Part, Error> {
    let err = |source| Error {
        path: path.to_owned(),
        source,
    };
    let meta = fs::symlink_metadata(path).map_err(err)?;
    let mut part = Part {
        disk_bytes: (meta.blocks() * 512).max(if meta.is_file() { meta.len() } else { 0 }),
        apparent_bytes: if meta.is_file() { meta.len() } else { 0 },
        files: u64::from(meta.is_file()),
    };
    if meta.is_dir() {
        for e in fs::read_dir(path).map_err(err)? {
            let e = e.map_err(err)?;
            match walk(&e.path()) {
                Ok(p) => part += p,
                // A file removed while we walk (a repack, a gc) simply is not counted.
                Err(e) if e.source.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(part)
}

/// Measures `silo`.
pub fn usage(silo: &Silo) -> Result<Usage, Error> {
    Ok(Usage {
        objects: walk(&silo.objects_dir())?,
        pack: walk(&silo.pack_dir())?,
        derived: walk(&silo.derived_dir())?,
        all: walk(silo.root())?,
    })
}

/// `bytes` in SI units, as `du --si` prints them (1.3M, 42k).
pub fn si(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["k", "M", "G", "T", "P", "E"];
    if bytes < 1000 {
        return bytes.to_string();
    }
    let mut v = bytes as f64;
    let mut unit = "";
    for u in UNITS {
        if v < 1000.0 {
            break;
        }
        v /= 1000.0;
        unit = u;
    }
    // du rounds up, and shows one decimal below 10.
    if v < 10.0 {
        format!("{:.1}{unit}", (v * 10.0).ceil() / 10.0)
    } else {
        format!("{}{unit}", v.ceil())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn si_matches_du() {
        assert_eq!(super::si(999), "999");
        assert_eq!(super::si(1000), "1.0k");
        assert_eq!(super::si(1_234_567), "1.3M");
        assert_eq!(super::si(45_000_000), "45M");
    }
}
