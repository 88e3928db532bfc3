//! `derived/` under `silo verify` and `silo gc`.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use rayon::prelude::*;
use trees_pack::ObjectId;

use super::apply::{Have, apply_to};
use super::{Manifest, deltas_dir, parse_name};
use crate::{Silo, store};

/// The files of `derived/deltas/`, grouped by pair; names that are not a
/// derived file's are returned apart.
type Listing = (BTreeMap<(ObjectId, ObjectId), Vec<PathBuf>>, Vec<PathBuf>);

fn list(silo: &Silo) -> Result<Listing, store::ReadError> {
    let dir = deltas_dir(silo);
    let mut pairs: BTreeMap<(ObjectId, ObjectId), Vec<PathBuf>> = BTreeMap::new();
    let mut strangers = Vec::new();
    if !dir.is_dir() {
        return Ok((pairs, strangers));
    }
    for path in store::read_dir_sorted(&dir)? {
        match parse_name(&path) {
            Some((have, want, _)) => pairs.entry((have, want)).or_default().push(path),
            None => strangers.push(path),
        }
    }
    Ok((pairs, strangers))
}

/// Checks every pair: its manifest parses and lists exactly the files
/// present with their sizes, and every file, applied to `have`, gives
/// `want`. A pair whose `have` or `want` is gone is reported (gc removes
/// it). Returns the problems, each naming the file.
pub fn verify(silo: &Silo) -> Result<(u64, Vec<String>), store::ReadError> {
    let (pairs, strangers) = list(silo)?;
    let mut problems: Vec<String> = strangers
        .iter()
        .map(|p| format!("{}: not a derived file name", p.display()))
        .collect();
    let mut checked = 0;
    for ((have, want), paths) in &pairs {
        let json = deltas_dir(silo).join(format!("{}.json", super::stem(have, want)));
        let manifest = match std::fs::read(&json) {
            Ok(b) => match Manifest::parse(&json, have, want, &b) {
                Ok(m) => m,
                Err(e) => {
                    problems.push(trees_pack::error_chain(&e));
                    continue;
                }
            },
            Err(e) => {
                problems.push(format!(
                    "{}: {e} (its files are unfinished: the next repack with this hint remakes them)",
                    json.display()
                ));
                continue;
            }
        };
        let listed: HashSet<&str> = manifest.files.iter().map(|f| f.file.as_str()).collect();
        for p in paths {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if p != &json && !listed.contains(name) {
                problems.push(format!("{}: not listed in {}", p.display(), json.display()));
            }
        }
        let mut have_bytes = Vec::new();
        if let Err(e) = silo.read(have, &mut have_bytes) {
            problems.push(format!(
                "{}: its have cannot be read: {}",
                json.display(),
                trees_pack::error_chain(&e)
            ));
            continue;
        }
        let results: Vec<Option<String>> = manifest
            .files
            .par_iter()
            .map(|f| {
                let path = deltas_dir(silo).join(&f.file);
                match std::fs::metadata(&path) {
                    Err(e) => return Some(format!("{}: {e}", path.display())),
                    Ok(m) if m.len() != f.size => {
                        return Some(format!(
                            "{}: {} bytes, its manifest says {}",
                            path.display(),
                            m.len(),
                            f.size
                        ));
                    }
                    Ok(_) => {}
                }
                apply_to(Have::Read(&have_bytes, *have), &path, manifest.want_size)
                    .err()
                    .map(|e| trees_pack::error_chain(&e))
            })
            .collect();
        checked += manifest.files.len() as u64;
        problems.extend(results.into_iter().flatten());
    }
    Ok((checked, problems))
}

/// The files of pairs whose `have` or `want` is not in `reachable`.
pub fn unreachable(
    silo: &Silo,
    reachable: &HashSet<ObjectId>,
) -> Result<Vec<PathBuf>, store::ReadError> {
    let (pairs, _) = list(silo)?;
    Ok(pairs
        .into_iter()
        .filter(|((have, want), _)| !reachable.contains(have) || !reachable.contains(want))
        .flat_map(|(_, paths)| paths)
        .collect())
}
