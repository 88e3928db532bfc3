//! `medo verify`: is the tree under a destination what its treeptr's blob says?
//!
//! Every member must be there as the blob has it: directories as real
//! directories, files with the same bytes and the same executable bit (as
//! git sees modes), symlinks with the same target. Anything under the
//! destination that the blob does not name is a difference too, except the
//! destinations of other treeptrs expanded inside it. Nothing is followed
//! through a symlink and nothing is written.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use trees_pack::ObjectId;

use super::expand::Target;
use super::member::{self, Checker, Kind};
use super::unpack::same;
use super::{Format, fetch};

/// Why a tree cannot be compared with its blob.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Its blob cannot be had.
    #[error(transparent)]
    Blob(#[from] fetch::BlobError),
    /// The blob is not a valid tar or has a refused member.
    #[error("cannot check {treeptr} (blob {blob})")]
    Member {
        /// The treeptr.
        treeptr: PathBuf,
        /// Its blob.
        blob: ObjectId,
        /// The cause.
        source: member::Error,
    },
    /// The blob is a zip that cannot be read as one.
    #[error("cannot check {treeptr} (blob {blob})")]
    Zip {
        /// The treeptr.
        treeptr: PathBuf,
        /// Its blob.
        blob: ObjectId,
        /// The cause.
        source: crate::zip::Error,
    },
    /// A file under the destination cannot be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// The first place where the tree differs from the blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The path on disk.
    pub path: PathBuf,
    /// How it differs.
    pub what: String,
}

/// What [`verify`] found for one treeptr.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The blob.
    pub blob: ObjectId,
    /// Where it came from, and silos skipped.
    pub fetched: fetch::Outcome,
    /// The first difference, if any.
    pub difference: Option<Difference>,
}

/// Compares `t.dest` with the blob of `t.treeptr`. `others` are the
/// destinations of other treeptrs, not counted as extra files.
pub fn verify(t: &Target, others: &HashSet<PathBuf>) -> Result<Verified, Error> {
    let b = fetch::blob(&t.treeptr)?;
    let blob = b.treeptr.blob;
    let (file, format) = match b.format {
        Format::Zip => {
            // Compared as the tar it expands as.
            let mut zip = b.file;
            let zip_err = |source| Error::Zip {
                treeptr: t.treeptr.clone(),
                blob,
                source,
            };
            let mut tar = tempfile::tempfile().map_err(|e| zip_err(crate::zip::Error::Io(e)))?;
            crate::zip::as_tar(&mut zip, &mut tar).map_err(zip_err)?;
            (tar, Format::Tar)
        }
        f => (b.file, f),
    };
    let difference = match format {
        Format::File => compare_file(file, &t.dest)?,
        Format::Tar | Format::Tgz | Format::Txz | Format::Tzst | Format::Deb | Format::Zip => {
            compare_tar(file, format, &t.dest, others).map_err(|e| match e {
                Failure::Member(source) => Error::Member {
                    treeptr: t.treeptr.clone(),
                    blob,
                    source,
                },
                Failure::Io(e) => e,
            })?
        }
    };
    Ok(Verified {
        blob,
        fetched: b.outcome,
        difference,
    })
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::Io { path, source }
}

fn differs(path: &Path, what: impl Into<String>) -> Option<Difference> {
    Some(Difference {
        path: path.to_owned(),
        what: what.into(),
    })
}

/// What is at `path`, not following a symlink; `None` if nothing.
fn lstat(path: &Path) -> Result<Option<fs::Metadata>, Error> {
    match fs::symlink_metadata(path) {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path)(e)),
    }
}

fn describe(meta: &fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_symlink() {
        "a symlink"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_file() {
        "a file"
    } else {
        "a special file"
    }
}

fn compare_file(mut blob: File, dest: &Path) -> Result<Option<Difference>, Error> {
    match lstat(dest)? {
        None => Ok(differs(dest, "is missing")),
        Some(m) if !m.is_file() => Ok(differs(dest, format!("is {}, not a file", describe(&m)))),
        Some(_) => {
            let mut f = File::open(dest).map_err(io_err(dest))?;
            let equal = same(&mut f, &mut blob).map_err(io_err(dest))?;
            Ok((!equal).then(|| Difference {
                path: dest.to_owned(),
                what: "has other content than the blob".into(),
            }))
        }
    }
}

enum Failure {
    Member(member::Error),
    Io(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Io(e)
    }
}

impl From<member::Error> for Failure {
    fn from(e: member::Error) -> Self {
        Failure::Member(e)
    }
}

fn compare_tar(
    blob: File,
    format: Format,
    dest: &Path,
    others: &HashSet<PathBuf>,
) -> Result<Option<Difference>, Failure> {
    // A path may appear twice in a tar; the last member wins, as when it
    // was unpacked. So each path's verdict is kept and may be replaced,
    // in the order paths first appear.
    match lstat(dest)? {
        None => return Ok(differs(dest, "is missing (a directory in the blob)")),
        Some(x) if !x.is_dir() => {
            let what = format!("is {}; the blob is a tree", describe(&x));
            return Ok(differs(dest, what));
        }
        Some(_) => {}
    }
    let mut order: Vec<PathBuf> = Vec::new();
    let mut verdict: HashMap<PathBuf, Option<Difference>> = HashMap::new();
    let mut expected: HashSet<PathBuf> = HashSet::new();
    let mut checker = Checker::new(format);
    let mut ar = member::archive(blob, format);
    for entry in ar.entries().map_err(|e| checker.tar_error(e))? {
        let mut entry = entry.map_err(|e| checker.tar_error(e))?;
        let Some(m) = checker.check(&entry)? else {
            continue;
        };
        for a in m.path.ancestors() {
            expected.insert(a.to_owned());
        }
        let d = match parents_differ(dest, &m.path)? {
            Some(d) => Some(d),
            None => {
                let target = dest.join(&m.path);
                match &m.kind {
                    Kind::Dir { .. } => match lstat(&target)? {
                        None => differs(&target, "is missing (a directory in the blob)"),
                        Some(x) if !x.is_dir() => differs(
                            &target,
                            format!("is {}; the blob has a directory", describe(&x)),
                        ),
                        Some(_) => None,
                    },
                    Kind::File { mode, .. } => {
                        let size = entry.size();
                        file_differs(&target, &mut entry, size, Some(*mode))?
                    }
                    Kind::HardLink(from) => {
                        let source = dest.join(from);
                        match lstat(&source)? {
                            Some(x) if x.is_file() => {
                                let mut f = File::open(&source).map_err(io_err(&source))?;
                                file_differs(&target, &mut f, x.len(), None)?
                            }
                            _ => {
                                differs(&source, "is not a file (a hard link's target in the blob)")
                            }
                        }
                    }
                    Kind::Symlink(to) => match lstat(&target)? {
                        None => differs(&target, "is missing (a symlink in the blob)"),
                        Some(x) if !x.file_type().is_symlink() => differs(
                            &target,
                            format!("is {}; the blob has a symlink", describe(&x)),
                        ),
                        Some(_) => {
                            let now = fs::read_link(&target).map_err(io_err(&target))?;
                            (&now != to).then(|| Difference {
                                path: target.clone(),
                                what: format!(
                                    "points to {}; the blob's symlink to {}",
                                    now.display(),
                                    to.display()
                                ),
                            })
                        }
                    },
                }
            }
        };
        if verdict.insert(m.path.clone(), d).is_none() {
            order.push(m.path);
        }
    }
    if let Some(d) = order.iter().find_map(|p| verdict.remove(p).flatten()) {
        return Ok(Some(d));
    }
    Ok(extra(dest, Path::new(""), &expected, others)?)
}

/// The first directory above `rel` that is not a real directory.
fn parents_differ(dest: &Path, rel: &Path) -> Result<Option<Difference>, Error> {
    let mut above: Vec<&Path> = rel
        .ancestors()
        .skip(1)
        .filter(|a| !a.as_os_str().is_empty())
        .collect();
    above.reverse();
    for a in above {
        let p = dest.join(a);
        match lstat(&p)? {
            None => return Ok(differs(&p, "is missing (a directory in the blob)")),
            Some(x) if !x.is_dir() => {
                return Ok(differs(
                    &p,
                    format!("is {}; the blob has a directory", describe(&x)),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(None)
}

/// How the file at `target` differs from `size` bytes of `data` with
/// `mode`'s executable bit (not compared if `None`).
fn file_differs(
    target: &Path,
    data: &mut dyn io::Read,
    size: u64,
    mode: Option<u32>,
) -> Result<Option<Difference>, Error> {
    let Some(x) = lstat(target)? else {
        return Ok(differs(target, "is missing (a file in the blob)"));
    };
    if !x.is_file() {
        return Ok(differs(
            target,
            format!("is {}; the blob has a file", describe(&x)),
        ));
    }
    if x.len() != size {
        return Ok(differs(
            target,
            format!("has {} bytes; the blob's file has {size}", x.len()),
        ));
    }
    let mut f = File::open(target).map_err(io_err(target))?;
    if !same(&mut f, data).map_err(io_err(target))? {
        return Ok(differs(target, "has other content than the blob's file"));
    }
    if let Some(mode) = mode {
        let exec = |m: u32| m & 0o111 != 0;
        if exec(x.permissions().mode()) != exec(mode) {
            return Ok(differs(
                target,
                format!(
                    "mode {:o}; the blob's file has mode {mode:o} (the executable bit differs)",
                    x.permissions().mode() & 0o7777
                ),
            ));
        }
    }
    Ok(None)
}

/// The first path under `dest/rel`, in name order, that the blob does not name.
fn extra(
    dest: &Path,
    rel: &Path,
    expected: &HashSet<PathBuf>,
    others: &HashSet<PathBuf>,
) -> Result<Option<Difference>, Error> {
    let dir = dest.join(rel);
    let mut names = Vec::new();
    for e in fs::read_dir(&dir).map_err(io_err(&dir))? {
        names.push(e.map_err(io_err(&dir))?.file_name());
    }
    names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
    for name in names {
        let rel = rel.join(name);
        let path = dest.join(&rel);
        if others.contains(&path) {
            continue;
        }
        if !expected.contains(&rel) {
            return Ok(differs(&path, "is not in the blob"));
        }
        let meta = lstat(&path)?;
        if meta.is_some_and(|m| m.is_dir())
            && let Some(d) = extra(dest, &rel, expected, others)?
        {
            return Ok(Some(d));
        }
    }
    Ok(None)
}
