//! The silo directory: where things are, and finding an object by id.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use trees_pack::{Bundle, ObjectId, id};

mod error;
pub mod index_view;
pub mod lazy;
pub mod packs;
pub mod split;

use crate::loose;
use crate::packs::{PackSet, Packs};
use crate::storage::{Local, Storage};

pub use error::{AddError, OpenError, ReadError};

/// A silo directory.
///
/// Its readers ([`Silo::read`], [`Silo::resolve`], [`Silo::contains`], ...)
/// share one [`PackSet`] between the clones of a `Silo`: the packs are
/// opened at the first read and rescanned when an object is not found, so
/// that a reader running beside a repack or gc never reports a present
/// object as missing (see [`crate::packs`]).
#[derive(Debug, Clone)]
pub struct Silo {
    root: PathBuf,
    stream_above: u64,
    packs: Arc<PackSet>,
    storage: Arc<dyn Storage>,
}

/// The file that holds an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// Its loose file, `objects/ab/<38 hex>.gz`.
    Loose(PathBuf),
    /// The `.pack` file of its pack.
    Pack(PathBuf),
}

/// Where an object was found.
pub(crate) enum Found {
    /// Its loose file, open.
    Loose(fs::File),
    /// Its entry in a pack.
    Packed(Arc<Bundle>, u64),
    /// Its record in a pack's table: stored split.
    Split(crate::split::Found),
}

const DIRS: [&str; 4] = ["objects", "pack", "derived", "tmp"];

impl Silo {
    /// Creates the silo's directories (those missing) and opens it.
    pub fn init(root: &Path) -> Result<Silo, OpenError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| OpenError::Io { path, source }
        };
        fs::create_dir_all(root).map_err(io(root))?;
        for d in DIRS {
            let p = root.join(d);
            crate::storage::local::ensure_dir(&p).map_err(io(&p))?;
        }
        Silo::open(root)
    }

    /// Opens an existing silo.
    pub fn open(root: &Path) -> Result<Silo, OpenError> {
        Silo::open_on(root, Arc::new(Local::new(root)))
    }

    /// Opens the silo whose files are `storage`, read through its local
    /// copy at `root` (the directory, or a bucket's replica).
    pub fn open_on(root: &Path, storage: Arc<dyn Storage>) -> Result<Silo, OpenError> {
        for d in DIRS {
            if !root.join(d).is_dir() {
                return Err(OpenError::NotASilo {
                    root: root.to_owned(),
                    missing: d,
                });
            }
        }
        Ok(Silo {
            root: root.to_owned(),
            stream_above: STREAM_LARGER_THAN,
            packs: Arc::new(PackSet::new(&root.join("pack"), Arc::clone(&storage))),
            storage,
        })
    }

    /// Plans reads for `memory` bytes: packed objects larger than an
    /// eighth of it are streamed ([`Silo::read_with`], `verify`), not
    /// rebuilt in memory. The default is 2 GiB.
    pub fn with_memory(mut self, memory: u64) -> Silo {
        self.stream_above = (memory / 8).max(1 << 20);
        self
    }

    /// Packed objects larger than this are streamed.
    pub fn stream_above(&self) -> u64 {
        self.stream_above
    }

    /// The size of object `id` without reading it whole: a loose object's
    /// recorded size (or its inflated length), a packed one's header.
    pub fn object_size(&self, id: &ObjectId) -> Result<u64, ReadError> {
        self.find(id)?
            .ok_or_else(|| ReadError::NotFound(id.to_string()))?
            .size()
    }

    /// Object `id`, found once (see [`Silo::locate`]) and ready to be
    /// sized and read: a caller that needs both looks it up once.
    pub fn find(&self, id: &ObjectId) -> Result<Option<Object<'_>>, ReadError> {
        Ok(self.locate(id)?.map(|found| Object {
            silo: self,
            id: *id,
            found,
        }))
    }

    /// Finds object `id`: in the known packs, then loose, then (after a
    /// rescan of `pack/`) in the packs that appeared meanwhile. `None`
    /// only if it is in none of them: see [`crate::packs`] for why a
    /// concurrent repack or gc cannot make a present object miss all three.
    fn locate(&self, id: &ObjectId) -> Result<Option<Found>, ReadError> {
        if let Some((b, offset)) = self.packs.find_lazily(id) {
            return Ok(Some(Found::Packed(b, offset)));
        }
        let (known, tables, midx) = self.packs.snapshot()?;
        if let Some(found) = packs::find_packed(&known, midx.as_deref(), id)? {
            return Ok(Some(found));
        }
        if let Some(found) = crate::split::find(&known, &tables, id) {
            return Ok(Some(Found::Split(found)));
        }
        if let Some(f) = loose::open(&self.loose_path(id))? {
            tracing::debug!("found {id} loose");
            return Ok(Some(Found::Loose(f)));
        }
        let added = self.packs.rescan()?;
        if let Some(found) = packs::find_packed(&added, None, id)? {
            return Ok(Some(found));
        }
        let (_, tables) = self.packs.current()?;
        match crate::split::find(&added, &tables, id) {
            Some(found) => Ok(Some(Found::Split(found))),
            // Not found: but a damaged pack might have held it; say so.
            None => self.packs.broken().map_or(Ok(None), Err),
        }
    }

    /// The record of `id` if a pack stores it split (X = gzip(T, R)):
    /// `medo expand` reads T, the tar, instead of re-making the gzip.
    pub fn split_record(
        &self,
        id: &ObjectId,
    ) -> Result<Option<trees_split::table::Record>, ReadError> {
        Ok(match self.locate(id)? {
            Some(Found::Split(f)) => Some(f.record),
            _ => None,
        })
    }

    /// Writes the packed object `id` at `offset` of `b` to `out`, checked.
    pub(crate) fn read_packed(
        &self,
        b: Arc<Bundle>,
        offset: u64,
        id: &ObjectId,
        out: &mut dyn Write,
    ) -> Result<u64, ReadError> {
        Object {
            silo: self,
            id: *id,
            found: Found::Packed(b, offset),
        }
        .read(out)
    }

    /// Its files: every write, publish and delete goes through this.
    pub fn storage(&self) -> &dyn Storage {
        &*self.storage
    }

    /// `path` (under [`Silo::root`]) as the silo-relative name that
    /// [`Storage`] takes; a relative path is returned as it is.
    pub fn relative<'a>(&self, path: &'a Path) -> &'a Path {
        path.strip_prefix(&self.root).unwrap_or(path)
    }

    /// The silo's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `objects/`
    pub fn objects_dir(&self) -> PathBuf {
        self.root.join("objects")
    }

    /// `pack/`
    pub fn pack_dir(&self) -> PathBuf {
        self.root.join("pack")
    }

    /// `derived/`
    pub fn derived_dir(&self) -> PathBuf {
        self.root.join("derived")
    }

    /// `tmp/`
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Where the loose object `id` lives.
    pub fn loose_path(&self, id: &ObjectId) -> PathBuf {
        let hex = id.to_string();
        self.objects_dir()
            .join(&hex[..2])
            .join(format!("{}.gz", &hex[2..]))
    }

    /// A new temporary file in `tmp/`, removed when dropped unless persisted.
    /// Read-only for everyone, like git's objects and packs: a web server
    /// must be able to serve it, and nothing may change it in place.
    pub fn temp_file(&self, suffix: &str) -> io::Result<tempfile::NamedTempFile> {
        use std::os::unix::fs::PermissionsExt;
        tempfile::Builder::new()
            .prefix("tmp-")
            .suffix(suffix)
            .permissions(fs::Permissions::from_mode(0o444))
            .tempfile_in(self.tmp_dir())
    }

    /// The ids of all loose objects, sorted; files that are not objects are skipped.
    pub fn loose_ids(&self) -> Result<Vec<ObjectId>, ReadError> {
        let mut ids = Vec::new();
        for (path, name) in self.loose_files()? {
            if let Some(id) = name {
                ids.push(id);
            } else {
                tracing::debug!("not an object: {}", path.display());
            }
        }
        ids.sort_unstable();
        Ok(ids)
    }

    /// Every file under `objects/`, with its id if its name is one
    /// (listed through [`Silo::storage`]).
    pub fn loose_files(&self) -> Result<Vec<(PathBuf, Option<ObjectId>)>, ReadError> {
        let mut out = Vec::new();
        let objects = Path::new("objects");
        for dir_name in self.storage.list(objects)? {
            let dir = objects.join(&dir_name);
            let names = match self.storage.list(&dir) {
                Ok(names) => names,
                // A stray file beside the fan-out directories.
                Err(e) if e.source.kind() == io::ErrorKind::NotADirectory => {
                    out.push((self.root.join(&dir), None));
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            for n in names {
                let id = (dir_name.len() == 2)
                    .then(|| n.strip_suffix(".gz"))
                    .flatten()
                    .and_then(|rest| id::parse_hex(&format!("{dir_name}{rest}")));
                out.push((self.root.join(&dir).join(n), id));
            }
        }
        Ok(out)
    }

    /// The `.idx` files of `pack/` that have their `.pack`, sorted (listed
    /// through [`Silo::storage`]).
    pub fn pack_indexes(&self) -> Result<Vec<PathBuf>, ReadError> {
        let names = self.storage.list(Path::new("pack"))?;
        let has = |n: &str| names.binary_search_by(|x| x.as_str().cmp(n)).is_ok();
        Ok(names
            .iter()
            .filter_map(|n| n.strip_suffix(".idx"))
            .filter(|stem| has(&format!("{stem}.pack")))
            .map(|stem| self.pack_dir().join(format!("{stem}.idx")))
            .collect())
    }

    /// The packs this silo's readers know now (opened at the first call,
    /// shared by every clone of this `Silo`, rescanned on a miss).
    pub fn packs(&self) -> Result<Packs, ReadError> {
        self.packs.get()
    }

    /// True if `id` is loose or packed.
    pub fn contains(&self, id: &ObjectId) -> Result<bool, ReadError> {
        Ok(self.locate(id)?.is_some())
    }

    /// The file that holds `id` now: its loose file or its pack.
    pub fn holder(&self, id: &ObjectId) -> Result<Option<Holder>, ReadError> {
        Ok(match self.locate(id)? {
            Some(Found::Loose(_)) => Some(Holder::Loose(self.loose_path(id))),
            Some(Found::Packed(b, _)) => Some(Holder::Pack(b.pack.path().to_owned())),
            Some(Found::Split(f)) => Some(Holder::Pack(f.bundle.pack.path().to_owned())),
            None => None,
        })
    }

    /// The full id for a full id or a unique prefix of at least 4 hex digits.
    pub fn resolve(&self, hex: &str) -> Result<ObjectId, ReadError> {
        let first = self.resolve_in(hex, &self.packs.current()?);
        let Err(ReadError::NotFound(_)) = first else {
            return first;
        };
        // As in `locate`: the loose copies were listed after the packs were
        // opened; a pack installed before they vanished is in this rescan.
        self.packs.rescan()?;
        match self.resolve_in(hex, &self.packs.current()?) {
            Err(ReadError::NotFound(h)) => {
                Err(self.packs.broken().unwrap_or(ReadError::NotFound(h)))
            }
            other => other,
        }
    }

    fn resolve_in(
        &self,
        hex: &str,
        (packs, tables): &(crate::packs::Packs, crate::packs::Tables),
    ) -> Result<ObjectId, ReadError> {
        let hex = hex.to_ascii_lowercase();
        if hex.len() < 4 {
            return Err(ReadError::BadId(hex));
        }
        // Only ASCII hex digits pass: the slicing below cannot split a character.
        let prefix = id::decode_hex_prefix(&hex).ok_or_else(|| ReadError::BadId(hex.clone()))?;
        let mut found: Vec<ObjectId> = Vec::new();
        let dir = self.objects_dir().join(&hex[..2]);
        let names = match read_dir_sorted(&dir) {
            Ok(names) => names,
            // No loose object has this prefix (or a repack just removed the
            // fan-out directory it emptied).
            Err(ReadError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        for f in names {
            let name = file_name(&f);
            if let Some(id) = name
                .strip_suffix(".gz")
                .and_then(|rest| id::parse_hex(&format!("{}{rest}", &hex[..2])))
                && id::matches_prefix(&id, &prefix, hex.len())
            {
                found.push(id);
            }
        }
        for b in packs.iter() {
            for i in b.index.lookup_prefix(&prefix, hex.len(), 8) {
                found.push(b.index.id(i));
            }
        }
        for t in tables.values() {
            let recs = t.records();
            let from = recs.partition_point(|r| r.x.as_bytes() < &prefix[..]);
            found.extend(
                recs[from..]
                    .iter()
                    .take_while(|r| id::matches_prefix(&r.x, &prefix, hex.len()))
                    .take(8)
                    .map(|r| r.x),
            );
        }
        found.sort_unstable();
        found.dedup();
        match found.len() {
            0 => Err(ReadError::NotFound(hex)),
            1 => Ok(found[0]),
            _ => Err(ReadError::Ambiguous {
                prefix: hex,
                candidates: found
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Writes object `id` to `out`, from its loose copy or a pack, checking
    /// its id. Returns its size. Packed objects larger than
    /// [`Silo::stream_above`] are streamed: a damaged one is reported after
    /// part of it was written.
    pub fn read(&self, id: &ObjectId, out: &mut dyn Write) -> Result<u64, ReadError> {
        self.find(id)?
            .ok_or_else(|| ReadError::NotFound(id.to_string()))?
            .read(out)
    }

    /// A packed object too large to hold, streamed to `out` and hashed on
    /// the way: a damaged one is reported after part of it was written.
    fn stream_packed(
        &self,
        b: &Bundle,
        offset: u64,
        id: &ObjectId,
        out: &mut dyn Write,
    ) -> Result<u64, ReadError> {
        let size = b
            .object_size_at(offset)
            .map_err(|source| ReadError::Pack { id: *id, source })?;
        let mut tee = HashTee {
            out,
            hasher: id::Hasher::new(id::Kind::Blob, size),
            failed: None,
        };
        let (kind, n) =
            b.stream_at(offset, &mut tee, &self.tmp_dir())
                .map_err(|source| match tee.failed.take() {
                    Some(e) => ReadError::Output(e),
                    None => ReadError::Pack { id: *id, source },
                })?;
        let actual = tee.hasher.finish();
        if kind != id::Kind::Blob || actual.as_ref().ok() != Some(id) {
            return Err(ReadError::PackedMismatch {
                id: *id,
                pack: b.pack.path().to_owned(),
                actual: actual.map_or_else(|e| e.to_string(), |a| format!("{kind} {a}")),
            });
        }
        Ok(n)
    }

    /// Adds the file at `path` as a loose blob unless the silo has it, and
    /// freshens the time of the file that holds it if it has (as git does).
    /// Returns its id and whether it was written.
    pub fn add_file(&self, path: &Path) -> Result<(ObjectId, bool), AddError> {
        let (id, size) = loose::hash_file(path)?;
        if let Some(Holder::Loose(file) | Holder::Pack(file)) = self.holder(&id)? {
            match freshen(&file) {
                Ok(()) => return Ok((id, false)),
                // Moved by a repack just now: store it again rather than
                // lose the freshening (a duplicate costs only space).
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => return Err(AddError::Io { path: file, source }),
            }
        }
        let mut tmp = self.storage.stage(".gz")?;
        let tmp_path = tmp.path().to_owned();
        let second = loose::write_gzip(path, size, tmp.file_mut(), &tmp_path)?;
        if second != id {
            return Err(loose::Error::Changed {
                path: path.to_owned(),
                first: id,
                second,
            }
            .into());
        }
        let dest = self.loose_path(&id);
        // Another add of the same bytes may have won the race: the same
        // name holds the same bytes, so either copy will do.
        let created = self.storage.create(tmp, self.relative(&dest))?;
        Ok((id, created == crate::storage::Created::New))
    }
}

/// An object of a silo, found: [`Silo::find`].
pub struct Object<'a> {
    silo: &'a Silo,
    id: ObjectId,
    found: Found,
}

impl Object<'_> {
    /// Its size, without reading it whole.
    pub fn size(&self) -> Result<u64, ReadError> {
        match &self.found {
            Found::Loose(f) => Ok(loose::size_of(
                f,
                &self.silo.loose_path(&self.id),
                &self.id,
            )?),
            Found::Packed(b, offset) => {
                b.object_size_at(*offset).map_err(|source| ReadError::Pack {
                    id: self.id,
                    source,
                })
            }
            Found::Split(f) => Ok(f.record.size),
        }
    }

    /// Writes it to `out`, checking its id: [`Silo::read`].
    pub fn read(self, out: &mut dyn Write) -> Result<u64, ReadError> {
        let id = &self.id;
        let (b, offset) = match self.found {
            Found::Loose(f) => {
                return Ok(loose::read_file(&f, &self.silo.loose_path(id), id, out)?);
            }
            Found::Packed(b, offset) => (b, offset),
            Found::Split(f) => return f.read(self.silo, out),
        };
        let pack_err = |source| ReadError::Pack { id: *id, source };
        if b.object_size_at(offset).map_err(pack_err)? > self.silo.stream_above {
            return self.silo.stream_packed(&b, offset, id, out);
        }
        let obj = b.read_at(offset).map_err(pack_err)?;
        let actual = id::hash_object(obj.kind, &obj.data);
        if actual.as_ref().ok() != Some(id) {
            return Err(ReadError::PackedMismatch {
                id: *id,
                pack: b.pack.path().to_owned(),
                actual: actual.map_or_else(|e| e.to_string(), |a| a.to_string()),
            });
        }
        out.write_all(&obj.data).map_err(ReadError::Output)?;
        Ok(obj.data.len() as u64)
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Entries of `dir`, sorted by name.
pub(crate) fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>, ReadError> {
    let io = |source| ReadError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut v = Vec::new();
    for e in fs::read_dir(dir).map_err(io)? {
        v.push(e.map_err(io)?.path());
    }
    v.sort();
    Ok(v)
}

/// Packed objects larger than this are streamed by reads (`silo cat`,
/// `silo verify`), not rebuilt in memory, unless [`Silo::with_memory`]
/// says otherwise: an eighth of the default `--memory` of 2 GiB.
pub const STREAM_LARGER_THAN: u64 = 256 << 20;

/// Writes through to `out` and hashes what it wrote; remembers a failure
/// of `out` so that it is reported as the output's, not the pack's.
pub(crate) struct HashTee<'a> {
    pub(crate) out: &'a mut dyn Write,
    pub(crate) hasher: id::Hasher,
    pub(crate) failed: Option<io::Error>,
}

impl Write for HashTee<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.out.write(buf) {
            Ok(n) => {
                self.hasher.update(&buf[..n]);
                Ok(n)
            }
            Err(e) => {
                let copy = io::Error::new(e.kind(), e.to_string());
                self.failed = Some(e);
                Err(copy)
            }
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Marks an object that is already stored as wanted now, so that a gc
/// whose reachable set predates the caller's treeptr does not take it
/// (git "freshens" objects the same way).
fn freshen(path: &Path) -> io::Result<()> {
    let f = fs::OpenOptions::new()
        .append(true)
        .open(path)
        .or_else(|_| fs::File::open(path))?;
    f.set_modified(std::time::SystemTime::now())
}
