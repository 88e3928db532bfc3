//! One member of an archive by path (`silo cat SILO ID:PATH`) and the list
//! of an archive's members (`silo ls SILO ID`), from any [`Source`].
//!
//! What each costs:
//!
//! - a zip stored split (record format 6): its recipe, which names every
//!   member and the content holding it, then that one content: one object
//!   and its delta chain, never the zip;
//! - a `.tar.gz`, `.tar.xz` or `.tar.zst` stored split: its content, the
//!   tar, read up to the member (nothing is decompressed);
//! - anything else: the object itself, read up to the member (a tar,
//!   decompressed on the way if it is gzip, xz or zstd) or whole (a zip
//!   stored whole, whose directory is at its end).

use std::io::{self, Read};

use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;
use trees_pack::ObjectId;
use trees_pack::id::{self, Kind as ObjectKind};
use trees_split::pieces::{FORMAT_AR, FORMAT_ZIP, Recipe};
use trees_split::table::Record;
use trees_split::zip::listing::{self, Data, Entry, Kind};

use crate::source::{NotFound, Source};

/// One member, as `silo ls` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    /// Its path in the archive (a directory's without its `/`).
    pub path: String,
    /// "file", "dir", "symlink" or "link" (a tar's hard link: no id, size 0).
    pub kind: &'static str,
    /// Its size in bytes (a symlink's: its target's length).
    pub size: u64,
    /// The git blob id of its content (files and symlinks).
    #[serde(with = "trees_pack::id::hex::option")]
    pub id: Option<ObjectId>,
}

/// What is wanted of an archive.
enum Want<'a> {
    /// The text of the member at this path.
    Member(&'a str),
    /// Every member.
    List,
}

/// What was found.
enum Answer {
    Member(Vec<u8>),
    List(Vec<Listed>),
}

/// The text of member `path` of archive `id`, read with at most `limit`
/// bytes of any one thing in memory.
pub fn member(source: &dyn Source, id: &ObjectId, path: &str, limit: u64) -> Result<Vec<u8>> {
    match answer(source, id, &Want::Member(path), limit)? {
        Answer::Member(m) => Ok(m),
        Answer::List(_) => unreachable!("a member was asked for"),
    }
}

/// Every member of archive `id`.
pub fn list(source: &dyn Source, id: &ObjectId, limit: u64) -> Result<Vec<Listed>> {
    match answer(source, id, &Want::List, limit)? {
        Answer::List(l) => Ok(l),
        Answer::Member(_) => unreachable!("a list was asked for"),
    }
}

fn answer(source: &dyn Source, id: &ObjectId, want: &Want<'_>, limit: u64) -> Result<Answer> {
    let record = source.record(id)?;
    match record {
        Some(rec) if rec.format == FORMAT_ZIP => split_zip(source, &rec, want, limit),
        // A compressed tar stored split: its one content is the tar.
        Some(rec) if rec.format != FORMAT_AR && rec.contents.len() == 1 => {
            stream(source, &rec.contents[0], want, limit)
        }
        _ => stream(source, id, want, limit),
    }
}

/// Reads object `id` whole (for a recipe, a member's content).
fn read_all(source: &dyn Source, id: &ObjectId) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    match source.open(id)? {
        Ok(found) => found.write_to(&mut out)?,
        Err(e) => return Err(NotFound(format!("{e:#}")).into()),
    };
    Ok(out)
}

fn split_zip(source: &dyn Source, rec: &Record, want: &Want<'_>, limit: u64) -> Result<Answer> {
    let bytes = read_all(source, &rec.recipe)
        .with_context(|| format!("cannot read recipe {}", rec.recipe))?;
    let recipe = Recipe::decode(&bytes).with_context(|| format!("recipe {}", rec.recipe))?;
    let entries = listing::of_recipe(&recipe, limit).with_context(|| {
        format!(
            "cannot list the members of {} from its recipe {}",
            rec.x, rec.recipe
        )
    })?;
    let content = |index: usize| -> Result<Vec<u8>> {
        let t = rec.contents.get(index).ok_or_else(|| {
            anyhow!(
                "recipe {} names content {index}, its record fewer",
                rec.recipe
            )
        })?;
        read_all(source, t).with_context(|| format!("cannot read content {t}"))
    };
    let text = |e: &Entry| -> Result<Vec<u8>> {
        let data = match e.data {
            Data::Content { index, .. } => content(index)?,
            _ => Vec::new(),
        };
        let mut out = Vec::new();
        listing::decode(e, &data, limit, &mut out).with_context(|| format!("zip {}", rec.x))?;
        Ok(out)
    };
    match want {
        Want::Member(path) => {
            let e = listing::find(&entries, path)
                .ok_or_else(|| NotFound(format!("zip {} has no member {path:?}", rec.x)))?;
            Ok(Answer::Member(text(e)?))
        }
        Want::List => {
            let mut out = Vec::with_capacity(entries.len());
            for e in &entries {
                let (size, id) = match (e.kind(), e.data) {
                    (Kind::Dir, _) => (0, None),
                    // The content is the member's text: its id and size are known.
                    (
                        _,
                        Data::Content {
                            index,
                            encoded: false,
                        },
                    ) => (
                        recipe.contents.get(index).copied().unwrap_or(0),
                        rec.contents.get(index).copied(),
                    ),
                    _ => {
                        let t = text(e)?;
                        (t.len() as u64, Some(id::hash_object(ObjectKind::Blob, &t)?))
                    }
                };
                out.push(zip_listed(e, size, id));
            }
            Ok(Answer::List(out))
        }
    }
}

fn zip_listed(e: &Entry, size: u64, id: Option<ObjectId>) -> Listed {
    let name = e.display_name();
    Listed {
        path: name.strip_suffix('/').unwrap_or(&name).to_owned(),
        kind: match e.kind() {
            Kind::Dir => "dir",
            Kind::Symlink => "symlink",
            Kind::File => "file",
        },
        size,
        id,
    }
}

/// Streams object `id` to a reader that answers `want`.
fn stream(source: &dyn Source, id: &ObjectId, want: &Want<'_>, limit: u64) -> Result<Answer> {
    let mut answer = None;
    source.stream(id, &mut |r: &mut dyn Read| {
        answer = Some(from_reader(r, id, want, limit)?);
        Ok(())
    })?;
    answer.ok_or_else(|| anyhow!("object {id} was not read"))
}

/// A zip read whole, or a tar read up to the member (decompressed first
/// if it is gzip, xz or zstd).
fn from_reader(r: &mut dyn Read, id: &ObjectId, want: &Want<'_>, limit: u64) -> Result<Answer> {
    let mut head = Vec::with_capacity(512);
    r.take(512).read_to_end(&mut head)?;
    let whole = io::Cursor::new(head.clone()).chain(r);
    if head.starts_with(&trees_split::zip::LOCAL_MAGIC)
        || head.starts_with(&trees_split::zip::END_MAGIC)
    {
        let mut bytes = Vec::new();
        whole
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)?;
        if bytes.len() as u64 > limit {
            bail!("zip {id} is larger than --memory ({limit} bytes) and is stored whole");
        }
        return whole_zip(&bytes, id, want, limit);
    }
    let plain: Box<dyn Read + '_> = if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(io::BufReader::new(whole)))
    } else if head.starts_with(b"\xfd7zXZ\0") {
        Box::new(trees_split::xz::reader(io::BufReader::new(whole), limit)?)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(trees_split::zstd::Decoder::new(io::BufReader::new(whole)))
    } else {
        Box::new(whole)
    };
    tar(plain, id, want, limit)
}

fn whole_zip(x: &[u8], id: &ObjectId, want: &Want<'_>, limit: u64) -> Result<Answer> {
    let entries = listing::of_zip(x).with_context(|| format!("object {id}"))?;
    let text = |e: &Entry| -> Result<Vec<u8>> {
        let data = match e.data {
            Data::Range { start, len } => &x[start..start + len],
            _ => &[][..],
        };
        let mut out = Vec::new();
        listing::decode(e, data, limit, &mut out).with_context(|| format!("zip {id}"))?;
        Ok(out)
    };
    match want {
        Want::Member(path) => {
            let e = listing::find(&entries, path)
                .ok_or_else(|| NotFound(format!("zip {id} has no member {path:?}")))?;
            Ok(Answer::Member(text(e)?))
        }
        Want::List => {
            let mut out = Vec::new();
            for e in &entries {
                if e.kind() == Kind::Dir {
                    out.push(zip_listed(e, 0, None));
                    continue;
                }
                let t = text(e)?;
                let blob = id::hash_object(ObjectKind::Blob, &t)?;
                out.push(zip_listed(e, t.len() as u64, Some(blob)));
            }
            Ok(Answer::List(out))
        }
    }
}

/// A tar member's path with `./` and a trailing `/` dropped.
fn tar_path(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    let s = s.trim_start_matches("./");
    s.strip_suffix('/').unwrap_or(s).to_owned()
}

fn tar(r: Box<dyn Read + '_>, id: &ObjectId, want: &Want<'_>, limit: u64) -> Result<Answer> {
    let not_tar = || format!("object {id} is not a zip, or a tar (compressed or not)");
    let mut ar = tar::Archive::new(r);
    let mut out = Vec::new();
    let wanted = match want {
        Want::Member(p) => Some(p.trim_start_matches("./").trim_end_matches('/')),
        Want::List => None,
    };
    for entry in ar.entries().with_context(not_tar)? {
        let mut entry = entry.with_context(not_tar)?;
        let ty = entry.header().entry_type();
        if ty.is_pax_global_extensions() || ty.is_pax_local_extensions() {
            continue;
        }
        let path = tar_path(&entry.path_bytes());
        if path.is_empty() || path == "." {
            continue;
        }
        let size = entry.size();
        let kind = if ty.is_dir() {
            "dir"
        } else if ty.is_symlink() {
            "symlink"
        } else if ty.is_hard_link() {
            "link"
        } else {
            "file"
        };
        let text = |entry: &mut tar::Entry<'_, _>| -> Result<Vec<u8>> {
            let to = || {
                String::from_utf8_lossy(&entry.link_name_bytes().unwrap_or_default()).into_owned()
            };
            match kind {
                // A symlink's blob is its target, as git stores one.
                "symlink" => return Ok(to().into_bytes()),
                // A hard link has no bytes of its own, and a tar read
                // once cannot go back to the member it names.
                "link" => {
                    return Err(NotFound(format!(
                        "member {path:?} of {id} is a hard link to {:?}: read that member",
                        to()
                    ))
                    .into());
                }
                _ => {}
            }
            if size > limit {
                bail!("member {path:?} of {id} has {size} bytes, more than --memory ({limit})");
            }
            let mut t = Vec::new();
            entry
                .read_to_end(&mut t)
                .with_context(|| format!("cannot read member {path:?} of {id}"))?;
            Ok(t)
        };
        match wanted {
            Some(w) if w == path => {
                if kind == "dir" {
                    return Err(NotFound(format!("member {path:?} of {id} is a directory")).into());
                }
                return Ok(Answer::Member(text(&mut entry)?));
            }
            Some(_) => {}
            None => {
                let (size, blob) = match kind {
                    "dir" | "link" => (0, None),
                    "file" => {
                        // Hashed as it streams: a member may be larger than memory.
                        let mut h = Hashing(id::Hasher::new(ObjectKind::Blob, size));
                        let n = io::copy(&mut entry, &mut h)
                            .with_context(|| format!("cannot read member {path:?} of {id}"))?;
                        if n != size {
                            bail!("member {path:?} of {id} ends after {n} of its {size} bytes");
                        }
                        (size, Some(h.0.finish()?))
                    }
                    _ => {
                        let t = text(&mut entry)?;
                        (t.len() as u64, Some(id::hash_object(ObjectKind::Blob, &t)?))
                    }
                };
                out.push(Listed {
                    path,
                    kind,
                    size,
                    id: blob,
                });
            }
        }
    }
    match wanted {
        Some(w) => Err(NotFound(format!("tar {id} has no member {w:?}")).into()),
        None => Ok(Answer::List(out)),
    }
}

/// A writer that hashes what it is given.
struct Hashing(id::Hasher);

impl io::Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
