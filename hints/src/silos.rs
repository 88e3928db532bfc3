//! `SILO.json`: the silos that hold a medo directory's blobs, tried in order.
//!
//! ```json
//! {"silos": [{"path": "../deps.silo"}, {"url": "https://example.org/deps.silo/"}]}
//! ```
//!
//! Each entry has exactly one of `path` (a silo on this machine; a relative
//! path is relative to the directory that holds the SILO.json), `url` (a
//! silo served over HTTP) and `s3` (a silo in object storage,
//! `s3://BUCKET/PREFIX`, read with authenticated range requests). A medo directory without a SILO.json uses the
//! nearest one of a parent directory ([`Silos::find`]).

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The name of the file.
pub const FILE_NAME: &str = "SILO.json";

/// Why a SILO.json cannot be found or read.
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
    /// An entry is not exactly one of `path` and `url`, or names nothing.
    #[error("{path}: silos[{index}]: {what}")]
    Entry {
        /// The file.
        path: PathBuf,
        /// The entry's position in `silos`, from 0.
        index: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// `silos` is empty.
    #[error("{path}: field \"silos\" lists no silo")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The directory to start from does not exist.
    #[error("cannot look for {FILE_NAME} from {dir}")]
    Start {
        /// The directory.
        dir: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Neither the directory nor any parent holds a SILO.json.
    #[error("no {FILE_NAME} in {dir} or any of its parent directories")]
    NotFound {
        /// The directory searched from.
        dir: PathBuf,
    },
}

/// One silo of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A silo on this machine, resolved against the SILO.json's directory.
    Path(PathBuf),
    /// A silo served over HTTP, or in a bucket (`s3://`), as written.
    Url(String),
}

/// A parsed SILO.json.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Silos {
    /// The file it was read from.
    pub file: PathBuf,
    /// The silos, in the order to try them.
    pub silos: Vec<Location>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    silos: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    s3: Option<String>,
}

impl Silos {
    /// Parses the content of the SILO.json at `path` (the path is for
    /// messages and for resolving relative `path` entries).
    pub fn parse(path: &Path, json: &[u8]) -> Result<Silos, Error> {
        let raw: Raw = serde_json::from_slice(json).map_err(|error| Error::Json {
            path: path.to_owned(),
            error,
        })?;
        if raw.silos.is_empty() {
            return Err(Error::Empty {
                path: path.to_owned(),
            });
        }
        let dir = path.parent().unwrap_or(Path::new(""));
        let entry = |index, what| Error::Entry {
            path: path.to_owned(),
            index,
            what,
        };
        let mut silos = Vec::with_capacity(raw.silos.len());
        for (index, e) in raw.silos.into_iter().enumerate() {
            let url = match (e.url, e.s3) {
                (Some(_), Some(_)) => {
                    return Err(entry(index, "has both \"url\" and \"s3\"; give one"));
                }
                (None, Some(s3)) if !s3.starts_with("s3://") => {
                    return Err(entry(
                        index,
                        "field \"s3\" is not an s3://BUCKET/PREFIX URL",
                    ));
                }
                (u, s3) => u.or(s3),
            };
            silos.push(match (e.path, url) {
                (Some(_), Some(_)) => {
                    return Err(entry(
                        index,
                        "has both \"path\" and \"url\" (or \"s3\"); give one",
                    ));
                }
                (None, None) => {
                    return Err(entry(
                        index,
                        "has none of \"path\", \"url\" and \"s3\"; give one",
                    ));
                }
                (Some(p), None) if p.is_empty() => {
                    return Err(entry(index, "field \"path\" is empty"));
                }
                (None, Some(u)) if u.is_empty() => {
                    return Err(entry(index, "field \"url\" is empty"));
                }
                (Some(p), None) => Location::Path(dir.join(p)),
                (None, Some(u)) => Location::Url(u),
            });
        }
        Ok(Silos {
            file: path.to_owned(),
            silos,
        })
    }

    /// Reads and parses the SILO.json at `path`.
    pub fn read(path: &Path) -> Result<Silos, Error> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &bytes)
    }

    /// The SILO.json that applies to the medo directory `dir`: its own, or
    /// else the nearest of a parent directory. `dir` is made absolute and
    /// its symlinks resolved first, so that `..` means the real parent.
    pub fn find(dir: &Path) -> Result<Silos, Error> {
        let start = dir.canonicalize().map_err(|source| Error::Start {
            dir: dir.to_owned(),
            source,
        })?;
        for d in start.ancestors() {
            let candidate = d.join(FILE_NAME);
            // A SILO.json that exists but cannot be read is an error, not a
            // reason to use a parent's: that would pick the wrong silos.
            match std::fs::symlink_metadata(&candidate) {
                Ok(_) => return Self::read(&candidate),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(Error::Io {
                        path: candidate,
                        source,
                    });
                }
            }
        }
        Err(Error::NotFound { dir: start })
    }

    /// The SILO.json that applies to the treeptr at `treeptr` (that of its directory).
    pub fn for_treeptr(treeptr: &Path) -> Result<Silos, Error> {
        match treeptr.parent() {
            Some(d) if !d.as_os_str().is_empty() => Self::find(d),
            _ => Self::find(Path::new(".")),
        }
    }

    /// The local silos, in order.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.silos.iter().filter_map(|l| match l {
            Location::Path(p) => Some(p.as_path()),
            Location::Url(_) => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Silos, Error> {
        Silos::parse(Path::new("m/SILO.json"), s.as_bytes())
    }

    #[test]
    fn entries_resolve_relative_to_the_file_and_keep_their_order() {
        let s = parse(
            r#"{"silos": [{"path": "../deps.silo"}, {"url": "https://example.org/deps.silo/"},
                          {"path": "/abs/x.silo"}]}"#,
        )
        .unwrap();
        assert_eq!(
            s.silos,
            [
                Location::Path(PathBuf::from("m/../deps.silo")),
                Location::Url("https://example.org/deps.silo/".into()),
                Location::Path(PathBuf::from("/abs/x.silo")),
            ]
        );
        assert_eq!(s.paths().count(), 2);
    }

    #[test]
    fn malformed_json_unknown_fields_and_bad_entries_name_the_file_and_field() {
        let cases = [
            (r#"{"silos": [{"path": "a"}"#, "EOF"),
            (r#"{"silos": [{"path": "a"}], "hints": 1}"#, "hints"),
            (r#"{"silos": [{"path": "a", "ur": "b"}]}"#, "ur"),
            (r#"{"silo": []}"#, "silo"),
            (r#"{"silos": [{"path": 3}]}"#, "line 1"),
            (r#"{"silos": [{"path": "a", "url": "b"}]}"#, "both"),
            (r#"{"silos": [{"path": "a"}, {}]}"#, "silos[1]: has none of"),
            (r#"{"silos": [{"url": "a", "s3": "s3://b/c"}]}"#, "both"),
            (r#"{"silos": [{"s3": "https://b/c"}]}"#, "not an s3://"),
            (r#"{"silos": [{"url": ""}]}"#, "\"url\" is empty"),
            (r#"{"silos": []}"#, "no silo"),
            ("[]", "expected struct"),
        ];
        for (json, word) in cases {
            let e = parse(json).unwrap_err().to_string();
            assert!(
                e.contains("m/SILO.json") && e.contains(word),
                "{json} -> {e}"
            );
        }
    }
}
