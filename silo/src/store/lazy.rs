//! A process's first reads, through the multi-pack-index alone.
//!
//! With a pack per family a silo has thousands of packs, and opening every
//! one (two files and two mappings each) is most of what `silo cat ID`
//! costs: 2,000 packs, 80 ms. Until a reader has needed the whole set of
//! packs ([`super::packs::PackSet`]), it looks an id up in the
//! multi-pack-index and opens only the pack that names, keeping it open
//! for the next read.
//!
//! Only what this finds counts: the pack's own idx must have the id (so a
//! stale or damaged index can send a reader to the wrong pack, never give
//! a wrong answer), and anything it does not find (a loose object, a split
//! one, an id in a pack the index does not name, a pack gone since) is
//! looked for the ordinary way, with every pack opened and the rescans
//! that keep a concurrent repack from hiding a present object.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use trees_pack::multi_index::File;
use trees_pack::{Bundle, ObjectId};

use super::index_view::NAME;
use crate::storage::Storage;

/// The multi-pack-index of one `pack/` directory and the packs it sent
/// readers to.
pub struct Lazy {
    dir: PathBuf,
    storage: Arc<dyn Storage>,
    /// `None` until first used; then the index, if there is a usable one.
    state: Mutex<Option<Option<State>>>,
}

struct State {
    file: File,
    opened: HashMap<u32, Arc<Bundle>>,
}

impl Lazy {
    /// The index of `dir` (`SILO/pack`) in `storage`, read at the first
    /// lookup.
    pub fn new(dir: &Path, storage: Arc<dyn Storage>) -> Lazy {
        Lazy {
            dir: dir.to_owned(),
            storage,
            state: Mutex::new(None),
        }
    }

    /// The pack and offset of `id`, if the index names a pack whose idx
    /// has it; `None` for anything else (the caller looks the ordinary way).
    pub fn find(&self, id: &ObjectId) -> Option<(Arc<Bundle>, u64)> {
        // A panic while the lock was held left at worst a pack not kept.
        let mut guard = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let state = guard
            .get_or_insert_with(|| {
                File::open(&self.dir.join(NAME)).ok().map(|file| State {
                    file,
                    opened: HashMap::new(),
                })
            })
            .as_mut()?;
        let entry = state.file.lookup(id)?;
        let bundle = match state.opened.get(&entry.pack) {
            Some(b) => Arc::clone(b),
            None => {
                let name = state.file.pack_names().get(entry.pack as usize)?;
                let idx = self.dir.join(name);
                self.storage.fetch(&fetch_path(&idx)).ok()?;
                let b = Arc::new(Bundle::open(&idx).ok()?);
                state.opened.insert(entry.pack, Arc::clone(&b));
                b
            }
        };
        let offset = bundle.find(id).ok()??;
        tracing::debug!("found {id} in {}", bundle.pack.path().display());
        Some((bundle, offset))
    }
}

/// The path, relative to the silo, of the pack of `idx`, to fetch it.
pub(crate) fn fetch_path(idx: &Path) -> PathBuf {
    Path::new("pack").join(idx.with_extension("pack").file_name().unwrap_or_default())
}
