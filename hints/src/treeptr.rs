//! `*.treeptr`: one blob, named.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use trees_pack::ObjectId;

/// Why a treeptr cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file cannot be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The JSON is malformed or does not fit the schema (unknown fields included).
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// serde's message names the field, line and column.
        source: serde_json::Error,
    },
    /// `blob` is not 40 hex digits.
    #[error("{path}: field \"blob\": {value:?} is not a 40-hex-digit git blob id")]
    BadId {
        /// The file.
        path: PathBuf,
        /// What it says.
        value: String,
    },
}

/// Where a blob came from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Downloaded from here.
    #[serde(default)]
    pub url: Option<String>,
    /// Derived from this treeptr (relative path).
    #[serde(default)]
    pub base: Option<String>,
    /// By this command.
    #[serde(default)]
    pub command: Option<String>,
    /// In this environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    blob: String,
    size: u64,
    format: String,
    provenance: Provenance,
}

/// A parsed treeptr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Treeptr {
    /// The blob's id.
    pub blob: ObjectId,
    /// Its size in bytes.
    pub size: u64,
    /// `tar`, `tgz`, or what the blob is.
    pub format: String,
    /// Where it came from.
    pub provenance: Provenance,
}

impl Treeptr {
    /// Parses the content of the treeptr at `path` (the path is for messages).
    pub fn parse(path: &Path, json: &[u8]) -> Result<Treeptr, Error> {
        let raw: Raw = serde_json::from_slice(json).map_err(|source| Error::Json {
            path: path.to_owned(),
            source,
        })?;
        let blob = trees_pack::id::parse_hex(&raw.blob).ok_or_else(|| Error::BadId {
            path: path.to_owned(),
            value: raw.blob.clone(),
        })?;
        Ok(Treeptr {
            blob,
            size: raw.size,
            format: raw.format,
            provenance: raw.provenance,
        })
    }

    /// Reads and parses the treeptr at `path`.
    pub fn read(path: &Path) -> Result<Treeptr, Error> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Treeptr, Error> {
        Treeptr::parse(Path::new("x/y.treeptr"), s.as_bytes())
    }

    #[test]
    fn unknown_fields_bad_ids_and_bad_json_name_the_file_and_field() {
        let id = "ce013625030ba8dba906f756967f9e9ca394464a";
        let cases = [
            (
                format!(r#"{{"blob":"{id}","size":1,"format":"tar","provenance":{{}},"sise":2}}"#),
                "sise",
            ),
            (
                r#"{"blob":"xyz","size":1,"format":"tar","provenance":{}}"#.to_string(),
                "\"blob\"",
            ),
            (
                format!(r#"{{"blob":"{id}","size":-1,"format":"tar","provenance":{{}}}}"#),
                "line 1",
            ),
            ("{".to_string(), "EOF"),
            (
                format!(r#"{{"blob":"{id}","size":1,"format":"tar","provenance":{{"uri":"x"}}}}"#),
                "uri",
            ),
        ];
        for (json, word) in cases {
            let e = parse(&json).unwrap_err().to_string();
            assert!(
                e.contains("x/y.treeptr") && e.contains(word),
                "{json} -> {e}"
            );
        }
    }
}
