//! A treeptr's blob, read from the first silo of its SILO.json that has it.
//!
//! Silos are tried in the order SILO.json lists them. A `url` silo is read
//! over HTTP ([`trees_remote`]: the idx files, then only the byte ranges
//! the blob needs). A silo that lacks the blob, or whose copy is corrupt
//! or unreachable, is skipped, and the reason kept for the error if no
//! silo has a good copy. Every read checks the content against its id
//! ([`Silo::read`], [`Remote::read`]), and the size against the treeptr's
//! `size`.

use std::fs::File;
use std::io::{self, Seek};
use std::path::{Path, PathBuf};

use trees_hints::silos::{self, Location, Silos};
use trees_hints::treeptr::{self, Treeptr};
use trees_pack::ObjectId;

use super::Format;
use trees_remote::{self as remote, Remote};
use trees_silo::Silo;
use trees_silo::loose;
use trees_silo::store::ReadError;

/// Why a blob cannot be fetched.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No silo has a good copy; `tried` says why, silo by silo.
    #[error("blob {blob} cannot be read from any silo of {file}: {tried}")]
    Missing {
        /// The blob.
        blob: ObjectId,
        /// The SILO.json.
        file: PathBuf,
        /// Each silo and why it failed, joined by "; ".
        tried: String,
    },
    /// Writing the blob to its temporary file failed (a full disk, say).
    #[error("cannot write blob {blob} to a temporary file")]
    Output {
        /// The blob.
        blob: ObjectId,
        /// The cause.
        source: io::Error,
    },
}

/// What [`fetch`] did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The silo it came from (its directory, or its URL).
    pub silo: PathBuf,
    /// Its size.
    pub size: u64,
    /// Silos skipped before it, and why (a `url` silo, say).
    pub notes: Vec<String>,
    /// The blob is a compressed file stored split, and what was written is
    /// the content to unpack (the tar under a gzip, xz or zstd file, or a
    /// `.deb`'s data member, checked against its own id) instead of the
    /// file re-made, in the format given: only when asked for
    /// ([`fetch_content`]).
    pub content: Option<Format>,
}

/// Writes blob `blob` to `out` (truncated first) from the first silo of
/// `silos` that has a good copy, and rewinds `out`.
pub fn fetch(silos: &Silos, blob: &ObjectId, out: &mut File) -> Result<Outcome, Error> {
    fetch_as(silos, blob, out, false)
}

/// As [`fetch`], but where a local silo stores the gzip file `blob` split,
/// writes its content (the tar under the gzip) instead of re-making the
/// gzip, and says so in [`Outcome::content`]: `medo expand` untars it
/// directly. The record that ties the gzip to its content was checked by
/// the repack (or mirror) that wrote it; `silo verify` checks it again.
pub fn fetch_content(silos: &Silos, blob: &ObjectId, out: &mut File) -> Result<Outcome, Error> {
    fetch_as(silos, blob, out, true)
}

fn fetch_as(
    silos: &Silos,
    blob: &ObjectId,
    out: &mut File,
    content: bool,
) -> Result<Outcome, Error> {
    let output = |source| Error::Output {
        blob: *blob,
        source,
    };
    let mut notes = Vec::new();
    for loc in &silos.silos {
        let root = match loc {
            Location::Url(u) => {
                out.set_len(0).map_err(output)?;
                out.rewind().map_err(output)?;
                let remote = Remote::new(u, remote::Options::default());
                match remote.read_to(blob, out) {
                    Ok(size) => {
                        out.rewind().map_err(output)?;
                        notes.extend(remote.notes().iter().map(|n| format!("{u}: {n}")));
                        return Ok(Outcome {
                            silo: PathBuf::from(u),
                            size,
                            notes,
                            content: None,
                        });
                    }
                    Err(remote::Error::Output(source)) => return Err(output(source)),
                    Err(e) => {
                        notes.push(format!("{u}: {}", trees_pack::error_chain(&e)));
                        continue;
                    }
                }
            }
            // Resolved, for messages: `m/../deps.silo` reads badly.
            Location::Path(p) => &p.canonicalize().unwrap_or_else(|_| p.clone()),
        };
        out.set_len(0).map_err(output)?;
        out.rewind().map_err(output)?;
        let silo = match Silo::open(root) {
            Ok(s) => s,
            Err(e) => {
                notes.push(trees_pack::error_chain(&e));
                continue;
            }
        };
        let record = if content {
            silo.split_record(blob)
                .ok()
                .flatten()
                .and_then(|r| to_unpack(&silo, &r).map(|(id, f)| (id, f, r.size)))
        } else {
            None
        };
        let read = match &record {
            Some((id, _, size)) => silo.read(id, out).map(|_| *size),
            None => silo.read(blob, out),
        };
        match read {
            Ok(size) => {
                out.rewind().map_err(output)?;
                return Ok(Outcome {
                    silo: root.clone(),
                    size,
                    notes,
                    content: record.map(|r| r.1),
                });
            }
            Err(e) => match why(e, root) {
                Why::Output(source) => return Err(output(source)),
                Why::TryNext(note) => notes.push(note),
            },
        }
    }
    Err(Error::Missing {
        blob: *blob,
        file: silos.file.clone(),
        tried: notes.join("; "),
    })
}

/// The content of a split record that unpacks to the tree of X, and its
/// format: the one content of a gzip, xz or zstd file (a tar), or the
/// data member of a `.deb`, found in its recipe's framing (decompressed,
/// or stored as it is and named by its compression). `None`: read X.
fn to_unpack(silo: &Silo, r: &trees_split::table::Record) -> Option<(ObjectId, Format)> {
    use trees_split::any::AnyRecipe;
    if r.format == trees_split::pieces::FORMAT_ZIP {
        // A zip's contents are its members: the zip itself is unpacked.
        return None;
    }
    if r.format != trees_split::pieces::FORMAT_AR {
        return (r.contents.len() == 1).then(|| (r.contents[0], Format::Tar));
    }
    let mut bytes = Vec::new();
    silo.read(&r.recipe, &mut bytes).ok()?;
    let AnyRecipe::Pieces(recipe) = AnyRecipe::decode(&bytes).ok()? else {
        return None;
    };
    let members = trees_split::ar::members_of(&recipe)?;
    let data = members.iter().find(|m| m.name.starts_with(b"data.tar"))?;
    let id = *r.contents.get(data.content?)?;
    let name = data.name.strip_suffix(b"/").unwrap_or(&data.name);
    let format = if data.decoded || name.ends_with(b".tar") {
        Format::Tar
    } else if name.ends_with(b".xz") {
        Format::Txz
    } else if name.ends_with(b".zst") {
        Format::Tzst
    } else if name.ends_with(b".gz") {
        Format::Tgz
    } else {
        return None;
    };
    Some((id, format))
}

/// Why a silo could not give the blob.
enum Why {
    /// Writing the output failed: stop.
    Output(io::Error),
    /// This silo could not: say why, and try the next.
    TryNext(String),
}

fn why(e: ReadError, root: &Path) -> Why {
    match e {
        ReadError::Output(source) | ReadError::Loose(loose::Error::Output { source, .. }) => {
            Why::Output(source)
        }
        ReadError::NotFound(_) => Why::TryNext(format!("{}: no such object", root.display())),
        e => Why::TryNext(format!(
            "{}: {}",
            root.display(),
            trees_pack::error_chain(&e)
        )),
    }
}

/// Why a treeptr's blob cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The treeptr is unreadable or malformed.
    #[error(transparent)]
    Treeptr(#[from] treeptr::Error),
    /// Its SILO.json cannot be found or read.
    #[error("{treeptr}")]
    Silos {
        /// The treeptr.
        treeptr: PathBuf,
        /// The cause.
        source: silos::Error,
    },
    /// Its format is not one medo can expand.
    #[error("{treeptr}: format {format:?} is not one of tar, tgz and file")]
    Format {
        /// The treeptr.
        treeptr: PathBuf,
        /// Its format.
        format: String,
    },
    /// No silo gives the blob.
    #[error("{treeptr}")]
    Fetch {
        /// The treeptr.
        treeptr: PathBuf,
        /// The cause.
        source: Error,
    },
    /// The blob's size is not the treeptr's.
    #[error("{treeptr}: field \"size\" says {want} bytes but blob {blob} has {got}")]
    Size {
        /// The treeptr.
        treeptr: PathBuf,
        /// The blob.
        blob: ObjectId,
        /// The treeptr's size.
        want: u64,
        /// The blob's.
        got: u64,
    },
    /// No temporary file can be made.
    #[error("cannot create a temporary file for the blob of {treeptr}")]
    Temp {
        /// The treeptr.
        treeptr: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// A treeptr and its blob, checked, in an unnamed temporary file.
#[derive(Debug)]
pub struct Blob {
    /// The treeptr.
    pub treeptr: Treeptr,
    /// Its format.
    pub format: Format,
    /// The content, positioned at its start; gone when dropped.
    pub file: File,
    /// Where it came from and what was skipped.
    pub outcome: Outcome,
}

/// Reads the treeptr at `path` and fetches its blob from the silos of its
/// SILO.json into a temporary file of the system's temporary directory
/// (`$TMPDIR`), never beside the destination.
pub fn blob(path: &Path) -> Result<Blob, BlobError> {
    blob_as(path, false)
}

/// As [`blob`], but a `tgz`, `txz`, `tzst` or `deb` blob that a local silo
/// stores split comes as the content to unpack, with its format (`tar`
/// where it is decompressed already; [`fetch_content`]).
pub fn blob_to_unpack(path: &Path) -> Result<Blob, BlobError> {
    blob_as(path, true)
}

fn blob_as(path: &Path, to_unpack: bool) -> Result<Blob, BlobError> {
    let treeptr = Treeptr::read(path)?;
    let mut format = Format::parse(&treeptr.format).ok_or_else(|| BlobError::Format {
        treeptr: path.to_owned(),
        format: treeptr.format.clone(),
    })?;
    let silos = Silos::for_treeptr(path).map_err(|source| BlobError::Silos {
        treeptr: path.to_owned(),
        source,
    })?;
    let mut file = tempfile::tempfile().map_err(|source| BlobError::Temp {
        treeptr: path.to_owned(),
        source,
    })?;
    let content = to_unpack && !matches!(format, Format::Tar | Format::Zip | Format::File);
    let outcome =
        fetch_as(&silos, &treeptr.blob, &mut file, content).map_err(|source| BlobError::Fetch {
            treeptr: path.to_owned(),
            source,
        })?;
    if let Some(f) = outcome.content {
        format = f;
    }
    if outcome.size != treeptr.size {
        return Err(BlobError::Size {
            treeptr: path.to_owned(),
            blob: treeptr.blob,
            want: treeptr.size,
            got: outcome.size,
        });
    }
    Ok(Blob {
        treeptr,
        format,
        file,
        outcome,
    })
}
