//! `silo cat`: one object, or `--batch` as `git cat-file --batch` prints,
//! from a local silo or one served over HTTP. One loop serves both: each
//! kind of silo is a [`Source`].

use std::io::{self, Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use trees_pack::ObjectId;
use trees_remote::{self as remote, Remote};
use trees_silo::Silo;
use trees_silo::store::{self, ReadError};
use trees_split::table::Record;

use crate::args::{CatArgs, LsArgs};
use crate::exit::Status;

/// An object found, ready to be sized and written.
pub trait Found {
    /// Its size in bytes.
    fn size(&self) -> Result<u64>;
    /// Writes it to `out` (a local object streams; a remote one was read
    /// and checked whole).
    fn write_to(self: Box<Self>, out: &mut dyn Write) -> Result<u64>;
}

/// What a lookup gives: the thing, or the silo's own words for why it has
/// no such object (`Err` inside `Ok`); any other failure is the outer `Err`.
type Lookup<T> = Result<std::result::Result<T, anyhow::Error>>;

/// A silo to read objects from.
pub trait Source: Sync {
    /// The id `input` (an id or a unique prefix) names.
    fn resolve(&self, input: &str) -> Lookup<ObjectId>;
    /// Object `id`.
    fn open<'a>(&'a self, id: &ObjectId) -> Lookup<Box<dyn Found + 'a>>;
    /// Objects larger than this are written as they are read, not buffered.
    fn stream_above(&self) -> u64;
    /// The record of `id` if a pack stores it split, else `None`.
    fn record(&self, id: &ObjectId) -> Result<Option<Record>>;
    /// Runs `f` on a reader of object `id`'s bytes, as they are read
    /// (locally) or from memory (remotely); `f` may stop reading early.
    fn stream(
        &self,
        id: &ObjectId,
        f: &mut (dyn FnMut(&mut dyn Read) -> Result<()> + Send),
    ) -> Result<()>;
}

impl Found for store::Object<'_> {
    fn size(&self) -> Result<u64> {
        Ok(store::Object::size(self)?)
    }
    fn write_to(self: Box<Self>, out: &mut dyn Write) -> Result<u64> {
        Ok(self.read(out)?)
    }
}

impl Source for Silo {
    fn resolve(&self, input: &str) -> Lookup<ObjectId> {
        // A full id needs no listing of objects/: it is looked up once.
        match trees_pack::id::parse_hex(input).map_or_else(|| Silo::resolve(self, input), Ok) {
            Ok(id) => Ok(Ok(id)),
            Err(e @ ReadError::NotFound(_)) => Ok(Err(e.into())),
            Err(e) => Err(e.into()),
        }
    }
    fn open<'a>(&'a self, id: &ObjectId) -> Lookup<Box<dyn Found + 'a>> {
        Ok(match self.find(id)? {
            Some(o) => Ok(Box::new(o)),
            None => Err(ReadError::NotFound(id.to_string()).into()),
        })
    }
    fn stream_above(&self) -> u64 {
        Silo::stream_above(self)
    }
    fn record(&self, id: &ObjectId) -> Result<Option<Record>> {
        Ok(self.split_record(id)?)
    }
    fn stream(
        &self,
        id: &ObjectId,
        f: &mut (dyn FnMut(&mut dyn Read) -> Result<()> + Send),
    ) -> Result<()> {
        let object = match self.open(id)? {
            Ok(o) => o,
            Err(e) => return Err(crate::member::NotFound(format!("{e:#}")).into()),
        };
        // The object is written into a pipe as the store reads it, and `f`
        // reads the other end on its own thread; if `f` is done early, its
        // end closes and the write stops with a broken pipe, not an error.
        let (mut reader, mut writer) = io::pipe()?;
        std::thread::scope(|s| {
            let worker = s.spawn(move || f(&mut reader));
            let written = object.write_to(&mut writer);
            drop(writer);
            let read = worker
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the reader of {id} panicked")));
            read?;
            match written {
                Err(e)
                    if e.chain().any(|c| {
                        c.downcast_ref::<io::Error>()
                            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
                    }) =>
                {
                    Ok(())
                }
                other => other.map(|_| ()),
            }
        })
    }
}

/// A remote object, read and checked against its id.
struct Fetched(std::sync::Arc<Vec<u8>>);

impl Found for Fetched {
    fn size(&self) -> Result<u64> {
        Ok(self.0.len() as u64)
    }
    fn write_to(self: Box<Self>, out: &mut dyn Write) -> Result<u64> {
        out.write_all(&self.0)?;
        Ok(self.0.len() as u64)
    }
}

impl Source for Remote {
    fn resolve(&self, input: &str) -> Lookup<ObjectId> {
        match Remote::resolve(self, input) {
            Ok(id) => Ok(Ok(id)),
            Err(e @ remote::Error::NotFound { .. }) => Ok(Err(e.into())),
            Err(e) => Err(e.into()),
        }
    }
    fn open<'a>(&'a self, id: &ObjectId) -> Lookup<Box<dyn Found + 'a>> {
        match self.read(id) {
            Ok(d) => Ok(Ok(Box::new(Fetched(d)))),
            Err(e @ remote::Error::NotFound { .. }) => Ok(Err(e.into())),
            Err(e) => Err(e.into()),
        }
    }
    fn stream_above(&self) -> u64 {
        // Read whole (and checked) already: nothing to gain by streaming.
        u64::MAX
    }
    fn record(&self, id: &ObjectId) -> Result<Option<Record>> {
        Ok(self.split_record(id)?)
    }
    fn stream(
        &self,
        id: &ObjectId,
        f: &mut (dyn FnMut(&mut dyn Read) -> Result<()> + Send),
    ) -> Result<()> {
        let data = match self.read(id) {
            Err(e @ remote::Error::NotFound { .. }) => {
                return Err(crate::member::NotFound(e.to_string()).into());
            }
            other => other?,
        };
        f(&mut data.as_slice())
    }
}

/// `silo cat SILO ID`, `silo cat SILO ID:PATH` and `silo cat SILO --batch`.
pub fn run(a: &CatArgs, out: &mut dyn Write) -> Result<Status> {
    on_source(&a.dir, &a.remote, a.memory.0, &mut |source| {
        cat(source, a, out)
    })?;
    out.flush()?;
    Ok(Status::Ok)
}

/// `silo ls SILO ID`.
pub fn ls(a: &LsArgs, out: &mut dyn Write) -> Result<Status> {
    on_source(&a.dir, &a.remote, a.memory.0, &mut |source| {
        let id = source.resolve(&a.id)??;
        let members = crate::member::list(source, &id, a.memory.0)
            .with_context(|| format!("cannot list {}", a.id))?;
        if a.json {
            serde_json::to_writer_pretty(&mut *out, &members)?;
            writeln!(out)?;
        } else {
            for m in &members {
                let id = m.id.map_or_else(|| "-".repeat(40), |id| id.to_string());
                writeln!(out, "{id} {:>7} {:>10} {}", m.kind, m.size, m.path)?;
            }
        }
        Ok(())
    })?;
    out.flush()?;
    Ok(Status::Ok)
}

/// Runs `f` on the silo `dir` names: a directory, or a URL or bucket.
pub fn on_source(
    dir: &str,
    remote: &crate::args::RemoteArgs,
    memory: u64,
    f: &mut dyn FnMut(&dyn Source) -> Result<()>,
) -> Result<()> {
    if !matches!(
        crate::place::place(Path::new(dir))?,
        trees_remote::place::Place::Dir(_)
    ) {
        let r = remote.open(dir);
        let result = f(&r).with_context(|| format!("cannot read from {dir}"));
        remote.report(&r);
        result
    } else {
        let silo = crate::open(Path::new(dir))?.with_memory(memory);
        f(&silo).with_context(|| format!("cannot read from {dir}"))
    }
}

fn cat(source: &dyn Source, a: &CatArgs, out: &mut dyn Write) -> Result<()> {
    if a.batch {
        return batch(source, a.memory.0, out);
    }
    let input = a.id.as_deref().context("an id is needed without --batch")?;
    if let Some((object, path)) = input.split_once(':') {
        let mut read = || -> Result<()> {
            let id = source.resolve(object)??;
            out.write_all(&crate::member::member(source, &id, path, a.memory.0)?)?;
            Ok(())
        };
        return read().with_context(|| format!("cannot read {path:?} of {object}"));
    }
    let mut read = || -> Result<()> {
        let id = source.resolve(input)??;
        source.open(&id)??.write_to(out)?;
        Ok(())
    };
    read().with_context(|| format!("cannot read object {input}"))
}

/// Ids on stdin, `git cat-file --batch` output.
fn batch(source: &dyn Source, limit: u64, out: &mut dyn Write) -> Result<()> {
    let mut buf = Vec::new();
    for line in io::stdin().lines() {
        let line = line.context("cannot read ids from stdin")?;
        let input = line.trim();
        if input.is_empty() {
            continue;
        }
        if let Some((object, path)) = input.split_once(':') {
            // A member by path: read whole, named by its own blob id.
            let text = match source.resolve(object)? {
                Ok(id) => crate::member::member(source, &id, path, limit).ok(),
                Err(_) => None,
            };
            match text {
                Some(t) => {
                    let id = trees_pack::id::hash_object(trees_pack::id::Kind::Blob, &t)?;
                    writeln!(out, "{id} blob {}", t.len())?;
                    out.write_all(&t)?;
                    writeln!(out)?;
                }
                None => writeln!(out, "{input} missing")?,
            }
            out.flush()?;
            continue;
        }
        let found = match source.resolve(input)? {
            Ok(id) => source.open(&id)?.map(|o| (id, o)).ok(),
            Err(_) => None,
        };
        let Some((id, object)) = found else {
            writeln!(out, "{input} missing")?;
            out.flush()?;
            continue;
        };
        let size = object
            .size()
            .with_context(|| format!("cannot read object {id}"))?;
        if size > source.stream_above() {
            // Too large to buffer: the header, then the object as it streams.
            writeln!(out, "{id} blob {size}")?;
            object
                .write_to(out)
                .with_context(|| format!("cannot read object {id}"))?;
        } else {
            buf.clear();
            object
                .write_to(&mut buf)
                .with_context(|| format!("cannot read object {id}"))?;
            writeln!(out, "{id} blob {}", buf.len())?;
            out.write_all(&buf)?;
        }
        writeln!(out)?;
        // Each answer whole and at once, as git's cat-file --batch does
        // (without --buffer): a caller may wait for it before asking more.
        out.flush()?;
    }
    Ok(())
}
