//! Why a silo cannot be opened, read or added to.

use std::io;
use std::path::PathBuf;

use trees_pack::ObjectId;

use crate::loose;

/// Why a silo cannot be opened or created.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A directory is missing.
    #[error("{root} is not a silo: it has no {missing}/ (create one with `silo init`)")]
    NotASilo {
        /// The directory given.
        root: PathBuf,
        /// The missing part.
        missing: &'static str,
    },
    /// Creating a directory failed.
    #[error("cannot create {path}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// Why an object cannot be found or read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// No object has this id or prefix.
    #[error("no object {0} in the silo")]
    NotFound(String),
    /// More than one object has this prefix.
    #[error("prefix {prefix} is ambiguous: {candidates}")]
    Ambiguous {
        /// The prefix given.
        prefix: String,
        /// Some of the ids it matches.
        candidates: String,
    },
    /// Not 4 to 40 hex digits.
    #[error("{0:?} is not an object id or a prefix of 4 to 40 hex digits")]
    BadId(String),
    /// Listing a directory failed.
    #[error("cannot list {path}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A loose object is unreadable or corrupt.
    #[error(transparent)]
    Loose(#[from] loose::Error),
    /// A pack is unreadable or corrupt.
    #[error("object {id}")]
    Pack {
        /// The object.
        id: ObjectId,
        /// The cause.
        source: trees_pack::bundle::Error,
    },
    /// A packed object does not hash to its id.
    #[error("object {id} in pack {pack} is corrupt: its content hashes to {actual}")]
    PackedMismatch {
        /// The object.
        id: ObjectId,
        /// The pack.
        pack: PathBuf,
        /// What it hashes to.
        actual: String,
    },
    /// A pack cannot be opened.
    #[error(transparent)]
    OpenPack(trees_pack::bundle::Error),
    /// Writing the output failed.
    #[error("cannot write the output")]
    Output(#[source] io::Error),
    /// A pack's record table is unusable.
    #[error("record table {path} is unusable")]
    Table {
        /// The table.
        path: PathBuf,
        /// Why.
        source: crate::packs::TableError,
    },
    /// A split object cannot be rebuilt.
    #[error(transparent)]
    Split(#[from] Box<crate::split::Error>),
    /// Listing or reading a file of the silo failed.
    #[error(transparent)]
    Storage(#[from] crate::storage::Error),
}

/// Why adding a file failed.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// Reading the input or writing the object failed.
    #[error(transparent)]
    Loose(#[from] loose::Error),
    /// Creating the object's directory or temporary file failed.
    #[error("cannot write into {path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Looking in packs for the object failed.
    #[error(transparent)]
    Find(#[from] ReadError),
    /// Staging or creating its file failed.
    #[error(transparent)]
    Storage(#[from] crate::storage::Error),
}
