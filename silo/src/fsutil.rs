//! Durable writes: a file is complete and on disk before its name appears.

use std::fs;
use std::io;
use std::path::Path;

/// fsyncs a directory, so that a rename or unlink in it survives a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()?;
    crate::crash::point("directory synced");
    Ok(())
}

/// Creates `dir` if missing, fsyncing its parent when it was created.
pub fn ensure_dir(dir: &Path) -> io::Result<()> {
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

/// Removes a file; a file already gone is fine (another process removed it).
pub fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => {
            crate::crash::point("file removed");
            Ok(())
        }
    }
}

/// Marks an object that is already stored as wanted now, so that a gc
/// whose reachable set predates the caller's treeptr does not take it
/// (git "freshens" objects the same way).
pub fn freshen(path: &Path) -> io::Result<()> {
    let f = fs::OpenOptions::new()
        .append(true)
        .open(path)
        .or_else(|_| fs::File::open(path))?;
    f.set_modified(std::time::SystemTime::now())
}
