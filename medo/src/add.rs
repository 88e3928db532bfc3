//! `medo add`: store a tree or a file in a silo and name it with a treeptr.

use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use trees_hints::reachable::SUFFIX;
use trees_hints::treeptr::{self, Provenance, Treeptr};

use super::{Format, archive};
use trees_silo::Silo;
use trees_silo::store::AddError;

/// Why adding failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The source cannot be examined.
    #[error("cannot read {path}")]
    Source {
        /// The source.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The treeptr's name does not end in `.treeptr`.
    #[error(
        "{path}: a treeptr's name must end in {SUFFIX} (medo reachable and silo gc look only at those)"
    )]
    NotTreeptr {
        /// The name given.
        path: PathBuf,
    },
    /// The tree cannot be written as a tar.
    #[error(transparent)]
    Archive(#[from] archive::Error),
    /// The temporary tar in the silo's `tmp/` cannot be written or removed.
    #[error("cannot write the temporary tar {path}")]
    Temp {
        /// The file, or `tmp/` if it could not be made.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The silo refused the blob.
    #[error("cannot add {path} to the silo {silo}")]
    Add {
        /// What was being added.
        path: PathBuf,
        /// The silo.
        silo: PathBuf,
        /// The cause (boxed: it is large, and rare).
        source: Box<AddError>,
    },
    /// The base treeptr is unreadable, or the treeptr cannot be written.
    #[error(transparent)]
    Treeptr(#[from] treeptr::Error),
    /// The path of the base relative to the treeptr cannot be computed.
    #[error("cannot find {path}")]
    Base {
        /// The directory or base.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// What [`add`] did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The treeptr written.
    pub treeptr: Treeptr,
    /// False if the silo had the blob already.
    pub added: bool,
}

/// Stores `src` in `silo` and writes the treeptr `dest` naming it.
///
/// A directory is stored as a deterministic tar ([`archive`]), made in the
/// silo's `tmp/` and removed once stored; a file is stored as it is, its
/// format read from its name ([`Format::of_file`]). The treeptr is written
/// last, through a temporary file and a rename: it never names a blob the
/// silo does not have.
pub fn add(silo: &Silo, src: &Path, dest: &Path, provenance: Provenance) -> Result<Outcome, Error> {
    if !dest
        .as_os_str()
        .as_encoded_bytes()
        .ends_with(SUFFIX.as_bytes())
    {
        return Err(Error::NotTreeptr {
            path: dest.to_owned(),
        });
    }
    let meta = std::fs::metadata(src).map_err(|source| Error::Source {
        path: src.to_owned(),
        source,
    })?;
    let stored = |path: &Path| {
        silo.add_file(path).map_err(|source| Error::Add {
            path: src.to_owned(),
            silo: silo.root().to_owned(),
            source: Box::new(source),
        })
    };
    let (blob, added, size, format) = if meta.is_dir() {
        let tmp_err = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::Temp { path, source }
        };
        let tmp = silo.temp_file(".tar").map_err(tmp_err(&silo.tmp_dir()))?;
        let path = tmp.path().to_owned();
        let out = archive::write(src, io::BufWriter::new(tmp.as_file()))?;
        out.into_inner()
            .map_err(|e| e.into_error())
            .and_then(|mut f| f.flush())
            .map_err(tmp_err(&path))?;
        let size = tmp.as_file().metadata().map_err(tmp_err(&path))?.len();
        let (blob, added) = stored(&path)?;
        tmp.close().map_err(tmp_err(&path))?;
        (blob, added, size, Format::Tar)
    } else {
        let (blob, added) = stored(src)?;
        (blob, added, meta.len(), Format::of_file(src))
    };
    let treeptr = Treeptr {
        blob,
        size,
        format: format.name().to_owned(),
        provenance,
    };
    treeptr.write(dest)?;
    Ok(Outcome { treeptr, added })
}

/// The provenance of a blob made from the one of the treeptr `base` by
/// `command`, for the treeptr `dest`: `base` is read (it must be a valid
/// treeptr) and recorded relative to `dest`'s directory, so that the medo
/// directory can move as a whole.
pub fn derived_from(dest: &Path, base: &Path, command: &str) -> Result<Provenance, Error> {
    Treeptr::read(base)?;
    let canon = |p: &Path| {
        p.canonicalize().map_err(|source| Error::Base {
            path: p.to_owned(),
            source,
        })
    };
    let dest_dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let rel = relative(&canon(dest_dir)?, &canon(base)?);
    Ok(Provenance {
        base: Some(rel.to_string_lossy().into_owned()),
        command: Some(command.to_owned()),
        ..Provenance::default()
    })
}

/// `to` relative to the directory `from`, both absolute and canonical.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to[common..] {
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_between_directories() {
        for (from, to, want) in [
            ("/a/b", "/a/b/c.treeptr", "c.treeptr"),
            ("/a/b", "/a/x/c.treeptr", "../x/c.treeptr"),
            ("/a/b/c", "/d.treeptr", "../../../d.treeptr"),
        ] {
            assert_eq!(relative(Path::new(from), Path::new(to)), Path::new(want));
        }
    }
}
