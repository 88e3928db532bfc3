//! The exclusive lock that repack and gc hold, taken through
//! [`crate::storage::Storage::lock`]: `silo.lock` (an `flock`) in a local
//! directory, a lock object in a bucket. `add` does not need it: it only
//! ever creates new files.

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
    /// Another process holds it, and says who.
    #[error("{path} is held by {by}; wait for it to finish, or pass --wait")]
    Held {
        /// The lock.
        path: PathBuf,
        /// Its holder.
        by: String,
    },
    /// The lock file cannot be opened or locked.
    #[error("cannot lock {path}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The lock was held, but is no longer: it expired (its holder could
    /// not refresh it in time) or another process took it over. Whoever
    /// held it must stop before it deletes or publishes anything.
    #[error("{path}: {what}; stopped before changing anything more")]
    Lost {
        /// The lock.
        path: PathBuf,
        /// What happened to it.
        what: String,
    },
}

/// A held lock; released when dropped (or, for a local one, when the
/// process dies; a bucket's lock expires).
#[derive(Debug)]
pub struct Lock {
    _held: Box<dyn std::fmt::Debug + Send + Sync>,
}

impl Lock {
    /// A lock held by `held`, released when it is dropped.
    pub fn held_by(held: Box<dyn std::fmt::Debug + Send + Sync>) -> Lock {
        Lock { _held: held }
    }
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
        Ok(Lock::held_by(Box::new(file)))
    }
}
