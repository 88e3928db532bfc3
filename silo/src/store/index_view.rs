//! The multi-pack-index as a reader uses it: matched to the packs it has
//! open (see [`crate::multi_index`] for the file and when it is written).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use trees_pack::multi_index::File;
use trees_pack::{Bundle, ObjectId};

/// The file's name in `pack/`.
pub(crate) const NAME: &str = "multi-pack-index";

/// A multi-pack-index matched to the packs a reader has open.
pub struct View {
    file: File,
    /// The open pack (index into the reader's packs) of each pack-int-id.
    pack_of: Vec<usize>,
    /// The open packs it does not name (installed after it was written).
    unnamed: Vec<usize>,
    /// Whether it lists every object of the packs it names: then an id it
    /// lacks is in none of them.
    complete: bool,
}

impl View {
    /// The multi-pack-index of `dir`, matched to `packs`, if there is one
    /// and it is fresh: every pack it names is open. Stale or damaged, it
    /// is ignored (and logged), and readers search every pack.
    pub fn open(dir: &Path, packs: &[Arc<Bundle>]) -> Option<View> {
        let path = dir.join(NAME);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                if path.exists() {
                    tracing::warn!(
                        "not using {}: {}",
                        path.display(),
                        trees_pack::error_chain(&e)
                    );
                }
                return None;
            }
        };
        View::fresh(file, packs)
    }

    /// `file` matched to `packs`, if every pack it names is among them.
    pub fn fresh(file: File, packs: &[Arc<Bundle>]) -> Option<View> {
        let at: HashMap<&std::ffi::OsStr, usize> = packs
            .iter()
            .enumerate()
            .filter_map(|(i, b)| Some((b.index.path().file_name()?, i)))
            .collect();
        let mut pack_of = Vec::with_capacity(file.pack_names().len());
        for name in file.pack_names() {
            match at.get(std::ffi::OsStr::new(name)) {
                Some(&i) => pack_of.push(i),
                None => {
                    tracing::debug!("multi-pack-index is stale: it names {name}, which is gone");
                    return None;
                }
            }
        }
        let named: u64 = pack_of
            .iter()
            .map(|&i| u64::from(packs[i].index.count()))
            .sum();
        let complete = named == u64::from(file.count());
        let mut is_named = vec![false; packs.len()];
        for &i in &pack_of {
            is_named[i] = true;
        }
        let unnamed = (0..packs.len()).filter(|&i| !is_named[i]).collect();
        Some(View {
            file,
            pack_of,
            unnamed,
            complete,
        })
    }

    /// The open pack that holds `id` by the index, if any. `Err(())` when
    /// the index cannot say (it lacks `id` and is not complete, or it is
    /// wrong): the caller searches every pack.
    #[allow(clippy::result_unit_err)]
    pub fn pack_of(&self, id: &ObjectId) -> Result<Option<usize>, ()> {
        match self.file.lookup(id) {
            Some(e) => self
                .pack_of
                .get(e.pack as usize)
                .copied()
                .map(Some)
                .ok_or(()),
            None if self.complete => Ok(None),
            None => Err(()),
        }
    }

    /// The open packs it does not name: searched one by one.
    pub fn unnamed(&self) -> &[usize] {
        &self.unnamed
    }

    /// The file.
    pub fn file(&self) -> &File {
        &self.file
    }
}

impl View {
    /// The open pack (index into the reader's packs) of a pack-int-id.
    pub fn open_pack(&self, pack: u32) -> Option<usize> {
        self.pack_of.get(pack as usize).copied()
    }

    /// Whether it lists every object of the packs it names.
    pub fn is_complete(&self) -> bool {
        self.complete
    }
}
