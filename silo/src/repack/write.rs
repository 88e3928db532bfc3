//! Writing the new pack and idx to `tmp/`, checking them, installing them,
//! and only then removing what they replace.

use std::io::BufWriter;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use tempfile::NamedTempFile;
use trees_pack::data::write::{Base, Entry};
use trees_pack::id::Kind;
use trees_pack::{Bundle, ObjectId, data, index};

use trees_delta::forest::Forest;

use super::load::Object;
use super::spill::Data;
use super::{Error, Outcome, io_at};
use crate::progress::{Progress, Unit};
use crate::{Silo, fsutil};

/// Bytes of resolved bases kept while reading the new pack back.
const READ_BACK_CACHE: usize = 32 << 20;

/// A checked pack and idx, still in `tmp/`.
pub(crate) struct Written {
    pub(crate) pack: NamedTempFile,
    pub(crate) idx: NamedTempFile,
    pub(crate) checksum: ObjectId,
}

/// Compresses and writes `objects` (consumed: their memory is released
/// before the new pack is read back), then checks the new pack.
pub(crate) fn write_pack(
    silo: &Silo,
    objects: Vec<Object>,
    forest: &Forest,
    deltas: &[Option<Vec<u8>>],
    level: u8,
    large: u64,
    progress: &dyn Progress,
) -> Result<Written, Error> {
    let count = u32::try_from(objects.len()).map_err(|_| Error::TooMany(objects.len()))?;
    progress.stage("compressing", u64::from(count), Unit::Objects);
    // Whole spilled objects are compressed as they stream into the pack.
    let packed: Vec<Option<Entry>> = forest
        .order
        .par_iter()
        .map(|&x| {
            let o = &objects[x];
            let e = match (forest.base[x], &deltas[x], &o.data) {
                (Some(b), Some(delta), _) => {
                    Some(Entry::delta(o.id, Base::Ofs(objects[b].id), delta, level))
                }
                (_, _, Data::Mem(v)) => Some(Entry::whole(o.id, Kind::Blob, v, level)),
                (_, _, Data::Spilled(_)) => None,
            };
            progress.advance(1);
            e
        })
        .collect();
    let ids: Vec<ObjectId> = objects.iter().map(|o| o.id).collect();

    let tmp = silo.tmp_dir();
    let mut pack_file = silo.temp_file(".pack").map_err(io_at(&tmp))?;
    let pack_path = pack_file.path().to_owned();
    progress.stage("writing", u64::from(count), Unit::Objects);
    let mut w = data::Writer::new(
        BufWriter::with_capacity(1 << 20, pack_file.as_file_mut()),
        count,
    )?;
    for (e, &x) in packed.iter().zip(&forest.order) {
        match e {
            Some(e) => w.write(e)?,
            None => super::spill::write_whole(&mut w, objects[x].id, &objects[x].data, level)?,
        };
        progress.advance(1);
    }
    drop(packed);
    drop(objects);
    let data::write::Outcome {
        checksum,
        mut entries,
        out: sink,
        ..
    } = w.finish()?;
    drop(sink);
    pack_file.as_file().sync_all().map_err(io_at(&pack_path))?;

    let mut idx_file = silo.temp_file(".idx").map_err(io_at(&tmp))?;
    let idx_path = idx_file.path().to_owned();
    index::write(
        &mut entries,
        &checksum,
        BufWriter::new(idx_file.as_file_mut()),
    )?;
    idx_file.as_file().sync_all().map_err(io_at(&idx_path))?;

    // Read back: every object, through the new idx and pack, against its id.
    progress.stage("checking the new pack", u64::from(count), Unit::Objects);
    let mut bundle = Bundle::open_pair(&idx_path, &pack_path).map_err(|e| Error::ReadBack {
        path: pack_path.clone(),
        problems: vec![e.to_string()],
    })?;
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
    for id in &ids {
        if bundle.index.lookup(id).is_none() {
            problems.push(format!("object {id} is missing from the new pack"));
        }
    }
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

/// Installs the new pack ([`crate::install::install_pack`]), writes its
/// fingerprint file `fp` (see [`super::fingerprints`]), then removes the
/// loose objects and packs it replaces.
pub(crate) fn install_with_fp(
    silo: &Silo,
    w: Written,
    records: &[trees_split::table::Record],
    loose: &[ObjectId],
    old_packs: &[PathBuf],
    fp: &[u8],
) -> Result<Outcome, Error> {
    let table = if records.is_empty() {
        None
    } else {
        use std::io::Write;
        let tmp = silo.tmp_dir();
        let mut f = silo.temp_file(".split").map_err(io_at(&tmp))?;
        let path = f.path().to_owned();
        f.write_all(&trees_split::table::Table::encode(&w.checksum, records))
            .map_err(io_at(&path))?;
        Some(f.into_temp_path())
    };
    let pack_dest = crate::install::install_pack(
        &silo.pack_dir(),
        w.pack.into_temp_path(),
        table,
        w.idx.into_temp_path(),
        &format!("pack-{}", w.checksum),
    )
    .map_err(|e| Error::Io {
        path: e.path,
        source: e.source,
    })?;
    write_fp_bytes(silo, &pack_dest.with_extension("idx"), fp)?;
    remove_replaced(silo, Some(pack_dest), loose, old_packs)
}

/// Writes `bytes` as the fingerprint file of the pack `idx` (tmp, fsync,
/// rename). A cache: the pack is complete without it.
pub(crate) fn write_fp_bytes(silo: &Silo, idx: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let tmp = silo.tmp_dir();
    let mut f = silo.temp_file(".fp").map_err(io_at(&tmp))?;
    let path = f.path().to_owned();
    f.write_all(bytes).map_err(io_at(&path))?;
    f.as_file().sync_all().map_err(io_at(&path))?;
    let dest = super::fingerprints::path_for(idx);
    f.persist(&dest).map_err(|e| Error::Io {
        path: dest.clone(),
        source: e.error,
    })?;
    Ok(())
}

/// Removes the loose objects and packs that a new pack (if any) replaces,
/// and record tables left without their idx. The caller holds the lock.
pub(crate) fn remove_replaced(
    silo: &Silo,
    new_pack: Option<PathBuf>,
    loose: &[ObjectId],
    old_packs: &[PathBuf],
) -> Result<Outcome, Error> {
    let dir = silo.pack_dir();
    let new_idx = new_pack.as_ref().map(|p| p.with_extension("idx"));
    let mut outcome = Outcome {
        pack: new_pack,
        ..Outcome::default()
    };
    let mut fanout = std::collections::BTreeSet::new();
    for id in loose {
        let p = silo.loose_path(id);
        fsutil::remove_if_present(&p).map_err(io_at(&p))?;
        outcome.loose_removed += 1;
        fanout.insert(p.parent().expect("loose paths have a parent").to_owned());
    }
    for d in fanout {
        // Fails, harmlessly, when an add put a new object there meanwhile.
        let _ = std::fs::remove_dir(&d);
    }
    for idx in old_packs.iter().filter(|p| Some(*p) != new_idx.as_ref()) {
        // idx first: a reader must never find an idx whose pack is gone.
        fsutil::remove_if_present(idx).map_err(io_at(idx))?;
        let pack = idx.with_extension("pack");
        fsutil::remove_if_present(&pack).map_err(io_at(&pack))?;
        let fp = super::fingerprints::path_for(idx);
        fsutil::remove_if_present(&fp).map_err(io_at(&fp))?;
        let table = idx.with_extension(trees_split::table::EXTENSION);
        fsutil::remove_if_present(&table).map_err(io_at(&table))?;
        outcome.packs_removed += 1;
    }
    // A record table without its idx was left by a writer killed between
    // the two (see crate::install). Every writer holds the silo lock, as
    // the caller does: none is installing one now.
    for e in crate::store::read_dir_sorted(&dir)? {
        if e.extension()
            .is_some_and(|x| x == trees_split::table::EXTENSION)
            && !e.with_extension("idx").exists()
        {
            fsutil::remove_if_present(&e).map_err(io_at(&e))?;
        }
    }
    fsutil::sync_dir(&dir).map_err(io_at(&dir))?;
    let objects = silo.objects_dir();
    fsutil::sync_dir(&objects).map_err(io_at(&objects))?;
    Ok(outcome)
}
