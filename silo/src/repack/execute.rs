//! Carrying out a plan, full or incremental alike: encode the planned
//! deltas, write the new pack (copied packs first, then the new entries)
//! and read it back, publish it with its record table and fingerprint file,
//! and only then remove the loose objects and packs it replaces.

use trees_delta::Fingerprint;
use trees_pack::ObjectId;

use super::plan::{Mode, Prepared};
use super::write::{self, Contents};
use super::{Error, Options, Outcome, chunk_params, encode, fingerprints};
use crate::Silo;
use crate::progress::Progress;

/// Executes `p`; the caller holds the lock.
pub(crate) fn execute(
    silo: &Silo,
    mut p: Prepared,
    opts: &Options,
    progress: &dyn Progress,
) -> Result<Outcome, Error> {
    if p.writes_nothing() {
        tracing::info!("nothing to pack: only removing what the packs already hold");
        let mut outcome = write::remove_replaced(silo, None, &p.loose, &p.replaced)?;
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
        .map(|&c| u64::from(p.bundles[c].index.count()))
        .sum();

    // The fingerprint file of the new pack: the sketches of the copied
    // objects, and the new objects' own.
    let mut pairs: Vec<(ObjectId, &Fingerprint)> = Vec::with_capacity(copied as usize + new);
    for &c in &p.copied {
        let b = &p.bundles[c];
        for id in (0..b.index.count()).map(|i| b.index.id(i)) {
            if let Some(fp) = p.packed_fps.get(&id) {
                pairs.push((id, fp));
            }
        }
    }
    pairs.extend(p.order.iter().map(|&x| (p.objects[x].id, &p.fps[x])));
    let fp = fingerprints::encode(&chunk_params(opts), &pairs);
    drop(pairs);

    let bases: Vec<Option<ObjectId>> = p.base.iter().map(|b| b.map(|b| p.base_id(b))).collect();
    let written = write::write_pack(
        silo,
        Contents {
            copies: p.copied.iter().map(|&c| &p.bundles[c]).collect(),
            objects: std::mem::take(&mut p.objects),
            order: &p.order,
            bases,
            deltas,
        },
        opts.level,
        opts.large(),
        progress,
    )?;
    // The old packs' mappings go before they are removed.
    drop(std::mem::take(&mut p.bundles));
    let mut outcome =
        write::install_with_fp(silo, written, &p.records, &p.loose, &p.replaced, &fp)?;
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
