//! Making the derived files of `have`/`want` pairs: every format in
//! parallel, each file written whole to `tmp/` and renamed into
//! `derived/deltas/`, the pair's `.json` last.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;
use trees_delta::patch;
use trees_pack::ObjectId;
use trees_pack::data::write::{Base, Entry};

use crate::derived::{File, Format, Manifest, Skipped, deltas_dir, stem};
use crate::lock;
use crate::progress::{Progress, Unit};
use crate::{Silo, store};

/// What happened to one pair.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Made {
    /// Its files were made now.
    New(Manifest),
    /// Its files were already there (their manifest parsed).
    Kept(Manifest),
    /// `have` or `want` is not in the silo: nothing was made.
    Missing {
        /// The blob the client has.
        #[serde(with = "trees_pack::id::hex")]
        have: ObjectId,
        /// The blob it wants.
        #[serde(with = "trees_pack::id::hex")]
        want: ObjectId,
        /// Which is missing.
        what: String,
    },
}

/// Why making derived files failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The lock is held or cannot be taken.
    #[error(transparent)]
    Lock(#[from] lock::Error),
    /// The listing (info/files.json) cannot be written.
    #[error(transparent)]
    Listing(#[from] crate::listing::Error),
    /// An object cannot be read.
    #[error(transparent)]
    Read(#[from] store::ReadError),
    /// A file cannot be written.
    #[error("cannot write {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The delta encoder refused (a bug).
    #[error("making the git delta of {want} against {have}")]
    Delta {
        /// The base.
        have: ObjectId,
        /// The target.
        want: ObjectId,
        /// The encoder's refusal.
        #[source]
        source: trees_delta::matcher::Error,
    },
    /// Staging or publishing a file failed.
    #[error(transparent)]
    Storage(#[from] crate::storage::Error),
}

/// Why one format of a pair was not made (the pair's manifest says so).
#[derive(Debug, thiserror::Error)]
enum Skip {
    #[error(transparent)]
    Patch(#[from] patch::Error),
    #[error(transparent)]
    Pack(#[from] trees_pack::data::write::Error),
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// Makes (or keeps, unless `force`) the derived files of every pair, in
/// `formats`, holding the silo lock.
pub fn make_all(
    silo: &Silo,
    pairs: &[(ObjectId, ObjectId)],
    formats: &[Format],
    force: bool,
    wait: bool,
    progress: &dyn Progress,
) -> Result<Vec<Made>, Error> {
    let _lock = silo.storage().lock(wait)?;
    let dir = deltas_dir(silo);
    progress.stage("making client deltas", pairs.len() as u64, Unit::Objects);
    let mut out = Vec::with_capacity(pairs.len());
    for (have, want) in pairs {
        let json = dir.join(format!("{}.json", stem(have, want)));
        let kept = (!force)
            .then(|| std::fs::read(&json).ok())
            .flatten()
            .and_then(|b| Manifest::parse(&json, have, want, &b).ok());
        let made = match kept {
            Some(m) => Made::Kept(m),
            None => {
                let mut missing = Vec::new();
                for (role, id) in [("have", have), ("want", want)] {
                    if !silo.contains(id)? {
                        missing.push(format!("{role} {id} is not in the silo"));
                    }
                }
                if missing.is_empty() {
                    Made::New(make(silo, have, want, formats)?)
                } else {
                    tracing::warn!("hint {have}..{want} skipped: {}", missing.join(", "));
                    Made::Missing {
                        have: *have,
                        want: *want,
                        what: missing.join(", "),
                    }
                }
            }
        };
        out.push(made);
        progress.advance(1);
    }
    crate::listing::write(silo)?;
    Ok(out)
}

/// Makes the files of one pair (both must be in the silo) and returns its
/// manifest. The caller holds the lock.
pub fn make(
    silo: &Silo,
    have: &ObjectId,
    want: &ObjectId,
    formats: &[Format],
) -> Result<Manifest, Error> {
    let (mut h, mut w) = (Vec::new(), Vec::new());
    silo.read(have, &mut h)?;
    silo.read(want, &mut w)?;
    let needs_delta = formats
        .iter()
        .any(|f| matches!(f, Format::ThinPack | Format::DeltaXz));
    let delta = if needs_delta {
        Some(trees_delta::diff(&h, &w).map_err(|source| Error::Delta {
            have: *have,
            want: *want,
            source,
        })?)
    } else {
        None
    };
    let delta = delta.as_deref().unwrap_or_default();
    let results: Vec<(Format, Result<Vec<u8>, Skip>, f64)> = formats
        .par_iter()
        .map(|&f| {
            let t = Instant::now();
            let r = encode(f, &h, &w, delta, have, want);
            (f, r, t.elapsed().as_secs_f64())
        })
        .collect();

    let dir = deltas_dir(silo);
    let stem = stem(have, want);
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for (format, r, secs) in results {
        match r {
            Ok(bytes) => {
                let name = format!("{stem}.{}", format.extension());
                write_file(silo, &dir.join(&name), &bytes)?;
                files.push(File {
                    file: name,
                    format,
                    size: bytes.len() as u64,
                    applies_with: format.applies_with().to_owned(),
                    make_seconds: (secs * 1000.0).round() / 1000.0,
                });
            }
            Err(reason) => {
                let reason = trees_pack::error_chain(&reason);
                tracing::info!("{stem}: no {format} file: {reason}");
                skipped.push(Skipped { format, reason });
            }
        }
    }
    files.sort_by_key(|f| f.size);
    let manifest = Manifest {
        have: *have,
        want: *want,
        have_size: h.len() as u64,
        want_size: w.len() as u64,
        files,
        skipped,
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Io {
        path: dir.join(format!("{stem}.json")),
        source: e.into(),
    })?;
    write_file(silo, &dir.join(format!("{stem}.json")), &json)?;
    Ok(manifest)
}

fn encode(
    f: Format,
    have: &[u8],
    want: &[u8],
    delta: &[u8],
    have_id: &ObjectId,
    want_id: &ObjectId,
) -> Result<Vec<u8>, Skip> {
    Ok(match f {
        Format::Vcdiff => patch::vcdiff::encode(have, want)?,
        Format::Zstd => patch::zstd::encode(have, want, patch::zstd::LEVEL)?,
        Format::Lzma => patch::lzma::encode(have, want)?,
        Format::DeltaXz => patch::xz::encode(delta)?,
        Format::ThinPack => {
            let mut w = trees_pack::data::Writer::new(Vec::new(), 1)?;
            w.write(&Entry::delta(*want_id, Base::Ref(*have_id), delta, 12))?;
            w.finish()?.out
        }
    })
}

/// Stages `bytes` and puts them at `dest` (replacing a file made before:
/// `--rederive`).
fn write_file(silo: &Silo, dest: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut f = silo.storage().stage(".derived")?;
    let path = f.path().to_owned();
    f.write_all(bytes).map_err(io(&path))?;
    crate::crash::point("derived file written");
    silo.storage().replace(f, silo.relative(dest))?;
    Ok(())
}
