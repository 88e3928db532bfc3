//! Reading an object that a pack stores split: X = rebuild(R, T1 ... Tn).
//!
//! The pack's record table (`pack-<sha>.split`, [`trees_split::table`])
//! names X's contents T1 ... Tn and recipe R, all blobs of the same pack.
//! A reader reads R (checked against its id), streams the contents (each
//! checked against its id, back to back)
//! into a rebuild worker, a separate process with capped memory and CPU
//! ([`trees_split::worker`]), and checks the bytes that come back against
//! X's id before they count as read: buffered when X is small, hashed on
//! the way (and a mismatch reported at the end) when it is larger than
//! [`crate::Silo::stream_above`], as for any large packed object.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use trees_pack::id::{self, Kind};
use trees_pack::{Bundle, ObjectId};
use trees_split::any::{AnyRecipe, FORMAT_NAMES, FORMATS};
use trees_split::recipe::FormatError;
use trees_split::table::{self, Record};
use trees_split::worker::{self, Worker};

use crate::Silo;
use crate::store::{HashTee, ReadError};

/// Why a split object cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The record's format is unknown to this build.
    #[error(
        "split object {x}: its record in {table} has recipe format {format}, which this build \
         does not know (it rebuilds formats {FORMATS:?}: {FORMAT_NAMES})"
    )]
    UnknownFormat {
        /// The object.
        x: ObjectId,
        /// The record table.
        table: PathBuf,
        /// The format named.
        format: u8,
    },
    /// The record names a T or R that its pack lacks.
    #[error("split object {x}: its record in {table} names {what} {id}, which {pack} lacks")]
    Missing {
        /// The object.
        x: ObjectId,
        /// The record table.
        table: PathBuf,
        /// "content" or "recipe".
        what: &'static str,
        /// The missing id.
        id: ObjectId,
        /// The pack.
        pack: PathBuf,
    },
    /// R is not a recipe this build can use.
    #[error("split object {x}: its recipe {recipe} in {pack} is unusable")]
    Recipe {
        /// The object.
        x: ObjectId,
        /// R's id.
        recipe: ObjectId,
        /// The pack.
        pack: PathBuf,
        /// Why.
        source: FormatError,
    },
    /// The recipe declares other sizes than the record and T have.
    #[error(
        "split object {x} (record in {table}): its recipe re-makes {declared} bytes from contents \
         of {content:?} bytes, but the record says {size} bytes and its contents have {t_size:?}"
    )]
    Sizes {
        /// The object.
        x: ObjectId,
        /// The record table.
        table: PathBuf,
        /// X's length the recipe declares.
        declared: u64,
        /// X's length the record says.
        size: u64,
        /// The contents' lengths the recipe needs.
        content: Vec<u64>,
        /// The contents' lengths in the pack.
        t_size: Vec<u64>,
    },
    /// The rebuild failed.
    #[error(
        "split object {x} (content {content}, recipe {recipe}, record in {table}) cannot be rebuilt"
    )]
    Rebuild {
        /// The object.
        x: ObjectId,
        /// T's id.
        content: ObjectId,
        /// R's id.
        recipe: ObjectId,
        /// The record table.
        table: PathBuf,
        /// Why.
        source: worker::Error,
    },
    /// The rebuilt bytes are not X.
    #[error(
        "split object {x} rebuilt from content {content} and recipe {recipe} of {pack} hashes to {actual}, not to its id"
    )]
    Mismatch {
        /// The object.
        x: ObjectId,
        /// T's id.
        content: ObjectId,
        /// R's id.
        recipe: ObjectId,
        /// The pack.
        pack: PathBuf,
        /// What it hashed to.
        actual: String,
    },
}

fn boxed(e: Error) -> ReadError {
    ReadError::Split(Box::new(e))
}

/// A content's offset in its pack and its size.
type Part = (u64, u64);

/// Where the record of a split object was found.
#[derive(Clone)]
pub struct Found {
    /// The pack (and idx) that holds T and R.
    pub bundle: Arc<Bundle>,
    /// X's record in that pack's table.
    pub record: Record,
}

impl Found {
    fn table(&self) -> PathBuf {
        self.bundle.index.path().with_extension(table::EXTENSION)
    }

    /// R, read and checked; each content's offset and size.
    fn parts(&self) -> Result<(Vec<u8>, Vec<Part>), ReadError> {
        let rec = &self.record;
        if !FORMATS.contains(&rec.format) {
            return Err(boxed(Error::UnknownFormat {
                x: rec.x,
                table: self.table(),
                format: rec.format,
            }));
        }
        let b = &self.bundle;
        let missing = |what, id| {
            boxed(Error::Missing {
                x: rec.x,
                table: self.table(),
                what,
                id,
                pack: b.pack.path().to_owned(),
            })
        };
        let pack_err = |id| move |source| ReadError::Pack { id, source };
        let r_at = b
            .find(&rec.recipe)
            .map_err(pack_err(rec.recipe))?
            .ok_or_else(|| missing("recipe", rec.recipe))?;
        let mut ts = Vec::with_capacity(rec.contents.len());
        for c in &rec.contents {
            let at = b
                .find(c)
                .map_err(pack_err(*c))?
                .ok_or_else(|| missing("content", *c))?;
            ts.push((at, b.object_size_at(at).map_err(pack_err(*c))?));
        }
        let r = b.read_at(r_at).map_err(pack_err(rec.recipe))?;
        if id::hash_object(r.kind, &r.data).ok() != Some(rec.recipe) {
            return Err(ReadError::PackedMismatch {
                id: rec.recipe,
                pack: b.pack.path().to_owned(),
                actual: "other bytes".to_owned(),
            });
        }
        let recipe = AnyRecipe::decode(&r.data).map_err(|source| {
            boxed(Error::Recipe {
                x: rec.x,
                recipe: rec.recipe,
                pack: b.pack.path().to_owned(),
                source,
            })
        })?;
        let sizes: Vec<u64> = ts.iter().map(|t| t.1).collect();
        // What the recipe declares must be what the record and contents say.
        if recipe.rebuilt_len() != rec.size
            || recipe.content_lens() != sizes
            || recipe.format() != rec.format
        {
            return Err(boxed(Error::Sizes {
                x: rec.x,
                table: self.table(),
                declared: recipe.rebuilt_len(),
                size: rec.size,
                content: recipe.content_lens(),
                t_size: sizes,
            }));
        }
        Ok((r.data.to_vec(), ts))
    }

    /// Rebuilds X into `out`, checked against its id.
    pub fn read(&self, silo: &Silo, out: &mut dyn Write) -> Result<u64, ReadError> {
        let rec = &self.record;
        let (recipe, ts) = self.parts()?;
        let t_size: u64 = ts.iter().map(|t| t.1).sum();
        let worker = Worker::locate()
            .map(|w| w.with_memory(silo.stream_above().saturating_mul(8)))
            .map_err(|source| self.rebuild_err(source))?;
        let bundle = Arc::clone(&self.bundle);
        let contents: Vec<(u64, ObjectId)> = ts
            .iter()
            .zip(&rec.contents)
            .map(|(t, id)| (t.0, *id))
            .collect();
        let mut content = move |w: &mut dyn Write| -> std::io::Result<()> {
            for (at, id) in &contents {
                silo.read_packed(Arc::clone(&bundle), *at, id, w)
                    .map_err(std::io::Error::other)?;
            }
            Ok(())
        };
        // At most X's size: a worker that writes more is stopped.
        if rec.size <= silo.stream_above() {
            let mut buf = Bounded {
                out: Vec::with_capacity(usize::try_from(rec.size).unwrap_or(0)),
                left: rec.size,
            };
            worker
                .rebuild(&recipe, t_size, &mut content, &mut buf)
                .map_err(|e| self.rebuild_err(e))?;
            let buf = buf.out;
            let mut hasher = id::Hasher::new(Kind::Blob, rec.size);
            hasher.update(&buf);
            self.check(hasher)?;
            out.write_all(&buf).map_err(ReadError::Output)?;
            return Ok(buf.len() as u64);
        }
        let mut tee = Bounded {
            out: HashTee {
                out,
                hasher: id::Hasher::new(Kind::Blob, rec.size),
                failed: None,
            },
            left: rec.size,
        };
        let n = worker
            .rebuild(&recipe, t_size, &mut content, &mut tee)
            .map_err(|e| match tee.out.failed.take() {
                Some(o) => ReadError::Output(o),
                None => self.rebuild_err(e),
            })?;
        self.check(tee.out.hasher)?;
        Ok(n)
    }

    fn rebuild_err(&self, source: worker::Error) -> ReadError {
        boxed(Error::Rebuild {
            x: self.record.x,
            content: self.record.first_content(),
            recipe: self.record.recipe,
            table: self.table(),
            source,
        })
    }

    fn check(&self, hasher: id::Hasher) -> Result<(), ReadError> {
        let actual = hasher.finish();
        if actual.as_ref().ok() == Some(&self.record.x) {
            return Ok(());
        }
        Err(boxed(Error::Mismatch {
            x: self.record.x,
            content: self.record.first_content(),
            recipe: self.record.recipe,
            pack: self.bundle.pack.path().to_owned(),
            actual: actual.map_or_else(|e| e.to_string(), |a| a.to_string()),
        }))
    }
}

/// Writes through to `out`, refusing more than `left` bytes in all.
struct Bounded<W: Write> {
    out: W,
    left: u64,
}

impl<W: Write> Write for Bounded<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() as u64 > self.left {
            return Err(too_long());
        }
        let n = self.out.write(buf)?;
        self.left -= n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

fn too_long() -> std::io::Error {
    std::io::Error::other("the rebuild is longer than the record's size")
}

/// The record of `id` in the first of `packs` whose table has it.
pub(crate) fn find(
    packs: &[Arc<Bundle>],
    tables: &crate::packs::Tables,
    id: &ObjectId,
) -> Option<Found> {
    packs.iter().find_map(|b| {
        let rec = tables.get(b.index.path())?.find(id)?;
        tracing::debug!("found {id} split in {}", b.pack.path().display());
        Some(Found {
            bundle: Arc::clone(b),
            record: rec.clone(),
        })
    })
}

/// Why [`rebuild_in_memory`] refused.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    /// The record's recipe format is one this build does not know.
    #[error(
        "its record has recipe format {format}, which this build does not know (it rebuilds {FORMATS:?}: {FORMAT_NAMES})"
    )]
    UnknownFormat {
        /// The format.
        format: u8,
    },
    /// The recipe cannot be decoded.
    #[error("its recipe {recipe}")]
    Recipe {
        /// The recipe's id.
        recipe: ObjectId,
        /// Why.
        #[source]
        source: FormatError,
    },
    /// The recipe's sizes are not the record's and the content's.
    #[error(
        "its recipe re-makes {declared} bytes from contents of {declared_content:?} bytes, but the record says {size} and its contents have {content:?}"
    )]
    Sizes {
        /// What the recipe re-makes.
        declared: u64,
        /// From how much content.
        declared_content: Vec<u64>,
        /// The record's size of X.
        size: u64,
        /// The contents' sizes.
        content: Vec<u64>,
    },
    /// The worker failed or was stopped.
    #[error(transparent)]
    Worker(#[from] worker::Error),
    /// The result is not X.
    #[error("rebuilt from content {content} and recipe {recipe}, it hashes to {actual}")]
    Mismatch {
        /// T.
        content: ObjectId,
        /// R.
        recipe: ObjectId,
        /// What the result hashes to.
        actual: String,
    },
}

/// Rebuilds the X of `record` from the bytes of its recipe and contents
/// (read and checked by the caller, as a remote reader does) in a worker
/// capped at `memory`; the result is checked against X's id.
pub fn rebuild_in_memory(
    record: &Record,
    recipe: &[u8],
    contents: &[&[u8]],
    memory: u64,
) -> Result<Vec<u8>, RebuildError> {
    if !FORMATS.contains(&record.format) {
        return Err(RebuildError::UnknownFormat {
            format: record.format,
        });
    }
    let decoded = AnyRecipe::decode(recipe).map_err(|source| RebuildError::Recipe {
        recipe: record.recipe,
        source,
    })?;
    let sizes: Vec<u64> = contents.iter().map(|c| c.len() as u64).collect();
    if decoded.rebuilt_len() != record.size || decoded.content_lens() != sizes {
        return Err(RebuildError::Sizes {
            declared: decoded.rebuilt_len(),
            declared_content: decoded.content_lens(),
            size: record.size,
            content: sizes,
        });
    }
    let worker = Worker::locate()?.with_memory(memory);
    let mut out = Bounded {
        out: Vec::new(),
        left: record.size,
    };
    worker.rebuild(
        recipe,
        sizes.iter().sum(),
        &mut |w: &mut dyn Write| contents.iter().try_for_each(|c| w.write_all(c)),
        &mut out,
    )?;
    let out = out.out;
    let actual = id::hash_object(Kind::Blob, &out);
    if actual.as_ref().ok() != Some(&record.x) {
        return Err(RebuildError::Mismatch {
            content: record.first_content(),
            recipe: record.recipe,
            actual: actual.map_or_else(|e| e.to_string(), |a| a.to_string()),
        });
    }
    Ok(out)
}
