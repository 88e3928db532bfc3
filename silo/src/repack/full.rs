//! Planning a full repack: fingerprint every object, relate them, and
//! choose each one's base (see `trees_delta`'s stages); gzip files are
//! split first, and a split whose content relates to nothing is undone.

use rayon::prelude::*;
use trees_delta::forest;
use trees_delta::{Fingerprint, relate};
use trees_pack::ObjectId;
use trees_split::table::Record;

use super::load::Object;
use super::plan::{Mode, Place, Prepared};
use super::{Error, Options, chunk_params, split};
use crate::Silo;
use crate::progress::{Progress, Unit};

/// Plans packing `objects` (the loose objects `loose` and every object of
/// `packs`; `carried`: the split records of those packs) into one new pack
/// that replaces them.
pub(crate) fn prepare(
    silo: &Silo,
    objects: Vec<Object>,
    carried: Vec<Record>,
    loose: &[ObjectId],
    packs: &[std::path::PathBuf],
    opts: &Options,
    progress: &dyn Progress,
) -> Result<Prepared, Error> {
    let params = chunk_params(opts);
    let (mut objects, mut splitting) =
        split::split_objects(silo, objects, carried, &|_| false, opts, progress)?;
    let mut fps = fingerprint_all(&objects, &params, progress)?;
    progress.stage("relating", objects.len() as u64, Unit::Objects);
    let mut candidates = relate::relate(&fps, &relate::Options::default());
    add_related(&mut candidates, &fps, &objects, &opts.related);
    add_related(
        &mut candidates,
        &fps,
        &objects,
        &splitting.related_by_name(),
    );
    progress.advance(objects.len() as u64);
    let sizes: Vec<u64> = objects.iter().map(|o| o.data.len()).collect();
    let forest = forest::choose(&candidates, &sizes, opts.root, opts.max_depth);
    let mut shared: Vec<u64> = (0..objects.len())
        .map(|x| {
            forest.base[x].map_or(0, |b| {
                candidates[x]
                    .iter()
                    .chain(candidates[b].iter())
                    .find(|c| c.other == b || c.other == x)
                    .map_or(0, |c| c.shared)
            })
        })
        .collect();
    let lone = split::lone(
        objects.len(),
        |i| forest.base[i].is_some(),
        forest.base.iter().flatten().copied(),
    );
    let dropped = splitting.settle(&mut objects, &lone, &mut fps, &params)?;
    let stats = splitting.stats.clone();
    let done = splitting.finish(&mut objects, &mut fps, &params, opts.max_depth)?;
    let records = done.records;
    let mut base: Vec<Option<Place>> = forest.base.iter().map(|b| b.map(Place::New)).collect();
    let mut depth = forest.depth;
    let mut order = forest.order;
    order.retain(|i| !dropped.contains(i));
    // Recipes last, each after its base (an earlier recipe).
    for (r, b) in done.recipes.zip(done.bases) {
        base.push(b.map(Place::New));
        depth.push(b.map_or(0, |b| depth[b] + 1));
        shared.push(0);
        order.push(r);
    }
    Ok(Prepared {
        mode: Mode::Full,
        objects,
        fps,
        base,
        depth,
        shared,
        order,
        packs: packs.to_vec(),
        bundles: Default::default(),
        packed: Vec::new(),
        packed_fps: Default::default(),
        copied: Vec::new(),
        replaced: packs.to_vec(),
        loose: loose.to_vec(),
        records,
        split: stats,
    })
}

/// The full fingerprint of every object, in parallel.
pub(crate) fn fingerprint_all(
    objects: &[Object],
    params: &trees_delta::chunk::Params,
    progress: &dyn Progress,
) -> Result<Vec<Fingerprint>, Error> {
    let total: u64 = objects.iter().map(|o| o.data.len()).sum();
    progress.stage("fingerprinting", total, Unit::Bytes);
    objects
        .par_iter()
        .map(|o| {
            let fp = o.fingerprint(params)?;
            progress.advance(o.data.len());
            Ok(fp)
        })
        .collect()
}

/// `related` hints join each other's candidates, scored like any other
/// (at least 1, so that a hint below the relate floor still joins): the
/// forest then takes them only if they beat what content found, and a
/// wrong hint costs size, never correctness.
fn add_related(
    candidates: &mut [Vec<relate::Candidate>],
    fps: &[Fingerprint],
    objects: &[Object],
    related: &[Vec<ObjectId>],
) {
    if related.is_empty() {
        return;
    }
    let at: std::collections::HashMap<ObjectId, usize> =
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
