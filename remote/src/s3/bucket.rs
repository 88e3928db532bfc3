//! [`Bucket`]: the [`Storage`] of a silo in a bucket, written through to
//! the bucket and kept in a local replica that the engine reads (its packs
//! hollow until fetched, for repack and gc: see [`super::hollow`]).

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Read, Seek};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use trees_silo::lock::{self as silo_lock, Lock};
use trees_silo::storage::{self, Created, Local, Staged, Storage};
use trees_silo::{Silo, listing};

use super::client::{Client, MULTIPART_ABOVE, Meta, Swap};
use super::hollow::{Hollow, Packs, is_pack};
use super::lock::{Guard, Refused, State};
use super::{Error, Location, lock};

/// Where retired files wait for their deletion.
pub const CONDEMNED: &str = "info/condemned.json";

#[derive(Debug, Default, Serialize, Deserialize)]
struct Condemned {
    files: Vec<Retired>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Retired {
    path: String,
    /// When it was retired (the retiring machine's clock).
    retired_ms: u64,
    /// Its last-modified time then: a file written again since (an add of
    /// an object that a gc had found unreachable) is kept.
    modified_ms: Option<u64>,
}

fn ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A silo in a bucket, seen through its local replica.
#[derive(Debug)]
pub struct Bucket {
    client: Arc<Client>,
    replica: Local,
    root: PathBuf,
    /// When packs are downloaded, and those not yet.
    packs: Packs,
    hollow: Hollow,
    lock: Mutex<Option<Arc<State>>>,
    /// What the bucket held at the last sync.
    known: Mutex<HashMap<String, Meta>>,
}

/// Opens the silo at `location` through its replica under `cache`
/// (making the silo first if `create`), and brings the replica up to date,
/// its packs downloaded as `packs` says.
pub fn open(
    location: &Location,
    cache: &Path,
    create: bool,
    packs: Packs,
) -> Result<(Silo, Arc<Bucket>), Error> {
    let url = location.to_string();
    let mut root = cache.join("s3").join(&location.bucket);
    for part in location.prefix.split('/').filter(|p| !p.is_empty()) {
        root.push(part);
    }
    if location.prefix.is_empty() {
        root.push("_");
    }
    let replica_err = |source| Error::Replica {
        url: url.clone(),
        source,
    };
    Silo::init(&root).map_err(replica_err)?;
    let client = Arc::new(Client::connect(location)?);
    let bucket = Arc::new(Bucket {
        client: Arc::clone(&client),
        replica: Local::new(&root),
        root: root.clone(),
        packs,
        hollow: Hollow::new(&root),
        lock: Mutex::new(None),
        known: Mutex::new(HashMap::new()),
    });
    let silo =
        Silo::open_on(&root, Arc::clone(&bucket) as Arc<dyn Storage>).map_err(replica_err)?;
    if client.head(listing::PATH)?.is_none() {
        if !create {
            return Err(Error::NotASilo { url });
        }
        listing::write(&silo)?;
    }
    bucket.sync()?;
    Ok((silo, bucket))
}

impl Bucket {
    /// The client (for its traffic counts).
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn err(&self, op: &'static str, path: &str) -> impl FnOnce(Error) -> storage::Error {
        let path = PathBuf::from(self.client.location().url_of(path));
        move |e| storage::Error {
            op,
            path,
            source: io::Error::other(e),
        }
    }

    fn refuse(&self, op: &'static str, path: &str, what: String) -> storage::Error {
        storage::Error {
            op,
            path: PathBuf::from(self.client.location().url_of(path)),
            source: io::Error::other(what),
        }
    }

    /// The lock this process holds, checked: deleting needs one.
    fn held(&self, op: &'static str, path: &str) -> Result<Arc<State>, storage::Error> {
        let state = self
            .lock
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| self.refuse(op, path, "the silo's lock is not held".to_owned()))?;
        state
            .check()
            .map_err(|what| self.refuse(op, path, format!("{}: {what}", lock::PATH)))?;
        Ok(state)
    }

    /// If this process took the lock, it must still hold it.
    fn check_if_locked(&self, op: &'static str, path: &str) -> Result<(), storage::Error> {
        if self
            .lock
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
        {
            self.held(op, path)?;
        }
        Ok(())
    }

    /// Downloads what the bucket has and the replica lacks, and removes
    /// from the replica what the bucket no longer lists (or has retired).
    pub fn sync(&self) -> Result<(), storage::Error> {
        let listed = self.client.list("").map_err(self.err("list", ""))?;
        let condemned: BTreeSet<String> = self
            .read_condemned()?
            .0
            .files
            .into_iter()
            .map(|r| r.path)
            .collect();
        let mut known = HashMap::new();
        for m in listed {
            let p = m.path.as_str();
            let wanted = ["objects/", "pack/", "derived/"]
                .iter()
                .any(|d| p.starts_with(d))
                && !condemned.contains(p)
                && !p.contains("..");
            if wanted {
                known.insert(m.path.clone(), m);
            }
        }
        let on_demand = self.packs == Packs::OnDemand;
        let mut to_hollow = Vec::new();
        for (p, m) in &known {
            let local = self.root.join(p);
            let hollow = self.hollow.is_hollow(p);
            if std::fs::metadata(&local).is_ok_and(|l| l.len() == m.size) && (!hollow || on_demand)
            {
                continue;
            }
            if on_demand && is_pack(p) {
                to_hollow.push((p, m)); // once its idx is here
            } else if hollow {
                self.hollow.fill(&self.client, &self.replica, p)?;
            } else {
                self.download(p)?;
            }
        }
        for (p, m) in to_hollow {
            if !self.hollow.make(&self.replica, p, m)? {
                self.download(p)?;
            }
        }
        let mut gone = Vec::new();
        for dir in ["objects", "pack", "derived"] {
            collect_files(&self.root, Path::new(dir), &mut gone)?;
        }
        gone.retain(|p| !known.contains_key(&*p.to_string_lossy()));
        if !gone.is_empty() {
            tracing::debug!(
                "the replica drops {} files the bucket no longer lists",
                gone.len()
            );
            self.replica.delete(&gone)?;
            for p in &gone {
                self.hollow.forget(&rel(p))?;
            }
        }
        *self.known.lock().unwrap_or_else(|e| e.into_inner()) = known;
        Ok(())
    }

    /// Downloads `p` into the replica (nothing if it was retired meanwhile).
    fn download(&self, p: &str) -> Result<(), storage::Error> {
        let mut staged = self.replica.stage(".download")?;
        let got = self
            .client
            .download(p, staged.file_mut())
            .map_err(self.err("download", p))?;
        let Some(got) = got else { return Ok(()) };
        let _ = staged.file().set_modified(got.modified);
        self.replica.replace(staged, Path::new(p))?;
        self.hollow.forget(p)
    }

    fn read_condemned(&self) -> Result<(Condemned, Option<String>), storage::Error> {
        match self
            .client
            .get(CONDEMNED)
            .map_err(self.err("read", CONDEMNED))?
        {
            None => Ok((Condemned::default(), None)),
            Some((bytes, e_tag)) => {
                let c = serde_json::from_slice(&bytes)
                    .map_err(|e| self.refuse("read", CONDEMNED, format!("malformed: {e}")))?;
                Ok((c, e_tag))
            }
        }
    }

    fn write_condemned(&self, c: &Condemned, e_tag: Option<String>) -> Result<(), storage::Error> {
        let bytes = serde_json::to_vec_pretty(c)
            .map_err(|e| self.refuse("write", CONDEMNED, e.to_string()))?;
        match self
            .client
            .put_swap(CONDEMNED, bytes, e_tag)
            .map_err(self.err("write", CONDEMNED))?
        {
            Swap::Done(_) => Ok(()),
            Swap::Conflict => Err(self.refuse(
                "write",
                CONDEMNED,
                "changed by another process meanwhile (does it hold the lock?)".to_owned(),
            )),
        }
    }

    /// Puts the staged file at `path`, create-only.
    fn upload(&self, staged: &Staged, path: &str) -> Result<Created, storage::Error> {
        let io_err = |e| self.refuse("read", path, format!("staged file: {e}"));
        let size = staged.file().metadata().map_err(io_err)?.len();
        if size > MULTIPART_ABOVE {
            if let Some(m) = self.client.head(path).map_err(self.err("create", path))? {
                if m.size == size {
                    return Ok(Created::Existed);
                }
                return Err(self.refuse(
                    "create",
                    path,
                    format!("it exists with {} bytes, not {size}", m.size),
                ));
            }
            let mut f = staged.file();
            f.rewind().map_err(io_err)?;
            self.client
                .put_multipart(path, staged.file())
                .map_err(self.err("create", path))?;
            return Ok(Created::New);
        }
        let read_staged = || -> Result<Vec<u8>, storage::Error> {
            let mut bytes = Vec::with_capacity(size as usize);
            let mut f = staged.file();
            f.rewind().map_err(io_err)?;
            f.read_to_end(&mut bytes).map_err(io_err)?;
            Ok(bytes)
        };
        match self
            .client
            .put_create(path, read_staged()?)
            .map_err(self.err("create", path))?
        {
            Swap::Done(_) => Ok(Created::New),
            Swap::Conflict => {
                // Rare (a name that exists already): read ours again
                // rather than hold a second copy of every upload.
                let bytes = read_staged()?;
                let there = self.client.get(path).map_err(self.err("create", path))?;
                if there.as_ref().is_some_and(|(b, _)| *b == bytes) {
                    self.revive(path, bytes)?;
                    return Ok(Created::Existed);
                }
                Err(self.refuse("create", path, "it exists with other bytes".to_owned()))
            }
        }
    }

    /// A file being created that exists already may be retired: writing
    /// it again changes its last-modified time, which `sweep` honours.
    fn revive(&self, path: &str, bytes: Vec<u8>) -> Result<(), storage::Error> {
        let (c, _) = self.read_condemned()?;
        if c.files.iter().any(|r| r.path == path) {
            self.client
                .put(path, bytes, object_store::PutMode::Overwrite)
                .map_err(self.err("revive", path))?;
        }
        Ok(())
    }
}

/// The files under `dir` of the replica at `root`, relative to `root`.
fn collect_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), storage::Error> {
    let abs = root.join(dir);
    let entries = match std::fs::read_dir(&abs) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(storage::Error {
                op: "list",
                path: abs,
                source,
            });
        }
    };
    for e in entries.flatten() {
        let rel = dir.join(e.file_name());
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            collect_files(root, &rel, out)?;
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

fn rel(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

impl Storage for Bucket {
    fn list(&self, dir: &Path) -> Result<Vec<String>, storage::Error> {
        self.replica.list(dir)
    }

    fn read_range(
        &self,
        path: &Path,
        range: Range<u64>,
    ) -> Result<Option<Vec<u8>>, storage::Error> {
        self.fetch(path)?;
        self.replica.read_range(path, range)
    }

    fn fetch(&self, path: &Path) -> Result<(), storage::Error> {
        let p = rel(path);
        if self.hollow.is_hollow(&p) {
            tracing::debug!("fetching {p}");
            self.hollow.fill(&self.client, &self.replica, &p)?;
        }
        Ok(())
    }

    fn stage(&self, suffix: &str) -> Result<Staged, storage::Error> {
        self.replica.stage(suffix)
    }

    fn create(&self, staged: Staged, path: &Path) -> Result<Created, storage::Error> {
        let p = rel(path);
        let created = self.upload(&staged, &p)?;
        trees_silo::crash::point(&format!("{} put", storage::kind(path)));
        self.replica.create(staged, path)?;
        Ok(created)
    }

    fn publish(&self, files: Vec<(Staged, PathBuf)>) -> Result<(), storage::Error> {
        for (staged, dest) in files {
            self.check_if_locked("publish", &rel(&dest))?;
            self.upload(&staged, &rel(&dest))?;
            trees_silo::crash::point(&format!("{} put", storage::kind(&dest)));
            self.replica.publish(vec![(staged, dest)])?;
        }
        Ok(())
    }

    fn replace(&self, staged: Staged, path: &Path) -> Result<(), storage::Error> {
        let p = rel(path);
        self.check_if_locked("replace", &p)?;
        let io_err = |e| self.refuse("read", &p, format!("staged file: {e}"));
        let mut bytes = Vec::new();
        let mut f = staged.file();
        f.rewind().map_err(io_err)?;
        f.read_to_end(&mut bytes).map_err(io_err)?;
        let e_tag = self
            .client
            .head(&p)
            .map_err(self.err("replace", &p))?
            .map(|m| m.e_tag);
        let swap = match e_tag {
            None => self.client.put_create(&p, bytes),
            Some(None) => self.client.put(&p, bytes, object_store::PutMode::Overwrite),
            Some(e_tag) => self.client.put_swap(&p, bytes, e_tag),
        }
        .map_err(self.err("replace", &p))?;
        if let Swap::Conflict = swap {
            return Err(self.refuse(
                "replace",
                &p,
                "another process replaced it meanwhile; run the command again".to_owned(),
            ));
        }
        trees_silo::crash::point(&format!("{} swapped", storage::kind(path)));
        self.replica.replace(staged, path)
    }

    fn delete(&self, paths: &[PathBuf]) -> Result<u64, storage::Error> {
        if paths.is_empty() {
            return Ok(0);
        }
        self.held("retire", &rel(&paths[0]))?;
        let (mut c, e_tag) = self.read_condemned()?;
        let now = ms(SystemTime::now());
        {
            let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
            let already: BTreeSet<String> = c.files.iter().map(|r| r.path.clone()).collect();
            for p in paths {
                let p = rel(p);
                if !already.contains(&p) {
                    c.files.push(Retired {
                        modified_ms: known.get(&p).map(|m| ms(m.modified)),
                        path: p,
                        retired_ms: now,
                    });
                }
            }
        }
        self.held("retire", CONDEMNED)?;
        self.write_condemned(&c, e_tag)?;
        trees_silo::crash::point("files retired");
        let n = self.replica.delete(paths)?;
        for p in paths {
            self.hollow.forget(&rel(p))?;
        }
        Ok(n)
    }

    fn lock(&self, wait: bool) -> Result<Lock, silo_lock::Error> {
        let path = PathBuf::from(self.client.location().url_of(lock::PATH));
        let state = State::take(Arc::clone(&self.client), wait).map_err(|e| match e {
            Refused::Busy(who) => silo_lock::Error::Held {
                path: path.clone(),
                by: who,
            },
            Refused::Failed(e) => silo_lock::Error::Io {
                path: path.clone(),
                source: io::Error::other(e),
            },
        })?;
        *self.lock.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&state));
        let guard = Lock::held_by(Box::new(Guard(state)));
        // Nobody else changes the bucket now: bring the replica up to date.
        self.sync().map_err(|e| silo_lock::Error::Io {
            path,
            source: io::Error::other(e),
        })?;
        Ok(guard)
    }

    fn sweep(&self, grace: Duration) -> Result<u64, storage::Error> {
        let state = self.held("sweep", CONDEMNED)?;
        let (c, e_tag) = self.read_condemned()?;
        let now = ms(SystemTime::now());
        let grace_ms = grace.as_millis() as u64;
        let mut keep = Condemned::default();
        let mut gone = 0;
        for r in c.files {
            if now < r.retired_ms.saturating_add(grace_ms) {
                keep.files.push(r);
                continue;
            }
            let there = self
                .client
                .head(&r.path)
                .map_err(self.err("sweep", &r.path))?;
            let Some(there) = there else { continue };
            // Whole seconds: a listing may give milliseconds where `HEAD`'s
            // Last-Modified header has seconds (s3s-fs does).
            if r.modified_ms
                .is_some_and(|m| m / 1000 != ms(there.modified) / 1000)
            {
                tracing::info!("{} was written again since it was retired: kept", r.path);
                continue;
            }
            state.check().map_err(|what| {
                self.refuse("delete", &r.path, format!("{}: {what}", lock::PATH))
            })?;
            self.client
                .delete(&r.path)
                .map_err(self.err("delete", &r.path))?;
            trees_silo::crash::point("file deleted");
            gone += 1;
        }
        self.held("sweep", CONDEMNED)?;
        self.write_condemned(&keep, e_tag)?;
        Ok(gone)
    }
}
