//! Where a repack stores a compressed file split: X as its contents
//! T1 ... Tn plus its recipe R (see `trees_split`), with a record
//! X = rebuild(R, T1 ... Tn) in the new pack's table. gzip files (format
//! 1) have one content; an xz or zstd file too; a `.deb` one per member.
//!
//! 1. [`split_objects`] tries every object that starts like a gzip member,
//!    an xz stream, a zstd frame or an `ar` archive: decode and analyse it
//!    once, rebuild X from what would be stored in this process and
//!    compare ids. Only an exact rebuild is used. The contents take X's
//!    place among the objects to pack, so each is fingerprinted, related
//!    and given a base like any blob; R waits aside.
//! 2. After planning, [`Splitting::settle`] judges by family: contents
//!    that are nobody's base and have none (they relate to nothing) are
//!    worth no more than X, so X takes the first one's slot back, stored
//!    whole ("not smaller"), and the others leave the write order. The
//!    slots were roots with no deltas, so the plan stays valid. A zip is
//!    kept split all the same: its members are read one by one.
//! 3. [`Splitting::recipes`] gives the R objects to append (stored whole:
//!    they are small and random) and the records for the table, with those
//!    carried over from the packs being replaced.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;
use trees_delta::Fingerprint;
use trees_delta::chunk::Params;
use trees_pack::ObjectId;
use trees_pack::id::{Hasher, Kind, hash_object};
use trees_split::analyse::{self, Limits, Refusal};
use trees_split::container;

use trees_split::table::Record;

use super::load::Object;
use super::spill::Data;
use super::split_parts::{One, Sink, SinkWriter, Why};
use super::{Error, io_at as io};
use crate::Silo;
use crate::progress::{Progress, Unit};

/// How a repack stored the gzip files it saw, and why.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// Objects stored split by this repack (new records).
    pub split: u64,
    /// Records carried over from the packs replaced.
    pub carried: u64,
    /// Objects stored whole because they are not gzip (or are damaged,
    /// truncated, or have more than 64 KiB after the last member).
    pub not_gzip: u64,
    /// gzip files whose deflate streams preflate-rs cannot re-make (an
    /// encoder it does not model), or whose rebuild was not exact.
    pub preflate_failed: u64,
    /// gzip files that would not make the silo smaller split: their
    /// content relates to nothing, or their recipe is over a quarter of them.
    pub not_smaller: u64,
    /// Files with a deflate block, an xz dictionary or a zstd window larger
    /// than the memory bound allows.
    pub over_memory: u64,
    /// xz and zstd files (and `.deb`s) that no setting of our liblzma or
    /// libzstd re-makes, or whose rebuild was not exact.
    pub not_remade: u64,
    /// Of the files split now, how many by container: gzip, xz, zstd, ar.
    pub by_format: ByFormat,
    /// Bytes of the split gzip files.
    pub gzip_bytes: u64,
    /// Bytes of their contents.
    pub content_bytes: u64,
    /// Bytes of their recipes.
    pub recipe_bytes: u64,
    /// Why each file that looked like gzip was kept whole, by id (at most 100).
    pub reasons: Vec<Reason>,
}

/// Split files by container.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ByFormat {
    /// gzip (format 1).
    pub gzip: u64,
    /// xz (format 2).
    pub xz: u64,
    /// zstd (format 3).
    pub zstd: u64,
    /// `ar`, a `.deb` (format 4).
    pub ar: u64,
    /// zip: a wheel, a `.jar` (format 6).
    pub zip: u64,
}

/// Why one gzip file was stored whole.
#[derive(Debug, Clone, Serialize)]
pub struct Reason {
    /// The file's id.
    #[serde(with = "trees_pack::id::hex")]
    pub id: ObjectId,
    /// Why.
    pub why: String,
}

/// One new split, until it is settled.
struct Pending {
    record: Record,
    x: Object,
    r: Object,
    /// The slot of each content among the objects, if this split put it there.
    t_slots: Vec<Option<usize>>,
    kept: bool,
}

/// Zip recipes looked at as a recipe's base: the last few appended.
const RECIPE_WINDOW: usize = 8;
/// The longest chain of recipe deltas: each read of a zip, and of one
/// member by path, reads its recipe through its chain (over HTTP, a
/// request an entry), so chains stay short.
const MAX_RECIPE_DEPTH: usize = 3;

/// What [`Splitting::finish`] gives.
pub(crate) struct Finished {
    /// The recipes' slots among the objects.
    pub(crate) recipes: std::ops::Range<usize>,
    /// Each recipe's base slot (another recipe of the range), in order.
    pub(crate) bases: Vec<Option<usize>>,
    /// Every record of the new pack.
    pub(crate) records: Vec<Record>,
}

/// The splits of one repack.
pub(crate) struct Splitting {
    pending: Vec<Pending>,
    /// The contents of zip members of one name (versions apart), in the
    /// order their archives came: each member's likely base is the one
    /// before it, as git's delta search prefers a path's previous blob.
    by_name: HashMap<Vec<u8>, Vec<ObjectId>>,
    /// Each zip split now: its members' name keys and contents.
    zips: Vec<Vec<(Vec<u8>, ObjectId)>>,
    /// Recipes already in a pack (not added again).
    packed_recipes: std::collections::HashSet<ObjectId>,
    carried: Vec<Record>,
    pub(crate) stats: Stats,
}

/// Tries to split each object of `objects`; returns the objects to plan
/// (T in place of each split X) and the splits. `carried` are records of
/// the packs being replaced, whose T and R are among `objects`; a T for
/// which `packed` is true is in a pack already and is not added again.
pub(crate) fn split_objects(
    silo: &Silo,
    objects: Vec<Object>,
    carried: Vec<Record>,
    packed: &(dyn Fn(&ObjectId) -> bool + Sync),
    opts: &super::Options,
    progress: &dyn Progress,
) -> Result<(Vec<Object>, Splitting), Error> {
    let (memory, large, formats) = (opts.memory, opts.large(), &opts.split[..]);
    let total: u64 = objects.iter().map(|o| o.data.len()).sum();
    progress.stage("splitting gzip files", total, Unit::Bytes);
    let results: Vec<One> = objects
        .par_iter()
        .map(|o| {
            let r = split_one(silo, o, memory, large, formats);
            progress.advance(o.data.len());
            r
        })
        .collect::<Result<_, Error>>()?;
    let mut stats = Stats {
        carried: carried.len() as u64,
        ..Stats::default()
    };
    // Ids already present: a T that is also an object of its own is not added twice.
    let mut present: std::collections::HashSet<ObjectId> = objects
        .iter()
        .zip(&results)
        .filter(|(_, r)| matches!(r, One::Whole(_)))
        .map(|(o, _)| o.id)
        .collect();
    let mut out = Vec::with_capacity(objects.len());
    let mut pending = Vec::new();
    let mut packed_recipes = std::collections::HashSet::new();
    let mut by_name: HashMap<Vec<u8>, Vec<ObjectId>> = HashMap::new();
    let mut zips = Vec::new();
    for (o, r) in objects.into_iter().zip(results) {
        match r {
            One::Whole(why) => {
                let text = match &why {
                    Why::Refused(Refusal::NotGzip(w)) if w == NOT_GZIP_MAGIC => None,
                    Why::Refused(r) => Some(r.to_string()),
                    Why::NotSmaller(w) => Some(format!("not smaller: {w}")),
                    Why::NotRemade(w) => Some(format!("not re-made: {w}")),
                };
                if let Some(text) = text
                    && stats.reasons.len() < 100
                {
                    stats.reasons.push(Reason {
                        id: o.id,
                        why: text,
                    });
                }
                match why {
                    Why::Refused(Refusal::NotGzip(_)) => stats.not_gzip += 1,
                    Why::Refused(Refusal::Preflate(_)) => stats.preflate_failed += 1,
                    Why::Refused(Refusal::OverMemory(_)) => stats.over_memory += 1,
                    Why::NotSmaller(_) => stats.not_smaller += 1,
                    Why::NotRemade(_) => stats.not_remade += 1,
                }
                out.push(o);
            }
            One::Split {
                ts,
                r,
                record,
                names,
            } => {
                if packed(&r.id) {
                    packed_recipes.insert(r.id);
                }
                if names.len() == ts.len() {
                    let mut members = Vec::with_capacity(names.len());
                    for (t, name) in ts.iter().zip(names) {
                        let key = super::split_names::name_key(&name);
                        let ids = by_name.entry(key.clone()).or_default();
                        if !ids.contains(&t.id) {
                            ids.push(t.id);
                        }
                        members.push((key, t.id));
                    }
                    zips.push(members);
                }
                let t_slots = ts
                    .into_iter()
                    .map(|t| {
                        (!packed(&t.id) && present.insert(t.id)).then(|| {
                            out.push(t);
                            out.len() - 1
                        })
                    })
                    .collect();
                pending.push(Pending {
                    record,
                    x: o,
                    r,
                    t_slots,
                    kept: true,
                });
            }
        }
    }
    Ok((
        out,
        Splitting {
            pending,
            by_name,
            zips,
            packed_recipes,
            carried,
            stats,
        },
    ))
}

/// The records of the tables beside the packs `idxs`.
pub(crate) fn records_of(idxs: &[std::path::PathBuf]) -> Result<Vec<Record>, Error> {
    let mut out = Vec::new();
    for idx in idxs {
        if let Some(t) = crate::packs::read_table(idx)? {
            out.extend_from_slice(t.records());
        }
    }
    Ok(out)
}

const NOT_GZIP_MAGIC: &str = "no gzip magic";
/// Why a file of a format `--split` leaves out is whole.
const NOT_SPLIT: &str = "not asked to split (--split)";

impl Splitting {
    /// Zip members of one name, as `related` groups: each with the two
    /// before it (a window, so that a name in thousands of archives costs
    /// a few candidates each, not a square).
    pub(crate) fn related_by_name(&self) -> Vec<Vec<ObjectId>> {
        let mut out = Vec::new();
        for ids in self.by_name.values().filter(|ids| ids.len() > 1) {
            for i in 1..ids.len() {
                out.push(ids[i.saturating_sub(2)..=i].to_vec());
            }
        }
        out
    }

    /// Every content and recipe id of the splits made now.
    pub(crate) fn parts(&self) -> impl Iterator<Item = ObjectId> + '_ {
        self.pending
            .iter()
            .flat_map(|p| p.record.contents.iter().copied().chain([p.r.id]))
    }

    /// For a nightly: related hints from each zip split now to its
    /// packed predecessor's members of the same names (see
    /// [`super::split_names::packed_predecessors`]).
    pub(crate) fn packed_predecessors(
        &self,
        silo: &Silo,
        records: &[Record],
        limit: u64,
    ) -> Vec<Vec<ObjectId>> {
        super::split_names::packed_predecessors(&self.zips, silo, records, limit)
    }

    /// Gives X back the slot of its first content when all its contents
    /// are lone (`lone[slot]`: they relate to nothing) and no other split
    /// shares them; makes the slot's fingerprint (in `fps`) again. Returns
    /// the slots of X's other contents, which leave the write order.
    pub(crate) fn settle(
        &mut self,
        objects: &mut [Object],
        lone: &[bool],
        fps: &mut [Fingerprint],
        params: &Params,
    ) -> Result<Vec<usize>, Error> {
        let mut owners: std::collections::HashMap<ObjectId, usize> = Default::default();
        for p in &self.pending {
            for c in &p.record.contents {
                *owners.entry(*c).or_default() += 1;
            }
        }
        let mut dropped = Vec::new();
        for p in &mut self.pending {
            // A zip stays split even so: each member is then one object,
            // read by path without the zip (`silo cat ID:PATH`), and the
            // next release's members find theirs.
            let undo = !p.t_slots.is_empty()
                && p.record.format != trees_split::pieces::FORMAT_ZIP
                && p.t_slots.iter().zip(&p.record.contents).all(|(slot, c)| {
                    slot.is_some_and(|s| lone.get(s).copied().unwrap_or(false)) && owners[c] == 1
                });
            if undo {
                let slots: Vec<usize> = p.t_slots.iter().flatten().copied().collect();
                let slot = slots[0];
                objects[slot] = Object {
                    id: p.x.id,
                    data: p.x.data.clone(),
                };
                fps[slot] = fingerprint(&objects[slot], params)?;
                dropped.extend_from_slice(&slots[1..]);
                p.kept = false;
                self.stats.not_smaller += 1;
                if self.stats.reasons.len() < 100 {
                    self.stats.reasons.push(Reason {
                        id: p.x.id,
                        why: "not smaller: its content relates to nothing in the silo".to_owned(),
                    });
                }
            } else {
                self.stats.split += 1;
                let by = &mut self.stats.by_format;
                match p.record.format {
                    trees_split::pieces::FORMAT_XZ => by.xz += 1,
                    trees_split::pieces::FORMAT_ZSTD => by.zstd += 1,
                    trees_split::pieces::FORMAT_AR => by.ar += 1,
                    trees_split::pieces::FORMAT_ZIP => by.zip += 1,
                    _ => by.gzip += 1,
                }
                self.stats.gzip_bytes += p.record.size;
                self.stats.content_bytes += content_len(objects, p);
                self.stats.recipe_bytes += p.r.data.len();
            }
        }
        Ok(dropped)
    }

    /// Each split file and the slots of its contents among the objects
    /// (those this split put there).
    pub(crate) fn slots(&self) -> Vec<(ObjectId, Vec<usize>)> {
        self.pending
            .iter()
            .map(|p| (p.x.id, p.t_slots.iter().flatten().copied().collect()))
            .collect()
    }

    /// Appends the recipes to `objects` (each once, none already among
    /// them) with their fingerprints to `fps`; returns the slots appended
    /// (chains at most `max_depth` long, `--max-depth`),
    /// each one's base (a zip's recipe: the recipe appended before it of
    /// the zip sharing the most members, whose headers and directory are
    /// mostly its own; `None`: stored whole), and every record of the new
    /// pack.
    pub(crate) fn finish(
        self,
        objects: &mut Vec<Object>,
        fps: &mut Vec<Fingerprint>,
        params: &Params,
        max_depth: usize,
    ) -> Result<Finished, Error> {
        let max_depth = max_depth.min(MAX_RECIPE_DEPTH);
        let first = objects.len();
        let mut have: std::collections::HashSet<ObjectId> = objects.iter().map(|o| o.id).collect();
        let mut records = self.carried;
        let mut bases = Vec::new();
        // The zip recipes appended so far: slot, members, chain depth.
        let mut zips: Vec<(usize, std::collections::HashSet<ObjectId>, usize)> = Vec::new();
        for p in self.pending.into_iter().filter(|p| p.kept) {
            if !self.packed_recipes.contains(&p.r.id) && have.insert(p.r.id) {
                let slot = objects.len();
                fps.push(fingerprint(&p.r, params)?);
                objects.push(p.r);
                let mut base = None;
                if p.record.format == trees_split::pieces::FORMAT_ZIP {
                    let members: std::collections::HashSet<ObjectId> =
                        p.record.contents.iter().copied().collect();
                    base = zips
                        .iter()
                        .rev()
                        .take(RECIPE_WINDOW)
                        .filter(|z| z.2 < max_depth)
                        .map(|z| (z.1.intersection(&members).count(), z.0, z.2))
                        .filter(|&(shared, ..)| shared > 0)
                        .max_by_key(|&(shared, slot, _)| (shared, slot))
                        .map(|(_, slot, depth)| (slot, depth));
                    zips.push((slot, members, base.map_or(0, |b| b.1 + 1)));
                }
                bases.push(base.map(|b| b.0));
            }
            records.push(p.record);
        }
        records.sort_unstable_by_key(|r| r.x);
        records.dedup_by_key(|r| r.x);
        Ok(Finished {
            recipes: first..objects.len(),
            bases,
            records,
        })
    }
}

/// Which of `n` slots are lone: no base of their own (`has_base`), and
/// nobody's base (`bases`: the slot of every base in use).
pub(crate) fn lone(
    n: usize,
    has_base: impl Fn(usize) -> bool,
    bases: impl IntoIterator<Item = usize>,
) -> Vec<bool> {
    let mut lone: Vec<bool> = (0..n).map(|i| !has_base(i)).collect();
    for b in bases {
        if let Some(l) = lone.get_mut(b) {
            *l = false;
        }
    }
    lone
}

fn fingerprint(o: &Object, params: &Params) -> Result<Fingerprint, Error> {
    o.fingerprint(params)
}

fn content_len(objects: &[Object], p: &Pending) -> u64 {
    p.record
        .contents
        .iter()
        .filter_map(|c| objects.iter().find(|o| o.id == *c))
        .map(|o| o.data.len())
        .sum()
}

/// The first bytes of `data` (fewer if it is shorter).
fn head(data: &Data) -> std::io::Result<Vec<u8>> {
    let mut head = vec![0u8; 8];
    let mut r = data.reader()?;
    let mut got = 0;
    while got < head.len() {
        match r.read(&mut head[got..])? {
            0 => break,
            n => got += n,
        }
    }
    head.truncate(got);
    Ok(head)
}

/// Splits one object, or says why not.
fn split_one(
    silo: &Silo,
    o: &Object,
    memory: u64,
    large: u64,
    formats: &[u8],
) -> Result<One, Error> {
    let tmp = silo.tmp_dir();
    let head = head(&o.data).map_err(io(&tmp))?;
    let gzip = head.starts_with(&[0x1f, 0x8b, 8]);
    let format = container::sniff(&head).or(gzip.then_some(1));
    if let Some(f) = format
        && !formats.contains(&f)
    {
        return Ok(One::Whole(Why::Refused(Refusal::NotGzip(format!(
            "{NOT_SPLIT} (format {f})"
        )))));
    }
    if format.is_some() && !gzip {
        return super::split_container::split_one(silo, o, memory, large);
    }
    if !gzip {
        return Ok(One::Whole(Why::Refused(Refusal::NotGzip(
            NOT_GZIP_MAGIC.to_owned(),
        ))));
    }
    let mut sink = Sink::Mem(Vec::new());
    let recipe = {
        let mut x = o.data.reader().map_err(io(&tmp))?;
        let mut w = SinkWriter {
            sink: &mut sink,
            silo,
            large,
        };
        match analyse::split(&mut x, &mut w, Limits::for_memory(memory)) {
            Ok(r) => r,
            Err(analyse::Error::Refused(why)) => return Ok(One::Whole(Why::Refused(why))),
            Err(analyse::Error::Io(e)) => return Err(io(&tmp)(e)),
        }
    };
    let bytes = recipe.encode();
    if bytes.len() as u64 * 4 > o.data.len() {
        return Ok(One::Whole(Why::NotSmaller(format!(
            "its recipe ({} bytes) is over a quarter of it",
            bytes.len()
        ))));
    }
    let t = sink.finish(&tmp)?;
    // Rebuild here, from what will be stored, and compare ids.
    let mut check = Hasher::new(Kind::Blob, o.data.len());
    let rebuilt =
        trees_split::rebuild::rebuild(&recipe, &mut t.reader().map_err(io(&tmp))?, &mut check);
    if let Err(e) = rebuilt {
        let why = format!("the rebuild check failed: {e}");
        return Ok(One::Whole(Why::Refused(Refusal::Preflate(why))));
    }
    if check.finish().ok() != Some(o.id) {
        let why = "the rebuild check gave other bytes".to_owned();
        return Ok(One::Whole(Why::Refused(Refusal::Preflate(why))));
    }
    let t_id = match &t {
        Data::Mem(v) => hash_object(Kind::Blob, v).ok(),
        Data::Spilled(s) => {
            let mut h = Hasher::new(Kind::Blob, s.size);
            std::io::copy(&mut t.reader().map_err(io(&tmp))?, &mut h).map_err(io(&tmp))?;
            h.finish().ok()
        }
    };
    let (Some(t_id), Ok(r_id)) = (t_id, hash_object(Kind::Blob, &bytes)) else {
        let why = "cannot hash its content".to_owned();
        return Ok(One::Whole(Why::Refused(Refusal::Preflate(why))));
    };
    let record = Record {
        x: o.id,
        contents: vec![t_id],
        recipe: r_id,
        size: o.data.len(),
        format: recipe.format,
    };
    Ok(One::Split {
        ts: vec![Object { id: t_id, data: t }],
        r: Object {
            id: r_id,
            data: Data::Mem(Arc::new(bytes)),
        },
        record,
        names: Vec::new(),
    })
}
