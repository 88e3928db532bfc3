//! The exclusive lock that repack and gc hold (`silo.lock`). `add` does not
//! need it: it only ever creates new files.

use std::fs;
use std::path::PathBuf;

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another process holds it.
    #[error("{path} is held by another repack or gc; wait for it to finish, or pass --wait")]
    Busy {
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file cannot be opened or locked.
    #[error("cannot lock {path}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A held lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct Lock {
    _file: fs::File,
}

impl Lock {
    /// Takes the lock at `path`, waiting for it if `wait`, else failing at once.
    pub fn exclusive(path: PathBuf, wait: bool) -> Result<Lock, Error> {
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        if wait {
            file.lock().map_err(io)?;
        } else {
            match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => return Err(Error::Busy { path }),
                Err(fs::TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        Ok(Lock { _file: file })
    }
}
