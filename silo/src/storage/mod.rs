//! Where a silo's files live: the one interface through which the store
//! lists, reads, writes, publishes and deletes them.
//!
//! Repack, gc, add, the listing, derived files and mirror change a silo only
//! through [`Storage`]; [`Local`] is a directory on a POSIX file system. A
//! second implementation (object storage, where there is no rename) must
//! keep each operation's promise below, which is what readers rely on:
//!
//! | operation | promise to a concurrent reader | local protocol |
//! |---|---|---|
//! | [`list`](Storage::list) | names that were published before the call | `readdir`, sorted |
//! | [`read_range`](Storage::read_range) | bytes of a published file, never half of a write | `pread` |
//! | [`stage`](Storage::stage) | nothing: a staged file is invisible | a file in `tmp/`, mode 0444 |
//! | [`create`](Storage::create) | the name appears complete, once; a name that exists already holds the same bytes (names are content addresses) and is kept | fsync the file, `mkdir` the parent (fsync its parent), rename, fsync the directory |
//! | [`publish`](Storage::publish) | files appear one after another, each complete before the next; the last is the one readers look for | for each: fsync, rename, fsync the directory |
//! | [`replace`](Storage::replace) | the old bytes or the new, never a mix | fsync, rename over the old, fsync the directory |
//! | [`delete`](Storage::delete) | files disappear in the order given | unlink each (a missing file is fine), then fsync each directory touched |
//! | [`fetch`](Storage::fetch) | nothing: the file is the same, only local now | nothing: it is there |
//!
//! Every step that makes something durable is a crash point
//! ([`crate::crash`]), named after the file's kind (`pack renamed`, `idx
//! synced`, ...), so that the crash tests can kill a writer between any two.
//!
//! Paths are relative to the silo's root and use `/` (`pack/pack-<sha>.idx`,
//! `objects/ab/<38 hex>.gz`): the same names work as object keys.

pub(crate) mod local;

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use local::Local;

use crate::lock::{self, Lock};

/// A file being written, invisible to readers until it is created,
/// published or replaced. Dropped, it is removed.
#[derive(Debug)]
pub struct Staged {
    file: tempfile::NamedTempFile,
}

impl Staged {
    /// Takes the local file at `path` (written by the caller: a resumable
    /// download, a file that must keep its name until it is checked) as a
    /// staged file, read-only from now on; dropped, it is removed.
    pub fn adopt(path: &Path) -> io::Result<Staged> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444))?;
        let file = std::fs::File::open(path)?;
        let temp = tempfile::TempPath::try_from_path(path)?;
        Ok(Staged {
            file: tempfile::NamedTempFile::from_parts(file, temp),
        })
    }

    /// The file, to write into (and to read back before it is published).
    pub fn file_mut(&mut self) -> &mut std::fs::File {
        self.file.as_file_mut()
    }

    /// The file, to read.
    pub fn file(&self) -> &std::fs::File {
        self.file.as_file()
    }

    /// Where it is staged (a local path, readable until it is published).
    pub fn path(&self) -> &Path {
        self.file.path()
    }
}

impl io::Write for Staged {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// An operation on a file of the silo failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot {op} {}", path.display())]
pub struct Error {
    /// What was being done: `list`, `read`, `stage`, `create`, ...
    pub op: &'static str,
    /// The file or directory (a local path).
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: io::Error,
}

/// Whether [`Storage::create`] made the file or found it there already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The file is new.
    New,
    /// A file of that name was there (same name, same bytes): it is kept.
    Existed,
}

/// The files of a silo. See the module documentation for what each
/// operation promises.
pub trait Storage: std::fmt::Debug + Send + Sync {
    /// The names of the files directly in `dir`, sorted; empty if `dir`
    /// does not exist.
    fn list(&self, dir: &Path) -> Result<Vec<String>, Error>;

    /// Bytes `range` of `path` (fewer if the file is shorter); `None` if
    /// the file does not exist.
    fn read_range(&self, path: &Path, range: Range<u64>) -> Result<Option<Vec<u8>>, Error>;

    /// A new staged file, named with `suffix` for whoever looks at `tmp/`.
    fn stage(&self, suffix: &str) -> Result<Staged, Error>;

    /// Creates `path` from `staged`, create-only.
    fn create(&self, staged: Staged, path: &Path) -> Result<Created, Error>;

    /// Publishes `files` in order, each complete and durable before the
    /// next appears.
    fn publish(&self, files: Vec<(Staged, PathBuf)>) -> Result<(), Error>;

    /// Replaces `path` (or creates it) with `staged`.
    fn replace(&self, staged: Staged, path: &Path) -> Result<(), Error>;

    /// Retires `paths` in order (a missing file is fine): they leave the
    /// silo now, and are deleted once no reader can still need them (at
    /// once in a directory, whose readers rescan; after
    /// [`sweep`](Storage::sweep)'s grace period in a bucket, whose readers
    /// may hold a listing a minute old). Returns how many were there.
    fn delete(&self, paths: &[PathBuf]) -> Result<u64, Error>;

    /// Takes the exclusive lock of repack and gc, waiting for it if
    /// `wait`. Where the lock can expire (a bucket's), `delete`, `sweep`
    /// and `replace` refuse once it has.
    fn lock(&self, wait: bool) -> Result<Lock, lock::Error>;

    /// Makes `path` (a pack) readable in full at the silo's root, for a
    /// caller about to map it. A directory has it; a bucket whose replica
    /// holds the pack hollow (see `trees_remote`'s bucket, which fetches
    /// packs on demand for repack and gc) downloads it now.
    fn fetch(&self, _path: &Path) -> Result<(), Error> {
        Ok(())
    }

    /// Deletes the files retired at least `grace` ago (a bucket's second
    /// phase of deletion); returns how many. A directory has none.
    fn sweep(&self, _grace: Duration) -> Result<u64, Error> {
        Ok(0)
    }
}

/// The crash-point name of a file's kind: its extension (`pack`, `idx`,
/// `split`, `fp`, `json`), or `loose object` for a `.gz` under `objects/`.
pub fn kind(path: &Path) -> String {
    if path.starts_with("objects") {
        return "loose object".to_owned();
    }
    if path.starts_with("derived") {
        return "derived file".to_owned();
    }
    path.extension()
        .map_or_else(|| "file".to_owned(), |e| e.to_string_lossy().into_owned())
}
