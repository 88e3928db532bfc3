//! Encoding the planned deltas, in parallel: each object against its
//! chosen base, seeded by their common chunks.

use rayon::prelude::*;

use super::Error;
use super::load::Object;
use super::plan::Made;
use crate::progress::{Progress, Unit};

/// Objects smaller than this are stored whole: a delta header and a copy
/// instruction would eat most of the gain.
const MIN_DELTA_TARGET: usize = 64;

/// The delta of each object (indexed like `objects`), or `None`: whole.
/// Deltas that do not pay are dropped, and the forest adjusted.
pub(crate) fn encode(
    objects: &[Object],
    made: &mut Made,
    progress: &dyn Progress,
) -> Result<Vec<Option<Vec<u8>>>, Error> {
    let forest = &made.forest;
    let total: u64 = forest
        .base
        .iter()
        .enumerate()
        .filter(|(_, b)| b.is_some())
        .map(|(x, _)| objects[x].data.len())
        .sum();
    progress.stage("encoding deltas", total, Unit::Bytes);
    let deltas: Vec<Option<Vec<u8>>> = (0..objects.len())
        .into_par_iter()
        .map(|x| {
            let Some(b) = forest.base[x] else {
                return Ok(None);
            };
            let target = &objects[x].data;
            if target.len() < MIN_DELTA_TARGET as u64 {
                return Ok(None);
            }
            // git: a delta must be at most half the object to be worth it.
            let limit = usize::try_from(target.len() / 2 - 20).unwrap_or(usize::MAX);
            let fps = &made.fingerprints;
            let d = super::spill::delta(&objects[b].data, &fps[b], target, &fps[x], limit)?;
            progress.advance(target.len());
            Ok(d)
        })
        .collect::<Result<_, Error>>()?;
    for (x, d) in deltas.iter().enumerate() {
        if d.is_none() && made.forest.base[x].is_some() {
            made.forest.make_whole(x);
        }
    }
    Ok(deltas)
}
