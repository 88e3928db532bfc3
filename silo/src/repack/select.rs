//! Choosing a delta base for each object: the first, simple heuristic.
//!
//! Objects are sorted by size, largest first, and each tries the `window`
//! objects before it as bases (git's heuristic: a file usually grows from
//! release to release, so the larger neighbour is a good base, and deleting
//! is cheaper to express than inserting). The smallest delta wins if its
//! base's chain is still shorter than `max_depth`. Because every base comes
//! earlier in this order, writing in this order puts every base first, as
//! OFS_DELTA requires, and no cycle can form.
//!
//! The chunk-based engine (content-defined chunks, a whole-silo index)
//! replaces this search; the plan it produces has the same shape.

use rayon::prelude::*;

use super::load::Object;
use super::{Error, Options};
use crate::progress::{Progress, Unit};

/// Objects smaller than this are stored whole: a delta header and a copy
/// instruction would eat most of the gain (git uses a similar floor).
const MIN_DELTA_TARGET: usize = 64;
/// Alternatives kept per object, for when the best base's chain is full.
const KEEP: usize = 3;

/// A delta candidate: the base (position in `order`) and the delta.
struct Candidate {
    base: usize,
    delta: Vec<u8>,
}

/// How each object is stored.
pub(crate) struct Plan {
    /// Indices into the object list, in write order.
    pub(crate) order: Vec<usize>,
    /// For each position of `order`: the base's position and the delta, or whole.
    pub(crate) choice: Vec<Option<(usize, Vec<u8>)>>,
    /// Chain depth of each position of `order`.
    pub(crate) depths: Vec<usize>,
}

impl Plan {
    pub(crate) fn deltas(&self) -> u64 {
        self.choice.iter().filter(|c| c.is_some()).count() as u64
    }
}

pub(crate) fn choose(
    objects: &[Object],
    opts: &Options,
    progress: &dyn Progress,
) -> Result<Plan, Error> {
    let mut order: Vec<usize> = (0..objects.len()).collect();
    order.sort_unstable_by(|&a, &b| {
        (objects[b].data.len(), objects[a].id).cmp(&(objects[a].data.len(), objects[b].id))
    });
    progress.stage("searching for deltas", order.len() as u64, Unit::Objects);
    let candidates: Vec<Vec<Candidate>> = (0..order.len())
        .into_par_iter()
        .map(|p| {
            let target = &objects[order[p]].data;
            let mut found: Vec<Candidate> = Vec::new();
            if target.len() >= MIN_DELTA_TARGET && opts.max_depth > 0 {
                // git: a delta must be at most half the object to be worth it.
                let mut limit = target.len() / 2 - 20;
                for q in p.saturating_sub(opts.window)..p {
                    let base = &objects[order[q]].data;
                    if base.is_empty() {
                        continue;
                    }
                    if let Some(delta) = trees_delta::Index::new(base).diff(target, limit)? {
                        if found.len() >= KEEP {
                            limit = limit.min(delta.len());
                        }
                        found.push(Candidate { base: q, delta });
                        found.sort_by_key(|c| c.delta.len());
                        found.truncate(KEEP);
                    }
                }
            }
            progress.advance(1);
            Ok(found)
        })
        .collect::<Result<_, Error>>()?;
    let mut depths = vec![0usize; order.len()];
    let mut choice = Vec::with_capacity(order.len());
    for (p, cands) in candidates.into_iter().enumerate() {
        let pick = cands.into_iter().find(|c| depths[c.base] < opts.max_depth);
        choice.push(pick.map(|c| {
            depths[p] = depths[c.base] + 1;
            (c.base, c.delta)
        }));
    }
    Ok(Plan {
        order,
        choice,
        depths,
    })
}
