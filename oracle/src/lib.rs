//! For tests only: gix-pack (gitoxide) as a second reader of every pack the
//! tests write, independent of our own.
//!
//! `git` is the first oracle (`git verify-pack`, `index-pack`, `fsck`,
//! `cat-file`); this crate adds one that lives in the test process. Tests
//! make their temporary directories with [`tempdir`]: when one is dropped
//! (and the test is not already failing), every `*.idx` in it that has its
//! `.pack` beside it is opened by gix-pack and by `trees_pack`, every
//! object is read by both, and the two must agree on its kind and bytes,
//! and the bytes must hash to the id the idx gives ([`check_pack`]). A
//! difference fails the test, naming the pack and the object.
//!
//! [`gix_verdict`] is what gix-pack makes of a pack that may be hostile:
//! the hostile-pack tests compare it with ours.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use trees_pack::id::{Kind, hash_object};

/// Packs and objects checked so far by this process (for the test log).
static PACKS: AtomicU64 = AtomicU64::new(0);
static OBJECTS: AtomicU64 = AtomicU64::new(0);

/// A temporary directory whose packs are read by gix-pack when it is dropped.
#[derive(Debug)]
pub struct TempDir {
    dir: Option<tempfile::TempDir>,
    damaged: std::sync::atomic::AtomicBool,
}

/// A new [`TempDir`], as `tempfile::tempdir()` makes one.
pub fn tempdir() -> std::io::Result<TempDir> {
    Ok(TempDir {
        dir: Some(tempfile::tempdir()?),
        damaged: false.into(),
    })
}

impl TempDir {
    /// Its path.
    pub fn path(&self) -> &Path {
        self.dir.as_ref().map_or(Path::new(""), |t| t.path())
    }

    /// Says that the test damages packs in it on purpose (the hostile
    /// tests): they are not compared when it is dropped.
    pub fn holds_damaged_packs(&self) {
        self.damaged.store(true, Ordering::Relaxed);
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        self.path()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let Some(dir) = self.dir.take() else { return };
        if std::thread::panicking() || self.damaged.load(Ordering::Relaxed) {
            return;
        }
        let (packs, objects) = check_dir(dir.path());
        PACKS.fetch_add(packs, Ordering::Relaxed);
        OBJECTS.fetch_add(objects, Ordering::Relaxed);
        if let Some(log) = std::env::var_os("TREES_ORACLE_LOG") {
            use std::io::Write;
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
            {
                let _ = writeln!(f, "{packs} {objects}");
            }
        }
    }
}

/// Packs and objects checked so far by this process.
pub fn totals() -> (u64, u64) {
    (
        PACKS.load(Ordering::Relaxed),
        OBJECTS.load(Ordering::Relaxed),
    )
}

/// Every pack under `dir` (an `*.idx` with its `.pack`), checked by
/// [`check_pack`]; panics naming the first difference. Returns how many
/// packs and objects were read.
pub fn check_dir(dir: &Path) -> (u64, u64) {
    let mut packs = 0;
    let mut objects = 0;
    for idx in idx_files(dir) {
        match check_pack(&idx) {
            Ok(n) => {
                packs += 1;
                objects += n;
            }
            Err(e) => panic!("gix-pack and trees-pack disagree on {}: {e}", idx.display()),
        }
    }
    (packs, objects)
}

fn idx_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "idx")
                && p.with_extension("pack").is_file()
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Reads every object of the pack `idx` with gix-pack and with
/// `trees_pack`, and compares: the same ids, kinds and bytes, and bytes
/// that hash to their id. Returns the number of objects.
pub fn check_pack(idx: &Path) -> Result<u64, String> {
    let gix = gix_read_all(idx)?;
    let ours = trees_pack::Bundle::open(idx)
        .map_err(|e| format!("trees-pack cannot open it: {}", trees_pack::error_chain(&e)))?;
    if u64::from(ours.index.count()) != gix.len() as u64 {
        return Err(format!(
            "gix-pack reads {} objects, trees-pack's idx has {}",
            gix.len(),
            ours.index.count()
        ));
    }
    for (id_hex, kind, data) in &gix {
        let id = trees_pack::id::parse_hex(id_hex)
            .ok_or_else(|| format!("gix-pack gives id {id_hex}"))?;
        let obj = ours
            .read(&id)
            .map_err(|e| {
                format!(
                    "trees-pack cannot read {id}: {}",
                    trees_pack::error_chain(&e)
                )
            })?
            .ok_or_else(|| format!("trees-pack does not find {id}"))?;
        let our_kind = match obj.kind {
            Kind::Blob => "blob",
            Kind::Tree => "tree",
            Kind::Commit => "commit",
            Kind::Tag => "tag",
        };
        if our_kind != kind.as_str() {
            return Err(format!("{id}: gix-pack says {kind}, trees-pack {our_kind}"));
        }
        if obj.data.as_slice() != data.as_slice() {
            return Err(format!(
                "{id}: gix-pack reads {} bytes, trees-pack {} different ones",
                data.len(),
                obj.data.len()
            ));
        }
        if hash_object(obj.kind, data).ok() != Some(id) {
            return Err(format!("{id}: the bytes both read do not hash to it"));
        }
    }
    Ok(gix.len() as u64)
}

/// Every object of the pack `idx` as gix-pack reads it: id (hex), kind
/// and bytes, in idx order. An error says what gix-pack refused.
pub fn gix_read_all(idx: &Path) -> Result<Vec<(String, String, Vec<u8>)>, String> {
    let bundle = gix_pack::Bundle::at(idx, gix_hash::Kind::Sha1)
        .map_err(|e| format!("gix-pack cannot open it: {e}"))?;
    let mut inflate = gix_zlib::Inflate::default();
    let mut cache = gix_pack::cache::Never;
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for i in 0..bundle.index.num_objects() {
        let id = bundle.index.oid_at_index(i).to_owned();
        let (data, _) = bundle
            .get_object_by_index(i, &mut buf, &mut inflate, &mut cache)
            .map_err(|e| format!("gix-pack cannot read {id}: {e}"))?;
        let kind = String::from_utf8_lossy(data.kind.as_bytes()).into_owned();
        out.push((id.to_string(), kind, data.data.to_vec()));
    }
    Ok(out)
}

/// gix-pack's verdict on a pack that may be hostile: `Ok(objects)` if it
/// opens it, verifies its checksums and reads every object, else what it
/// refused first.
pub fn gix_verdict(idx: &Path) -> Result<usize, String> {
    gix_read_all(idx).map(|v| v.len())
}
