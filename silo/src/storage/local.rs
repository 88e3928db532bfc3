//! [`Storage`] on a local directory: `tmp/` for staged files, fsync and
//! rename to make them visible, fsync of the directory to make the rename
//! durable.

use std::fs;
use std::io::{self, Read, Seek};
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::{Created, Error, Staged, Storage, kind};
use crate::crash;
use crate::lock::{self, Lock};

/// A silo directory on a local file system.
#[derive(Debug, Clone)]
pub struct Local {
    root: PathBuf,
}

fn at<'a>(op: &'static str, path: &'a Path) -> impl Fn(io::Error) -> Error + 'a {
    move |source| Error {
        op,
        path: path.to_owned(),
        source,
    }
}

impl Local {
    /// The directory `root` (which must exist, with its `tmp/`).
    pub fn new(root: &Path) -> Local {
        Local {
            root: root.to_owned(),
        }
    }

    fn abs(&self, path: &Path) -> PathBuf {
        self.root.join(path)
    }

    /// fsyncs the staged file and renames it to `dest` (whose directory
    /// exists), then fsyncs the directory. `exclusive`: fail with
    /// `AlreadyExists` rather than replace.
    fn rename(&self, staged: Staged, dest: &Path, what: &str) -> Result<(), Error> {
        let abs = self.abs(dest);
        staged
            .file()
            .sync_all()
            .map_err(at("fsync", staged.path()))?;
        crash::point(&format!("{what} synced"));
        let dir = abs.parent().unwrap_or(&self.root).to_owned();
        let mut file = staged.file;
        // A repack removes fan-out directories it emptied; if one goes
        // between our mkdir and our rename, make it again.
        let mut attempts = 0;
        loop {
            ensure_dir(&dir).map_err(at("create", &dir))?;
            match file.persist(&abs) {
                Ok(_) => break,
                Err(e) if e.error.kind() == io::ErrorKind::NotFound && attempts < 5 => {
                    attempts += 1;
                    file = e.file;
                }
                Err(e) => return Err(at("rename to", &abs)(e.error)),
            }
        }
        crash::point(&format!("{what} renamed"));
        sync_dir(&dir).map_err(at("fsync", &dir))
    }
}

impl Storage for Local {
    fn list(&self, dir: &Path) -> Result<Vec<String>, Error> {
        let abs = self.abs(dir);
        let mut names = Vec::new();
        let entries = match fs::read_dir(&abs) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(names),
            Err(e) => return Err(at("list", &abs)(e)),
        };
        for e in entries {
            names.push(
                e.map_err(at("list", &abs))?
                    .file_name()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
        names.sort();
        Ok(names)
    }

    fn read_range(&self, path: &Path, range: Range<u64>) -> Result<Option<Vec<u8>>, Error> {
        let abs = self.abs(path);
        let mut f = match fs::File::open(&abs) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(at("read", &abs)(e)),
        };
        f.seek(io::SeekFrom::Start(range.start))
            .map_err(at("read", &abs))?;
        let mut out = Vec::new();
        f.take(range.end.saturating_sub(range.start))
            .read_to_end(&mut out)
            .map_err(at("read", &abs))?;
        Ok(Some(out))
    }

    fn stage(&self, suffix: &str) -> Result<Staged, Error> {
        use std::os::unix::fs::PermissionsExt;
        let tmp = self.root.join("tmp");
        let file = tempfile::Builder::new()
            .prefix("silo-")
            .suffix(suffix)
            .permissions(fs::Permissions::from_mode(0o444))
            .tempfile_in(&tmp)
            .map_err(at("stage a file in", &tmp))?;
        Ok(Staged { file })
    }

    fn create(&self, staged: Staged, path: &Path) -> Result<Created, Error> {
        if self.abs(path).exists() {
            return Ok(Created::Existed);
        }
        self.rename(staged, path, &kind(path))?;
        Ok(Created::New)
    }

    fn publish(&self, files: Vec<(Staged, PathBuf)>) -> Result<(), Error> {
        for (staged, dest) in files {
            self.rename(staged, &dest, &kind(&dest))?;
        }
        Ok(())
    }

    fn replace(&self, staged: Staged, path: &Path) -> Result<(), Error> {
        self.rename(staged, path, &kind(path))
    }

    fn lock(&self, wait: bool) -> Result<Lock, lock::Error> {
        Lock::exclusive(self.root.join("silo.lock"), wait)
    }

    fn delete(&self, paths: &[PathBuf]) -> Result<u64, Error> {
        let mut dirs = std::collections::BTreeSet::new();
        let mut n = 0;
        for p in paths {
            let abs = self.abs(p);
            match fs::remove_file(&abs) {
                Ok(()) => n += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(at("delete", &abs)(e)),
            }
            crash::point("file removed");
            dirs.insert(abs.parent().unwrap_or(&self.root).to_owned());
        }
        // Fan-out directories of objects/ that are now empty go too (the
        // removal fails, harmlessly, when an add put an object there
        // meanwhile; an add whose directory goes makes it again).
        let objects = self.root.join("objects");
        let mut synced = std::collections::BTreeSet::new();
        for d in dirs {
            let d = if d.parent() == Some(&objects) && fs::remove_dir(&d).is_ok() {
                objects.clone()
            } else {
                d
            };
            if synced.insert(d.clone()) {
                sync_dir(&d).map_err(at("fsync", &d))?;
            }
        }
        Ok(n)
    }
}

/// fsyncs a directory, so that a rename or unlink in it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()?;
    crash::point("directory synced");
    Ok(())
}

/// Creates `dir` if missing, fsyncing its parent when it was created.
pub(crate) fn ensure_dir(dir: &Path) -> io::Result<()> {
    match fs::create_dir(dir) {
        Ok(()) => {
            if let Some(parent) = dir.parent() {
                sync_dir(parent)?;
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}
