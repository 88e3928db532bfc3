//! `<have>..<want>.json`: what was made for a pair, so that a client fetches
//! one small file and then the smallest patch it can apply.
//!
//! ```json
//! { "have": "…40 hex…", "want": "…40 hex…", "have_size": 16527360, "want_size": 16906240,
//!   "files": [ { "file": "….patch.lzma", "format": "lzma", "size": 69404,
//!                "applies_with": "silo apply HAVE PATCH -o WANT", "make_seconds": 21.8 } ],
//!   "skipped": [ { "format": "vcdiff", "reason": "…" } ] }
//! ```
//!
//! `files` is sorted smallest first. Reading is strict: unknown fields and
//! names that do not belong to the pair are errors.

use std::path::Path;

use serde::{Deserialize, Serialize};
use trees_pack::ObjectId;

use super::Format;

/// One derived file of a pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// Its name in `derived/deltas/`.
    pub file: String,
    /// Its format.
    pub format: Format,
    /// Its size in bytes.
    pub size: u64,
    /// The command that applies it.
    pub applies_with: String,
    /// Seconds it took to make.
    pub make_seconds: f64,
}

/// A format that was not made for this pair, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Skipped {
    /// The format.
    pub format: Format,
    /// Why (a size limit, usually).
    pub reason: String,
}

/// The manifest of a pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The blob the client has (hex).
    #[serde(with = "trees_pack::id::hex")]
    pub have: ObjectId,
    /// The blob it wants (hex).
    #[serde(with = "trees_pack::id::hex")]
    pub want: ObjectId,
    /// Size of `have`.
    pub have_size: u64,
    /// Size of `want`.
    pub want_size: u64,
    /// What was made, smallest first.
    pub files: Vec<File>,
    /// What was not made.
    #[serde(default)]
    pub skipped: Vec<Skipped>,
}

/// Why a manifest is refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// It is not a manifest (bad JSON, unknown fields, bad ids).
    #[error("{}", path.display())]
    Json {
        /// The manifest.
        path: std::path::PathBuf,
        /// The parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// It names another pair than its file name does.
    #[error("{}: names have {have} and want {want}, not the pair of its file name", path.display())]
    OtherPair {
        /// The manifest.
        path: std::path::PathBuf,
        /// The `have` it names.
        have: ObjectId,
        /// The `want` it names.
        want: ObjectId,
    },
    /// A file it lists is not this pair's file of its format.
    #[error("{}: file {file:?} is not the {format} file of this pair", path.display())]
    OtherFile {
        /// The manifest.
        path: std::path::PathBuf,
        /// The name it lists.
        file: String,
        /// The format it gives.
        format: Format,
    },
}

impl Manifest {
    /// Parses and checks the manifest at `path` (for `have`..`want`).
    pub fn parse(
        path: &Path,
        have: &ObjectId,
        want: &ObjectId,
        json: &[u8],
    ) -> Result<Self, ManifestError> {
        let m: Manifest = serde_json::from_slice(json).map_err(|source| ManifestError::Json {
            path: path.to_owned(),
            source,
        })?;
        if m.have != *have || m.want != *want {
            return Err(ManifestError::OtherPair {
                path: path.to_owned(),
                have: m.have,
                want: m.want,
            });
        }
        let stem = super::stem(have, want);
        for f in &m.files {
            if f.file != format!("{stem}.{}", f.format.extension()) {
                return Err(ManifestError::OtherFile {
                    path: path.to_owned(),
                    file: f.file.clone(),
                    format: f.format,
                });
            }
        }
        Ok(m)
    }

    /// The smallest file, if any.
    pub fn smallest(&self) -> Option<&File> {
        self.files.first()
    }
}
