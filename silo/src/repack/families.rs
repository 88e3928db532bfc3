//! Packs by family: which new pack each object of a plan goes to.
//!
//! A family is one connected set of deltas: the releases of one project,
//! the builds of one package. Deltas never cross packs (git reads no delta
//! whose base is in another pack), so a family is the smallest unit a pack
//! can hold, and a pack per family is what lets a nightly repack rewrite
//! only the families it added to: every other pack keeps its name and its
//! bytes, and mirrors, backups and buckets move nothing of it.
//!
//! [`group`] cuts a plan into packs:
//!
//! - the objects linked by a planned delta, or by being parts of one split
//!   record (its contents and recipe live in one pack, beside its table),
//!   are one family, with every old pack that one of them hangs from (an
//!   incremental repack copies that pack into the family's new pack);
//! - a family gets a pack of its own;
//! - lone objects (related to nothing) share one pack: they have no family
//!   a later night could add to, and a pack each would only multiply files.
//!   If one of them later gains a relative, its shared pack is not
//!   rewritten for it: only a pack of one family is ever copied into a
//!   new pack (see [`crate::families`]).

use std::collections::HashMap;

use trees_pack::ObjectId;
use trees_split::table::Record;

use super::plan::{Packed, Place};
pub(crate) use crate::families::Sets;

/// One new pack of a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Group {
    /// Old packs copied into it (indexes into the plan's packs), in order.
    pub(crate) copied: Vec<usize>,
    /// The new objects it holds, in write order (bases first).
    pub(crate) order: Vec<usize>,
}

/// Where each part of a plan lives, for [`group`].
pub(crate) struct Layout<'a> {
    /// Each new object's base.
    pub(crate) base: &'a [Option<Place>],
    /// The new objects to write, bases first.
    pub(crate) order: &'a [usize],
    /// Their ids (indexed like `base`).
    pub(crate) ids: &'a [ObjectId],
    /// The packed objects (incremental) and the number of old packs.
    pub(crate) packed: &'a [Packed],
    pub(crate) packs: usize,
    /// Old packs copied whole into the new packs.
    pub(crate) copied: &'a [usize],
    /// Every split record of the new packs.
    pub(crate) records: &'a [Record],
}

/// The new packs of the plan `p`, whose objects' ids are `ids`.
pub(crate) fn of_plan(p: &super::plan::Prepared, ids: &[ObjectId]) -> Vec<Group> {
    group(&Layout {
        base: &p.base,
        order: &p.order,
        ids,
        packed: &p.packed,
        packs: p.packs.len(),
        copied: &p.copied,
        records: &p.records,
    })
}

/// The new packs of a plan: a family's objects and the old packs it hangs
/// from in one, lone objects in one shared pack (last). Every object of
/// `order` and every pack of `copied` is in exactly one group.
pub(crate) fn group(l: &Layout<'_>) -> Vec<Group> {
    let n = l.base.len();
    let mut sets = Sets::new(n + l.packs);
    for (y, b) in l.base.iter().enumerate() {
        match *b {
            Some(Place::New(z)) => sets.union(y, z),
            Some(Place::Packed(x)) => sets.union(y, n + l.packed[x].pack),
            None => {}
        }
    }
    let new_at: HashMap<ObjectId, usize> = l.order.iter().map(|&y| (l.ids[y], y)).collect();
    let mut packed_at: HashMap<ObjectId, usize> = HashMap::new();
    for p in l.packed.iter().filter(|p| l.copied.contains(&p.pack)) {
        packed_at.entry(p.id).or_insert(n + p.pack);
    }
    for r in l.records {
        let mut parts = r.contents.iter().chain([&r.recipe]).filter_map(|id| {
            new_at
                .get(id)
                .copied()
                .or_else(|| packed_at.get(id).copied())
        });
        if let Some(first) = parts.next() {
            for other in parts {
                sets.union(first, other);
            }
        }
    }
    let mut by_root: HashMap<usize, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut size: Vec<usize> = Vec::new();
    let mut slot = |root: usize, groups: &mut Vec<Group>| {
        *by_root.entry(root).or_insert_with(|| {
            groups.push(Group::default());
            size.push(0);
            groups.len() - 1
        })
    };
    for &p in l.copied {
        let g = slot(sets.find(n + p), &mut groups);
        groups[g].copied.push(p);
    }
    for &y in l.order {
        let g = slot(sets.find(y), &mut groups);
        groups[g].order.push(y);
    }
    // Lone objects: one object, no old pack.
    let (lone, mut families): (Vec<Group>, Vec<Group>) = groups
        .into_iter()
        .partition(|g| g.copied.is_empty() && g.order.len() == 1);
    if !lone.is_empty() {
        families.push(Group {
            copied: Vec::new(),
            order: lone.into_iter().flat_map(|g| g.order).collect(),
        });
    }
    families
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ObjectId {
        ObjectId::from_bytes_or_panic(&[n; 20])
    }

    #[test]
    fn families_get_a_pack_each_and_lone_objects_share_one() {
        // 0 <- 1 <- 2 (a family), 3 lone, 4 lone, 5 hangs from packed 0 (pack 1).
        let base = vec![
            None,
            Some(Place::New(0)),
            Some(Place::New(1)),
            None,
            None,
            Some(Place::Packed(0)),
        ];
        let ids: Vec<ObjectId> = (0..6).map(id).collect();
        let packed = vec![Packed {
            id: id(100),
            pack: 1,
            offset: 12,
        }];
        let groups = group(&Layout {
            base: &base,
            order: &[0, 1, 2, 3, 4, 5],
            ids: &ids,
            packed: &packed,
            packs: 2,
            copied: &[1],
            records: &[],
        });
        assert_eq!(
            groups,
            vec![
                Group {
                    copied: vec![1],
                    order: vec![5]
                },
                Group {
                    copied: vec![],
                    order: vec![0, 1, 2]
                },
                Group {
                    copied: vec![],
                    order: vec![3, 4]
                },
            ]
        );
    }

    #[test]
    fn a_split_records_parts_share_a_pack() {
        // T = 0 (lone by content), R = 1 (whole): one record ties them.
        let base = vec![None, None, None];
        let ids: Vec<ObjectId> = (0..3).map(id).collect();
        let record = Record {
            x: id(50),
            contents: vec![id(0)],
            recipe: id(1),
            size: 10,
            format: 1,
        };
        let groups = group(&Layout {
            base: &base,
            order: &[0, 1, 2],
            ids: &ids,
            packed: &[],
            packs: 0,
            copied: &[],
            records: &[record],
        });
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].order, vec![0, 1]);
        assert_eq!(groups[1].order, vec![2]);
    }
}
