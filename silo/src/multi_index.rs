//! The silo's multi-pack-index, `pack/multi-pack-index`: every packed
//! object's pack in one sorted table, so that a lookup among thousands of
//! packs (one per family) is one binary search instead of one per pack.
//!
//! The file is git's ([`trees_pack::multi_index`]); git and libgit2 read it.
//! [`write`] makes it from the packs present, staged and then put over the
//! old one: repack, gc and mirror call it last, after they published their
//! packs and removed what those replace, so that it names no pack that is
//! about to go. It is a cache: a reader uses it only while it is
//! [`View::fresh`] (it names only packs that are there), and looks in the
//! packs it does not name one by one; with no usable file, every pack is
//! searched, as before. A crash before it is rewritten leaves it stale, and
//! readers fall back; the next repack or gc writes it anew.

use std::path::{Path, PathBuf};

use trees_pack::index;
use trees_pack::multi_index::{self, File};

use crate::Silo;
use crate::store::ReadError;
pub use crate::store::index_view::View;

/// The file's name in `pack/`.
pub const NAME: &str = crate::store::index_view::NAME;

/// Why the multi-pack-index cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An idx cannot be opened.
    #[error("cannot open {path} for the multi-pack-index")]
    Index {
        /// The idx.
        path: PathBuf,
        /// The cause.
        source: index::file::Error,
    },
    /// The writer refused.
    #[error(transparent)]
    Write(#[from] multi_index::write::Error),
    /// Listing, staging or replacing failed.
    #[error(transparent)]
    Storage(#[from] crate::storage::Error),
    /// Listing the packs failed.
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// Writes `pack/multi-pack-index` for the packs present now, or removes it
/// when there are fewer than two: a reader of one pack looks in its idx,
/// and the file would be a second copy of that idx (as large, 28 bytes an
/// object: 833,076 bytes for the 29,711 objects of 30 CI zips). git, too,
/// writes one only when asked. The caller holds the lock. An object in
/// several packs (between a publish and a delete) is listed with its copy
/// in the newest pack, as git chooses.
pub fn write(silo: &Silo) -> Result<(), Error> {
    let storage = silo.storage();
    let dest = Path::new("pack").join(NAME);
    let idxs = silo.pack_indexes()?;
    if idxs.len() < 2 {
        storage.delete(&[dest])?;
        return Ok(());
    }
    let mut opened: Vec<(String, std::time::SystemTime, index::File)> = Vec::new();
    for idx in &idxs {
        let file = index::File::open(idx).map_err(|source| Error::Index {
            path: idx.clone(),
            source,
        })?;
        let name = idx
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mtime = std::fs::metadata(idx.with_extension("pack"))
            .and_then(|m| m.modified())
            .unwrap_or(std::time::UNIX_EPOCH);
        opened.push((name, mtime, file));
    }
    // Newest first, then by name: the first pack listed wins a duplicate.
    opened.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let packs: Vec<multi_index::Pack<'_>> = opened
        .iter()
        .map(|(name, _, index)| multi_index::Pack { name, index })
        .collect();
    let mut staged = storage.stage(".midx")?;
    multi_index::write(&packs, std::io::BufWriter::new(staged.file_mut()))?;
    storage.replace(staged, &dest)?;
    Ok(())
}

/// What `silo verify` found of the multi-pack-index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// There is none (readers search every pack).
    #[default]
    Absent,
    /// It names exactly the packs present, and every entry is right.
    UpToDate,
    /// It names a pack that is gone or misses one that is there: left by
    /// a writer killed before it rewrote it; readers do without it, and
    /// the next repack or gc writes it anew.
    Stale,
    /// It is damaged (see the problems).
    Damaged,
}

/// Checks `pack/multi-pack-index` against the packs present: its checksum,
/// its order, and every entry against its pack's idx. Returns its state
/// and the problems (each naming the file, and the object if about one).
pub fn check(silo: &Silo) -> Result<(State, Vec<String>), ReadError> {
    let path = silo.pack_dir().join(NAME);
    if !path.exists() {
        return Ok((State::Absent, Vec::new()));
    }
    let file = match File::open(&path).and_then(|f| f.verify().map(|()| f)) {
        Ok(f) => f,
        Err(e) => return Ok((State::Damaged, vec![trees_pack::error_chain(&e)])),
    };
    let packs = silo.packs()?;
    let Some(view) = View::fresh(file, &packs) else {
        return Ok((State::Stale, Vec::new()));
    };
    let mut problems = Vec::new();
    for i in 0..view.file().count() {
        let Some(e) = view.file().entry(i) else {
            continue;
        };
        let Some(p) = view.open_pack(e.pack) else {
            continue;
        };
        let b = &packs[p];
        let actual = b.index.lookup(&e.id).and_then(|j| b.index.offset(j).ok());
        if actual != Some(e.offset) {
            problems.push(format!(
                "{}: object {} is at offset {} of {} by it, but {} by the pack's idx",
                path.display(),
                e.id,
                e.offset,
                b.index.path().display(),
                actual.map_or_else(|| "absent".to_owned(), |o| o.to_string())
            ));
        }
    }
    if !view.is_complete() || !view.unnamed().is_empty() {
        return Ok((State::Stale, problems));
    }
    let state = if problems.is_empty() {
        State::UpToDate
    } else {
        State::Damaged
    };
    Ok((state, problems))
}
