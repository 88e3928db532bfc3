//! A repack's plan: what the full ([`super::full`]) or incremental
//! ([`super::incremental`]) planner decided, before anything is encoded or
//! written. [`Plan`] is what `--dry-run` prints; [`Prepared`] is the same
//! decision with what [`super::execute`] needs to carry it out, so that the
//! plan printed is the plan run.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;
use trees_delta::Fingerprint;
use trees_pack::{Bundle, ObjectId};
use trees_split::table::Record;

use super::load::Object;
use super::split;

/// Full or incremental.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Every object read, related and re-encoded.
    #[default]
    Full,
    /// New objects packed against the packed ones; old packs kept or copied.
    Incremental,
}

impl Mode {
    /// `full` or `incremental`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Incremental => "incremental",
        }
    }
}

/// How one object is to be stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The object.
    #[serde(with = "trees_pack::id::hex")]
    pub id: ObjectId,
    /// Its size.
    pub size: u64,
    /// Its delta base, if it is to be a delta.
    #[serde(with = "trees_pack::id::hex::option")]
    pub base: Option<ObjectId>,
    /// Whether that base is already packed (incremental: copied with its pack).
    pub base_packed: bool,
    /// Its chain depth.
    pub depth: usize,
    /// Bytes of it that the base has too (by chunks).
    pub shared: u64,
    /// Estimated size of its entry before compression: the object if whole,
    /// else the bytes the base lacks.
    pub estimated: u64,
}

/// The plan: the new entries in write order (bases first), and what the
/// new pack copies and replaces.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    /// `full` or `incremental`.
    pub mode: Mode,
    /// The objects to encode, bases before their deltas.
    pub entries: Vec<Entry>,
    /// Total of the estimates.
    pub estimated: u64,
    /// Packs copied verbatim into the new pack, then removed (incremental).
    pub copied_packs: Vec<PathBuf>,
    /// Objects in them.
    pub copied_objects: u64,
    /// Packs left as they are.
    pub kept_packs: Vec<PathBuf>,
    /// Packs re-encoded into the new pack, then removed (full).
    pub replaced_packs: Vec<PathBuf>,
    /// Loose objects removed once the new pack is installed.
    pub loose_removed: u64,
    /// New packs to write: one per family, one for lone objects (filled
    /// in by the caller, see `super::families`).
    pub new_packs: u64,
    /// gzip files to be stored split, and why the others stay whole.
    pub split: split::Stats,
}

/// A new object's base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// A packed object (index into [`Prepared::packed`]).
    Packed(usize),
    /// Another new object.
    New(usize),
}

/// One packed object, as the incremental planner sees it.
pub(crate) struct Packed {
    pub(crate) id: ObjectId,
    pub(crate) pack: usize,
    pub(crate) offset: u64,
}

/// A plan and what executing it needs.
pub(crate) struct Prepared {
    pub(crate) mode: Mode,
    /// The objects to encode (a full repack's every object).
    pub(crate) objects: Vec<Object>,
    /// Their full fingerprints.
    pub(crate) fps: Vec<Fingerprint>,
    /// The base of each, if it is to be a delta.
    pub(crate) base: Vec<Option<Place>>,
    /// The chain depth of each.
    pub(crate) depth: Vec<usize>,
    /// Bytes each shares with its base.
    pub(crate) shared: Vec<u64>,
    /// Write order, bases first.
    pub(crate) order: Vec<usize>,
    /// Every pack of the silo when planning (their idx files).
    pub(crate) packs: Vec<PathBuf>,
    /// The packs copied, open, by their index in `packs` (incremental).
    pub(crate) bundles: HashMap<usize, Bundle>,
    /// Their objects (incremental).
    pub(crate) packed: Vec<Packed>,
    /// Sketches of the packed objects, for the new `.fp` file (incremental).
    pub(crate) packed_fps: HashMap<ObjectId, Fingerprint>,
    /// Packs (indexes into `packs`) copied verbatim into the new pack.
    pub(crate) copied: Vec<usize>,
    /// Packs removed once the new pack is installed.
    pub(crate) replaced: Vec<PathBuf>,
    /// Loose objects removed once the new pack is installed.
    pub(crate) loose: Vec<ObjectId>,
    /// The new pack's split records.
    pub(crate) records: Vec<Record>,
    pub(crate) split: split::Stats,
}

impl Prepared {
    /// The id of a base.
    pub(crate) fn base_id(&self, p: Place) -> ObjectId {
        match p {
            Place::New(y) => self.objects[y].id,
            Place::Packed(x) => self.packed[x].id,
        }
    }

    /// Stores `y` whole (its delta did not pay), lowering the depth of the
    /// new objects that chain on it.
    pub(crate) fn make_whole(&mut self, y: usize) {
        self.base[y] = None;
        // `order` lists bases first, so one pass fixes every depth.
        for &z in &self.order {
            match self.base[z] {
                None => self.depth[z] = 0,
                Some(Place::New(b)) => self.depth[z] = self.depth[b] + 1,
                Some(Place::Packed(_)) => {}
            }
        }
    }

    /// Nothing to write: no object to encode and no pack to copy.
    pub(crate) fn writes_nothing(&self) -> bool {
        self.objects.is_empty() && self.copied.is_empty()
    }

    /// What `--dry-run` prints.
    pub(crate) fn plan(&self) -> Plan {
        let entries: Vec<Entry> = self
            .order
            .iter()
            .map(|&y| {
                let size = self.objects[y].data.len();
                let shared = self.shared[y].min(size);
                Entry {
                    id: self.objects[y].id,
                    size,
                    base: self.base[y].map(|p| self.base_id(p)),
                    base_packed: matches!(self.base[y], Some(Place::Packed(_))),
                    depth: self.depth[y],
                    shared,
                    estimated: size - shared,
                }
            })
            .collect();
        let copied: Vec<PathBuf> = self.copied.iter().map(|&p| self.packs[p].clone()).collect();
        Plan {
            mode: self.mode,
            estimated: entries.iter().map(|e| e.estimated).sum(),
            entries,
            copied_objects: self
                .copied
                .iter()
                .map(|&p| u64::from(self.bundles[&p].index.count()))
                .sum(),
            kept_packs: self
                .packs
                .iter()
                .filter(|p| !self.replaced.contains(p))
                .cloned()
                .collect(),
            replaced_packs: self
                .replaced
                .iter()
                .filter(|p| !copied.contains(p))
                .cloned()
                .collect(),
            copied_packs: copied,
            loose_removed: self.loose.len() as u64,
            new_packs: 0,
            split: self.split.clone(),
        }
    }
}
