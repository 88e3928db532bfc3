//! The hint side of `silo repack` (`--hints`, `--medo`) and `silo apply`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::args::ApplyArgs;
use crate::exit::Status;
use trees_hints::hints::{Hint, Hints};
use trees_pack::ObjectId;
use trees_silo::derive::Made;
use trees_silo::derived::{self, ApplyError};

/// What the hints files say: groups to relate, and have/want pairs.
#[derive(Default)]
pub struct Read {
    pub related: Vec<Vec<ObjectId>>,
    pub pairs: Vec<(ObjectId, ObjectId)>,
}

/// Reads every `--hints` file and every HINTS.json under each `--medo`
/// directory; pairs are deduplicated, in first-seen order.
pub fn read_hints(files: &[PathBuf], medo: &[PathBuf]) -> Result<Read> {
    let mut all = files.to_vec();
    for dir in medo {
        all.extend(
            trees_hints::reachable::hints_files(dir)
                .with_context(|| format!("cannot look for HINTS.json in {}", dir.display()))?,
        );
    }
    let mut r = Read::default();
    for f in &all {
        for h in Hints::read(f)?.hints {
            match h {
                Hint::Related(ids) => r.related.push(ids),
                Hint::Delta { have, want } => {
                    if have != want && !r.pairs.contains(&(have, want)) {
                        r.pairs.push((have, want));
                    }
                }
            }
        }
    }
    Ok(r)
}

/// One line per pair: its smallest file, or why nothing was made.
pub fn print_made(out: &mut dyn Write, made: &[Made]) -> Result<()> {
    for m in made {
        match m {
            Made::New(man) | Made::Kept(man) => {
                let verb = if matches!(m, Made::New(_)) {
                    "made"
                } else {
                    "kept"
                };
                let best = man.smallest().map_or("nothing".to_owned(), |f| {
                    format!("{} ({} bytes)", f.format, f.size)
                });
                writeln!(
                    out,
                    "derived     {}..{}: {verb} {} files, smallest {best} of {} bytes",
                    &man.have.to_string()[..12],
                    &man.want.to_string()[..12],
                    man.files.len(),
                    man.want_size
                )?;
            }
            Made::Missing { have, want, what } => {
                writeln!(out, "derived     {have}..{want}: skipped: {what}")?;
            }
        }
    }
    Ok(())
}

/// Whether an apply error means the file (or the base given) failed a
/// check, rather than the command being misused or unable to read.
pub fn is_check_failure(e: &ApplyError) -> bool {
    !matches!(e, ApplyError::Io { .. } | ApplyError::Name { .. })
}

/// The `want_size` of the manifest beside a derived file, if there is one
/// that parses: the tightest bound on what applying it may produce.
fn manifest_size(patch: &Path) -> Option<u64> {
    let (have, want, _) = derived::parse_name(patch)?;
    let json = patch.with_file_name(format!("{}.json", derived::stem(&have, &want)));
    let bytes = std::fs::read(&json).ok()?;
    derived::Manifest::parse(&json, &have, &want, &bytes)
        .ok()
        .map(|m| m.want_size)
}

/// `silo apply`: reads `have`, applies `patch`, and writes `want` to
/// `output` (via a temporary file renamed into place) or stdout. Nothing is
/// written unless the result's id is the `want` of the file's name.
pub fn apply(
    have: &Path,
    patch: &Path,
    output: Option<&Path>,
    limit: u64,
    stdout: &mut dyn Write,
) -> Result<std::result::Result<ObjectId, ApplyError>> {
    let base = std::fs::read(have).with_context(|| format!("cannot read {}", have.display()))?;
    let limit = limit.min(manifest_size(patch).unwrap_or(u64::MAX));
    let (id, bytes) = match derived::apply(&base, patch, limit) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    match output {
        None => stdout.write_all(&bytes)?,
        Some(dest) => {
            let dir = match dest.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let mut tmp = tempfile::Builder::new()
                .prefix(".silo-apply-")
                .tempfile_in(dir)
                .with_context(|| format!("cannot write in {}", dir.display()))?;
            tmp.write_all(&bytes)
                .with_context(|| format!("cannot write {}", tmp.path().display()))?;
            tmp.persist(dest)
                .with_context(|| format!("cannot write {}", dest.display()))?;
        }
    }
    Ok(Ok(id))
}

/// `silo apply HAVE PATCH [-o WANT]`: exit 1 if the result is refused.
pub fn run_apply(a: &ApplyArgs, out: &mut dyn Write) -> Result<Status> {
    match apply(&a.have, &a.patch, a.output.as_deref(), a.max_size, out)? {
        Ok(id) => {
            out.flush()?;
            if a.output.is_some() {
                eprintln!("silo: rebuilt {id}");
            }
            Ok(Status::Ok)
        }
        Err(e) if is_check_failure(&e) => {
            eprintln!("silo: bad: {}", trees_pack::error_chain(&e));
            Ok(Status::CheckFailed)
        }
        Err(e) => Err(e.into()),
    }
}
