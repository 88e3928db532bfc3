//! The nightly repack: new blobs packed against the old, old packs kept.
//!
//! A full repack reads, relates and re-encodes every object; after a night
//! that added five releases to a silo of five hundred, nearly all of that
//! work would give the same answer again. The incremental repack:
//!
//! 1. fingerprints only the new (loose) objects; the packed objects'
//!    sketches, and each pack's shape (its families, its chain depths),
//!    come from the `.fp` file beside their pack
//!    ([`super::fingerprints`]), or are made once if it is missing: no
//!    byte of a pack is read until step 4, and then only of the packs
//!    copied ([`super::existing`]);
//! 2. relates the new objects' sketches to every sketch
//!    ([`relate::relate_some`]),
//!    and joins them into the existing forest: every packed object is
//!    already placed, so they count as one tree, and each new tree hangs
//!    from at most one packed base, whose chain depth it extends;
//! 3. keeps packs by family ([`super::families`]): a new object may be a
//!    delta of a packed one only if that object's pack holds one family
//!    and copying it stays within the write budget ([`super::budget`]), as
//!    a pack on disk must hold the bases of its deltas (git reads no
//!    other); every other pack is left as it is, byte for byte;
//! 4. writes a new pack per family it added to: the old family pack's
//!    entries copied verbatim, in their own order so OFS_DELTA distances
//!    stay valid, each checked against the CRC32 its idx records (git's
//!    pack reuse), then the new objects, deltas against copied or new
//!    bases; lone new objects share one pack;
//! 5. reads every new object back through its new pack and checks its id,
//!    then installs the packs and removes what they replace, as a full
//!    repack does.
//!
//! The cost is the new objects' work plus a copy of the families they
//! extend, within the budget.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use trees_delta::chunk::Params;
use trees_delta::{Fingerprint, relate};
use trees_pack::ObjectId;

use super::budget::{OldPacks, place_within};
use super::existing::Existing;
use super::full::fingerprint_all;
use super::load::{self, Object};
use super::plan::{Mode, Packed, Place, Prepared};
use super::{Error, Options, fingerprints, split};
use crate::Silo;
use crate::families::Shape;
use crate::progress::{Progress, Unit};

/// Why the incremental repack hands over to a full one.
pub(crate) enum Fallback {
    /// Two packs that would be rolled up hold the same object.
    Duplicates,
}

/// Plans packing the new (loose) objects against the packed ones;
/// `Err(Fallback)` inside `Ok` asks for a full repack.
pub(crate) fn prepare(
    silo: &Silo,
    opts: &Options,
    params: &Params,
    loose: &[ObjectId],
    packs: &[PathBuf],
    progress: &dyn Progress,
) -> Result<Result<Prepared, Fallback>, Error> {
    let mut old = Existing::open(packs)?;
    // Loose copies of packed objects (or of objects a pack stores split)
    // are only removed.
    let packed_records = split::records_of(packs)?;
    let split_x: HashSet<ObjectId> = packed_records.iter().map(|r| r.x).collect();
    let new_ids: Vec<ObjectId> = loose
        .iter()
        .filter(|id| !old.at.contains_key(*id) && !split_x.contains(*id))
        .copied()
        .collect();
    let new = load::load(silo, &new_ids, &[], None, opts.large(), progress)?;
    let (mut new, mut splitting) = split::split_objects(
        silo,
        new,
        Vec::new(),
        &|id| old.at.contains_key(id),
        opts,
        progress,
    )?;
    let packed_fps = packed_sketches(silo, opts, params, &mut old, progress)?;
    let mut new_fps = fingerprint_all(&new, params, progress)?;
    progress.stage("relating", new.len() as u64, Unit::Objects);
    let mut by_name = splitting.related_by_name();
    by_name.extend(splitting.packed_predecessors(silo, &packed_records, opts.memory));
    let candidates = relate_new(&old.packed, &packed_fps, &new, &new_fps, opts, &by_name);
    progress.advance(new.len() as u64);
    let first_new = old.packed.len();

    // Place the new objects: a new family hangs from an old pack only if
    // that pack is one family and copying it stays within the budget.
    let sizes: Vec<u64> = new.iter().map(|o| o.data.len()).collect();
    let mut pack_bytes: Vec<u64> = packs
        .iter()
        .map(|p| std::fs::metadata(p.with_extension("pack")).map_or(0, |m| m.len()))
        .collect();
    // A pack holding a part of a new split (a zip member unchanged since
    // the last release) is copied whatever the budget: a record and its
    // parts share a pack. Its copy is paid, so it costs nothing more as a
    // source of bases.
    for id in splitting.parts() {
        if let Some(&x) = old.at.get(&id) {
            pack_bytes[old.packed[x].pack] = 0;
        }
    }
    let loose_bytes = loose_shares(silo, &new, &splitting);
    // Only the packs holding a candidate base, and small enough to be
    // copied within the budget at all, are looked at: by their shape, kept
    // in their fingerprint files (see `super::existing`).
    let most = opts.write_factor * loose_bytes.iter().sum::<u64>() as f64;
    let mut one_family = vec![false; packs.len()];
    let mut depth: HashMap<usize, usize> = HashMap::new();
    for c in candidates.iter().flatten().filter(|c| c.other < first_new) {
        let p = old.packed[c.other].pack;
        if pack_bytes[p] as f64 > most {
            continue;
        }
        one_family[p] = old.shape(silo, p)?.count.is_one();
        depth.insert(c.other, old.depth(silo, c.other)?);
    }
    let budget = OldPacks {
        packed: &old.packed,
        bytes: &pack_bytes,
        one_family: &one_family,
    };
    let mut placed = place_within(&candidates, &sizes, &loose_bytes, &budget, opts, |x| {
        depth.get(&x).copied().unwrap_or(usize::MAX)
    });

    // Split gzip files whose content relates to nothing are stored whole
    // (see `super::split`); their recipes are appended, stored whole.
    let lone = split::lone(
        new.len(),
        |y| placed.base[y].is_some(),
        placed.base.iter().flatten().filter_map(|b| match b {
            Place::New(y) => Some(*y),
            Place::Packed(_) => None,
        }),
    );
    let dropped = splitting.settle(&mut new, &lone, &mut new_fps, params)?;
    placed.order.retain(|y| !dropped.contains(y));
    let split_stats = splitting.stats.clone();
    let done = splitting.finish(&mut new, &mut new_fps, params, opts.max_depth)?;
    let mut records = done.records;
    let mut shared = shared_with_base(&placed.base, &candidates, first_new);
    // Recipes last, each after its base (an earlier new recipe).
    for (r, b) in done.recipes.zip(done.bases) {
        placed.base.push(b.map(Place::New));
        let d = b.map_or(0, |b| placed.depth[b] + 1);
        placed.depth.push(d);
        placed.order.push(r);
        shared.push(0);
    }

    // The packs to copy: those holding a base of a new delta, or the T or
    // R of a new record (a record and its parts share a pack). No other
    // pack is touched: each family keeps its pack (see `super::families`).
    let mut copied: Vec<usize> = placed
        .base
        .iter()
        .filter_map(|b| match b {
            Some(Place::Packed(x)) => Some(old.packed[*x].pack),
            _ => None,
        })
        .collect();
    for r in &records {
        for part in r.contents.iter().chain([&r.recipe]) {
            if let Some(&x) = old.at.get(part) {
                copied.push(old.packed[x].pack);
            }
        }
    }
    copied.sort_unstable();
    copied.dedup();
    let mut seen = HashSet::new();
    for &p in &copied {
        if !old.ids(p).all(|id| seen.insert(id)) {
            return Ok(Err(Fallback::Duplicates));
        }
    }
    let replaced: Vec<PathBuf> = copied.iter().map(|&p| packs[p].clone()).collect();
    records.extend(split::records_of(&replaced)?);
    // Only now is a byte of an old pack read: those copied, fetched.
    let bundles = old.take(silo, &copied)?;
    Ok(Ok(Prepared {
        mode: Mode::Incremental,
        objects: new,
        fps: new_fps,
        base: placed.base,
        depth: placed.depth,
        shared,
        order: placed.order,
        packs: packs.to_vec(),
        bundles,
        packed: old.packed,
        packed_fps,
        copied,
        replaced,
        loose: loose.to_vec(),
        records,
        split: split_stats,
    }))
}

/// The packed objects' sketches, from the `.fp` file beside each pack, or
/// made now (and written, so that the next run finds them) where it is
/// missing or stale; each pack's shape, where its file has it.
fn packed_sketches(
    silo: &Silo,
    opts: &Options,
    params: &Params,
    old: &mut Existing,
    progress: &dyn Progress,
) -> Result<HashMap<ObjectId, Fingerprint>, Error> {
    let mut fp_of: HashMap<ObjectId, Fingerprint> = HashMap::new();
    for p in 0..old.paths.len() {
        let idx = old.paths[p].clone();
        let ids: Vec<ObjectId> = old.ids(p).collect();
        match fingerprints::read(silo.storage(), silo.relative(&idx), params, &ids) {
            Some(d) if ids.iter().all(|id| d.sketches.contains_key(id)) => {
                old.shapes[p] = d.shape;
                fp_of.extend(d.sketches);
            }
            _ => {
                tracing::info!("fingerprinting {} (no usable .fp file)", idx.display());
                let objs = load::load(
                    silo,
                    &[],
                    std::slice::from_ref(&idx),
                    None,
                    opts.large(),
                    progress,
                )?;
                let fps = fingerprint_all(&objs, params, progress)?;
                let pairs: Vec<(ObjectId, &Fingerprint)> =
                    objs.iter().map(|o| o.id).zip(fps.iter()).collect();
                let shape = old.shape(silo, p)?;
                // Written now, so that the next run finds it even if this one fails.
                write_fp(silo, &idx, params, &pairs, shape)?;
                fp_of.extend(
                    objs.iter()
                        .map(|o| o.id)
                        .zip(fps.iter().map(fingerprints::sketch)),
                );
            }
        }
    }
    Ok(fp_of)
}

/// The loose bytes each new object stands for: its loose file's, or for
/// the contents of a split file, that file's shared by their sizes (the
/// budget's measure of what a night added; a recipe stands for nothing).
fn loose_shares(silo: &Silo, new: &[Object], splitting: &split::Splitting) -> Vec<u64> {
    let loose_len = |id: &ObjectId| std::fs::metadata(silo.loose_path(id)).map_or(0, |m| m.len());
    let mut out: Vec<u64> = new.iter().map(|o| loose_len(&o.id)).collect();
    for (x, slots) in splitting.slots() {
        let total = loose_len(&x);
        let raw: u64 = slots.iter().map(|&s| new[s].data.len()).sum();
        for &s in &slots {
            let share = u128::from(total) * u128::from(new[s].data.len()) / u128::from(raw.max(1));
            out[s] += u64::try_from(share).unwrap_or(u64::MAX);
        }
    }
    out
}

/// Bytes each new object shares with its chosen base, for the plan: its
/// sketches' share, scaled up by the sketch's sampling.
fn shared_with_base(
    base: &[Option<Place>],
    candidates: &[Vec<relate::Candidate>],
    first_new: usize,
) -> Vec<u64> {
    base.iter()
        .enumerate()
        .map(|(y, b)| {
            let found = match *b {
                None => None,
                Some(Place::Packed(x)) => candidates[y].iter().find(|c| c.other == x),
                Some(Place::New(z)) => candidates[y]
                    .iter()
                    .find(|c| c.other == first_new + z)
                    .or_else(|| candidates[z].iter().find(|c| c.other == first_new + y)),
            };
            found.map_or(0, |c| c.shared.saturating_mul(fingerprints::SAMPLE))
        })
        .collect()
}

/// Relates the new objects (indexes `packed.len()..`) to everything by
/// their sketches: each new object's candidates.
fn relate_new(
    packed: &[Packed],
    packed_fps: &HashMap<ObjectId, Fingerprint>,
    new: &[Object],
    new_fps: &[Fingerprint],
    opts: &Options,
    by_name: &[Vec<ObjectId>],
) -> Vec<Vec<relate::Candidate>> {
    let mut all: Vec<Fingerprint> = packed
        .iter()
        .map(|p| packed_fps.get(&p.id).cloned().unwrap_or_default())
        .collect();
    let first_new = all.len();
    all.extend(new_fps.iter().map(fingerprints::sketch));
    let which: Vec<usize> = (first_new..all.len()).collect();
    // Sketches share 1/SAMPLE of the bytes the blobs share: scale the floor.
    let defaults = relate::Options::default();
    let sketched = relate::Options {
        min_share: defaults.min_share * fingerprints::SAMPLE,
        ..defaults
    };
    let mut candidates = relate::relate_some(&all, &which, &sketched);
    add_related(&mut candidates, &all, first_new, packed, new, &opts.related);
    add_related(&mut candidates, &all, first_new, packed, new, by_name);
    candidates
}

/// `related` hints that name a new object join its candidates, scored by
/// bytes shared (at least 1), as in a full repack.
fn add_related(
    candidates: &mut [Vec<relate::Candidate>],
    all: &[Fingerprint],
    first_new: usize,
    packed: &[Packed],
    new: &[Object],
    related: &[Vec<ObjectId>],
) {
    if related.is_empty() {
        return;
    }
    let mut at: HashMap<ObjectId, usize> = HashMap::new();
    for (x, p) in packed.iter().enumerate() {
        at.entry(p.id).or_insert(x);
    }
    for (y, o) in new.iter().enumerate() {
        at.insert(o.id, first_new + y);
    }
    for group in related {
        let members: Vec<usize> = group.iter().filter_map(|id| at.get(id).copied()).collect();
        for &a in members.iter().filter(|&&a| a >= first_new) {
            for &b in &members {
                let cands = &mut candidates[a - first_new];
                if a != b && !cands.iter().any(|c| c.other == b) {
                    let shared = relate::shared(&all[a], &all[b]).max(1);
                    cands.push(relate::Candidate { other: b, shared });
                }
            }
        }
    }
}

/// Writes the `.fp` file of the pack `idx` (tmp, then rename).
pub(crate) fn write_fp(
    silo: &Silo,
    idx: &std::path::Path,
    params: &Params,
    pairs: &[(ObjectId, &Fingerprint)],
    shape: &Shape,
) -> Result<(), Error> {
    super::write::write_fp_bytes(silo, idx, &fingerprints::encode(params, pairs, shape))
}
