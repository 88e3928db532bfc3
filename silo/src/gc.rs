//! `silo gc`: remove what no treeptr names any more, and never anything else.
//!
//! Input: the reachable set (from `medo reachable`) and a grace period.
//! The plan lists the unreachable loose objects older than the grace period
//! (by file time: `add` freshens an object it finds already stored), and
//! the packs older than the grace period that hold unreachable objects.
//! Executing it first rewrites those packs with only their reachable
//! objects — re-encoded from their full content by the repack engine, so a
//! reachable object whose delta base goes away is never lost — reads the
//! new pack back, installs it, removes the old packs, and only then deletes
//! the unreachable loose objects. Every step is a rename or an unlink after
//! the data is safe elsewhere: a crash anywhere loses nothing reachable.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use trees_pack::{Bundle, ObjectId};

use crate::lock;
use crate::progress::Progress;
use crate::repack::{self, load};
use crate::{Silo, du, store};

/// How to collect.
#[derive(Debug, Clone)]
pub struct Options {
    /// Objects (loose files, packs) younger than this are kept.
    pub grace: Duration,
    /// Plan only.
    pub dry_run: bool,
    /// Wait for the silo lock instead of failing.
    pub wait: bool,
    /// How rewritten packs are encoded.
    pub repack: repack::Options,
}

impl Default for Options {
    /// Two weeks of grace, as `git gc --prune` defaults to.
    fn default() -> Self {
        Options {
            grace: Duration::from_secs(14 * 24 * 3600),
            dry_run: false,
            wait: false,
            repack: repack::Options::default(),
        }
    }
}

/// One pack to rewrite.
#[derive(Debug, Clone, Serialize)]
pub struct PackPlan {
    /// Its idx.
    pub idx: PathBuf,
    /// Objects in it.
    pub objects: u64,
    /// Of those, unreachable (dropped).
    pub unreachable: u64,
}

/// What gc will do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    /// Unreachable loose objects old enough to delete.
    #[serde(with = "trees_pack::id::hex::vec")]
    pub delete_loose: Vec<ObjectId>,
    /// Unreachable loose objects kept because they are younger than the grace period.
    pub young_loose: u64,
    /// Packs to rewrite without their unreachable objects.
    pub rewrite_packs: Vec<PackPlan>,
    /// Packs with unreachable objects kept because they are younger than the grace period.
    pub young_packs: u64,
    /// Disk bytes of the loose objects to delete.
    pub loose_bytes: u64,
    /// Derived files whose `have` or `want` is unreachable (no grace: they
    /// are recomputable).
    pub delete_derived: Vec<PathBuf>,
}

/// What gc did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    /// The plan it carried out (or, with `dry_run`, would carry out).
    pub plan: Plan,
    /// Disk bytes of objects/ and pack/ before.
    pub before_bytes: u64,
    /// Disk bytes of objects/ and pack/ after.
    pub after_bytes: u64,
    /// Sum of the sizes of the files of objects/ and pack/ before (block-size independent).
    pub before_apparent: u64,
    /// The same, after.
    pub after_apparent: u64,
    /// Loose objects deleted.
    pub loose_deleted: u64,
    /// Packs rewritten.
    pub packs_rewritten: u64,
    /// Derived files deleted.
    pub derived_deleted: u64,
    /// The new pack, if one was written.
    pub pack: Option<PathBuf>,
    /// Files that an earlier repack or gc retired, deleted now that the
    /// grace period is over (object storage's second phase of deletion;
    /// always 0 in a directory, which deletes at once).
    pub retired_deleted: u64,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// Why gc failed. Nothing reachable is ever lost when it fails.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The lock is held or cannot be taken.
    #[error(transparent)]
    Lock(#[from] lock::Error),
    /// The listing (info/files.json) cannot be written.
    #[error(transparent)]
    Listing(#[from] crate::listing::Error),
    /// Listing or reading failed.
    #[error(transparent)]
    Read(#[from] store::ReadError),
    /// Rewriting packs failed.
    #[error(transparent)]
    Repack(#[from] repack::Error),
    /// Measuring failed.
    #[error(transparent)]
    Du(#[from] du::Error),
    /// Deleting files failed.
    #[error(transparent)]
    Storage(#[from] crate::storage::Error),
    /// A file's time cannot be read.
    #[error("cannot read the time of {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A line of a reachable set that is not a blob id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}, line {line}: {text:?} is not a 40-hex-digit blob id")]
pub struct BadReachable {
    /// The set's name (its file, or `-`).
    pub name: String,
    /// The line number, from 1.
    pub line: usize,
    /// What the line holds.
    pub text: String,
}

/// Parses a reachable set: one 40-hex id a line, blank lines ignored.
/// `name` is for messages.
pub fn parse_reachable(name: &str, text: &str) -> Result<HashSet<ObjectId>, BadReachable> {
    let mut set = HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let id = trees_pack::id::parse_hex(line).ok_or_else(|| BadReachable {
            name: name.to_owned(),
            line: n + 1,
            text: line.to_owned(),
        })?;
        set.insert(id);
    }
    Ok(set)
}

fn age(path: &Path, now: SystemTime) -> Result<Duration, Error> {
    let m = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
    Ok(now.duration_since(m).unwrap_or(Duration::ZERO))
}

/// `reachable`, plus the content T and recipe R of every reachable object
/// that a pack stores split: X live keeps its T and R. (T may also be live
/// on its own, when a treeptr names the tar itself.)
pub fn with_split_parts(
    silo: &Silo,
    reachable: &HashSet<ObjectId>,
) -> Result<HashSet<ObjectId>, Error> {
    let mut keep = reachable.clone();
    for idx in silo.pack_indexes()? {
        if let Some(t) = crate::packs::read_table(&idx)? {
            for r in t.records().iter().filter(|r| reachable.contains(&r.x)) {
                keep.extend(r.contents.iter().copied());
                keep.insert(r.recipe);
            }
        }
    }
    Ok(keep)
}

/// What gc would do now.
pub fn plan(silo: &Silo, reachable: &HashSet<ObjectId>, opts: &Options) -> Result<Plan, Error> {
    let now = SystemTime::now();
    let mut plan = Plan::default();
    let keep = with_split_parts(silo, reachable)?;
    for id in silo.loose_ids()? {
        if reachable.contains(&id) {
            continue;
        }
        let path = silo.loose_path(&id);
        match age(&path, now) {
            Ok(a) if a >= opts.grace => {
                plan.loose_bytes += std::fs::metadata(&path).map_or(0, |m| m.len());
                plan.delete_loose.push(id);
            }
            Ok(_) => plan.young_loose += 1,
            // Gone since it was listed: nothing to delete.
            Err(_) => {}
        }
    }
    for idx in silo.pack_indexes()? {
        let bundle = Bundle::open(&idx).map_err(store::ReadError::OpenPack)?;
        let n = bundle.index.count();
        // Unreachable: entries nothing keeps, and records of unreachable X
        // (dropped from the table even where their T stays).
        let dropped_records = crate::packs::read_table(&idx)?.map_or(0, |t| {
            t.records()
                .iter()
                .filter(|r| !reachable.contains(&r.x))
                .count() as u64
        });
        let unreachable = (0..n)
            .filter(|&i| !keep.contains(&bundle.index.id(i)))
            .count() as u64
            + dropped_records;
        if unreachable == 0 {
            continue;
        }
        if age(&idx.with_extension("pack"), now)? < opts.grace {
            plan.young_packs += 1;
            continue;
        }
        plan.rewrite_packs.push(PackPlan {
            idx,
            objects: u64::from(n),
            unreachable,
        });
    }
    plan.delete_derived = crate::derived::unreachable(silo, reachable)?;
    Ok(plan)
}

/// Collects garbage in `silo`, keeping everything in `reachable`.
pub fn gc(
    silo: &Silo,
    reachable: &HashSet<ObjectId>,
    opts: &Options,
    progress: &dyn Progress,
) -> Result<Outcome, Error> {
    let start = Instant::now();
    let _lock = silo.storage().lock(opts.wait)?;
    let retired_deleted = if opts.dry_run {
        0
    } else {
        silo.storage().sweep(opts.grace)?
    };
    let usage = du::usage(silo)?;
    let before = usage.objects.disk_bytes + usage.pack.disk_bytes;
    let plan = plan(silo, reachable, opts)?;
    let apparent = usage.objects.apparent_bytes + usage.pack.apparent_bytes;
    let mut outcome = Outcome {
        before_bytes: before,
        after_bytes: before,
        before_apparent: apparent,
        after_apparent: apparent,
        retired_deleted,
        ..Outcome::default()
    };
    if !opts.dry_run {
        if !plan.rewrite_packs.is_empty() {
            let packs: Vec<PathBuf> = plan.rewrite_packs.iter().map(|p| p.idx.clone()).collect();
            let keep = with_split_parts(silo, reachable)?;
            let objects = load::load(
                silo,
                &[],
                &packs,
                Some(&keep),
                opts.repack.large(),
                progress,
            )?;
            let carried: Vec<_> = repack::split::records_of(&packs)?
                .into_iter()
                .filter(|r| reachable.contains(&r.x))
                .collect();
            let r = repack::replace(silo, objects, carried, &[], &packs, &opts.repack, progress)?;
            outcome.pack = r.pack;
            outcome.packs_rewritten = r.packs_removed;
        }
        outcome.loose_deleted = crate::repack::remove_loose(silo, &plan.delete_loose)?;
        let derived: Vec<PathBuf> = plan
            .delete_derived
            .iter()
            .map(|p| silo.relative(p).to_owned())
            .collect();
        silo.storage().delete(&derived)?;
        outcome.derived_deleted = derived.len() as u64;
        let usage = du::usage(silo)?;
        outcome.after_bytes = usage.objects.disk_bytes + usage.pack.disk_bytes;
        outcome.after_apparent = usage.objects.apparent_bytes + usage.pack.apparent_bytes;
        crate::listing::write(silo)?;
    }
    outcome.plan = plan;
    outcome.seconds = start.elapsed().as_secs_f64();
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reachable_sets_name_the_bad_line() {
        let ok = "ce013625030ba8dba906f756967f9e9ca394464a\n\n";
        assert_eq!(parse_reachable("r", ok).unwrap().len(), 1);
        let e = parse_reachable("r.txt", "ce013625030ba8dba906f756967f9e9ca394464a\nxyz\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("r.txt, line 2"), "{e}");
    }
}
