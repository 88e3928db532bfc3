//! The reachable set: every blob that some treeptr under some directory names.
//!
//! `silo gc` keeps these and may delete the rest, so the walk fails rather
//! than skip anything it cannot read: a treeptr left out would lose a blob.

use std::path::{Path, PathBuf};

use trees_pack::ObjectId;

use crate::treeptr::{self, Treeptr};

/// The suffix of treeptr files.
pub const SUFFIX: &str = ".treeptr";

/// Why the treeptrs under a directory cannot all be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A directory cannot be listed, or a path cannot be examined.
    #[error("cannot read {path}")]
    Io {
        /// The directory or file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A treeptr is unreadable or malformed (the error names it).
    #[error(transparent)]
    Treeptr(#[from] treeptr::Error),
}

/// The treeptr files under `root`, recursively, sorted by path (the order
/// of a depth-first walk with each directory's names in byte order).
///
/// `root` may itself be a treeptr file. Directories named `.git` are not
/// entered, and symlinks to directories are not followed (a cycle would
/// never end); a symlink to a treeptr file counts.
pub fn treeptrs(root: &Path) -> Result<Vec<PathBuf>, Error> {
    find(root, &|name| name.ends_with(SUFFIX.as_bytes()))
}

/// The `HINTS.json` files under `root`, walked as [`treeptrs`] walks.
pub fn hints_files(root: &Path) -> Result<Vec<PathBuf>, Error> {
    find(root, &|name| name == crate::hints::FILE_NAME.as_bytes())
}

fn find(root: &Path, wanted: &dyn Fn(&[u8]) -> bool) -> Result<Vec<PathBuf>, Error> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    let meta = std::fs::metadata(root).map_err(io(root))?;
    let mut out = Vec::new();
    if meta.is_dir() {
        walk(root, wanted, &mut out)?;
    } else {
        out.push(root.to_owned());
    }
    Ok(out)
}

fn walk(dir: &Path, wanted: &dyn Fn(&[u8]) -> bool, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    let mut entries = Vec::new();
    for e in std::fs::read_dir(dir).map_err(io(dir))? {
        let e = e.map_err(io(dir))?;
        entries.push((
            e.file_name(),
            e.path(),
            e.file_type().map_err(io(&e.path()))?,
        ));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, path, kind) in entries {
        if kind.is_dir() {
            if name != ".git" {
                walk(&path, wanted, out)?;
            }
        } else if wanted(name.as_encoded_bytes())
            && std::fs::metadata(&path).map_err(io(&path))?.is_file()
        {
            out.push(path);
        }
    }
    Ok(())
}

/// The blobs named by the treeptrs under `dirs` (see [`treeptrs`]), sorted
/// and without duplicates.
pub fn reachable<P: AsRef<Path>>(dirs: &[P]) -> Result<Vec<ObjectId>, Error> {
    let mut ids = Vec::new();
    for d in dirs {
        for t in treeptrs(d.as_ref())? {
            ids.push(Treeptr::read(&t)?.blob);
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}
