//! Planning a repack: fingerprint every object, relate them, and choose
//! each one's base (see `trees_delta`'s stages). The plan is what
//! `--dry-run` prints: which object against which base, and how much of it
//! the base already has.

use rayon::prelude::*;
use serde::Serialize;
use trees_delta::forest::{self, Forest};
use trees_delta::{Fingerprint, relate};

use super::Options;
use super::load::Object;
use crate::progress::{Progress, Unit};

/// How one object is to be stored.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The object.
    pub id: String,
    /// Its size.
    pub size: u64,
    /// Its delta base, if it is to be a delta.
    pub base: Option<String>,
    /// Its chain depth.
    pub depth: usize,
    /// Bytes of it that the base has too (by chunks).
    pub shared: u64,
    /// Estimated size of its entry before compression: the object if whole,
    /// else the bytes the base lacks.
    pub estimated: u64,
}

/// The plan: every object, in write order (bases first).
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The objects, bases before their deltas.
    pub entries: Vec<Entry>,
    /// Total of the estimates.
    pub estimated: u64,
}

/// The plan and what executing it needs.
pub(crate) struct Made {
    pub(crate) plan: Plan,
    pub(crate) forest: Forest,
    pub(crate) fingerprints: Vec<Fingerprint>,
}

pub(crate) fn make(
    objects: &[Object],
    opts: &Options,
    progress: &dyn Progress,
) -> Result<Made, super::Error> {
    let total: u64 = objects.iter().map(|o| o.data.len()).sum();
    progress.stage("fingerprinting", total, Unit::Bytes);
    let params = super::chunk_params(opts);
    let fingerprints: Vec<Fingerprint> = objects
        .par_iter()
        .map(|o| {
            let fp = o
                .data
                .fingerprint(&params)
                .map_err(|e| super::Error::Large(format!("cannot fingerprint {}: {e}", o.id)))?;
            progress.advance(o.data.len());
            Ok(fp)
        })
        .collect::<Result<_, super::Error>>()?;
    progress.stage("relating", objects.len() as u64, Unit::Objects);
    let mut candidates = relate::relate(&fingerprints, &relate::Options::default());
    add_related(&mut candidates, &fingerprints, objects, &opts.related);
    progress.advance(objects.len() as u64);
    let sizes: Vec<u64> = objects.iter().map(|o| o.data.len()).collect();
    let forest = forest::choose(&candidates, &sizes, opts.root, opts.max_depth);
    let entries: Vec<Entry> = forest
        .order
        .iter()
        .map(|&x| {
            let base = forest.base[x];
            let shared = base.map_or(0, |b| {
                candidates[x]
                    .iter()
                    .chain(candidates[b].iter())
                    .find(|c| c.other == b || c.other == x)
                    .map_or(0, |c| c.shared.min(sizes[x]))
            });
            Entry {
                id: objects[x].id.to_string(),
                size: sizes[x],
                base: base.map(|b| objects[b].id.to_string()),
                depth: forest.depth[x],
                shared,
                estimated: sizes[x] - shared,
            }
        })
        .collect();
    let estimated = entries.iter().map(|e| e.estimated).sum();
    Ok(Made {
        plan: Plan { entries, estimated },
        forest,
        fingerprints,
    })
}

/// `related` hints join each other's candidates, scored like any other
/// (at least 1, so that a hint below the relate floor still joins): the
/// forest then takes them only if they beat what content found, and a
/// wrong hint costs size, never correctness.
fn add_related(
    candidates: &mut [Vec<relate::Candidate>],
    fps: &[Fingerprint],
    objects: &[Object],
    related: &[Vec<trees_pack::ObjectId>],
) {
    if related.is_empty() {
        return;
    }
    let at: std::collections::HashMap<trees_pack::ObjectId, usize> =
        objects.iter().enumerate().map(|(i, o)| (o.id, i)).collect();
    for group in related {
        let members: Vec<usize> = group.iter().filter_map(|id| at.get(id).copied()).collect();
        for (i, &a) in members.iter().enumerate() {
            for &b in &members[i + 1..] {
                if a == b || candidates[a].iter().any(|c| c.other == b) {
                    continue;
                }
                let shared = relate::shared(&fps[a], &fps[b]).max(1);
                candidates[a].push(relate::Candidate { other: b, shared });
            }
        }
    }
}
