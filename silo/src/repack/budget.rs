//! How much a nightly repack may rewrite to keep a family in one pack.
//!
//! A new release is smallest as a delta against its predecessor, but the
//! delta must live in its base's pack: the family's old pack is then copied
//! into a new one with the delta appended, and the old one removed. For a
//! family of a few releases that copy is about one release (its root,
//! whole, plus small deltas); for a long family whose pack is many times
//! one release, it is many times what the night added. The budget bounds
//! it: an old pack is copied only when the family's new objects' loose
//! bytes times `write_factor` cover the copy plus those bytes (with the
//! default 3, a family pack up to twice the new objects). Beyond the
//! budget, the new objects are placed again without that pack: each is
//! then stored whole (or as a delta of another new object) and starts a
//! new pack of its family, which the following nights extend cheaply.
//! Only packs of one family are copied at all (see [`crate::families`]).
//!
//! The price is size: a release stored whole instead of as a delta, once
//! per long family per `--full`. `--write-factor inf` always copies
//! (the smallest silo, the largest nightly writes).

use std::collections::HashSet;

use trees_delta::relate::Candidate;

use super::Options;
use super::families::Sets;
use super::place::{Placed, place};
use super::plan::{Packed, Place};

/// What the budget needs to know of the old packs.
pub(crate) struct OldPacks<'a> {
    /// The packed objects (candidates below `packed.len()` are these).
    pub(crate) packed: &'a [Packed],
    /// Bytes of each old pack.
    pub(crate) bytes: &'a [u64],
    /// Whether each holds one family (only those may be copied).
    pub(crate) one_family: &'a [bool],
}

/// Places the new objects (see [`place`]) so that every old pack a new
/// family hangs from is one family and within the budget; `loose[y]` is
/// the loose bytes new object `y` stands for.
pub(crate) fn place_within(
    candidates: &[Vec<Candidate>],
    sizes: &[u64],
    loose: &[u64],
    old: &OldPacks<'_>,
    opts: &Options,
    depth_of: impl Fn(usize) -> usize,
) -> Placed {
    let first_new = old.packed.len();
    let mut banned: HashSet<usize> = (0..old.bytes.len())
        .filter(|&p| !old.one_family.get(p).copied().unwrap_or(false))
        .collect();
    loop {
        let allowed: Vec<Vec<Candidate>> = candidates
            .iter()
            .map(|cs| {
                cs.iter()
                    .filter(|c| c.other >= first_new || !banned.contains(&old.packed[c.other].pack))
                    .copied()
                    .collect()
            })
            .collect();
        let placed = place(first_new, &allowed, sizes, opts, &depth_of);
        let over = over_budget(&placed.base, loose, old, opts.write_factor);
        if over.is_empty() {
            return placed;
        }
        tracing::info!(
            "{} family pack(s) over the write budget: their new objects start new packs",
            over.len()
        );
        banned.extend(over);
    }
}

/// The old packs whose copy would exceed the budget of the new family
/// that hangs from them.
fn over_budget(
    base: &[Option<Place>],
    loose: &[u64],
    old: &OldPacks<'_>,
    factor: f64,
) -> Vec<usize> {
    let n = base.len();
    let mut sets = Sets::new(n + old.bytes.len());
    for (y, b) in base.iter().enumerate() {
        match *b {
            Some(Place::New(z)) => sets.union(y, z),
            Some(Place::Packed(x)) => sets.union(y, n + old.packed[x].pack),
            None => {}
        }
    }
    let mut new_bytes = vec![0u64; n + old.bytes.len()];
    for (y, &l) in loose.iter().enumerate().take(n) {
        new_bytes[sets.find(y)] += l;
    }
    let mut copy_bytes = vec![0u64; n + old.bytes.len()];
    let mut used: Vec<usize> = base
        .iter()
        .filter_map(|b| match b {
            Some(Place::Packed(x)) => Some(old.packed[*x].pack),
            _ => None,
        })
        .collect();
    used.sort_unstable();
    used.dedup();
    for &p in &used {
        copy_bytes[sets.find(n + p)] += old.bytes[p];
    }
    used.into_iter()
        .filter(|&p| {
            let root = sets.find(n + p);
            let (copy, new) = (copy_bytes[root] as f64, new_bytes[root] as f64);
            copy + new > factor * new
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use trees_pack::ObjectId;

    fn packed(pack: usize) -> Packed {
        Packed {
            id: ObjectId::from_bytes_or_panic(&[0; 20]),
            pack,
            offset: 12,
        }
    }

    #[test]
    fn a_family_pack_within_the_budget_is_copied_and_a_long_one_is_not() {
        // Packed object 0 in pack 0 (300 bytes), 1 in pack 1 (3,000 bytes);
        // new object 2 likes 0, new object 3 likes 1; each stands for 200
        // loose bytes.
        let c = |other, shared| Candidate { other, shared };
        let candidates = vec![vec![c(0, 90)], vec![c(1, 90)]];
        let old = OldPacks {
            packed: &[packed(0), packed(1)],
            bytes: &[300, 3000],
            one_family: &[true, true],
        };
        let opts = Options::default();
        let p = place_within(&candidates, &[1000, 1000], &[200, 200], &old, &opts, |_| 0);
        assert_eq!(p.base, vec![Some(Place::Packed(0)), None]);
        // Without a limit both are copied.
        let opts = Options {
            write_factor: f64::INFINITY,
            ..Options::default()
        };
        let p = place_within(&candidates, &[1000, 1000], &[200, 200], &old, &opts, |_| 0);
        assert_eq!(p.base, vec![Some(Place::Packed(0)), Some(Place::Packed(1))]);
        // A pack of several families is never copied.
        let old = OldPacks {
            one_family: &[false, true],
            ..old
        };
        let p = place_within(&candidates, &[1000, 1000], &[200, 200], &old, &opts, |_| 0);
        assert_eq!(p.base, vec![None, Some(Place::Packed(1))]);
    }
}
