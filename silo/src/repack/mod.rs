//! `silo repack`: the loose objects into a new pack, against the packed
//! ones (incremental, the default once there are packs), or every object
//! anew into one pack (full).
//!
//! Plan, then execute, for both. The planners ([`full`],
//! [`incremental`]) read what they need (checking each id), split gzip
//! files ([`split`]), fingerprint, relate and choose each object's base
//! (the engine of `trees_delta`), and decide which packs to copy, keep or
//! replace: a [`plan::Plan`], which `--dry-run` prints. [`execute`] then
//! encodes the deltas ([`encode`]), writes the one new pack through the
//! one pack-writing path ([`write`]: copied packs first, then the new
//! entries), reads it back against every id, publishes it through
//! [`crate::storage`], and only then removes the loose copies and old packs
//! it replaces. A crash at any point leaves every object readable: until
//! the idx is published nothing changed, and after it every object exists
//! twice until its old copy is removed.

mod budget;
mod encode;
mod execute;
mod existing;
pub(crate) mod families;
pub mod fingerprints;
mod full;
mod incremental;
pub(crate) mod load;
mod place;
pub mod plan;
mod reuse;
mod spill;
pub mod split;
mod split_container;
mod split_names;
mod split_parts;
mod write;

pub use write::install_order;

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
pub use trees_delta::forest::Root;

use crate::lock;
use crate::progress::Progress;
use crate::{Silo, du, store};

/// The zlib level of a repack: libdeflate's 9 packs smaller than git's
/// zlib 6 at a cost in time that parallel compression absorbs.
pub const DEFAULT_LEVEL: u8 = 9;

/// The default of `--write-factor`: a nightly copies a family's pack
/// while that writes at most three times the new objects' loose bytes.
pub const DEFAULT_WRITE_FACTOR: f64 = 3.0;

/// The default of `--memory`: 2 GiB.
pub const DEFAULT_MEMORY: u64 = 2 << 30;

/// How to repack.
#[derive(Debug, Clone)]
pub struct Options {
    /// Longest delta chain allowed (git's default is 50).
    pub max_depth: usize,
    /// Which object of each tree of related objects is stored whole.
    pub root: Root,
    /// zlib level of pack entries, 1 to 12 (libdeflate levels).
    pub level: u8,
    /// Wait for the silo lock instead of failing when it is held.
    pub wait: bool,
    /// Plan only: write and remove nothing, return the plan.
    pub dry_run: bool,
    /// Cut tars at their members as well as by content (see `trees_delta::chunk`).
    pub tar_aware: bool,
    /// Groups of blobs to try as each other's bases (`related` hints).
    pub related: Vec<Vec<trees_pack::ObjectId>>,
    /// Recompute everything (read, relate and re-encode every object)
    /// instead of packing the new objects against the packed ones.
    pub full: bool,
    /// Memory to plan for, in bytes: objects larger than an eighth of it
    /// are kept in temporary files and handled a window at a time.
    pub memory: u64,
    /// The record formats to split new objects into (`trees_split::any::FORMATS`:
    /// 1 gzip, 2 xz, 3 zstd, 4 `ar`); others are stored whole. Records
    /// already in packs are carried over whatever this says.
    pub split: Vec<u8>,
    /// How much a nightly (incremental) repack may write to keep a
    /// family's new objects in its pack, as a multiple of their loose
    /// bytes (see `budget`): 3 by default, `f64::INFINITY` for always.
    pub write_factor: f64,
}

impl Options {
    /// Objects larger than this are spilled to temporary files.
    pub(crate) fn large(&self) -> u64 {
        (self.memory / 8).max(1 << 20)
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_depth: 50,
            root: Root::default(),
            level: DEFAULT_LEVEL,
            wait: false,
            dry_run: false,
            tar_aware: true,
            related: Vec::new(),
            full: false,
            memory: DEFAULT_MEMORY,
            split: trees_split::any::FORMATS.to_vec(),
            write_factor: DEFAULT_WRITE_FACTOR,
        }
    }
}

/// What a repack did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    /// Objects in the new pack.
    pub objects: u64,
    /// Their total size, uncompressed.
    pub raw_bytes: u64,
    /// Disk bytes of `objects/` and `pack/` before.
    pub before_bytes: u64,
    /// Disk bytes of `objects/` and `pack/` after.
    pub after_bytes: u64,
    /// `full` or `incremental`.
    pub mode: &'static str,
    /// Objects packed for the first time (all of them in a full repack).
    pub new_objects: u64,
    /// Objects copied verbatim from the old packs of the families added to (incremental only).
    pub reused_objects: u64,
    /// Packs left as they were (incremental only).
    pub packs_kept: u64,
    /// Objects stored as deltas (of the new objects, when incremental).
    pub deltas: u64,
    /// Longest chain.
    pub max_depth: u64,
    /// Mean chain length over all objects.
    pub mean_depth: f64,
    /// The first new pack, if one was written.
    pub pack: Option<PathBuf>,
    /// New packs written (one per family added to, one for lone objects).
    pub packs_written: u64,
    /// Their `.pack` files.
    pub new_packs: Vec<PathBuf>,
    /// Bytes written to `pack/`: the new packs, idx, record tables and
    /// fingerprint files.
    pub bytes_written: u64,
    /// Loose objects removed.
    pub loose_removed: u64,
    /// Old packs removed.
    pub packs_removed: u64,
    /// Wall time in seconds.
    pub seconds: f64,
    /// The plan, when only planning (`dry_run`).
    pub plan: Option<plan::Plan>,
    /// How gzip files were stored: split (content plus recipe) or whole, and why.
    pub split: split::Stats,
}

/// Why a repack failed. Nothing was removed when it fails.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The lock is held or cannot be taken.
    #[error(transparent)]
    Lock(#[from] lock::Error),
    /// The listing (info/files.json) cannot be written.
    #[error(transparent)]
    Listing(#[from] crate::listing::Error),
    /// An object or a directory cannot be read.
    #[error(transparent)]
    Read(#[from] store::ReadError),
    /// Measuring the silo failed.
    #[error(transparent)]
    Du(#[from] du::Error),
    /// Staging, publishing or deleting a file failed.
    #[error(transparent)]
    Storage(#[from] crate::storage::Error),
    /// Writing the new pack failed.
    #[error("cannot write {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The pack writer refused an entry (a bug).
    #[error(transparent)]
    Pack(#[from] trees_pack::data::write::Error),
    /// The idx writer refused (a bug, or more than 2^32 objects).
    #[error(transparent)]
    Index(#[from] trees_pack::index::write::Error),
    /// The delta encoder refused a copy (a bug).
    #[error(transparent)]
    Delta(#[from] trees_delta::matcher::Error),
    /// An object too large for memory could not be read a window at a time.
    #[error("cannot {what} object {id}")]
    Large {
        /// What was being done: `fingerprint`, `read`.
        what: &'static str,
        /// The object.
        id: trees_pack::ObjectId,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The delta of an object too large for memory failed.
    #[error("cannot make the delta of object {id} a window at a time")]
    Windowed {
        /// The object.
        id: trees_pack::ObjectId,
        /// The cause.
        #[source]
        source: trees_delta::WindowedError,
    },
    /// The multi-pack-index cannot be written.
    #[error(transparent)]
    MultiIndex(#[from] crate::multi_index::Error),
    /// A pack can hold 2^32 - 1 objects.
    #[error("{0} objects are more than one pack can hold")]
    TooMany(usize),
    /// The new pack did not read back correctly: nothing was removed.
    #[error("the new pack {path} failed its read-back check, so nothing was removed: {}", problems.join("; "))]
    ReadBack {
        /// The pack (in tmp/).
        path: PathBuf,
        /// What was wrong.
        problems: Vec<String>,
    },
}

/// Packs `objects` into one new pack (planned, encoded, written, read
/// back), installs it, and only then removes the loose objects `loose` and
/// the packs `packs` it replaces. With no objects, only removes. gc's
/// rewrite of packs is this.
pub(crate) fn replace(
    silo: &Silo,
    objects: Vec<load::Object>,
    carried: Vec<trees_split::table::Record>,
    loose: &[trees_pack::ObjectId],
    packs: &[PathBuf],
    opts: &Options,
    progress: &dyn Progress,
) -> Result<Outcome, Error> {
    let prepared = full::prepare(silo, objects, carried, loose, packs, opts, progress)?;
    execute::execute(silo, prepared, opts, progress)
}

/// The chunking of a repack with `opts`.
pub(crate) fn chunk_params(opts: &Options) -> trees_delta::chunk::Params {
    trees_delta::chunk::Params {
        tar_aware: opts.tar_aware,
        ..trees_delta::chunk::Params::default()
    }
}

/// Removes loose objects (a gc's unreachable ones); returns how many.
pub(crate) fn remove_loose(silo: &Silo, ids: &[trees_pack::ObjectId]) -> Result<u64, Error> {
    Ok(write::remove_replaced(silo, &[], ids, &[])?.loose_removed)
}

/// Repacks `silo`: plans (incrementally when there are packs, unless
/// `opts.full`), then carries the plan out, or with `opts.dry_run` returns
/// it in [`Outcome::plan`] and changes nothing.
pub fn repack(silo: &Silo, opts: &Options, progress: &dyn Progress) -> Result<Outcome, Error> {
    let start = Instant::now();
    let _lock = silo.storage().lock(opts.wait)?;
    let usage = du::usage(silo)?;
    let before = usage.objects.disk_bytes + usage.pack.disk_bytes;
    let loose = silo.loose_ids()?;
    let packs = silo.pack_indexes()?;
    // Without loose objects an incremental repack has nothing to add: every
    // family keeps its pack.
    let mut outcome = if loose.is_empty() && (packs.len() <= 1 || !opts.full) {
        tracing::info!(
            "nothing to repack: no loose objects and {} pack(s)",
            packs.len()
        );
        Outcome {
            mode: if opts.full { "full" } else { "incremental" },
            plan: opts.dry_run.then(|| plan::Plan {
                mode: if opts.full {
                    plan::Mode::Full
                } else {
                    plan::Mode::Incremental
                },
                ..plan::Plan::default()
            }),
            ..Outcome::default()
        }
    } else {
        let prepared = prepare(silo, opts, &loose, &packs, progress)?;
        if opts.dry_run {
            Outcome {
                mode: prepared.mode.name(),
                objects: prepared.objects.len() as u64,
                raw_bytes: prepared.objects.iter().map(|o| o.data.len()).sum(),
                plan: Some(plan::Plan {
                    new_packs: families::of_plan(
                        &prepared,
                        &prepared.objects.iter().map(|o| o.id).collect::<Vec<_>>(),
                    )
                    .len() as u64,
                    ..prepared.plan()
                }),
                ..Outcome::default()
            }
        } else {
            execute::execute(silo, prepared, opts, progress)?
        }
    };
    outcome.before_bytes = before;
    outcome.after_bytes = if opts.dry_run {
        before
    } else {
        let usage = du::usage(silo)?;
        crate::listing::write(silo)?;
        usage.objects.disk_bytes + usage.pack.disk_bytes
    };
    outcome.seconds = start.elapsed().as_secs_f64();
    Ok(outcome)
}

/// The plan of a repack of `loose` and `packs`: incremental when there are
/// packs to keep (unless `opts.full`, or the packs to roll up share objects),
/// else full.
fn prepare(
    silo: &Silo,
    opts: &Options,
    loose: &[trees_pack::ObjectId],
    packs: &[PathBuf],
    progress: &dyn Progress,
) -> Result<plan::Prepared, Error> {
    // With no pack yet there is nothing to keep: the first repack is full.
    if !opts.full && !packs.is_empty() {
        match incremental::prepare(silo, opts, &chunk_params(opts), loose, packs, progress)? {
            Ok(p) => return Ok(p),
            Err(incremental::Fallback::Duplicates) => {
                tracing::info!("packs to roll up share objects: repacking in full");
            }
        }
    }
    let objects = load::load(silo, loose, packs, None, opts.large(), progress)?;
    let carried = split::records_of(packs)?;
    full::prepare(silo, objects, carried, loose, packs, opts, progress)
}

/// An I/O error at `path`, as a repack error.
pub(crate) fn io_at(path: &std::path::Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}
