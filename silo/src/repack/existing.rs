//! The packs a nightly finds: known by their idx and fingerprint files
//! alone, and opened only when one is copied.
//!
//! A nightly relates new blobs to the packed ones by their sketches (the
//! `.fp` files), and decides whether to extend a family's pack by that
//! pack's shape (its families and chain depths, kept in the same file; see
//! [`super::fingerprints`]). Neither needs a byte of the pack. Only the
//! packs it copies are opened, through [`crate::storage::Storage::fetch`]
//! first: a bucket's replica holds the other packs hollow, so that a
//! nightly on an empty cache downloads the idx and fingerprint files, the
//! new loose objects and the packs it copies, and nothing else. A pack
//! whose fingerprint file is missing, damaged or of version 1 is read once
//! (and its file written again, as before).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::PathBuf;

use trees_pack::{Bundle, ObjectId, index};

use super::Error;
use super::plan::Packed;
use crate::Silo;
use crate::families::Shape;
use crate::store::ReadError;

/// The packs of the silo when the nightly began.
pub(crate) struct Existing {
    /// Their idx files.
    pub(crate) paths: Vec<PathBuf>,
    pub(crate) indexes: Vec<index::File>,
    /// Every object in them.
    pub(crate) packed: Vec<Packed>,
    /// The first index in `packed` of each id.
    pub(crate) at: HashMap<ObjectId, usize>,
    /// Each pack's shape, where its fingerprint file has it (or once the
    /// pack was read for it).
    pub(crate) shapes: Vec<Option<Shape>>,
    opened: HashMap<usize, Bundle>,
}

impl Existing {
    /// The packs whose idx files are `paths`: their idx files only.
    pub(crate) fn open(paths: &[PathBuf]) -> Result<Existing, Error> {
        let indexes: Vec<index::File> = paths
            .iter()
            .map(|p| index::File::open(p).map_err(|e| ReadError::OpenPack(e.into())))
            .collect::<Result<_, _>>()?;
        let mut packed: Vec<Packed> = Vec::new();
        let mut at: HashMap<ObjectId, usize> = HashMap::new();
        for (p, idx) in indexes.iter().enumerate() {
            for i in 0..idx.count() {
                let e = idx.entry(i).map_err(|e| ReadError::OpenPack(e.into()))?;
                at.entry(e.id).or_insert(packed.len());
                packed.push(Packed {
                    id: e.id,
                    pack: p,
                    offset: e.offset,
                });
            }
        }
        Ok(Existing {
            paths: paths.to_vec(),
            shapes: vec![None; indexes.len()],
            indexes,
            packed,
            at,
            opened: HashMap::new(),
        })
    }

    /// The ids of pack `p`.
    pub(crate) fn ids(&self, p: usize) -> impl Iterator<Item = ObjectId> + '_ {
        let idx = &self.indexes[p];
        (0..idx.count()).map(|i| idx.id(i))
    }

    /// Pack `p`, open: fetched first if the storage holds it elsewhere.
    pub(crate) fn bundle(&mut self, silo: &Silo, p: usize) -> Result<&Bundle, Error> {
        match self.opened.entry(p) {
            Entry::Occupied(o) => Ok(o.into_mut()),
            Entry::Vacant(v) => {
                let idx = &self.paths[p];
                silo.storage()
                    .fetch(&silo.relative(idx).with_extension("pack"))?;
                Ok(v.insert(Bundle::open(idx).map_err(ReadError::OpenPack)?))
            }
        }
    }

    /// Pack `p`'s shape: from its fingerprint file, else read from it.
    pub(crate) fn shape(&mut self, silo: &Silo, p: usize) -> Result<&Shape, Error> {
        if self.shapes[p].is_none() {
            tracing::info!(
                "reading the shape of {} (its fingerprint file has none)",
                self.paths[p].display()
            );
            let b = self.bundle(silo, p)?;
            let table = crate::packs::table_of(b)?;
            let shape = crate::families::shape(b, table.as_ref().map_or(&[], |t| t.records()))?;
            self.shapes[p] = Some(shape);
        }
        Ok(self.shapes[p].get_or_insert_default())
    }

    /// The chain depth of packed object `x`.
    pub(crate) fn depth(&mut self, silo: &Silo, x: usize) -> Result<usize, Error> {
        let Packed { id, pack, .. } = self.packed[x];
        let d = self.shape(silo, pack)?.depth.get(&id).copied();
        Ok(d.map_or(usize::MAX, |d| d as usize))
    }

    /// The packs `which`, open (fetched first where needed), by index.
    pub(crate) fn take(
        &mut self,
        silo: &Silo,
        which: &[usize],
    ) -> Result<HashMap<usize, Bundle>, Error> {
        let mut out = HashMap::new();
        for &p in which {
            self.bundle(silo, p)?;
            if let Some(b) = self.opened.remove(&p) {
                out.insert(p, b);
            }
        }
        Ok(out)
    }
}
