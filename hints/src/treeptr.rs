//! `*.treeptr`: one blob, named.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
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
    #[error("{path}: {error}")]
    Json {
        /// The file.
        path: PathBuf,
        /// serde's message names the field, line and column.
        error: serde_json::Error,
    },
    /// Writing the file failed.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Downloaded from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Derived from this treeptr (relative path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// By this command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// In this environment.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

/// The file as it is written: field order is the order of the design.
#[derive(Deserialize, Serialize)]
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
        let raw: Raw = serde_json::from_slice(json).map_err(|error| Error::Json {
            path: path.to_owned(),
            error,
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

    /// The file's content: pretty JSON, fields in the design's order, and a
    /// final newline (a treeptr is committed to git and read by people).
    pub fn to_json(&self) -> String {
        let raw = Raw {
            blob: self.blob.to_string(),
            size: self.size,
            format: self.format.clone(),
            provenance: self.provenance.clone(),
        };
        let mut s =
            serde_json::to_string_pretty(&raw).expect("strings and numbers always serialise");
        s.push('\n');
        s
    }

    /// Writes the treeptr to `path`: a temporary file beside it, fsynced,
    /// then renamed over `path`, so that a reader sees the old file or the
    /// new one, never half of one. The file is readable by everyone (0644):
    /// it goes into a git repository.
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        use std::io::Write;
        use std::os::unix::fs::PermissionsExt;
        let err = |source| Error::Write {
            path: path.to_owned(),
            source,
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".treeptr-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(err)?;
        // Explicitly, not at creation: the umask would apply there.
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(err)?;
        tmp.write_all(self.to_json().as_bytes()).map_err(err)?;
        tmp.as_file().sync_all().map_err(err)?;
        tmp.persist(path).map_err(|e| err(e.error))?;
        Ok(())
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

    #[test]
    fn to_json_parses_back_and_omits_empty_provenance_fields() {
        let t = parse(
            r#"{"blob":"ce013625030ba8dba906f756967f9e9ca394464a","size":6,"format":"tar",
                "provenance":{"base":"../a.treeptr","command":"make"}}"#,
        )
        .unwrap();
        let json = t.to_json();
        assert!(json.ends_with("}\n"), "{json}");
        assert!(!json.contains("url") && !json.contains("env"), "{json}");
        assert_eq!(parse(&json).unwrap(), t);
        let blob = json.find("\"blob\"").unwrap();
        let provenance = json.find("\"provenance\"").unwrap();
        assert!(blob < provenance, "{json}");
    }
}
