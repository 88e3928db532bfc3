//! `silo mirror URL DIR`: copies what a local silo lacks from a remote one.
//!
//! The remote's `info/files.json` says what it holds. Each pack the local
//! silo lacks is downloaded into `tmp/mirror-<name>.pack.part`, resuming
//! what an interrupted run left there; it must match its listed length,
//! its trailer and the checksum its name carries, and then every object in
//! it is read back and hashed against its idx ([`Bundle::verify`]) before
//! the pack and then its idx are installed in `pack/` by the one install
//! sequence of every pack ([`trees_silo::install`]). Loose objects are
//! checked against their ids, derived files are applied to their `have`
//! and must give their `want`, and only then renamed into place (a pair's
//! `.json` last). Whatever was already complete is kept, so running the
//! command again after an interruption finishes the job. The local silo's
//! listing is written at the end, so that the copy can be served in turn.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use trees_pack::{Bundle, ObjectId};

use super::{Error as RemoteError, Remote, cache};
use trees_silo::derived;
use trees_silo::listing::{self, Listing};
use trees_silo::lock;
use trees_silo::loose;
use trees_silo::progress::{Progress, Unit};
use trees_silo::repack::install_order;
use trees_silo::storage::Staged;
use trees_silo::store::{ReadError, Silo};

/// Why a mirror run stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading from the remote failed.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// A request failed.
    #[error(transparent)]
    Http(#[from] super::http::Error),
    /// Another process holds the local silo's lock.
    #[error(transparent)]
    Lock(#[from] lock::Error),
    /// The local silo cannot be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Staging or publishing a file of the local silo failed.
    #[error(transparent)]
    Storage(#[from] trees_silo::storage::Error),
    /// A superseded local pack could not be removed.
    #[error(transparent)]
    Supersede(#[from] trees_silo::supersede::Error),
    /// The local multi-pack-index cannot be written.
    #[error(transparent)]
    MultiIndex(#[from] trees_silo::multi_index::Error),
    /// The local listing cannot be written.
    #[error(transparent)]
    Listing(#[from] listing::Error),
    /// A downloaded pack fails its check.
    #[error("pack {url} is corrupt: {what}")]
    BadPack {
        /// Its URL.
        url: String,
        /// The problems, joined by "; ".
        what: String,
    },
    /// A local file cannot be written.
    #[error("cannot write {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// What one kind of file came to.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct Count {
    /// Copied now.
    pub copied: u64,
    /// Already there.
    pub present: u64,
    /// Bytes copied now.
    pub bytes: u64,
}

/// What [`mirror`] did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Outcome {
    /// Packs.
    pub packs: Count,
    /// Loose objects (those the local silo has in a pack count as present).
    pub loose: Count,
    /// Local packs removed because upstream replaced them: every object
    /// of theirs is in a pack copied now.
    pub packs_removed: u64,
    /// Derived files.
    pub derived: Count,
    /// Derived files refused (they do not give their `want`): the message.
    pub refused: Vec<String>,
    /// Bytes of pack that an earlier, interrupted run had already fetched.
    pub resumed_bytes: u64,
    /// HTTP requests sent.
    pub requests: u64,
    /// Body bytes received.
    pub received_bytes: u64,
    /// Notes (a server that ignores Range, say).
    pub notes: Vec<String>,
}

/// Copies into `silo` what `remote` lists and `silo` lacks. Holds the
/// silo's lock (waiting for it if `wait`).
pub fn mirror(
    remote: &Remote,
    silo: &Silo,
    wait: bool,
    progress: &dyn Progress,
) -> Result<Outcome, Error> {
    let listing = remote.listing()?.ok_or_else(|| RemoteError::NoListing {
        url: format!("{}{}", remote.url(), listing::PATH),
    })?;
    let _lock = silo.storage().lock(wait)?;
    let mut out = Outcome::default();
    copy_packs(remote, silo, listing, &mut out, progress)?;
    copy_loose(remote, silo, listing, &mut out, progress)?;
    copy_derived(remote, silo, listing, &mut out, progress)?;
    // Packs that upstream replaced (a family rewritten by a nightly) go,
    // once every object of theirs is in a pack copied now.
    let listed: std::collections::HashSet<String> =
        listing.packs.iter().map(|p| p.name.clone()).collect();
    let unlisted = trees_silo::supersede::unlisted(silo, &listed)?;
    out.packs_removed = trees_silo::supersede::remove(silo, &unlisted)?.len() as u64;
    if out.packs.copied > 0 || out.packs_removed > 0 {
        trees_silo::multi_index::write(silo)?;
    }
    listing::write(silo)?;
    out.requests = remote.stats().requests();
    out.received_bytes = remote.stats().bytes();
    out.notes = remote.notes().iter().map(ToString::to_string).collect();
    Ok(out)
}

fn copy_packs(
    remote: &Remote,
    silo: &Silo,
    listing: &Listing,
    out: &mut Outcome,
    progress: &dyn Progress,
) -> Result<(), Error> {
    let pack_dir = silo.pack_dir();
    let missing: Vec<&listing::Pack> = listing
        .packs
        .iter()
        .filter(|p| {
            let present = pack_dir.join(format!("{}.idx", p.name)).is_file()
                && pack_dir.join(format!("{}.pack", p.name)).is_file();
            if present {
                out.packs.present += 1;
            }
            !present
        })
        .collect();
    let total: u64 = missing.iter().map(|p| p.pack + p.idx).sum();
    progress.stage("mirroring packs", total, Unit::Bytes);
    for p in missing {
        let base = remote.url();
        let pack_url = format!("{base}pack/{}.pack", p.name);
        let idx_url = format!("{base}pack/{}.idx", p.name);
        let idx_bytes =
            remote
                .client
                .get(&idx_url, p.idx.max(1))?
                .ok_or_else(|| RemoteError::Gone {
                    url: idx_url.clone(),
                })?;
        cache::parse_idx(Path::new(&idx_url), idx_bytes.clone(), p).map_err(|e| {
            RemoteError::Idx {
                url: idx_url.clone(),
                what: trees_pack::error_chain(&e),
            }
        })?;
        progress.advance(idx_bytes.len() as u64);
        let part = silo.tmp_dir().join(format!("mirror-{}.pack.part", p.name));
        adopt_orphan(&pack_dir.join(format!("{}.pack", p.name)), &part)?;
        let resumed = fs::metadata(&part)
            .map(|m| m.len())
            .unwrap_or(0)
            .min(p.pack);
        out.resumed_bytes += resumed;
        progress.advance(resumed);
        let seen = std::sync::atomic::AtomicU64::new(resumed);
        let on_bytes = |at: u64| {
            let before = seen.swap(at, std::sync::atomic::Ordering::Relaxed);
            if at > before {
                progress.advance(at - before);
            }
        };
        cache::fetch_checked_pack(&remote.client, &pack_url, p, &part, &on_bytes)?;
        // Every object read back and hashed before the pack is let in.
        let mut idx_tmp = silo.storage().stage(".idx")?;
        let idx_path = idx_tmp.path().to_owned();
        idx_tmp.write_all(&idx_bytes).map_err(io_at(&idx_path))?;
        let bundle = Bundle::open_pair(idx_tmp.path(), &part).map_err(|e| Error::BadPack {
            url: pack_url.clone(),
            what: e.to_string(),
        })?;
        let mut problems: Vec<String> = bundle
            .verify(&mut |_| {})
            .iter()
            .map(ToString::to_string)
            .collect();
        // A record table is checked as the pack is: every split object is
        // rebuilt from the new pack and checked against its id.
        let table = match p.split {
            None => None,
            Some(n) => {
                let url = format!("{base}pack/{}.split", p.name);
                let t = super::pack::fetch_table(&remote.client, &url, n, p, &bundle.index)?;
                let shared = std::sync::Arc::new(bundle);
                for r in t.records() {
                    let found = trees_silo::split::Found {
                        bundle: std::sync::Arc::clone(&shared),
                        record: r.clone(),
                    };
                    if let Err(e) = found.read(silo, &mut std::io::sink()) {
                        problems.push(trees_pack::error_chain(&e));
                    }
                }
                let mut tmp = silo.storage().stage(".split")?;
                let path = tmp.path().to_owned();
                tmp.write_all(&trees_split::table::Table::encode(
                    t.pack(),
                    t.records(),
                    &shared.index,
                ))
                .map_err(io_at(&path))?;
                Some(tmp)
            }
        };
        let problems: Vec<&String> = problems.iter().collect();
        if !problems.is_empty() {
            let _ = fs::remove_file(&part);
            return Err(Error::BadPack {
                url: pack_url,
                what: problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
        // The one install sequence (readers look for packs by their idx).
        let pack = Staged::adopt(&part).map_err(io_at(&part))?;
        silo.storage()
            .publish(install_order(&p.name, pack, table, idx_tmp))?;
        out.packs.copied += 1;
        out.packs.bytes += p.pack + p.idx;
    }
    Ok(())
}

/// A crash between the two renames of an install leaves `pack` in `pack/`
/// without its idx. It is taken back as the partial download `part` (when
/// there is none), so that this run resumes from it instead of fetching it
/// again; like any partial download, it is checked before it is let in.
fn adopt_orphan(pack: &Path, part: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    if !pack.is_file() || part.exists() {
        return Ok(());
    }
    fs::rename(pack, part).map_err(io_at(pack))?;
    // Installed packs are read-only; a partial download is appended to.
    fs::set_permissions(part, fs::Permissions::from_mode(0o644)).map_err(io_at(part))?;
    tracing::info!("resuming from {}, left without its idx", pack.display());
    Ok(())
}

/// Downloads `url` into a new temporary file of the silo's `tmp/` (written
/// through the handle that created it: the file itself is read-only).
fn fetch_temp(remote: &Remote, silo: &Silo, url: &str, limit: u64) -> Result<Staged, Error> {
    let mut tmp = silo.storage().stage(".part")?;
    remote
        .client
        .download(url, tmp.file_mut(), 0, limit, &|_| {})?
        .ok_or_else(|| RemoteError::Gone {
            url: url.to_owned(),
        })?;
    Ok(tmp)
}

fn copy_loose(
    remote: &Remote,
    silo: &Silo,
    listing: &Listing,
    out: &mut Outcome,
    progress: &dyn Progress,
) -> Result<(), Error> {
    let mut missing: Vec<&listing::Loose> = Vec::new();
    for l in &listing.loose {
        if silo.contains(&l.id.0)? {
            out.loose.present += 1;
        } else {
            missing.push(l);
        }
    }
    progress.stage(
        "mirroring loose objects",
        missing.iter().map(|l| l.size).sum(),
        Unit::Bytes,
    );
    for l in missing {
        let id = l.id.0;
        let url = remote.loose_url(&id);
        let tmp = fetch_temp(remote, silo, &url, l.size)?;
        loose::read(tmp.path(), &id, &mut io::sink()).map_err(|source| RemoteError::Loose {
            url: url.clone(),
            source,
        })?;
        let dest = silo.loose_path(&id);
        silo.storage().create(tmp, silo.relative(&dest))?;
        out.loose.copied += 1;
        out.loose.bytes += l.size;
        progress.advance(l.size);
    }
    Ok(())
}

fn copy_derived(
    remote: &Remote,
    silo: &Silo,
    listing: &Listing,
    out: &mut Outcome,
    progress: &dyn Progress,
) -> Result<(), Error> {
    let dir = derived::deltas_dir(silo);
    // Files of one pair together, so that the pair's .json goes in last.
    let mut pairs: BTreeMap<(ObjectId, ObjectId), Vec<&listing::Derived>> = BTreeMap::new();
    for d in &listing.derived {
        if dir.join(&d.name).is_file() {
            out.derived.present += 1;
            continue;
        }
        if let Some((have, want, _)) = derived::parse_name(Path::new(&d.name)) {
            pairs.entry((have, want)).or_default().push(d);
        }
    }
    progress.stage(
        "mirroring derived files",
        pairs.values().flatten().map(|d| d.size).sum(),
        Unit::Bytes,
    );
    if pairs.is_empty() {
        return Ok(());
    }
    for ((have, want), files) in pairs {
        copy_pair(remote, silo, (&have, &want), &files, out, progress)?;
    }
    Ok(())
}

/// Copies the listed files of one pair: each is fetched under its own name
/// into a fresh directory of `tmp/`, applied to `have` (bounded by the
/// `want_size` of the pair's manifest, when the manifest is among them),
/// and renamed into place if it gives `want`; the `.json` goes in last.
fn copy_pair(
    remote: &Remote,
    silo: &Silo,
    (have, want): (&ObjectId, &ObjectId),
    files: &[&listing::Derived],
    out: &mut Outcome,
    progress: &dyn Progress,
) -> Result<(), Error> {
    let dir = derived::deltas_dir(silo);
    let tmp = tempfile::Builder::new()
        .prefix("mirror-")
        .tempdir_in(silo.tmp_dir())
        .map_err(io_at(&silo.tmp_dir()))?;
    let mut fetched = Vec::new();
    for d in files {
        let url = format!("{}derived/deltas/{}", remote.url(), d.name);
        let path = tmp.path().join(&d.name);
        let mut f = fs::File::create(&path).map_err(io_at(&path))?;
        remote
            .client
            .download(&url, &mut f, 0, d.size, &|_| {})?
            .ok_or_else(|| RemoteError::Gone { url: url.clone() })?;
        f.sync_all().map_err(io_at(&path))?;
        progress.advance(d.size);
        fetched.push((url, path, d.size, d.name.ends_with(".json")));
    }
    // The bound on what a file may rebuild: the manifest's want_size.
    let mut limit = trees_pack::delta::apply::DEFAULT_RESULT_LIMIT;
    for (url, path, _, is_json) in &fetched {
        if *is_json {
            let json = fs::read(path).map_err(io_at(path))?;
            match derived::Manifest::parse(path, have, want, &json) {
                Ok(m) => limit = m.want_size,
                Err(e) => {
                    out.refused.push(format!("{url}: {e}"));
                    return Ok(());
                }
            }
        }
    }
    let mut have_bytes: Option<Vec<u8>> = None;
    let mut refused = false;
    fetched.sort_by_key(|f| f.3);
    for (url, path, size, is_json) in fetched {
        if is_json && refused {
            // The manifest would list a file that is not there.
            out.refused.push(format!(
                "{url}: not installed, a file of its pair was refused"
            ));
            continue;
        }
        if !is_json {
            if have_bytes.is_none() {
                let mut buf = Vec::new();
                if let Err(e) = silo.read(have, &mut buf) {
                    out.refused.push(format!(
                        "{url}: its have cannot be read here: {}",
                        trees_pack::error_chain(&e)
                    ));
                    refused = true;
                    continue;
                }
                have_bytes = Some(buf);
            }
            let h = have_bytes.as_deref().unwrap_or_default();
            if let Err(e) = derived::apply(h, &path, limit) {
                out.refused
                    .push(format!("{url}: {}", trees_pack::error_chain(&e)));
                refused = true;
                continue;
            }
        }
        let dest = dir.join(path.file_name().unwrap_or_default());
        let staged = Staged::adopt(&path).map_err(io_at(&path))?;
        silo.storage().replace(staged, silo.relative(&dest))?;
        out.derived.copied += 1;
        out.derived.bytes += size;
    }
    Ok(())
}
