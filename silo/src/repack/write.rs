//! Writing the new pack and idx to `tmp/`, checking them, installing them,
//! and only then removing what they replace.

use std::io::BufWriter;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use trees_pack::data::write::{Base, Entry};
use trees_pack::id::{Kind, hash_object};
use trees_pack::{Bundle, ObjectId, data, index};

use super::load::Object;
use super::spill::Data;
use super::{Error, Outcome, io_at};
use crate::Silo;
use crate::families::Shape;
use crate::progress::{Progress, Unit};
use crate::storage::Staged;
use crate::store::ReadError;

/// Bytes of resolved bases kept while reading the new pack back.
const READ_BACK_CACHE: usize = 32 << 20;

/// Copied entries longer than this are streamed, not read through the mapping.
const COPY_MAPPED_UP_TO: u64 = 16 << 20;

/// A checked pack and idx, staged (see [`crate::storage`]).
pub(crate) struct Written {
    pub(crate) pack: Staged,
    pub(crate) idx: Staged,
    pub(crate) checksum: ObjectId,
}

/// What a new pack holds, in order.
pub(crate) struct Contents<'a> {
    /// Packs copied verbatim first, each entry checked against the CRC32
    /// its idx records (git's pack reuse), each pack in its own offset
    /// order so that OFS_DELTA distances stay valid.
    pub(crate) copies: Vec<&'a Bundle>,
    /// Then these objects, in `order` (bases first); consumed, so that
    /// their memory is released before the new pack is read back.
    pub(crate) objects: Vec<Object>,
    pub(crate) order: &'a [usize],
    /// The base of each object, if it is stored as a delta.
    pub(crate) bases: Vec<Option<ObjectId>>,
    /// Its delta against that base.
    pub(crate) deltas: Vec<Option<Vec<u8>>>,
}

/// The one way a repack (full or incremental, and gc through it) writes a
/// pack: compresses the entries in parallel, writes the pack and its idx
/// to staged files, and reads the new pack back: every object against its
/// id when nothing was copied; else every new object against its id and
/// every copied id's presence (copied bytes were checked by CRC32).
pub(crate) fn write_pack(
    silo: &Silo,
    c: Contents<'_>,
    level: u8,
    large: u64,
    progress: &dyn Progress,
) -> Result<Written, Error> {
    let copied: usize = c.copies.iter().map(|b| b.index.count() as usize).sum();
    let count = copied + c.order.len();
    let count32 = u32::try_from(count).map_err(|_| Error::TooMany(count))?;
    progress.stage("compressing", c.order.len() as u64, Unit::Objects);
    // Whole spilled objects are compressed as they stream into the pack.
    let entries: Vec<Option<Entry>> = c
        .order
        .par_iter()
        .map(|&x| {
            let o = &c.objects[x];
            let e = match (c.bases[x], &c.deltas[x], &o.data) {
                (Some(b), Some(delta), _) => Some(Entry::delta(o.id, Base::Ofs(b), delta, level)),
                (_, _, Data::Mem(v)) => Some(Entry::whole(o.id, Kind::Blob, v, level)),
                (_, _, Data::Spilled(_)) => None,
            };
            progress.advance(1);
            e
        })
        .collect();
    drop(c.deltas);
    let new: Vec<(ObjectId, bool)> = c
        .order
        .iter()
        .map(|&x| &c.objects[x])
        .map(|o| (o.id, matches!(o.data, Data::Spilled(_))))
        .collect();

    let storage = silo.storage();
    let mut pack_file = storage.stage(".pack")?;
    let pack_path = pack_file.path().to_owned();
    progress.stage("writing", count as u64, Unit::Objects);
    let mut w = data::Writer::new(
        BufWriter::with_capacity(1 << 20, pack_file.file_mut()),
        count32,
    )?;
    for b in &c.copies {
        copy_pack(&mut w, b, progress)?;
    }
    for (e, &x) in entries.iter().zip(c.order) {
        match e {
            Some(e) => w.write(e)?,
            None => super::spill::write_whole(&mut w, c.objects[x].id, &c.objects[x].data, level)?,
        };
        progress.advance(1);
    }
    drop(entries);
    drop(c.objects);
    let data::write::Outcome {
        checksum,
        mut entries,
        out: sink,
        ..
    } = w.finish()?;
    drop(sink);

    let mut idx_file = storage.stage(".idx")?;
    let idx_path = idx_file.path().to_owned();
    index::write(&mut entries, &checksum, BufWriter::new(idx_file.file_mut()))?;
    let problems = if c.copies.is_empty() {
        read_back_all(silo, (&idx_path, &pack_path), &new, large, progress)?
    } else {
        read_back_new(silo, (&idx_path, &pack_path), &new, &c.copies, progress)?
    };
    if !problems.is_empty() {
        return Err(Error::ReadBack {
            path: pack_path,
            problems,
        });
    }
    Ok(Written {
        pack: pack_file,
        idx: idx_file,
        checksum,
    })
}

/// Copies every entry of `b`, in offset order, checking each CRC32.
fn copy_pack<W: std::io::Write>(
    w: &mut data::Writer<W>,
    b: &Bundle,
    progress: &dyn Progress,
) -> Result<(), Error> {
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
    Ok(())
}

/// The shape of a written pack whose split records are `records`, for its
/// fingerprint file: its entry headers, read back.
pub(crate) fn shape(w: &Written, records: &[trees_split::table::Record]) -> Result<Shape, Error> {
    let b = open_new(w.idx.path(), w.pack.path())?;
    Ok(crate::families::shape(&b, records)?)
}

fn open_new(idx: &Path, pack: &Path) -> Result<Bundle, Error> {
    Bundle::open_pair(idx, pack).map_err(|e| Error::ReadBack {
        path: pack.to_owned(),
        problems: vec![trees_pack::error_chain(&e)],
    })
}

/// Every object of the new pack, in pack order, against its id.
fn read_back_all(
    silo: &Silo,
    (idx, pack): (&Path, &Path),
    new: &[(ObjectId, bool)],
    large: u64,
    progress: &dyn Progress,
) -> Result<Vec<String>, Error> {
    progress.stage("checking the new pack", new.len() as u64, Unit::Objects);
    let mut bundle = open_new(idx, pack)?;
    // Entries are read in pack order, bases first: a few bases suffice.
    bundle.set_cache_budget(READ_BACK_CACHE);
    let tmp = silo.tmp_dir();
    let mut last = 0;
    let mut problems: Vec<String> = bundle
        .verify_with(
            &mut |n| {
                progress.advance(u64::from(n - last));
                last = n;
            },
            Some((large, &tmp)),
        )
        .iter()
        .map(ToString::to_string)
        .collect();
    for (id, _) in new {
        if bundle.index.lookup(id).is_none() {
            problems.push(format!("object {id} is missing from the new pack"));
        }
    }
    Ok(problems)
}

/// Every new object through the new pack against its id, and every copied
/// object present.
fn read_back_new(
    silo: &Silo,
    (idx, pack): (&Path, &Path),
    new: &[(ObjectId, bool)],
    copies: &[&Bundle],
    progress: &dyn Progress,
) -> Result<Vec<String>, Error> {
    progress.stage("checking the new pack", new.len() as u64, Unit::Objects);
    let bundle = open_new(idx, pack)?;
    let tmp = silo.tmp_dir();
    let mut problems = Vec::new();
    for &(id, spilled) in new {
        let actual = if spilled {
            match bundle.find(&id) {
                Ok(Some(offset)) => bundle.hash_streamed(offset, &tmp).ok(),
                Ok(None) => None,
                Err(e) => {
                    problems.push(format!("object {id}: {}", trees_pack::error_chain(&e)));
                    continue;
                }
            }
        } else {
            match bundle.read(&id) {
                Ok(Some(got)) => hash_object(got.kind, &got.data).ok(),
                Ok(None) => None,
                Err(e) => {
                    problems.push(format!("object {id}: {}", trees_pack::error_chain(&e)));
                    continue;
                }
            }
        };
        if bundle.index.lookup(&id).is_none() {
            problems.push(format!("object {id} is missing from the new pack"));
        } else if actual != Some(id) {
            problems.push(format!("object {id} reads back wrong"));
        }
        progress.advance(1);
    }
    for b in copies {
        let ids = (0..b.index.count()).map(|i| b.index.id(i));
        if let Some(id) = ids.into_iter().find(|id| bundle.index.lookup(id).is_none()) {
            problems.push(format!("object {id} is missing from the new pack"));
        }
    }
    Ok(problems)
}

/// A written pack and what is published beside it.
pub(crate) struct Install {
    pub(crate) written: Written,
    /// The split records of the objects it holds.
    pub(crate) records: Vec<trees_split::table::Record>,
    /// Its fingerprint file (see [`super::fingerprints`]).
    pub(crate) fp: Vec<u8>,
}

/// Publishes each new pack with its record table (if it stores files
/// split) and its idx, in that order (see [`install_order`]), and its
/// fingerprint file; then, all of them installed, removes the loose
/// objects and packs they replace.
pub(crate) fn install_all(
    silo: &Silo,
    packs: Vec<Install>,
    loose: &[ObjectId],
    old_packs: &[PathBuf],
) -> Result<Outcome, Error> {
    let storage = silo.storage();
    let mut dests = Vec::with_capacity(packs.len());
    let mut bytes_written = 0;
    for Install {
        written: w,
        records,
        fp,
    } in packs
    {
        let table = if records.is_empty() {
            None
        } else {
            use std::io::Write;
            let mut f = storage.stage(".split")?;
            let path = f.path().to_owned();
            // The new idx names the parts of a version 3 table.
            let ids = trees_pack::index::File::open(w.idx.path()).map_err(|e| Error::ReadBack {
                path: w.idx.path().to_owned(),
                problems: vec![trees_pack::error_chain(&e)],
            })?;
            let bytes = trees_split::table::Table::encode(&w.checksum, &records, &ids);
            f.write_all(&bytes).map_err(io_at(&path))?;
            bytes_written += bytes.len() as u64;
            Some(f)
        };
        for staged in [&w.pack, &w.idx] {
            bytes_written += std::fs::metadata(staged.path()).map_or(0, |m| m.len());
        }
        let name = format!("pack-{}", w.checksum);
        storage.publish(install_order(&name, w.pack, table, w.idx))?;
        let pack_dest = silo.pack_dir().join(format!("{name}.pack"));
        write_fp_bytes(silo, &pack_dest.with_extension("idx"), &fp)?;
        bytes_written += fp.len() as u64;
        dests.push(pack_dest);
    }
    let mut outcome = remove_replaced(silo, &dests, loose, old_packs)?;
    outcome.packs_written = dests.len() as u64;
    outcome.new_packs = dests;
    outcome.bytes_written = bytes_written;
    Ok(outcome)
}

/// The order in which a pack's files are published, each complete and
/// durable before the next appears: the pack, its record table, then its
/// idx. Readers find packs by their idx, so until the idx appears no reader
/// sees the new pack, and from then on its pack and table are complete. A
/// crash before the idx leaves a `.pack` without an `.idx`: `silo verify`
/// lists it as an orphan (harmless), and the next repack or mirror of the
/// same pack puts a new copy over it. Only after the idx may a caller
/// delete what the new pack replaces. Repack, gc (through repack) and
/// mirror all publish packs this way.
pub fn install_order(
    name: &str,
    pack: Staged,
    table: Option<Staged>,
    idx: Staged,
) -> Vec<(Staged, PathBuf)> {
    let at = |ext: &str| PathBuf::from(format!("pack/{name}.{ext}"));
    let mut files = vec![(pack, at("pack"))];
    if let Some(t) = table {
        files.push((t, at(trees_split::table::EXTENSION)));
    }
    files.push((idx, at("idx")));
    files
}

/// Writes `bytes` as the fingerprint file of the pack `idx` (staged, then
/// replacing any old one). A cache: the pack is complete without it.
pub(crate) fn write_fp_bytes(silo: &Silo, idx: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let mut f = silo.storage().stage(".fp")?;
    let path = f.path().to_owned();
    f.write_all(bytes).map_err(io_at(&path))?;
    let dest = super::fingerprints::path_for(idx);
    silo.storage().replace(f, silo.relative(&dest))?;
    Ok(())
}

/// Removes the loose objects and packs that the new packs replace,
/// and record tables left without their idx. The caller holds the lock.
pub(crate) fn remove_replaced(
    silo: &Silo,
    new_packs: &[PathBuf],
    loose: &[ObjectId],
    old_packs: &[PathBuf],
) -> Result<Outcome, Error> {
    let new_idx: Vec<PathBuf> = new_packs.iter().map(|p| p.with_extension("idx")).collect();
    let mut outcome = Outcome {
        pack: new_packs.first().cloned(),
        ..Outcome::default()
    };
    let mut doomed: Vec<PathBuf> = loose
        .iter()
        .map(|id| silo.relative(&silo.loose_path(id)).to_owned())
        .collect();
    outcome.loose_removed = loose.len() as u64;
    for idx in old_packs.iter().filter(|p| !new_idx.contains(p)) {
        // idx first: a reader must never find an idx whose pack is gone.
        let idx = silo.relative(idx).to_owned();
        doomed.extend([
            idx.with_extension("pack"),
            super::fingerprints::path_for(&idx),
            idx.with_extension(trees_split::table::EXTENSION),
        ]);
        let at = doomed.len() - 3;
        doomed.insert(at, idx);
        outcome.packs_removed += 1;
    }
    // A record table without its idx was left by a writer killed between
    // the two (see `install_order`). Every writer holds the silo lock, as
    // the caller does: none is publishing one now.
    let storage = silo.storage();
    let names = storage.list(Path::new("pack"))?;
    for name in &names {
        let table = Path::new("pack").join(name);
        if table
            .extension()
            .is_some_and(|x| x == trees_split::table::EXTENSION)
            && !names.contains(&format!("{}.idx", name.trim_end_matches(".split")))
            && !doomed.contains(&table)
        {
            doomed.push(table);
        }
    }
    storage.delete(&doomed)?;
    // Last: the multi-pack-index of the packs now present (it names none
    // that is about to go). Until it is replaced, readers find the old one
    // stale and search pack by pack.
    if !new_packs.is_empty() || !old_packs.is_empty() {
        crate::multi_index::write(silo)?;
    }
    Ok(outcome)
}
