//! `silo cat`: one object, or `--batch` as `git cat-file --batch` prints,
//! from a local silo or one served over HTTP. One loop serves both: each
//! kind of silo is a [`Source`].

use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, Result};
use trees_pack::ObjectId;
use trees_remote::{self as remote, Remote};
use trees_silo::Silo;
use trees_silo::store::{self, ReadError};

use crate::args::CatArgs;
use crate::exit::Status;

/// An object found, ready to be sized and written.
trait Found {
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
trait Source {
    /// The id `input` (an id or a unique prefix) names.
    fn resolve(&self, input: &str) -> Lookup<ObjectId>;
    /// Object `id`.
    fn open<'a>(&'a self, id: &ObjectId) -> Lookup<Box<dyn Found + 'a>>;
    /// Objects larger than this are written as they are read, not buffered.
    fn stream_above(&self) -> u64;
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
}

/// `silo cat SILO ID` and `silo cat SILO --batch`.
pub fn run(a: &CatArgs, out: &mut dyn Write) -> Result<Status> {
    if !matches!(
        crate::place::place(Path::new(&a.dir))?,
        trees_remote::place::Place::Dir(_)
    ) {
        let r = a.remote.open(&a.dir);
        let result = cat(&r, a, out).with_context(|| format!("cannot read from {}", a.dir));
        a.remote.report(&r);
        result?;
    } else {
        let dir = Path::new(&a.dir);
        let silo = crate::open(dir)?.with_memory(a.memory.0);
        cat(&silo, a, out).with_context(|| format!("cannot read from {}", dir.display()))?;
    }
    out.flush()?;
    Ok(Status::Ok)
}

fn cat(source: &dyn Source, a: &CatArgs, out: &mut dyn Write) -> Result<()> {
    if a.batch {
        return batch(source, out);
    }
    let input = a.id.as_deref().context("an id is needed without --batch")?;
    let mut read = || -> Result<()> {
        let id = source.resolve(input)??;
        source.open(&id)??.write_to(out)?;
        Ok(())
    };
    read().with_context(|| format!("cannot read object {input}"))
}

/// Ids on stdin, `git cat-file --batch` output.
fn batch(source: &dyn Source, out: &mut dyn Write) -> Result<()> {
    let mut buf = Vec::new();
    for line in io::stdin().lines() {
        let line = line.context("cannot read ids from stdin")?;
        let input = line.trim();
        if input.is_empty() {
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
