//! Reading every object of the silo into memory, each checked against its id.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use rayon::prelude::*;
use trees_pack::id::{Kind, hash_object};
use trees_pack::{Bundle, ObjectId};

use super::Error;
use super::spill::{Data, Spill};
use crate::progress::{Progress, Unit};
use crate::store::ReadError;
use crate::{Silo, loose};

/// Reads the loose objects `loose_ids` and the objects of `packs` (only
/// those in `keep`, if given), each checked against its id.
///
/// One object to repack.
pub(crate) struct Object {
    pub(crate) id: ObjectId,
    pub(crate) data: Data,
}

impl Object {
    /// Its full fingerprint (see `trees_delta::chunk`).
    pub(crate) fn fingerprint(
        &self,
        params: &trees_delta::chunk::Params,
    ) -> Result<trees_delta::Fingerprint, Error> {
        self.data
            .fingerprint(params)
            .map_err(|source| Error::Large {
                what: "fingerprint",
                id: self.id,
                source,
            })
    }
}

/// Inflates the loose object `id` at `path` into `file`: raw, keeping its
/// deflate stream for reuse ([`super::reuse`]) when it is one plain gzip
/// member; else the ordinary way, which names any damage.
fn spill_loose(
    path: &std::path::Path,
    id: &ObjectId,
    file: &mut std::fs::File,
    raw: &std::path::Path,
) -> Result<(u64, Option<super::reuse::Reuse>), Error> {
    use std::io::{Seek, Write};
    let io = super::io_at(raw);
    let reused = {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, &mut *file);
        let r = super::reuse::inflate(path, id, &mut w).ok().flatten();
        w.flush().map_err(&io)?;
        r
    };
    if let Some((n, reuse)) = reused {
        return Ok((n, Some(reuse)));
    }
    file.set_len(0).map_err(&io)?;
    file.seek(std::io::SeekFrom::Start(0)).map_err(&io)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, &mut *file);
    let n = loose::read(path, id, &mut w).map_err(ReadError::from)?;
    w.flush().map_err(&io)?;
    Ok((n, None))
}

pub(crate) fn load(
    silo: &Silo,
    loose_ids: &[ObjectId],
    packs: &[PathBuf],
    keep: Option<&HashSet<ObjectId>>,
    large: u64,
    progress: &dyn Progress,
) -> Result<Vec<Object>, Error> {
    progress.stage(
        "reading loose objects",
        loose_ids.len() as u64,
        Unit::Objects,
    );
    let mut objects: Vec<Object> = loose_ids
        .par_iter()
        .map(|id| {
            let path = silo.loose_path(id);
            // Exactly the size: a doubling Vec would hold up to twice each blob.
            let size = loose::recorded_size(&path).map_err(ReadError::from)?;
            // The recorded size is input: no more than deflate could expand to.
            let on_disk = std::fs::metadata(&path).map_or(0, |m| m.len());
            let bound = on_disk.saturating_mul(1032).saturating_add(64);
            let likely = size.unwrap_or(0).min(bound);
            let data = if likely > large {
                // Inflated once into tmp/, checked against its id on the way.
                let tmp = silo.tmp_dir();
                let mut file = silo.temp_file(".raw").map_err(super::io_at(&tmp))?;
                let raw = file.path().to_owned();
                let (n, reuse) = spill_loose(&path, id, file.as_file_mut(), &raw)?;
                Data::Spilled(Arc::new(Spill {
                    file,
                    size: n,
                    reuse,
                }))
            } else {
                let mut data = Vec::with_capacity(likely as usize);
                loose::read(&path, id, &mut data).map_err(ReadError::from)?;
                Data::Mem(Arc::new(data))
            };
            progress.advance(1);
            Ok(Object { id: *id, data })
        })
        .collect::<Result<_, Error>>()?;
    let mut seen: HashSet<ObjectId> = loose_ids.iter().copied().collect();
    for idx in packs {
        silo.storage()
            .fetch(&silo.relative(idx).with_extension("pack"))?;
        let bundle = Bundle::open(idx).map_err(ReadError::OpenPack)?;
        let mut entries = (0..bundle.index.count())
            .map(|i| bundle.index.entry(i))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ReadError::OpenPack(e.into()))?;
        // Offset order: bases come before their deltas, and stay cached.
        entries.sort_unstable_by_key(|e| e.offset);
        progress.stage(
            &format!("reading {}", idx.display()),
            entries.len() as u64,
            Unit::Objects,
        );
        for e in entries {
            progress.advance(1);
            if !seen.insert(e.id) || keep.is_some_and(|k| !k.contains(&e.id)) {
                continue;
            }
            let pack_err = |source| ReadError::Pack { id: e.id, source };
            if bundle.object_size_at(e.offset).map_err(pack_err)? > large {
                // Streamed into tmp/ through its chain, checked against its id.
                let spilled = super::spill::from_pack(silo, &bundle, e.offset, &e.id)?;
                objects.push(Object {
                    id: e.id,
                    data: Data::Spilled(Arc::new(spilled)),
                });
                continue;
            }
            let obj = bundle.read_at(e.offset).map_err(pack_err)?;
            let actual = hash_object(obj.kind, &obj.data);
            if obj.kind != Kind::Blob || actual.as_ref().ok() != Some(&e.id) {
                return Err(ReadError::PackedMismatch {
                    id: e.id,
                    pack: idx.with_extension("pack"),
                    actual: actual.map_or_else(|e| e.to_string(), |a| format!("{} {a}", obj.kind)),
                }
                .into());
            }
            objects.push(Object {
                id: e.id,
                data: Data::Mem(obj.data),
            });
        }
    }
    Ok(objects)
}
