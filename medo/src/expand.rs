//! `medo expand`: the trees of treeptrs, fetched from their silos and unpacked.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use trees_hints::reachable::{self, SUFFIX};
use trees_pack::ObjectId;

use super::{fetch, unpack};

/// Why a treeptr cannot be expanded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Its blob cannot be had.
    #[error(transparent)]
    Blob(#[from] fetch::BlobError),
    /// Its blob cannot be unpacked (a refused member, say).
    #[error("cannot expand {treeptr} (blob {blob}) into {dest}")]
    Unpack {
        /// The treeptr.
        treeptr: PathBuf,
        /// Its blob.
        blob: ObjectId,
        /// Where.
        dest: PathBuf,
        /// The cause.
        source: unpack::Error,
    },
}

/// A treeptr and where its tree goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The treeptr.
    pub treeptr: PathBuf,
    /// Its tree's directory (or, for a `file` blob, the file).
    pub dest: PathBuf,
}

/// Where the trees of `src` go under `dest`: a treeptr file goes to `dest`
/// itself; each treeptr under a directory goes to `dest/<its path relative
/// to src, without .treeptr>`. Sorted by treeptr path.
pub fn targets(src: &Path, dest: &Path) -> Result<Vec<Target>, reachable::Error> {
    let meta = std::fs::metadata(src).map_err(|source| reachable::Error::Io {
        path: src.to_owned(),
        source,
    })?;
    if !meta.is_dir() {
        return Ok(vec![Target {
            treeptr: src.to_owned(),
            dest: dest.to_owned(),
        }]);
    }
    Ok(reachable::treeptrs(src)?
        .into_iter()
        .map(|t| {
            let rel = t.strip_prefix(src).expect("treeptrs are under their root");
            let bytes = rel.as_os_str().as_bytes();
            let stem = OsStr::from_bytes(&bytes[..bytes.len() - SUFFIX.len()]);
            Target {
                dest: dest.join(stem),
                treeptr: t.clone(),
            }
        })
        .collect())
}

/// What [`expand`] did for one treeptr.
#[derive(Debug, Clone)]
pub struct Expanded {
    /// The blob.
    pub blob: ObjectId,
    /// Where it came from, and silos skipped.
    pub fetched: fetch::Outcome,
    /// What was written.
    pub outcome: unpack::Outcome,
}

/// Fetches the blob of `t.treeptr` and unpacks it into `t.dest`.
pub fn expand(t: &Target) -> Result<Expanded, Error> {
    let b = fetch::blob_to_unpack(&t.treeptr)?;
    let blob = b.treeptr.blob;
    let outcome = unpack::unpack(b.file, b.format, &t.dest).map_err(|source| Error::Unpack {
        treeptr: t.treeptr.clone(),
        blob,
        dest: t.dest.clone(),
        source,
    })?;
    Ok(Expanded {
        blob,
        fetched: b.outcome,
        outcome,
    })
}
