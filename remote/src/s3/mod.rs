//! Silos in S3-compatible object storage (AWS S3, R2, GCS's S3 API, Ceph
//! RGW, Garage, MinIO, moto): `s3://BUCKET/PREFIX`.
//!
//! A bucket has no rename and no lock file, so the local protocol of
//! [`trees_silo::storage`] is carried over as follows ([`Bucket`] is the
//! second implementation of [`Storage`](trees_silo::storage::Storage)):
//!
//! | operation | in a bucket |
//! |---|---|
//! | `create`, `publish` | a create-only put (`If-None-Match: *`); "already exists" is success once the bytes there are ours (names are content addresses). Files above [`client::MULTIPART_ABOVE`] go in parts after a `HEAD` finds the name free |
//! | making a pack visible | pack, then table, then idx (and its sketch), each whole before the next; then `info/files.json` is replaced with a compare-and-swap on its ETag (`If-Match`). A reader that follows the listing never meets a pack that is not whole |
//! | `replace` | a compare-and-swap on the ETag read just before; losing the race is an error, never a silent overwrite |
//! | `delete` | two-phase: the files leave the listing now and are recorded, with the time, in `info/condemned.json`; a later gc deletes those older than its grace period ([`Bucket`]'s `sweep`) |
//! | the lock | `silo.lock`, an object made with a create-only put, refreshed by its holder, taken over when stale ([`lock`]) |
//!
//! The engine reads packs through memory maps, so the writing commands
//! work on a local replica of the bucket (under the cache directory),
//! brought up to date when the silo is opened and again when the lock is
//! taken: only files the replica lacks are downloaded, and the names are
//! content addresses, so a file once downloaded never changes. Repack and
//! gc open it with [`Packs::OnDemand`]: their replica holds packs hollow
//! and downloads only those they copy or rewrite ([`hollow`]), so that a
//! nightly on an empty cache costs what it changes. Readers
//! (`silo cat`, `medo expand`) need no replica: they read the idx files
//! and then byte ranges of packs with authenticated range GETs, through
//! the same code as over HTTP ([`crate::Remote`]).

mod bucket;
pub mod client;
mod hollow;
pub mod lock;

use std::fmt;

pub use bucket::{Bucket, open};
pub use client::Client;
pub use hollow::Packs;

/// `s3://BUCKET/PREFIX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The bucket.
    pub bucket: String,
    /// The key prefix, without a leading or trailing `/`; may be empty.
    pub prefix: String,
}

impl Location {
    /// Parses `s3://BUCKET/PREFIX` (the prefix may be empty).
    pub fn parse(url: &str) -> Result<Location, Error> {
        let bad = || Error::BadUrl(url.to_owned());
        let rest = url.strip_prefix("s3://").ok_or_else(bad)?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/');
        let valid_bucket = !bucket.is_empty()
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !valid_bucket || prefix.split('/').any(|p| p == ".." || p == ".") {
            return Err(bad());
        }
        Ok(Location {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// The key of `path` (silo-relative, `/`-separated).
    pub fn key(&self, path: &str) -> String {
        if self.prefix.is_empty() {
            path.to_owned()
        } else {
            format!("{}/{path}", self.prefix)
        }
    }

    /// `s3://BUCKET/KEY` of `path`, for messages.
    pub fn url_of(&self, path: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.key(path))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// Why a bucket cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not of the form `s3://BUCKET/PREFIX`.
    #[error(
        "{0} is not a silo URL of the form s3://BUCKET/PREFIX (bucket: lower-case letters, digits, '-', '.')"
    )]
    BadUrl(String),
    /// The client cannot be configured from the environment.
    #[error(
        "cannot reach {url}: the S3 client is configured from AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (AWS_ALLOW_HTTP=true for http:// endpoints)"
    )]
    Config {
        /// The silo.
        url: String,
        /// The cause.
        source: object_store::Error,
    },
    /// The I/O runtime cannot start.
    #[error("cannot start the S3 client's runtime")]
    Runtime {
        /// The cause.
        source: std::io::Error,
    },
    /// A request failed (after `object_store`'s retries).
    #[error("{op} {url} failed")]
    Request {
        /// `GET`, `PUT`, ...
        op: &'static str,
        /// The object.
        url: String,
        /// The cause.
        source: object_store::Error,
    },
    /// What was downloaded cannot be written locally.
    #[error("cannot store what GET {url} received")]
    Output {
        /// The object.
        url: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The prefix holds no silo.
    #[error("{url} is not a silo (it has no info/files.json): `silo init {url}` makes one")]
    NotASilo {
        /// The silo.
        url: String,
    },
    /// The local replica cannot be made or opened.
    #[error("cannot open the local replica of {url}")]
    Replica {
        /// The silo.
        url: String,
        /// The cause.
        source: trees_silo::store::OpenError,
    },
    /// A file of the replica or the bucket.
    #[error(transparent)]
    Storage(#[from] trees_silo::storage::Error),
    /// The listing cannot be written.
    #[error(transparent)]
    Listing(#[from] trees_silo::listing::Error),
}
