//! Encoding the planned deltas, in parallel: each object against its
//! chosen base (a new object, or for an incremental repack a packed one),
//! seeded by their common chunks.

use std::borrow::Cow;

use rayon::prelude::*;
use trees_delta::Fingerprint;

use super::plan::{Place, Prepared};
use super::spill::{self, Data};
use super::{Error, Options, chunk_params};
use crate::Silo;
use crate::progress::{Progress, Unit};
use crate::store::ReadError;

/// Objects smaller than this are stored whole: a delta header and a copy
/// instruction would eat most of the gain.
const MIN_DELTA_TARGET: u64 = 64;

/// The largest delta worth storing for a target of `len` bytes, as git's
/// `try_delta` reckons it: half the target, less the 20 bytes a REF_DELTA
/// spends naming its base. A longer delta saves too little to be worth a
/// chain step.
fn delta_limit(len: u64) -> usize {
    usize::try_from(len / 2 - 20).unwrap_or(usize::MAX)
}

/// The delta of each object (indexed like `p.objects`), or `None`: whole.
/// Deltas that do not pay are dropped, and `p` adjusted.
pub(crate) fn encode(
    silo: &Silo,
    p: &mut Prepared,
    opts: &Options,
    progress: &dyn Progress,
) -> Result<Vec<Option<Vec<u8>>>, Error> {
    let total: u64 = (0..p.objects.len())
        .filter(|&y| p.base[y].is_some())
        .map(|y| p.objects[y].data.len())
        .sum();
    progress.stage("encoding deltas", total, Unit::Bytes);
    let params = chunk_params(opts);
    let deltas: Vec<Option<Vec<u8>>> = (0..p.objects.len())
        .into_par_iter()
        .map(|y| {
            let Some(b) = p.base[y] else {
                return Ok(None);
            };
            let target = &p.objects[y];
            if target.data.len() < MIN_DELTA_TARGET {
                return Ok(None);
            }
            let (base, base_fp) = base_data(silo, p, b, opts, &params)?;
            let limit = delta_limit(target.data.len());
            let d = spill::delta(target.id, &base, &base_fp, &target.data, &p.fps[y], limit)?;
            progress.advance(target.data.len());
            Ok(d)
        })
        .collect::<Result<_, Error>>()?;
    for (y, d) in deltas.iter().enumerate() {
        if d.is_none() && p.base[y].is_some() {
            p.make_whole(y);
        }
    }
    Ok(deltas)
}

/// A base's bytes and full fingerprint. A packed base (incremental) is read
/// from its pack, streamed into `tmp/` if it is large, and fingerprinted
/// again: its `.fp` file keeps only a sketch.
fn base_data<'a>(
    silo: &Silo,
    p: &'a Prepared,
    b: Place,
    opts: &Options,
    params: &trees_delta::chunk::Params,
) -> Result<(Data, Cow<'a, Fingerprint>), Error> {
    Ok(match b {
        Place::New(z) => (p.objects[z].data.clone(), Cow::Borrowed(&p.fps[z])),
        Place::Packed(x) => {
            let packed = &p.packed[x];
            // A packed base is in a copied pack (see `super::incremental`).
            let bundle = &p.bundles[&packed.pack];
            let pack_err = |source| ReadError::Pack {
                id: packed.id,
                source,
            };
            let data = if bundle.object_size_at(packed.offset).map_err(pack_err)? > opts.large() {
                // Too large to hold: streamed into tmp/ (checked against
                // its id on the way) and used a window at a time.
                Data::Spilled(std::sync::Arc::new(spill::from_pack(
                    silo,
                    bundle,
                    packed.offset,
                    &packed.id,
                )?))
            } else {
                Data::Mem(bundle.read_at(packed.offset).map_err(pack_err)?.data)
            };
            let fp = data.fingerprint(params).map_err(|source| Error::Large {
                what: "fingerprint",
                id: packed.id,
                source,
            })?;
            (data, Cow::Owned(fp))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delta_must_save_half_and_the_base_name() {
        assert_eq!(delta_limit(64), 12);
        assert_eq!(delta_limit(1000), 480);
    }
}
