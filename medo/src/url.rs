//! `medo url-for`: where a blob can be downloaded from the silos served over HTTP.
//!
//! A silo is a plain directory, so a URL silo serves a blob either as its
//! loose file, `<url>objects/ab/<38 hex>.gz` (gzip of the content), or
//! inside a pack, `<url>pack/pack-<sha>.pack` (found with the pack's
//! `.idx` beside it). Which one cannot be told from a URL without asking
//! the server, so the first local silo of the SILO.json (a `path` entry)
//! that has the blob is taken to mirror the URL silos: they are copies made
//! with rsync. With no local silo at all, the loose form is given.

use std::path::PathBuf;

use trees_hints::silos::{Location, Silos};
use trees_pack::ObjectId;

use trees_silo::Silo;
use trees_silo::store::Holder;

/// Why no URL can be given.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SILO.json lists no URL silo.
    #[error("{file} lists no url silo")]
    NoUrl {
        /// The SILO.json.
        file: PathBuf,
    },
    /// There are local silos but none has the blob.
    #[error(
        "blob {blob} is in no local silo of {file}, so where its url silos keep it is unknown: {tried}"
    )]
    NotLocal {
        /// The blob.
        blob: ObjectId,
        /// The SILO.json.
        file: PathBuf,
        /// Each local silo and why it did not tell, joined by "; ".
        tried: String,
    },
}

/// Where a silo keeps a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// Loose: `objects/ab/<38 hex>.gz`.
    Loose,
    /// In this pack file (its name, `pack-<sha>.pack`).
    Pack(String),
}

impl Place {
    /// The path of the blob's file relative to a silo's root.
    pub fn relative(&self, blob: &ObjectId) -> String {
        match self {
            Place::Loose => {
                let hex = blob.to_string();
                format!("objects/{}/{}.gz", &hex[..2], &hex[2..])
            }
            Place::Pack(name) => format!("pack/{name}"),
        }
    }
}

/// Where the local silos of `silos` say `blob` is; `Loose` if there are none.
pub fn place(silos: &Silos, blob: &ObjectId) -> Result<Place, Error> {
    let mut tried = Vec::new();
    for root in silos.paths() {
        let root = &root.canonicalize().unwrap_or_else(|_| root.to_owned());
        let silo = match Silo::open(root) {
            Ok(s) => s,
            Err(e) => {
                tried.push(trees_pack::error_chain(&e));
                continue;
            }
        };
        match silo.holder(blob) {
            Ok(Some(Holder::Loose(_))) => return Ok(Place::Loose),
            Ok(Some(Holder::Pack(path))) => {
                let name = path.file_name().unwrap_or(path.as_os_str());
                return Ok(Place::Pack(name.to_string_lossy().into_owned()));
            }
            Ok(None) => tried.push(format!("{}: no such object", root.display())),
            Err(e) => tried.push(format!(
                "{}: {}",
                root.display(),
                trees_pack::error_chain(&e)
            )),
        }
    }
    if silos.paths().next().is_none() {
        return Ok(Place::Loose);
    }
    Err(Error::NotLocal {
        blob: *blob,
        file: silos.file.clone(),
        tried: tried.join("; "),
    })
}

/// The URL of `blob` in each URL silo of `silos`, in order.
pub fn urls(silos: &Silos, blob: &ObjectId) -> Result<Vec<String>, Error> {
    let bases: Vec<&str> = silos
        .silos
        .iter()
        .filter_map(|l| match l {
            Location::Url(u) => Some(u.as_str()),
            Location::Path(_) => None,
        })
        .collect();
    if bases.is_empty() {
        return Err(Error::NoUrl {
            file: silos.file.clone(),
        });
    }
    let rel = place(silos, blob)?.relative(blob);
    Ok(bases
        .into_iter()
        .map(|u| {
            let sep = if u.ends_with('/') { "" } else { "/" };
            format!("{u}{sep}{rel}")
        })
        .collect())
}
