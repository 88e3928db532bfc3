//! Where objects are read from: a local silo (a directory or a bucket's
//! replica) or one served over HTTP, behind one trait, so that `silo
//! cat`, `silo ls` and `silo serve` read both the same way.

use std::io::{self, Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use trees_pack::ObjectId;
use trees_remote::{self as remote, Remote};
use trees_silo::Silo;
use trees_silo::store::{self, ReadError};
use trees_split::table::Record;

/// The silo has no such object, or the archive no such member (or it is
/// a directory): a 404 to `silo serve`, an error like any to `silo cat`.
#[derive(Debug)]
pub struct NotFound(pub String);

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotFound {}

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
            Err(e) => return Err(NotFound(format!("{e:#}")).into()),
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
                return Err(NotFound(e.to_string()).into());
            }
            other => other?,
        };
        f(&mut data.as_slice())
    }
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
