//! Carrying out a plan, full or incremental alike: encode the planned
//! deltas, write a new pack per family (copied packs first, then the new
//! entries) and read each back, publish them with their record tables and
//! fingerprint files, and only then remove the loose objects and packs
//! they replace.

use std::collections::HashSet;

use trees_delta::Fingerprint;
use trees_pack::ObjectId;
use trees_split::table::Record;

use super::families::{self, Group};
use super::load::Object;
use super::plan::{Mode, Place, Prepared};
use super::write::{self, Contents};
use super::{Error, Options, Outcome, chunk_params, encode, fingerprints};
use crate::Silo;
use crate::families::Shape;
use crate::progress::{Progress, Unit};

/// Executes `p`; the caller holds the lock.
pub(crate) fn execute(
    silo: &Silo,
    mut p: Prepared,
    opts: &Options,
    progress: &dyn Progress,
) -> Result<Outcome, Error> {
    if p.writes_nothing() {
        tracing::info!("nothing to pack: only removing what the packs already hold");
        let mut outcome = write::remove_replaced(silo, &[], &p.loose, &p.replaced)?;
        outcome.mode = p.mode.name();
        outcome.split = p.split;
        return Ok(outcome);
    }
    let deltas = encode::encode(silo, &mut p, opts, progress)?;
    // What is written is what `order` lists: a split undone leaves the
    // slots of its other contents out of it (see `super::split`).
    let new = p.order.len();
    let raw_bytes: u64 = p.order.iter().map(|&x| p.objects[x].data.len()).sum();
    let delta_count = p.base.iter().filter(|b| b.is_some()).count() as u64;
    let max_depth = p.depth.iter().copied().max().unwrap_or(0) as u64;
    let depth_sum: usize = p.depth.iter().sum();
    let copied: u64 = p
        .copied
        .iter()
        .map(|&c| u64::from(p.bundles[&c].index.count()))
        .sum();

    // One pack per family (see `super::families`), each written and read
    // back in turn; all are published before anything is removed.
    let ids: Vec<ObjectId> = p.objects.iter().map(|o| o.id).collect();
    let base_id = |b| match b {
        Place::New(z) => ids[z],
        Place::Packed(x) => p.packed[x].id,
    };
    let groups = families::of_plan(&p, &ids);
    progress.stage(
        &format!("writing {} pack(s)", groups.len()),
        3 * (copied + new as u64),
        Unit::Objects,
    );
    let quiet = Substages(progress);
    let mut objects: Vec<Option<Object>> = std::mem::take(&mut p.objects)
        .into_iter()
        .map(Some)
        .collect();
    let mut deltas: Vec<Option<Vec<u8>>> = deltas;
    let mut written = Vec::with_capacity(groups.len());
    for g in &groups {
        let contents = Contents {
            copies: g.copied.iter().map(|&c| &p.bundles[&c]).collect(),
            objects: g.order.iter().filter_map(|&y| objects[y].take()).collect(),
            order: &(0..g.order.len()).collect::<Vec<_>>(),
            bases: g.order.iter().map(|&y| p.base[y].map(base_id)).collect(),
            deltas: g.order.iter().map(|&y| deltas[y].take()).collect(),
        };
        let in_pack: HashSet<ObjectId> = contents
            .objects
            .iter()
            .map(|o| o.id)
            .chain(
                contents
                    .copies
                    .iter()
                    .flat_map(|b| (0..b.index.count()).map(|i| b.index.id(i))),
            )
            .collect();
        let records: Vec<Record> = p
            .records
            .iter()
            .filter(|r| in_pack.contains(&r.recipe))
            .cloned()
            .collect();
        let w = write::write_pack(silo, contents, opts.level, opts.large(), &quiet)?;
        let fp = group_fp(&p, &ids, g, opts, &write::shape(&w, &records)?);
        written.push(write::Install {
            written: w,
            records,
            fp,
        });
    }
    // The old packs' mappings go before they are removed.
    drop(std::mem::take(&mut p.bundles));
    let mut outcome = write::install_all(silo, written, &p.loose, &p.replaced)?;
    outcome.mode = p.mode.name();
    outcome.split = p.split;
    outcome.objects = copied + new as u64;
    outcome.new_objects = new as u64;
    outcome.reused_objects = copied;
    outcome.packs_kept = (p.packs.len() - p.replaced.len()) as u64;
    outcome.raw_bytes = raw_bytes;
    outcome.deltas = delta_count;
    if p.mode == Mode::Full {
        outcome.max_depth = max_depth;
        outcome.mean_depth = if new == 0 {
            0.0
        } else {
            depth_sum as f64 / new as f64
        };
    }
    Ok(outcome)
}

/// The fingerprint file of a group's pack, whose shape is `shape`: the
/// sketches of the objects it copies, and its new objects' own.
fn group_fp(p: &Prepared, ids: &[ObjectId], g: &Group, opts: &Options, shape: &Shape) -> Vec<u8> {
    let mut pairs: Vec<(ObjectId, &Fingerprint)> = Vec::new();
    for &c in &g.copied {
        let b = &p.bundles[&c];
        for id in (0..b.index.count()).map(|i| b.index.id(i)) {
            if let Some(fp) = p.packed_fps.get(&id) {
                pairs.push((id, fp));
            }
        }
    }
    pairs.extend(g.order.iter().map(|&x| (ids[x], &p.fps[x])));
    fingerprints::encode(&chunk_params(opts), &pairs, shape)
}

/// The progress of the packs written one after another, as one stage:
/// their own stages are not announced, their steps add up.
struct Substages<'a>(&'a dyn Progress);

impl Progress for Substages<'_> {
    fn advance(&self, n: u64) {
        self.0.advance(n);
    }
}
