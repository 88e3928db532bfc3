//! `HINTS.json`: which blobs a repack should try as each other's bases.
//!
//! ```json
//! { "hints": [
//!   { "have": "source.medo/Python-3.10.4.treeptr", "want": "source.medo/Python-3.10.5.treeptr" },
//!   { "related": ["a/Python-3.10.4.treeptr", "ce013625030ba8dba906f756967f9e9ca394464a"] } ] }
//! ```
//!
//! A blob is named by its id (40 hex digits) or by a treeptr path, relative
//! to the directory that holds the hints file. Reading the file resolves
//! every name to an id, so that a typo fails here, naming the file, the
//! hint and the field, rather than silently costing size in a repack.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use trees_pack::ObjectId;

use crate::treeptr::{self, Treeptr};

/// The name of the file in a medo directory.
pub const FILE_NAME: &str = "HINTS.json";

/// Why a hints file cannot be read.
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
    /// A hint is neither `have`+`want` nor `related`.
    #[error("{path}: hints[{index}]: {what}")]
    Shape {
        /// The file.
        path: PathBuf,
        /// The hint's position in `hints`, from 0.
        index: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// A name is neither an id nor a treeptr path.
    #[error(
        "{path}: hints[{index}].{field}: {value:?} is neither a 40-hex-digit blob id \
         nor a path ending in .treeptr"
    )]
    BadName {
        /// The file.
        path: PathBuf,
        /// The hint's position in `hints`, from 0.
        index: usize,
        /// `have`, `want` or `related[i]`.
        field: String,
        /// What it says.
        value: String,
    },
    /// A treeptr that a hint names cannot be read.
    #[error("{path}: hints[{index}].{field}")]
    Treeptr {
        /// The hints file.
        path: PathBuf,
        /// The hint's position in `hints`, from 0.
        index: usize,
        /// `have`, `want` or `related[i]`.
        field: String,
        /// The treeptr's error, which names it.
        source: treeptr::Error,
    },
}

/// One hint, its names resolved to ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hint {
    /// A client holding `have` wants `want`: make a delta from one to the other.
    Delta {
        /// The blob the client has.
        have: ObjectId,
        /// The blob it wants.
        want: ObjectId,
    },
    /// Try these blobs as each other's delta bases.
    Related(Vec<ObjectId>),
}

/// A parsed hints file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hints {
    /// The file it was read from.
    pub file: PathBuf,
    /// The hints, in the file's order.
    pub hints: Vec<Hint>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    hints: Vec<RawHint>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHint {
    #[serde(default)]
    have: Option<String>,
    #[serde(default)]
    want: Option<String>,
    #[serde(default)]
    related: Option<Vec<String>>,
}

impl Hints {
    /// Parses the content of the hints file at `path`, reading the
    /// treeptrs it names relative to `path`'s directory.
    pub fn parse(path: &Path, json: &[u8]) -> Result<Hints, Error> {
        let raw: Raw = serde_json::from_slice(json).map_err(|error| Error::Json {
            path: path.to_owned(),
            error,
        })?;
        let dir = path.parent().unwrap_or(Path::new(""));
        let shape = |index, what| Error::Shape {
            path: path.to_owned(),
            index,
            what,
        };
        let mut hints = Vec::with_capacity(raw.hints.len());
        for (index, h) in raw.hints.into_iter().enumerate() {
            let name = |field: String, value: &str| resolve(path, dir, index, field, value);
            hints.push(match (h.have, h.want, h.related) {
                (Some(have), Some(want), None) => Hint::Delta {
                    have: name("have".into(), &have)?,
                    want: name("want".into(), &want)?,
                },
                (None, None, Some(related)) => {
                    if related.len() < 2 {
                        return Err(shape(index, "\"related\" needs at least two blobs"));
                    }
                    let ids = related
                        .iter()
                        .enumerate()
                        .map(|(i, v)| name(format!("related[{i}]"), v))
                        .collect::<Result<_, _>>()?;
                    Hint::Related(ids)
                }
                (Some(_), None, None) => return Err(shape(index, "has \"have\" but no \"want\"")),
                (None, Some(_), None) => return Err(shape(index, "has \"want\" but no \"have\"")),
                (None, None, None) => {
                    return Err(shape(
                        index,
                        "has neither \"have\"/\"want\" nor \"related\"",
                    ));
                }
                _ => return Err(shape(index, "mixes \"related\" with \"have\"/\"want\"")),
            });
        }
        Ok(Hints {
            file: path.to_owned(),
            hints,
        })
    }

    /// Reads and parses the hints file at `path`.
    pub fn read(path: &Path) -> Result<Hints, Error> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &bytes)
    }
}

/// An id, or the blob of the treeptr at `dir/value`.
fn resolve(
    path: &Path,
    dir: &Path,
    index: usize,
    field: String,
    value: &str,
) -> Result<ObjectId, Error> {
    if value.ends_with(".treeptr") {
        return Treeptr::read(&dir.join(value))
            .map(|t| t.blob)
            .map_err(|source| Error::Treeptr {
                path: path.to_owned(),
                index,
                field,
                source,
            });
    }
    trees_pack::id::parse_hex(value).ok_or_else(|| Error::BadName {
        path: path.to_owned(),
        index,
        field,
        value: value.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "ce013625030ba8dba906f756967f9e9ca394464a";
    const B: &str = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391";

    fn parse(s: &str) -> Result<Hints, Error> {
        Hints::parse(Path::new("m/HINTS.json"), s.as_bytes())
    }

    #[test]
    fn ids_parse_in_order() {
        let h = parse(&format!(
            r#"{{"hints": [{{"have": "{A}", "want": "{B}"}}, {{"related": ["{B}", "{A}"]}}]}}"#
        ))
        .unwrap();
        let (a, b) = (
            trees_pack::id::parse_hex(A).unwrap(),
            trees_pack::id::parse_hex(B).unwrap(),
        );
        assert_eq!(
            h.hints,
            [Hint::Delta { have: a, want: b }, Hint::Related(vec![b, a])]
        );
    }

    #[test]
    fn malformed_json_unknown_fields_bad_ids_and_bad_shapes_name_the_file_and_field() {
        let cases = [
            ("{\"hints\": [".to_string(), "EOF".to_string()),
            (r#"{"hints": [], "silos": []}"#.into(), "silos".into()),
            (
                format!(r#"{{"hints": [{{"have": "{A}", "wants": "{B}"}}]}}"#),
                "wants".into(),
            ),
            (
                format!(r#"{{"hints": [{{"have": "{A}"}}]}}"#),
                "no \"want\"".into(),
            ),
            (r#"{"hints": [{}]}"#.into(), "hints[0]: has neither".into()),
            (
                format!(r#"{{"hints": [{{"related": ["{A}"]}}]}}"#),
                "two".into(),
            ),
            (
                format!(r#"{{"hints": [{{"related": ["{A}", "{B}"], "have": "{A}"}}]}}"#),
                "mixes".into(),
            ),
            (
                format!(r#"{{"hints": [{{"have": "{A}", "want": "{}"}}]}}"#, &B[1..]),
                format!("hints[0].want: \"{}\" is neither", &B[1..]),
            ),
            (
                format!(r#"{{"hints": [{{"related": ["{A}", "xyz{}"]}}]}}"#, &B[3..]),
                "hints[0].related[1]".into(),
            ),
            (
                format!(r#"{{"hints": [{{"related": ["{A}", "nope.treeptr"]}}]}}"#),
                "hints[0].related[1]".into(),
            ),
        ];
        for (json, word) in cases {
            let e = parse(&json).unwrap_err().to_string();
            assert!(
                e.contains("m/HINTS.json") && e.contains(&word),
                "{json} -> {e}"
            );
        }
    }
}
