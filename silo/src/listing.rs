//! `info/files.json`: what a silo holds, for clients that see it only
//! through a static web server.
//!
//! A web server without directory listings cannot tell a client which
//! packs exist (git's dumb HTTP protocol has `objects/info/packs` for the
//! same reason, written by `git update-server-info`). The listing names
//! every pack with the sizes of its `.pack` and `.idx` (and of its
//! `.split` record table, if it has one), every loose object
//! with the size of its `.gz`, and every file of `derived/deltas/`:
//!
//! ```json
//! { "version": 1,
//!   "packs":   [ { "name": "pack-<40 hex>", "pack": 123456, "idx": 2084,
//!                  "split": 412 } ],
//!   "loose":   [ { "id": "<40 hex>", "size": 5120 } ],
//!   "derived": [ { "name": "<have>..<want>.patch.zst", "size": 812 } ] }
//! ```
//!
//! `silo repack`, `silo gc` and `silo update-server-info` write it (to
//! `tmp/`, fsynced, renamed). `silo add` does not: a blob added since is
//! still found by `silo cat URL` (it tries the loose path), but `silo
//! mirror` copies only what the listing names. A reader treats the listing
//! as hostile: every name is checked against the shape of the file it
//! names, so a listing cannot point a mirror outside the silo.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use trees_pack::{ObjectId, id};

use crate::derived;
use crate::store::{ReadError, Silo};

/// The listing's path relative to a silo's root.
pub const PATH: &str = "info/files.json";

/// A listing file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The JSON is malformed or names something that cannot be in a silo.
    #[error("{source_name} is not a valid silo listing: {what}")]
    Invalid {
        /// Where the listing came from (a path or a URL).
        source_name: String,
        /// What is wrong.
        what: String,
    },
    /// Staging or replacing the listing failed.
    #[error(transparent)]
    Storage(#[from] crate::storage::Error),
    /// Scanning the silo failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Writing the listing failed.
    #[error("cannot write {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// A pack and the sizes of its two files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    /// `pack-<40 hex>`, without an extension.
    pub name: String,
    /// Bytes of the `.pack`.
    pub pack: u64,
    /// Bytes of the `.idx`.
    pub idx: u64,
    /// Bytes of the `.split` record table, if the pack stores gzip files
    /// split (see `trees_split::table`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<u64>,
}

impl Pack {
    /// The pack's checksum, which its name carries.
    pub fn checksum(&self) -> Option<ObjectId> {
        id::parse_hex(self.name.strip_prefix("pack-")?)
    }
}

/// A loose object and the size of its `.gz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Loose {
    /// The object id.
    pub id: ObjectIdHex,
    /// Bytes of the `.gz` file.
    pub size: u64,
}

/// A file of `derived/deltas/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Derived {
    /// Its file name (no directory part).
    pub name: String,
    /// Its size.
    pub size: u64,
}

/// An object id written as 40 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectIdHex(pub ObjectId);

impl Serialize for ObjectIdHex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for ObjectIdHex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        id::parse_hex(&s)
            .map(ObjectIdHex)
            .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not 40 hex digits")))
    }
}

/// What a silo holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listing {
    /// Format version, 1.
    pub version: u32,
    /// Packs, sorted by name.
    pub packs: Vec<Pack>,
    /// Loose objects, sorted by id.
    pub loose: Vec<Loose>,
    /// Files of `derived/deltas/`, sorted by name.
    pub derived: Vec<Derived>,
}

impl Listing {
    /// Parses and checks a listing; `source_name` names it in errors.
    pub fn parse(bytes: &[u8], source_name: &str) -> Result<Listing, Error> {
        let invalid = |what: String| Error::Invalid {
            source_name: source_name.to_owned(),
            what,
        };
        let l: Listing = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
        if l.version != 1 {
            return Err(invalid(format!("version {} is not 1", l.version)));
        }
        for p in &l.packs {
            if p.checksum().is_none() {
                return Err(invalid(format!("{:?} is not pack-<40 hex>", p.name)));
            }
        }
        for d in &l.derived {
            let path = Path::new(&d.name);
            if d.name.contains('/') || derived::parse_name(path).is_none() {
                return Err(invalid(format!("{:?} is not a derived file name", d.name)));
            }
        }
        Ok(l)
    }

    /// Scans `silo`: its packs (an `.idx` with its `.pack`), loose objects
    /// and derived files.
    pub fn scan(silo: &Silo) -> Result<Listing, Error> {
        let size = |p: &Path| {
            std::fs::metadata(p)
                .map(|m| m.len())
                .map_err(|source| Error::Io {
                    path: p.to_owned(),
                    source,
                })
        };
        let mut l = Listing {
            version: 1,
            ..Listing::default()
        };
        for idx in silo.pack_indexes()? {
            let Some(name) = idx.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let p = Pack {
                name: name.to_owned(),
                pack: size(&idx.with_extension("pack"))?,
                idx: size(&idx)?,
                split: std::fs::metadata(idx.with_extension(trees_split::table::EXTENSION))
                    .ok()
                    .map(|m| m.len()),
            };
            if p.checksum().is_some() {
                l.packs.push(p);
            }
        }
        for (path, id) in silo.loose_files()? {
            if let Some(id) = id {
                l.loose.push(Loose {
                    id: ObjectIdHex(id),
                    size: size(&path)?,
                });
            }
        }
        let deltas = derived::deltas_dir(silo);
        match std::fs::read_dir(&deltas) {
            Ok(entries) => {
                for e in entries {
                    let e = e.map_err(|source| Error::Io {
                        path: deltas.clone(),
                        source,
                    })?;
                    let path = e.path();
                    if derived::parse_name(&path).is_some() && path.is_file() {
                        l.derived.push(Derived {
                            name: e.file_name().to_string_lossy().into_owned(),
                            size: size(&path)?,
                        });
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(Error::Io {
                    path: deltas,
                    source,
                });
            }
        }
        l.packs.sort_by(|a, b| a.name.cmp(&b.name));
        l.loose.sort_by_key(|x| x.id);
        l.derived.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(l)
    }
}

/// Scans `silo` and writes its listing to `info/files.json`, replacing the
/// old one in one rename. Callers that change packs hold `silo.lock`.
pub fn write(silo: &Silo) -> Result<Listing, Error> {
    let l = Listing::scan(silo)?;
    let dest = silo.root().join(PATH);
    let io_err = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    let mut f = silo.storage().stage(".json")?;
    serde_json::to_writer(&mut f, &l).map_err(|e| Error::Io {
        path: f.path().to_owned(),
        source: e.into(),
    })?;
    f.write_all(b"\n").map_err(io_err(&dest))?;
    silo.storage().replace(f, Path::new(PATH))?;
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_refused() {
        let ok = r#"{"version":1,"packs":[],"loose":[],"derived":[]}"#;
        Listing::parse(ok.as_bytes(), "t").unwrap();
        let hex = "0123456789abcdef0123456789abcdef01234567";
        for (bad, why) in [
            (r#"{"version":2,"packs":[],"loose":[],"derived":[]}"#.to_owned(), "version"),
            (
                r#"{"version":1,"packs":[{"name":"../../etc/passwd","pack":1,"idx":1}],"loose":[],"derived":[]}"#.to_owned(),
                "pack-<40 hex>",
            ),
            (
                format!(r#"{{"version":1,"packs":[],"loose":[],"derived":[{{"name":"../{hex}..{hex}.json","size":1}}]}}"#),
                "derived file name",
            ),
            (
                r#"{"version":1,"packs":[],"loose":[{"id":"zz","size":1}],"derived":[]}"#.to_owned(),
                "40 hex",
            ),
            (
                r#"{"version":1,"packs":[],"loose":[],"derived":[],"extra":1}"#.to_owned(),
                "unknown field",
            ),
        ] {
            let e = Listing::parse(bad.as_bytes(), "t").unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
