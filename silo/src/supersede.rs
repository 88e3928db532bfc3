//! Packs that another pack has replaced: a mirror's copy of a family's
//! pack after the nightly upstream rewrote that family into a new pack.
//!
//! A mirror copies the new pack; the old one is then superseded: every
//! object it holds (and every split object its record table names) is in
//! another pack too. [`remove`] deletes such packs, each only after
//! checking that, so that a pack holding anything no other pack has is
//! never removed, whoever made it.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use trees_pack::{Bundle, ObjectId};

use crate::Silo;
use crate::store::ReadError;

/// Why superseded packs could not be removed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A pack or its table cannot be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Deleting failed.
    #[error(transparent)]
    Storage(#[from] crate::storage::Error),
}

/// Removes each pack of `candidates` (idx paths) whose every object and
/// every split record another pack of the silo holds; returns the packs
/// removed. The caller holds the lock, and rewrites the multi-pack-index.
pub fn remove(silo: &Silo, candidates: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let all = silo.pack_indexes()?;
    let mut open: Vec<(PathBuf, Arc<Bundle>, HashSet<ObjectId>)> = Vec::new();
    for idx in &all {
        let b = Bundle::open(idx).map_err(ReadError::OpenPack)?;
        let xs = crate::packs::table_of(&b)?
            .map(|t| t.records().iter().map(|r| r.x).collect())
            .unwrap_or_default();
        open.push((idx.clone(), Arc::new(b), xs));
    }
    let mut removed = Vec::new();
    for cand in candidates {
        let Some(k) = open.iter().position(|(p, _, _)| p == cand) else {
            continue;
        };
        let others = || open.iter().enumerate().filter(move |(j, _)| *j != k);
        let (_, b, xs) = &open[k];
        let covered = (0..b.index.count())
            .map(|i| b.index.id(i))
            .all(|id| others().any(|(_, (_, o, _))| o.index.lookup(&id).is_some()))
            && xs
                .iter()
                .all(|x| others().any(|(_, (_, _, oxs))| oxs.contains(x)));
        if !covered {
            tracing::info!(
                "keeping {}: it holds objects no other pack has",
                cand.display()
            );
            continue;
        }
        let (idx, _, _) = open.remove(k);
        let rel = silo.relative(&idx).to_owned();
        // idx first: a reader never finds an idx whose pack is gone.
        silo.storage().delete(&[
            rel.clone(),
            rel.with_extension("pack"),
            crate::repack::fingerprints::path_for(&rel),
            rel.with_extension(trees_split::table::EXTENSION),
        ])?;
        removed.push(idx);
    }
    Ok(removed)
}

/// The idx files of `silo` whose pack name (`pack-<sha>`) is not in `listed`.
pub fn unlisted(silo: &Silo, listed: &HashSet<String>) -> Result<Vec<PathBuf>, ReadError> {
    Ok(silo
        .pack_indexes()?
        .into_iter()
        .filter(|idx| {
            idx.file_stem()
                .and_then(|s| s.to_str())
                .is_some_and(|s| !listed.contains(s))
        })
        .collect())
}
