//! The silo's current set of packs, and how a reader keeps it current.
//!
//! Objects move while readers read: `silo repack` installs a new pack and
//! then deletes the loose copies it packed (and the small packs it rolled
//! up); `silo gc` installs the rewritten pack and then deletes the old ones.
//! Every writer installs before it deletes. A reader therefore looks for an
//! object in this order:
//!
//! 1. in the packs it already knows (opened and mapped: a pack stays
//!    readable through its mapping after gc deletes its files);
//! 2. in its loose file, which it opens once and reads through that handle
//!    (a file deleted between a listing and the open is a miss, not an
//!    I/O error);
//! 3. after both missed, it rescans `pack/` once and looks in the packs it
//!    did not know, as git's `reprepare_packed_git` does. If the object's
//!    loose copy was deleted before step 2, the pack that holds it was
//!    installed before that, and so before this rescan: the rescan finds it.
//!
//! Only then is the object missing. With a fresh multi-pack-index
//! ([`crate::multi_index`]), step 1 and 3 are one binary search for the
//! packs it names, plus a search of each pack it does not.
//!
//! [`PackSet`] is that set of known packs:
//! shared by the clones of a [`crate::Silo`], opened at the first read,
//! rescanned on a miss, and safe to use from many threads.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use trees_pack::{Bundle, ObjectId};
use trees_split::table::{self, Table};

use crate::storage::Storage;
use crate::store::index_view::View;
use crate::store::lazy::Lazy;
use crate::store::{Found, ReadError, read_dir_sorted};

/// The packs a reader knows, in the order of their idx names.
pub type Packs = Arc<[Arc<Bundle>]>;

/// The record tables of the known packs (see [`trees_split::table`]), by idx path.
pub type Tables = Arc<HashMap<PathBuf, Arc<Table>>>;

/// Why a pack's record table cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// It cannot be read.
    #[error("cannot read it")]
    Io(#[source] std::io::Error),
    /// Its bytes are not a table this build reads.
    #[error(transparent)]
    Format(#[from] table::Error),
    /// The idx beside it, which names its parts, cannot be opened.
    #[error("cannot open the idx beside it")]
    Index(#[source] trees_pack::index::file::Error),
    /// It was written for another pack.
    #[error("it belongs to pack {table}, but the pack beside it is {pack}")]
    OtherPack {
        /// The pack checksum the table names.
        table: ObjectId,
        /// The pack's.
        pack: ObjectId,
    },
}

/// The record table beside the pack of `idx`, if it has one (the idx is
/// opened to name the parts a version 3 table gives by place).
pub fn read_table(idx: &Path) -> Result<Option<Table>, ReadError> {
    read_table_with(idx, None)
}

/// [`read_table`], with the idx already open if the caller has it.
fn read_table_with(
    idx: &Path,
    open: Option<&trees_pack::index::File>,
) -> Result<Option<Table>, ReadError> {
    let path = idx.with_extension(table::EXTENSION);
    let err = |source| ReadError::Table {
        path: path.clone(),
        source,
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err(TableError::Io(e))),
    };
    let parse =
        |ids: &trees_pack::index::File| Table::parse(&bytes, ids).map_err(|e| err(e.into()));
    match open {
        Some(ids) => parse(ids).map(Some),
        None => {
            let ids = trees_pack::index::File::open(idx).map_err(|e| err(TableError::Index(e)))?;
            parse(&ids).map(Some)
        }
    }
}

/// [`read_table`], checked against the pack it belongs to.
pub fn table_of(bundle: &Bundle) -> Result<Option<Table>, ReadError> {
    let idx = bundle.index.path();
    let Some(t) = read_table_with(idx, Some(&bundle.index))? else {
        return Ok(None);
    };
    let pack = bundle.index.pack_checksum();
    if *t.pack() != pack {
        return Err(ReadError::Table {
            path: idx.with_extension(table::EXTENSION),
            source: TableError::OtherPack {
                table: *t.pack(),
                pack,
            },
        });
    }
    Ok(Some(t))
}

/// The packs of one `pack/` directory, opened once and rescanned on demand.
pub struct PackSet {
    dir: PathBuf,
    /// Where the packs live: asked to fetch each before it is opened (a
    /// bucket's replica may hold it hollow).
    storage: Arc<dyn Storage>,
    /// `None` until the first scan.
    current: Mutex<Option<Scan>>,
    /// Lookups through the multi-pack-index before the first scan.
    lazy: Lazy,
}

/// What one scan of `pack/` found.
#[derive(Clone)]
struct Scan {
    packs: Packs,
    tables: Tables,
    /// idx files whose pack cannot be opened (damaged): skipped, so that the
    /// other packs stay readable, and named when an object is not found.
    broken: Arc<[PathBuf]>,
    /// The multi-pack-index, if there is one and it is fresh.
    midx: Option<Arc<View>>,
}

impl fmt::Debug for PackSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.lock().as_ref().map(|s| s.packs.len());
        f.debug_struct("PackSet")
            .field("dir", &self.dir)
            .field("open", &n)
            .finish()
    }
}

impl PackSet {
    /// The packs of `dir` (`SILO/pack`) in `storage`; nothing is opened yet.
    pub fn new(dir: &Path, storage: Arc<dyn Storage>) -> PackSet {
        PackSet {
            dir: dir.to_owned(),
            current: Mutex::new(None),
            lazy: Lazy::new(dir, Arc::clone(&storage)),
            storage,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Scan>> {
        // A panic while the lock was held left at worst a stale set, which
        // the next rescan replaces.
        self.current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The pack and offset of `id` through the multi-pack-index, opening
    /// that pack only, while no scan has opened every pack (see
    /// [`super::lazy`]); `None` when it cannot tell, or after a scan.
    pub fn find_lazily(&self, id: &ObjectId) -> Option<(Arc<Bundle>, u64)> {
        if self.lock().is_some() {
            return None;
        }
        self.lazy.find(id)
    }

    /// The packs known now; the first call scans `pack/`.
    pub fn get(&self) -> Result<Packs, ReadError> {
        let mut cur = self.lock();
        if let Some(s) = cur.as_ref() {
            return Ok(s.packs.clone());
        }
        let fresh = scan(&self.dir, &*self.storage, &[], &Tables::default())?;
        let packs = fresh.packs.clone();
        *cur = Some(fresh);
        Ok(packs)
    }

    /// The packs known now and their record tables; the first call scans `pack/`.
    pub fn current(&self) -> Result<(Packs, Tables), ReadError> {
        self.get()?;
        let cur = self.lock();
        Ok(cur
            .as_ref()
            .map(|s| (s.packs.clone(), s.tables.clone()))
            .unwrap_or_else(|| (Arc::from(Vec::new()), Tables::default())))
    }

    /// The packs known now, their record tables and their multi-pack-index
    /// (if fresh), from one scan; the first call scans `pack/`.
    pub fn snapshot(&self) -> Result<(Packs, Tables, Option<Arc<View>>), ReadError> {
        self.get()?;
        let cur = self.lock();
        Ok(cur
            .as_ref()
            .map(|s| (s.packs.clone(), s.tables.clone(), s.midx.clone()))
            .unwrap_or_else(|| (Arc::from(Vec::new()), Tables::default(), None)))
    }

    /// Why an object that no pack holds may still be in one: the error of
    /// the first pack of the last scan that could not be opened, if any.
    pub fn broken(&self) -> Option<ReadError> {
        let broken = self.lock().as_ref()?.broken.clone();
        broken.iter().find_map(|idx| match Bundle::open(idx) {
            Err(e) => Some(ReadError::OpenPack(e)),
            Ok(b) => table_of(&b).err(),
        })
    }

    /// Rescans `pack/`: packs still there stay open, new ones are opened,
    /// vanished ones are dropped. Returns the packs that are new since
    /// the set was last looked at (empty when nothing changed).
    pub fn rescan(&self) -> Result<Vec<Arc<Bundle>>, ReadError> {
        let mut cur = self.lock();
        let old: Vec<Arc<Bundle>> = cur.as_ref().map(|s| s.packs.to_vec()).unwrap_or_default();
        let old_tables = cur.as_ref().map(|s| s.tables.clone()).unwrap_or_default();
        let fresh = scan(&self.dir, &*self.storage, &old, &old_tables)?;
        let added: Vec<Arc<Bundle>> = fresh
            .packs
            .iter()
            .filter(|b| !old.iter().any(|o| Arc::ptr_eq(o, b)))
            .cloned()
            .collect();
        *cur = Some(fresh);
        tracing::debug!("rescanned pack/ after a miss: {} new packs", added.len());
        Ok(added)
    }
}

/// Opens the packs of `dir`, reusing those of `known` by idx path (a pack's
/// name is its checksum: the same path is the same pack).
fn scan(
    dir: &Path,
    storage: &dyn Storage,
    known: &[Arc<Bundle>],
    known_tables: &Tables,
) -> Result<Scan, ReadError> {
    let by_path: HashMap<&Path, &Arc<Bundle>> = known.iter().map(|b| (b.index.path(), b)).collect();
    let mut out = Vec::new();
    let mut tables = HashMap::new();
    let mut broken = Vec::new();
    for idx in pack_indexes(dir)? {
        if let Some(b) = by_path.get(idx.as_path()) {
            out.push(Arc::clone(b));
            if let Some(t) = known_tables.get(&idx) {
                tables.insert(idx, Arc::clone(t));
            }
            continue;
        }
        if let Err(e) = storage.fetch(&super::lazy::fetch_path(&idx)) {
            tracing::warn!("skipping a pack that cannot be fetched: {e}");
            broken.push(idx);
            continue;
        }
        match Bundle::open(&idx) {
            Ok(b) => match table_of(&b) {
                Ok(t) => {
                    if let Some(t) = t {
                        tables.insert(idx, Arc::new(t));
                    }
                    out.push(Arc::new(b));
                }
                // Removed with its pack since the listing.
                Err(_) if !idx.is_file() => {}
                Err(e) => {
                    tracing::warn!("skipping a pack whose record table is unusable: {e}");
                    broken.push(idx);
                }
            },
            // gc deleted it between the listing and the open: its objects
            // are in the pack that replaced it, which this listing has.
            Err(_) if !idx.is_file() || !idx.with_extension("pack").is_file() => {}
            Err(e) => {
                tracing::warn!("skipping a pack that cannot be opened: {e}");
                broken.push(idx);
            }
        }
    }
    let midx = View::open(dir, &out).map(Arc::new);
    Ok(Scan {
        packs: out.into(),
        tables: Arc::new(tables),
        broken: broken.into(),
        midx,
    })
}

/// The `.idx` files of `dir` that have their `.pack`, sorted.
pub(crate) fn pack_indexes(dir: &Path) -> Result<Vec<PathBuf>, ReadError> {
    Ok(read_dir_sorted(dir)?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "idx") && p.with_extension("pack").is_file())
        .collect())
}

/// The entry of `id` in the first of `packs` that has it: through the
/// multi-pack-index `midx` (of `packs`) where it can say, else in each pack.
pub(crate) fn find_packed(
    packs: &[Arc<Bundle>],
    midx: Option<&View>,
    id: &ObjectId,
) -> Result<Option<Found>, ReadError> {
    let search = |which: &mut dyn Iterator<Item = &Arc<Bundle>>| {
        for b in which {
            if let Some(offset) = b
                .find(id)
                .map_err(|source| ReadError::Pack { id: *id, source })?
            {
                tracing::debug!("found {id} in {}", b.pack.path().display());
                return Ok(Some(Found::Packed(Arc::clone(b), offset)));
            }
        }
        Ok(None)
    };
    if let Some(m) = midx {
        match m.pack_of(id) {
            // The pack's own idx gives the offset: a wrong index costs a
            // search of every pack, never a wrong read.
            Ok(Some(p)) => {
                if let Some(found) = search(&mut packs.get(p).into_iter())? {
                    return Ok(Some(found));
                }
            }
            Ok(None) => return search(&mut m.unnamed().iter().filter_map(|&i| packs.get(i))),
            Err(()) => {}
        }
    }
    search(&mut packs.iter())
}
