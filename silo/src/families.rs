//! The families of a pack: its connected sets of deltas.
//!
//! A family is a tree of related blobs stored as deltas of each other (the
//! releases of one project); a split object's contents and recipe belong
//! to one family too, as they are read together. Deltas never cross packs,
//! so every family lies in one pack. A repack lays packs out by family
//! (see [`crate::repack`]): a nightly copies an old pack into a new one
//! only if the old pack holds a single family, so that it never rewrites
//! a byte of a family it did not add to; `silo du` counts them.
//!
//! Counting reads the entry headers only (type and base), never the data.

use std::collections::HashMap;

use serde::Serialize;
use trees_pack::data::entry::Type;
use trees_pack::{Bundle, ObjectId};
use trees_split::table::{Record, Table};

use crate::store::ReadError;

/// A disjoint-set forest over `0..n`.
pub(crate) struct Sets {
    parent: Vec<usize>,
}

impl Sets {
    pub(crate) fn new(n: usize) -> Sets {
        Sets {
            parent: (0..n).collect(),
        }
    }

    pub(crate) fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    pub(crate) fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra] = rb;
        }
    }
}

/// How a pack's objects fall into families.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Count {
    /// Families of two objects or more.
    pub families: u64,
    /// Objects related to nothing else in their pack.
    pub lone: u64,
}

impl Count {
    /// Whether the pack holds exactly one family (or one object).
    pub fn is_one(&self) -> bool {
        self.families + self.lone == 1
    }
}

impl std::ops::AddAssign for Count {
    fn add_assign(&mut self, o: Count) {
        self.families += o.families;
        self.lone += o.lone;
    }
}

/// A pack's families and each object's chain depth: what a nightly needs
/// to know of an old pack to extend it, kept in its fingerprint file
/// (`crate::repack::fingerprints`) so that the pack itself is not read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    /// Its families.
    pub count: Count,
    /// The delta chain depth of each object (0: stored whole).
    pub depth: HashMap<ObjectId, u32>,
}

/// Counts the families of `bundle`, whose record table is `table`.
pub fn count(bundle: &Bundle, table: Option<&Table>) -> Result<Count, ReadError> {
    Ok(shape(bundle, table.map_or(&[], |t| t.records()))?.count)
}

/// The shape of `bundle`, whose split records are `records`.
pub fn shape(bundle: &Bundle, records: &[Record]) -> Result<Shape, ReadError> {
    let n = bundle.index.count() as usize;
    let open_err = |e: trees_pack::index::file::Error| ReadError::OpenPack(e.into());
    let mut at: HashMap<u64, usize> = HashMap::with_capacity(n);
    let mut offsets = Vec::with_capacity(n);
    for i in 0..bundle.index.count() {
        let off = bundle.index.offset(i).map_err(open_err)?;
        at.insert(off, i as usize);
        offsets.push(off);
    }
    let mut sets = Sets::new(n);
    let mut base_of: Vec<Option<usize>> = vec![None; n];
    for (i, &off) in offsets.iter().enumerate() {
        let id = bundle.index.id(i as u32);
        let h = bundle.pack.header(off).map_err(|e| ReadError::Pack {
            id,
            source: e.into(),
        })?;
        let base = match h.kind {
            Type::Whole(_) => None,
            Type::OfsDelta { distance } => off.checked_sub(distance).and_then(|b| at.get(&b)),
            Type::RefDelta { base } => bundle
                .index
                .lookup(&base)
                .and_then(|j| at.get(&bundle.index.offset(j).ok()?)),
        };
        if let Some(&b) = base {
            sets.union(i, b);
            base_of[i] = Some(b);
        }
    }
    let index_of = |id: &ObjectId| bundle.index.lookup(id).map(|i| i as usize);
    for r in records {
        let mut parts = r.contents.iter().chain([&r.recipe]).filter_map(index_of);
        if let Some(first) = parts.next() {
            for other in parts {
                sets.union(first, other);
            }
        }
    }
    let mut sizes: HashMap<usize, u64> = HashMap::new();
    for i in 0..n {
        *sizes.entry(sets.find(i)).or_default() += 1;
    }
    let depth = depths(&base_of)
        .into_iter()
        .enumerate()
        .map(|(i, d)| (bundle.index.id(i as u32), d))
        .collect();
    Ok(Shape {
        count: Count {
            families: sizes.values().filter(|&&s| s > 1).count() as u64,
            lone: sizes.values().filter(|&&s| s == 1).count() as u64,
        },
        depth,
    })
}

/// The chain depth of each entry, given each one's base. A cycle (only in
/// a hostile pack, which no reader resolves) ends the walk at `u32::MAX`,
/// never in a loop.
fn depths(base_of: &[Option<usize>]) -> Vec<u32> {
    let n = base_of.len();
    let mut depth: Vec<Option<u32>> = vec![None; n];
    let mut path = Vec::new();
    for start in 0..n {
        let mut cur = start;
        // The depth under the last entry pushed; `None`: that one is whole.
        let mut below = loop {
            if let Some(d) = depth[cur] {
                break Some(d);
            }
            if path.len() >= n {
                break Some(u32::MAX);
            }
            path.push(cur);
            match base_of[cur] {
                None => break None,
                Some(b) => cur = b,
            }
        };
        while let Some(i) = path.pop() {
            let d = below.map_or(0, |b| b.saturating_add(1));
            depth[i] = Some(d);
            below = Some(d);
        }
    }
    depth.into_iter().map(|d| d.unwrap_or(0)).collect()
}

/// How a silo's packs are laid out, for `silo du`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Layout {
    /// Packs.
    pub packs: u64,
    /// Families of two objects or more, over all packs (a family
    /// continued in a second pack, past the write budget, counts twice).
    pub families: u64,
    /// Objects related to nothing else in their pack.
    pub lone: u64,
    /// Whether `pack/multi-pack-index` names exactly the packs present
    /// (true with no file when there are fewer than two packs, which need
    /// none).
    pub multi_pack_index: bool,
}

/// The layout of `silo`'s packs.
pub fn layout(silo: &crate::Silo) -> Result<Layout, ReadError> {
    let packs = silo.packs()?;
    let mut count = Count::default();
    for b in packs.iter() {
        count += self::count(b, crate::packs::table_of(b)?.as_ref())?;
    }
    let fresh = crate::multi_index::View::open(&silo.pack_dir(), &packs)
        .is_some_and(|v| v.unnamed().is_empty());
    Ok(Layout {
        packs: packs.len() as u64,
        families: count.families,
        lone: count.lone,
        multi_pack_index: fresh || packs.len() < 2,
    })
}

#[cfg(test)]
mod tests {
    use super::depths;

    #[test]
    fn depths_follow_chains_in_any_order_and_a_cycle_ends() {
        // 0 whole; 2 on 0; 1 on 2; 3 whole.
        assert_eq!(depths(&[None, Some(2), Some(0), None]), [0, 2, 1, 0]);
        let cyc = depths(&[Some(1), Some(0)]);
        assert!(cyc.iter().all(|&d| d >= u32::MAX - 2), "{cyc:?}");
    }
}
