//! Silos served over plain HTTP(S) by a static web server: single objects
//! read with range requests, and whole silos mirrored.
//!
//! A remote silo is the same directory as a local one, seen through URLs:
//! `<url>info/files.json` lists it ([`trees_silo::listing`]), `<url>pack/…`
//! holds packs and idx files, `<url>objects/ab/<38 hex>.gz` loose objects.
//! [`Remote::read`] fetches the idx files once (kept in a local cache,
//! checked against their checksums), then only the byte ranges of the
//! entries an object needs ([`pack`]); an object that no pack holds is
//! fetched loose. Every object is checked against its id before a byte of
//! it is written out. [`mirror`] copies what a local silo lacks.

pub(crate) mod cache;
pub mod http;
pub mod mirror;
mod pack;
pub mod place;
pub mod s3;

/// A durable step of a write to a bucket (see [`trees_silo::crash`]).
pub(crate) fn crash_point(what: &str) {
    trees_silo::crash::point(what);
}

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use trees_pack::{ObjectId, id};

use trees_silo::listing::{self, Listing};
use trees_silo::loose;

/// Why an object cannot be read from a remote silo.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request failed.
    #[error(transparent)]
    Http(#[from] http::Error),
    /// The listing is malformed.
    #[error(transparent)]
    Listing(#[from] listing::Error),
    /// The server has no listing, which this operation needs.
    #[error(
        "{url} has no info/files.json: run `silo update-server-info` on the served silo (repack and gc write it too)"
    )]
    NoListing {
        /// The listing's URL.
        url: String,
    },
    /// A file the listing names is gone (the silo was repacked since?).
    #[error(
        "{url} is listed in info/files.json but the server does not have it (repacked since? try again)"
    )]
    Gone {
        /// Its URL.
        url: String,
    },
    /// An idx is malformed or does not belong to its pack.
    #[error("idx {url} is bad: {what}")]
    Idx {
        /// Its URL (or cached path).
        url: String,
        /// What is wrong.
        what: String,
    },
    /// A pack entry is bad: wrong CRC, bad header, corrupt stream or delta.
    #[error("entry at offset {offset} of {url}: {what}")]
    Entry {
        /// The pack's URL.
        url: String,
        /// The entry's offset.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// A whole pack downloaded twice fails its checks.
    #[error("pack {url} does not match its listing and name, twice: {what}")]
    BadPack {
        /// Its URL.
        url: String,
        /// What is wrong.
        what: String,
    },
    /// An object that does not hash to its id.
    #[error("object {id} read from {url} hashes to {actual}")]
    Mismatch {
        /// Where it came from.
        url: String,
        /// Its id.
        id: ObjectId,
        /// Its hash (or why it cannot be hashed).
        actual: String,
    },
    /// An object larger than the limit.
    #[error("object {id} in {url} has {size} bytes, more than the limit of {limit}")]
    TooLarge {
        /// The pack's URL.
        url: String,
        /// The object.
        id: ObjectId,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A loose object is corrupt.
    #[error("loose object {url}")]
    Loose {
        /// Its URL.
        url: String,
        /// What is wrong.
        source: loose::Error,
    },
    /// No pack and no loose file has the object.
    #[error("no object {id} in {url}")]
    NotFound {
        /// The silo's URL.
        url: String,
        /// The id (or prefix).
        id: String,
    },
    /// More than one object has this prefix.
    #[error("prefix {prefix} is ambiguous in {url}: {candidates}")]
    Ambiguous {
        /// The silo's URL.
        url: String,
        /// The prefix.
        prefix: String,
        /// Some of the ids it matches.
        candidates: String,
    },
    /// Not 4 to 40 hex digits.
    #[error("{0:?} is not an object id or a prefix of 4 to 40 hex digits")]
    BadId(String),
    /// The local cache cannot be written or read.
    #[error("cache {path}")]
    Cache {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Writing the object out failed.
    #[error("cannot write the object out")]
    Output(#[source] io::Error),
    /// A record table is malformed or belongs to another pack.
    #[error("record table {url} is bad: {what}")]
    Table {
        /// Its URL.
        url: String,
        /// What is wrong.
        what: String,
    },
    /// A split object cannot be rebuilt.
    #[error("split object {id} in {url}")]
    Split {
        /// The pack's URL.
        url: String,
        /// The object.
        id: ObjectId,
        /// What is wrong.
        #[source]
        source: trees_silo::split::RebuildError,
    },
    /// A split object's record names a part the pack lacks.
    #[error("split object {id} in {url}: its record names {what} {part}, which the pack lacks")]
    SplitPart {
        /// The pack's URL.
        url: String,
        /// The object.
        id: ObjectId,
        /// `content` or `recipe`.
        what: &'static str,
        /// The part's id.
        part: ObjectId,
    },
}

/// Something worth telling the user that did not stop the read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// The server has no `info/files.json`: only loose objects can be read.
    NoListing {
        /// The listing's URL.
        url: String,
    },
    /// The server ignored `Range`; the whole pack was downloaded.
    RangeIgnored {
        /// The pack's URL.
        url: String,
        /// Its size.
        bytes: u64,
    },
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::NoListing { url } => write!(
                f,
                "{url} is missing, so packs cannot be found; only loose objects can be read"
            ),
            Note::RangeIgnored { url, bytes } => write!(
                f,
                "the server ignores Range requests: downloaded all {bytes} bytes of {url} into the cache"
            ),
        }
    }
}

/// Largest listing accepted: about 3 million loose objects.
const MAX_LISTING: u64 = 256 << 20;

/// How to reach a remote silo.
#[derive(Debug, Clone)]
pub struct Options {
    /// Timeouts and retries.
    pub http: http::Options,
    /// The cache of idx files (see [`Options::default_cache`]).
    pub cache: PathBuf,
    /// Largest object to rebuild (a hostile pack can announce any size).
    pub max_object_size: u64,
}

impl Options {
    /// `$TREES_CACHE`, else `$XDG_CACHE_HOME/trees`, else `~/.cache/trees`,
    /// else `trees-cache` in the system's temporary directory.
    pub fn default_cache() -> PathBuf {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        env("TREES_CACHE")
            .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("trees")))
            .or_else(|| env("HOME").map(|d| d.join(".cache").join("trees")))
            .unwrap_or_else(|| std::env::temp_dir().join("trees-cache"))
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            http: http::Options::default(),
            cache: Options::default_cache(),
            max_object_size: trees_pack::delta::apply::DEFAULT_RESULT_LIMIT,
        }
    }
}

/// True if `s` names a remote silo (`http://` or `https://`).
pub fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// A remote silo.
pub struct Remote {
    base: String,
    client: http::Client,
    options: Options,
    listing: OnceLock<Option<Listing>>,
    packs: OnceLock<Vec<(listing::Pack, pack::RemotePack)>>,
    notes: Mutex<Vec<Note>>,
}

impl Remote {
    /// A remote silo at `url` (a trailing `/` is added if missing).
    /// Nothing is fetched until an object is read.
    pub fn new(url: &str, options: Options) -> Remote {
        let base = if url.ends_with('/') {
            url.to_owned()
        } else {
            format!("{url}/")
        };
        Remote {
            base,
            client: http::Client::new(options.http),
            options,
            listing: OnceLock::new(),
            packs: OnceLock::new(),
            notes: Mutex::new(Vec::new()),
        }
    }

    /// The silo's URL, ending with `/`.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// What the client sent and received so far.
    pub fn stats(&self) -> &http::Stats {
        self.client.stats()
    }

    /// Notes gathered so far (a server that ignores Range, say).
    pub fn notes(&self) -> Vec<Note> {
        self.notes.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn note(&self, n: Note) {
        let mut notes = self.notes.lock().unwrap_or_else(|e| e.into_inner());
        if !notes.contains(&n) {
            notes.push(n);
        }
    }

    /// The listing, fetched once; `None` if the server has none.
    pub fn listing(&self) -> Result<Option<&Listing>, Error> {
        if let Some(l) = self.listing.get() {
            return Ok(l.as_ref());
        }
        let url = format!("{}{}", self.base, listing::PATH);
        let l = match self.client.get(&url, MAX_LISTING)? {
            Some(bytes) => Some(Listing::parse(&bytes, &url)?),
            None => {
                self.note(Note::NoListing { url });
                None
            }
        };
        Ok(self.listing.get_or_init(|| l).as_ref())
    }

    fn packs(&self) -> Result<&[(listing::Pack, pack::RemotePack)], Error> {
        if let Some(p) = self.packs.get() {
            return Ok(p);
        }
        let mut packs = Vec::new();
        if let Some(l) = self.listing()? {
            for p in &l.packs {
                let rp = pack::RemotePack::open(
                    &self.client,
                    &self.base,
                    p,
                    &self.options.cache,
                    self.options.max_object_size,
                )?;
                packs.push((p.clone(), rp));
            }
        }
        Ok(self.packs.get_or_init(|| packs))
    }

    /// The URL of loose object `id`.
    pub fn loose_url(&self, id: &ObjectId) -> String {
        let hex = id.to_string();
        format!("{}objects/{}/{}.gz", self.base, &hex[..2], &hex[2..])
    }

    /// The full id of `hex`, an id or a unique prefix of at least 4 hex
    /// digits, among the packed objects and the listed loose ones.
    pub fn resolve(&self, hex: &str) -> Result<ObjectId, Error> {
        if let Some(id) = id::parse_hex(hex) {
            return Ok(id);
        }
        let lower = hex.to_ascii_lowercase();
        let prefix = id::decode_hex_prefix(&lower).ok_or_else(|| Error::BadId(hex.to_owned()))?;
        if lower.len() < 4 {
            return Err(Error::BadId(hex.to_owned()));
        }
        let mut found: Vec<ObjectId> = Vec::new();
        for (_, p) in self.packs()? {
            for i in p.idx.lookup_prefix(&prefix, lower.len(), 16) {
                found.push(p.idx.id(i));
            }
            if let Some(t) = &p.table {
                found.extend(
                    t.records()
                        .iter()
                        .map(|r| r.x)
                        .filter(|x| id::matches_prefix(x, &prefix, lower.len()))
                        .take(16),
                );
            }
        }
        if let Some(l) = self.listing()? {
            found.extend(
                l.loose
                    .iter()
                    .map(|x| x.id.0)
                    .filter(|id| id.to_string().starts_with(&lower)),
            );
        }
        found.sort_unstable();
        found.dedup();
        match found.len() {
            0 => Err(Error::NotFound {
                url: self.base.clone(),
                id: hex.to_owned(),
            }),
            1 => Ok(found[0]),
            _ => Err(Error::Ambiguous {
                url: self.base.clone(),
                prefix: hex.to_owned(),
                candidates: found
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Object `id`, checked against its id: from a pack if the listing
    /// has one that holds it, else loose.
    pub fn read(&self, id: &ObjectId) -> Result<Arc<Vec<u8>>, Error> {
        let notes = &self.notes;
        for (lp, p) in self.packs()? {
            if let Some(i) = p.idx.lookup(id) {
                let (_, data) = p.read(&self.client, i, lp, &self.options.cache, notes)?;
                return Ok(data);
            }
        }
        for (lp, p) in self.packs()? {
            if let Some(rec) = p.table.as_ref().and_then(|t| t.find(id)) {
                return self.read_split(lp, p, rec);
            }
        }
        self.read_loose(id)
    }

    /// The record of `id` if a pack stores it split (`None` if a pack holds
    /// it whole, or none has it).
    pub fn split_record(&self, id: &ObjectId) -> Result<Option<trees_split::table::Record>, Error> {
        let packs = self.packs()?;
        if packs.iter().any(|(_, p)| p.idx.lookup(id).is_some()) {
            return Ok(None);
        }
        Ok(packs
            .iter()
            .find_map(|(_, p)| p.table.as_ref().and_then(|t| t.find(id)))
            .cloned())
    }

    /// A split object: its R and contents read from the pack (each checked),
    /// rebuilt in a worker, checked against its id.
    fn read_split(
        &self,
        lp: &listing::Pack,
        p: &pack::RemotePack,
        rec: &trees_split::table::Record,
    ) -> Result<Arc<Vec<u8>>, Error> {
        let part = |id: &ObjectId, what: &'static str| -> Result<Arc<Vec<u8>>, Error> {
            let i = p.idx.lookup(id).ok_or_else(|| Error::SplitPart {
                url: p.url.clone(),
                id: rec.x,
                what,
                part: *id,
            })?;
            Ok(
                p.read(&self.client, i, lp, &self.options.cache, &self.notes)?
                    .1,
            )
        };
        let recipe = part(&rec.recipe, "recipe")?;
        let contents = rec
            .contents
            .iter()
            .map(|c| part(c, "content"))
            .collect::<Result<Vec<_>, Error>>()?;
        let slices: Vec<&[u8]> = contents.iter().map(|c| c.as_slice()).collect();
        let memory = self.options.max_object_size.saturating_mul(2);
        trees_silo::split::rebuild_in_memory(rec, &recipe, &slices, memory)
            .map(Arc::new)
            .map_err(|source| Error::Split {
                url: p.url.clone(),
                id: rec.x,
                source,
            })
    }

    /// Writes object `id` to `out` once it has been read and checked;
    /// returns its size.
    pub fn read_to(&self, id: &ObjectId, out: &mut dyn Write) -> Result<u64, Error> {
        let data = self.read(id)?;
        out.write_all(&data).map_err(Error::Output)?;
        Ok(data.len() as u64)
    }

    fn read_loose(&self, id: &ObjectId) -> Result<Arc<Vec<u8>>, Error> {
        let url = self.loose_url(id);
        let dir = self.options.cache.join("tmp");
        std::fs::create_dir_all(&dir).map_err(|source| Error::Cache {
            path: dir.clone(),
            source,
        })?;
        let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|source| Error::Cache {
            path: dir.clone(),
            source,
        })?;
        // The listing's size of the .gz, when it names the object; else
        // what the largest object allowed could take gzipped.
        let listed = self
            .listing()
            .ok()
            .flatten()
            .and_then(|l| l.loose.iter().find(|x| x.id.0 == *id))
            .map(|x| x.size);
        let limit = listed.unwrap_or_else(|| {
            let m = self.options.max_object_size;
            m.saturating_add(m / 1024).saturating_add(1 << 20)
        });
        if self
            .client
            .download(&url, tmp.as_file_mut(), 0, limit, &|_| {})?
            .is_none()
        {
            return Err(Error::NotFound {
                url: self.base.clone(),
                id: id.to_string(),
            });
        }
        let mut data = Vec::new();
        loose::read(tmp.path(), id, &mut data).map_err(|source| Error::Loose {
            url: url.clone(),
            source,
        })?;
        Ok(Arc::new(data))
    }
}
