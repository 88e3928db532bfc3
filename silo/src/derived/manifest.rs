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
    pub have: String,
    /// The blob it wants (hex).
    pub want: String,
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

impl Manifest {
    /// Parses and checks the manifest at `path` (for `have`..`want`).
    pub fn parse(
        path: &Path,
        have: &ObjectId,
        want: &ObjectId,
        json: &[u8],
    ) -> Result<Self, String> {
        let m: Manifest =
            serde_json::from_slice(json).map_err(|e| format!("{}: {e}", path.display()))?;
        let parse = trees_pack::id::parse_hex;
        if parse(&m.have) != Some(*have) || parse(&m.want) != Some(*want) {
            return Err(format!(
                "{}: names have {} and want {}, not the pair of its file name",
                path.display(),
                m.have,
                m.want
            ));
        }
        let stem = super::stem(have, want);
        for f in &m.files {
            if f.file != format!("{stem}.{}", f.format.extension()) {
                return Err(format!(
                    "{}: file {:?} is not the {} file of this pair",
                    path.display(),
                    f.file,
                    f.format
                ));
            }
        }
        Ok(m)
    }

    /// The smallest file, if any.
    pub fn smallest(&self) -> Option<&File> {
        self.files.first()
    }
}
