//! The nightly repack: new blobs packed against the old, old packs kept.
//!
//! A full repack reads, relates and re-encodes every object; after a night
//! that added five releases to a silo of five hundred, nearly all of that
//! work would give the same answer again. The incremental repack:
//!
//! 1. fingerprints only the new (loose) objects; the packed objects'
//!    sketches come from the `.fp` file beside their pack
//!    ([`super::fingerprints`]), or are made once if it is missing;
//! 2. relates the new objects' sketches to every sketch
//!    ([`relate::relate_some`]),
//!    and joins them into the existing forest: every packed object is
//!    already placed, so they count as one tree, and each new tree hangs
//!    from at most one packed base, whose chain depth it extends;
//! 3. rolls up packs like `git repack --geometric=2`: taken smallest first,
//!    a pack is rolled up while it is less than twice everything rolled up
//!    so far; a pack that holds a base of a new delta is rolled up too, as
//!    a pack on disk must hold the bases of its deltas (git reads no other);
//! 4. writes one new pack: the rolled-up packs' entries copied verbatim,
//!    each pack's in its own order so OFS_DELTA distances stay valid, each
//!    checked against the CRC32 its idx records (git's pack reuse), then the
//!    new objects, deltas against copied or new bases;
//! 5. reads every new object back through the new pack and checks its id,
//!    then installs the pack and removes what it replaces, as a full
//!    repack does.
//!
//! The cost is the new objects' work plus a copy of the rolled-up bytes.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::BufWriter;
use std::path::PathBuf;

use rayon::prelude::*;
use trees_delta::chunk::Params;
use trees_delta::forest::Root;
use trees_delta::{Fingerprint, relate};
use trees_pack::data::write::{Base, Entry};
use trees_pack::id::{Kind, hash_object};
use trees_pack::{Bundle, ObjectId, data, index};

use super::spill::{self, Data};
use super::write::Written;
use super::{Error, Options, Outcome, fingerprints, load};
use crate::Silo;
use crate::progress::{Progress, Unit};
use crate::store::ReadError;

/// Entries longer than this are copied by reads, not through the mapping.
const COPY_MAPPED_UP_TO: u64 = 16 << 20;

/// Objects smaller than this are stored whole (as in a full repack).
const MIN_DELTA_TARGET: usize = 64;

/// One packed object, as the incremental repack sees it.
struct Packed {
    id: ObjectId,
    pack: usize,
    offset: u64,
}

/// Why the incremental repack hands over to a full one.
pub(crate) enum Fallback {
    /// Two packs that would be rolled up hold the same object.
    Duplicates,
}

/// Repacks incrementally; `Err(Fallback)` inside `Ok` asks for a full repack.
pub(crate) fn repack(
    silo: &Silo,
    opts: &Options,
    params: &Params,
    loose: &[ObjectId],
    packs: &[PathBuf],
    progress: &dyn Progress,
) -> Result<Result<Outcome, Fallback>, Error> {
    let bundles: Vec<Bundle> = packs
        .iter()
        .map(|p| Bundle::open(p).map_err(ReadError::OpenPack))
        .collect::<Result<_, _>>()?;
    let mut packed: Vec<Packed> = Vec::new();
    let mut where_packed: HashMap<ObjectId, usize> = HashMap::new();
    for (p, b) in bundles.iter().enumerate() {
        for i in 0..b.index.count() {
            let e = b
                .index
                .entry(i)
                .map_err(|e| ReadError::OpenPack(e.into()))?;
            where_packed.entry(e.id).or_insert(packed.len());
            packed.push(Packed {
                id: e.id,
                pack: p,
                offset: e.offset,
            });
        }
    }
    // Loose copies of packed objects (or of objects a pack stores split)
    // are only removed.
    let split_x: HashSet<ObjectId> = super::split::records_of(packs)?
        .iter()
        .map(|r| r.x)
        .collect();
    let new_ids: Vec<ObjectId> = loose
        .iter()
        .filter(|id| !where_packed.contains_key(*id) && !split_x.contains(*id))
        .copied()
        .collect();
    let new = load::load(silo, &new_ids, &[], None, opts.large(), progress)?;
    let (mut new, mut splitting) = super::split::split_objects(
        silo,
        new,
        Vec::new(),
        &|id| where_packed.contains_key(id),
        opts.memory,
        opts.large(),
        progress,
    )?;

    // Fingerprints: packed ones from their .fp files, new ones made now.
    let mut fp_of: HashMap<ObjectId, Fingerprint> = HashMap::new();
    for (p, idx) in packs.iter().enumerate() {
        match fingerprints::read(idx, params) {
            Some(m) if bundle_ids(&bundles[p]).all(|id| m.contains_key(&id)) => fp_of.extend(m),
            _ => {
                tracing::info!("fingerprinting {} (no usable .fp file)", idx.display());
                let objs = load::load(
                    silo,
                    &[],
                    std::slice::from_ref(idx),
                    None,
                    opts.large(),
                    progress,
                )?;
                let fps = fingerprint_all(&objs, params, progress)?;
                let pairs: Vec<(ObjectId, &Fingerprint)> =
                    objs.iter().map(|o| o.id).zip(fps.iter()).collect();
                // Written now, so that the next run finds it even if this one fails.
                write_fp(silo, idx, params, &pairs)?;
                fp_of.extend(
                    objs.iter()
                        .map(|o| o.id)
                        .zip(fps.iter().map(fingerprints::sketch)),
                );
            }
        }
    }
    let mut new_fps = fingerprint_all(&new, params, progress)?;

    // Relate the new objects (indexes packed.len()..) to everything.
    progress.stage("relating", new.len() as u64, Unit::Objects);
    let mut all: Vec<Fingerprint> = packed
        .iter()
        .map(|p| fp_of.get(&p.id).cloned().unwrap_or_default())
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
    add_related(
        &mut candidates,
        &all,
        first_new,
        &packed,
        &new,
        &opts.related,
    );
    progress.advance(new.len() as u64);

    // Place the new objects.
    let sizes: Vec<u64> = new.iter().map(|o| o.data.len()).collect();
    let mut placed = place(first_new, &candidates, &sizes, opts, |x| {
        let p = &packed[x];
        bundles[p.pack].depth_at(p.offset).unwrap_or(usize::MAX)
    });

    // Split gzip files whose content relates to nothing are stored whole
    // (see `super::split`); their recipes are appended, stored whole.
    let lone = super::split::lone(
        new.len(),
        |y| placed.base[y].is_some(),
        placed.base.iter().flatten().filter_map(|b| match b {
            Place::New(y) => Some(*y),
            Place::Packed(_) => None,
        }),
    );
    splitting.settle(&mut new, &lone, &mut new_fps, params)?;
    let split_stats = splitting.stats.clone();
    let (recipes, mut records) = splitting.finish(&mut new, &mut new_fps, params)?;
    for r in recipes {
        placed.base.push(None);
        placed.order.push(r);
    }

    // Which packs to roll up.
    let pack_bytes: Vec<u64> = packs
        .iter()
        .map(|p| std::fs::metadata(p.with_extension("pack")).map_or(0, |m| m.len()))
        .collect();
    let mut forced: HashSet<usize> = placed
        .base
        .iter()
        .filter_map(|b| match b {
            Some(Place::Packed(x)) => Some(packed[*x].pack),
            _ => None,
        })
        .collect();
    // A record and its T and R live in one pack: a new record whose T (or
    // R) is already packed rolls that pack up.
    for r in &records {
        for part in [r.content, r.recipe] {
            if let Some(&x) = where_packed.get(&part) {
                forced.insert(packed[x].pack);
            }
        }
    }
    let new_bytes: u64 = new_ids
        .iter()
        .map(|id| std::fs::metadata(silo.loose_path(id)).map_or(0, |m| m.len()))
        .sum();
    let rolled = geometric(&pack_bytes, &forced, new_bytes);
    if new.is_empty() && rolled.len() <= 1 {
        tracing::info!("nothing to repack: the packs already form a geometric progression");
        return Ok(Ok(super::write::remove_replaced(silo, None, loose, &[])?));
    }
    let mut seen = HashSet::new();
    for &p in &rolled {
        if !bundle_ids(&bundles[p]).all(|id| seen.insert(id)) {
            return Ok(Err(Fallback::Duplicates));
        }
    }

    // Encode the new deltas.
    let total: u64 = sizes.iter().sum();
    progress.stage("encoding deltas", total, Unit::Bytes);
    // A packed base's full fingerprint is made again from its bytes.
    let base_data = |b: &Place| -> Result<(Data, std::borrow::Cow<'_, Fingerprint>), Error> {
        Ok(match b {
            Place::New(y) => (
                new[*y].data.clone(),
                std::borrow::Cow::Borrowed(&new_fps[*y]),
            ),
            Place::Packed(x) => {
                let p = &packed[*x];
                let b = &bundles[p.pack];
                let pack_err = |source| ReadError::Pack { id: p.id, source };
                let data = if b.object_size_at(p.offset).map_err(pack_err)? > opts.large() {
                    // Too large to hold: streamed into tmp/ (checked against
                    // its id on the way) and used a window at a time.
                    Data::Spilled(std::sync::Arc::new(spill::from_pack(
                        silo, b, p.offset, &p.id,
                    )?))
                } else {
                    Data::Mem(b.read_at(p.offset).map_err(pack_err)?.data)
                };
                let fp = data
                    .fingerprint(params)
                    .map_err(|e| Error::Large(format!("cannot fingerprint {}: {e}", p.id)))?;
                (data, std::borrow::Cow::Owned(fp))
            }
        })
    };
    // None: a whole spilled object, compressed as it streams into the pack.
    let entries: Vec<Option<Entry>> = placed
        .order
        .par_iter()
        .map(|&y| {
            let o = &new[y];
            let whole = || match &o.data {
                Data::Mem(v) => Some(Entry::whole(o.id, Kind::Blob, v, opts.level)),
                Data::Spilled(_) => None,
            };
            let e = match &placed.base[y] {
                Some(b) if o.data.len() >= MIN_DELTA_TARGET as u64 => {
                    let (bd, bfp) = base_data(b)?;
                    let limit = usize::try_from(o.data.len() / 2 - 20).unwrap_or(usize::MAX);
                    match spill::delta(&bd, &bfp, &o.data, &new_fps[y], limit)? {
                        Some(d) => {
                            let base_id = match b {
                                Place::New(z) => new[*z].id,
                                Place::Packed(x) => packed[*x].id,
                            };
                            Some(Entry::delta(o.id, Base::Ofs(base_id), &d, opts.level))
                        }
                        None => whole(),
                    }
                }
                _ => whole(),
            };
            progress.advance(o.data.len());
            Ok(e)
        })
        .collect::<Result<_, Error>>()?;
    let deltas = entries
        .iter()
        .flatten()
        .filter(|e| !matches!(e.base, Base::None(_)))
        .count() as u64;

    // Write: rolled-up packs verbatim, then the new entries.
    let reused: usize = rolled
        .iter()
        .map(|&p| bundles[p].index.count() as usize)
        .sum();
    let count = reused + entries.len();
    let count32 = u32::try_from(count).map_err(|_| Error::TooMany(count))?;
    let tmp = silo.tmp_dir();
    let mut pack_file = silo.temp_file(".pack").map_err(super::io_at(&tmp))?;
    let pack_path = pack_file.path().to_owned();
    progress.stage("writing", count as u64, Unit::Objects);
    let mut w = data::Writer::new(
        BufWriter::with_capacity(1 << 20, pack_file.as_file_mut()),
        count32,
    )?;
    for &p in &rolled {
        let b = &bundles[p];
        let mut es = (0..b.index.count())
            .map(|i| b.index.entry(i))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ReadError::OpenPack(e.into()))?;
        es.sort_unstable_by_key(|e| e.offset);
        for (k, e) in es.iter().enumerate() {
            let end = es.get(k + 1).map_or(b.pack.entries_end(), |n| n.offset);
            let pack_err = |source| ReadError::Pack { id: e.id, source };
            let len = end.checked_sub(e.offset).ok_or_else(|| {
                pack_err(trees_pack::bundle::Error::Pack(
                    trees_pack::data::file::Error::BadOffset {
                        path: b.pack.path().to_owned(),
                        offset: e.offset,
                    },
                ))
            })?;
            if len > COPY_MAPPED_UP_TO {
                // Streamed: the old pack's pages stay out of the resident set.
                let mut r = b.range_reader(e.offset, end).map_err(pack_err)?;
                w.copy_streamed(e.id, &mut r, len, e.crc32)?;
            } else {
                let raw = b
                    .pack
                    .bytes(e.offset, end)
                    .map_err(|source| pack_err(source.into()))?;
                w.copy_raw(e.id, raw, e.crc32)?;
            }
            progress.advance(1);
        }
    }
    for (e, &y) in entries.iter().zip(&placed.order) {
        match e {
            Some(e) => w.write(e)?,
            None => spill::write_whole(&mut w, new[y].id, &new[y].data, opts.level)?,
        };
        progress.advance(1);
    }
    drop(entries);
    let data::write::Outcome {
        checksum,
        entries: mut idx_entries,
        out: sink,
        ..
    } = w.finish()?;
    drop(sink);
    pack_file
        .as_file()
        .sync_all()
        .map_err(super::io_at(&pack_path))?;
    let mut idx_file = silo.temp_file(".idx").map_err(super::io_at(&tmp))?;
    let idx_path = idx_file.path().to_owned();
    index::write(
        &mut idx_entries,
        &checksum,
        BufWriter::new(idx_file.as_file_mut()),
    )?;
    idx_file
        .as_file()
        .sync_all()
        .map_err(super::io_at(&idx_path))?;

    // Read back: copied entries were checked by CRC32 on the way; every new
    // object is rebuilt through the new pack and hashed.
    progress.stage("checking the new pack", new.len() as u64, Unit::Objects);
    let read_back = |problem: String| Error::ReadBack {
        path: pack_path.clone(),
        problems: vec![problem],
    };
    let bundle = Bundle::open_pair(&idx_path, &pack_path).map_err(|e| read_back(e.to_string()))?;
    let tmp = silo.tmp_dir();
    for o in &new {
        let missing = || read_back(format!("object {} is missing from the new pack", o.id));
        let actual = if let Data::Spilled(_) = o.data {
            let offset = bundle
                .find(&o.id)
                .map_err(|e| read_back(format!("object {}: {e}", o.id)))?
                .ok_or_else(missing)?;
            bundle.hash_streamed(offset, &tmp).ok()
        } else {
            let got = bundle
                .read(&o.id)
                .map_err(|e| read_back(format!("object {}: {e}", o.id)))?
                .ok_or_else(missing)?;
            hash_object(got.kind, &got.data).ok()
        };
        if actual != Some(o.id) {
            return Err(read_back(format!("object {} reads back wrong", o.id)));
        }
        progress.advance(1);
    }
    for &p in &rolled {
        if let Some(id) = bundle_ids(&bundles[p]).find(|id| bundle.index.lookup(id).is_none()) {
            return Err(read_back(format!(
                "object {id} is missing from the new pack"
            )));
        }
    }
    drop(bundle);

    // Fingerprints of everything in the new pack, then install.
    let mut pairs: Vec<(ObjectId, &Fingerprint)> = Vec::with_capacity(count);
    for &p in &rolled {
        for id in bundle_ids(&bundles[p]) {
            if let Some(fp) = fp_of.get(&id) {
                pairs.push((id, fp));
            }
        }
    }
    pairs.extend(new.iter().map(|o| o.id).zip(new_fps.iter()));
    let fp_bytes = fingerprints::encode(params, &pairs);
    let raw_bytes = sizes.iter().sum();
    let old: Vec<PathBuf> = rolled.iter().map(|&p| packs[p].clone()).collect();
    records.extend(super::split::records_of(&old)?);
    drop(bundles);
    let written = Written {
        pack: pack_file,
        idx: idx_file,
        checksum,
    };
    let mut outcome =
        super::write::install_with_fp(silo, written, &records, loose, &old, &fp_bytes)?;
    outcome.split = split_stats;
    outcome.objects = count as u64;
    outcome.new_objects = new.len() as u64;
    outcome.reused_objects = reused as u64;
    outcome.packs_kept = (packs.len() - rolled.len()) as u64;
    outcome.raw_bytes = raw_bytes;
    outcome.deltas = deltas;
    Ok(Ok(outcome))
}

/// `related` hints that name a new object join its candidates, scored by
/// bytes shared (at least 1), as in a full repack.
fn add_related(
    candidates: &mut [Vec<relate::Candidate>],
    all: &[Fingerprint],
    first_new: usize,
    packed: &[Packed],
    new: &[load::Object],
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

fn bundle_ids(b: &Bundle) -> impl Iterator<Item = ObjectId> + '_ {
    (0..b.index.count()).map(|i| b.index.id(i))
}

pub(crate) fn fingerprint_all(
    objects: &[load::Object],
    params: &Params,
    progress: &dyn Progress,
) -> Result<Vec<Fingerprint>, Error> {
    let total: u64 = objects.iter().map(|o| o.data.len()).sum();
    progress.stage("fingerprinting", total, Unit::Bytes);
    objects
        .par_iter()
        .map(|o| {
            let fp = o
                .data
                .fingerprint(params)
                .map_err(|e| Error::Large(format!("cannot fingerprint {}: {e}", o.id)))?;
            progress.advance(o.data.len());
            Ok(fp)
        })
        .collect()
}

/// Writes the `.fp` file of the pack `idx` (tmp, then rename).
pub(crate) fn write_fp(
    silo: &Silo,
    idx: &std::path::Path,
    params: &Params,
    pairs: &[(ObjectId, &Fingerprint)],
) -> Result<(), Error> {
    super::write::write_fp_bytes(silo, idx, &fingerprints::encode(params, pairs))
}

/// A new object's base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// A packed object (index into the packed list).
    Packed(usize),
    /// Another new object.
    New(usize),
}

/// Bases of the new objects, and an order with bases first.
struct Placed {
    base: Vec<Option<Place>>,
    order: Vec<usize>,
}

/// Joins the new objects (candidates indexed from `first_new`) to the
/// existing forest: Kruskal's algorithm over their edges, with every packed
/// object in one tree from the start, so that each new tree attaches to at
/// most one packed base. `depth_of` gives a packed object's chain depth.
fn place(
    first_new: usize,
    candidates: &[Vec<relate::Candidate>],
    sizes: &[u64],
    opts: &Options,
    depth_of: impl Fn(usize) -> usize,
) -> Placed {
    let n = sizes.len();
    // Nodes: 0 = every packed object; 1 + y = new object y.
    let mut uf: Vec<usize> = (0..=n).collect();
    fn find(uf: &mut [usize], mut x: usize) -> usize {
        while uf[x] != x {
            uf[x] = uf[uf[x]];
            x = uf[x];
        }
        x
    }
    let mut edges: Vec<(u64, usize, usize)> = Vec::new();
    for (y, cands) in candidates.iter().enumerate() {
        for c in cands {
            edges.push((c.shared, y + first_new, c.other));
        }
    }
    edges.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let node = |g: usize| if g < first_new { 0 } else { 1 + g - first_new };
    // New object -> its neighbours (new ones as new indexes, packed as Packed).
    let mut adj: Vec<Vec<Place>> = vec![Vec::new(); n];
    let mut hang: Vec<(usize, usize)> = Vec::new(); // (new y, packed x)
    for (_, a, b) in edges {
        let (ra, rb) = (find(&mut uf, node(a)), find(&mut uf, node(b)));
        if ra == rb {
            continue;
        }
        uf[ra] = rb;
        let y = a - first_new;
        if b < first_new {
            hang.push((y, b));
        } else {
            let z = b - first_new;
            adj[y].push(Place::New(z));
            adj[z].push(Place::New(y));
        }
    }
    let mut base: Vec<Option<Place>> = vec![None; n];
    let mut depth = vec![0usize; n];
    let mut seen = vec![false; n];
    let mut order = Vec::with_capacity(n);
    let mut queue = VecDeque::new();
    for (y, x) in hang {
        let d = depth_of(x).saturating_add(1);
        if d <= opts.max_depth {
            base[y] = Some(Place::Packed(x));
            depth[y] = d;
        }
        seen[y] = true;
        queue.push_back(y);
    }
    let mut bfs = |queue: &mut VecDeque<usize>,
                   seen: &mut Vec<bool>,
                   base: &mut Vec<Option<Place>>,
                   depth: &mut Vec<usize>| {
        while let Some(y) = queue.pop_front() {
            order.push(y);
            for p in adj[y].clone() {
                let Place::New(z) = p else { continue };
                if !seen[z] {
                    seen[z] = true;
                    if depth[y] < opts.max_depth {
                        base[z] = Some(Place::New(y));
                        depth[z] = depth[y] + 1;
                    }
                    queue.push_back(z);
                }
            }
        }
    };
    bfs(&mut queue, &mut seen, &mut base, &mut depth);
    // Trees of new objects only: rooted as a full repack roots them.
    let mut roots: Vec<usize> = Vec::new();
    let mut comp_root: HashMap<usize, usize> = HashMap::new();
    for y in 0..n {
        if seen[y] {
            continue;
        }
        let r = find(&mut uf, 1 + y);
        let better = |cur: usize| match opts.root {
            Root::Largest => sizes[y] > sizes[cur],
            Root::Smallest => sizes[y] < sizes[cur],
        };
        match comp_root.get(&r) {
            Some(&cur) if !better(cur) => {}
            _ => {
                comp_root.insert(r, y);
            }
        }
    }
    roots.extend(comp_root.values().copied());
    roots.sort_unstable();
    for r in roots {
        seen[r] = true;
        queue.push_back(r);
        bfs(&mut queue, &mut seen, &mut base, &mut depth);
    }
    Placed { base, order }
}

/// The packs to roll up: those `forced` (they hold bases of new deltas),
/// then, smallest first, every pack smaller than twice all that is rolled
/// up so far (`git repack --geometric=2`); the rest already form a
/// geometric progression and are kept.
fn geometric(pack_bytes: &[u64], forced: &HashSet<usize>, new_bytes: u64) -> Vec<usize> {
    let mut rolled: Vec<usize> = forced.iter().copied().collect();
    let mut acc: u64 = new_bytes + rolled.iter().map(|&p| pack_bytes[p]).sum::<u64>();
    let mut rest: Vec<usize> = (0..pack_bytes.len())
        .filter(|p| !forced.contains(p))
        .collect();
    rest.sort_unstable_by_key(|&p| (pack_bytes[p], p));
    for p in rest {
        if acc == 0 || pack_bytes[p] < acc.saturating_mul(2) {
            acc += pack_bytes[p];
            rolled.push(p);
        } else {
            break;
        }
    }
    rolled.sort_unstable();
    rolled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometric_keeps_a_progression_and_rolls_up_the_small() {
        let none = HashSet::new();
        // 100, 40, 10 and new 3: 10 < 6? no: all kept.
        assert_eq!(geometric(&[100, 40, 10], &none, 3), Vec::<usize>::new());
        // 5 < 2 x 3: rolled; then 10 < 16: rolled; 40 < 36? no.
        assert_eq!(geometric(&[100, 40, 10, 5], &none, 3), vec![2, 3]);
        // With nothing new, the smallest two roll up if they are close.
        assert_eq!(geometric(&[100, 9, 10], &none, 0), vec![1, 2]);
        // A forced pack brings the smaller ones with it.
        let forced = HashSet::from([0]);
        assert_eq!(geometric(&[100, 40, 10], &forced, 3), vec![0, 1, 2]);
    }

    #[test]
    fn new_objects_hang_from_one_packed_base_and_chain_on() {
        // Packed 0..3; new 3 (=y0), 4 (=y1): y0 likes packed 2, y1 likes y0.
        let c = |other, shared| relate::Candidate { other, shared };
        let candidates = vec![vec![c(2, 90), c(1, 80), c(4, 70)], vec![c(3, 70), c(2, 60)]];
        let opts = Options::default();
        let p = place(3, &candidates, &[1000, 1000], &opts, |_| 0);
        assert_eq!(p.base, vec![Some(Place::Packed(2)), Some(Place::New(0))]);
        assert_eq!(p.order, vec![0, 1]);
        // A packed base at the depth limit: stored whole, its follower chains on.
        let p = place(3, &candidates, &[1000, 1000], &opts, |_| opts.max_depth);
        assert_eq!(p.base, vec![None, Some(Place::New(0))]);
    }
}
