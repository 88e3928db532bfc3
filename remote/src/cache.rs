//! The local cache of a remote silo's `.idx` files (and, for servers that
//! ignore `Range`, whole packs).
//!
//! A pack's name carries the SHA-1 of its content, and its idx is fully
//! determined by the pack, so both are cached by name alone and shared by
//! every server that serves the same pack: `<cache>/idx/pack-<sha>.idx`
//! and `<cache>/packs/pack-<sha>.pack`. Nothing in the cache is trusted: an
//! idx is checked against its own trailer and against the pack checksum
//! its name carries each time it is opened, and fetched again if either
//! fails; a pack is checked against its trailer once, when downloaded.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use trees_pack::{ObjectId, data, index};

use super::Error;
use super::http::Client;
use trees_silo::listing;

/// Most bytes an idx may have when the listing does not say: 28 bytes an
/// object plus the fan-out, for a billion objects.
const MAX_IDX: u64 = 32 << 30;

fn cache_io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Cache {
        path: path.to_owned(),
        source,
    }
}

/// Why a fetched idx or pack is refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refused {
    /// The idx is malformed or its trailer is wrong.
    #[error(transparent)]
    Idx(#[from] index::file::Error),
    /// The pack is malformed or its trailer is wrong.
    #[error(transparent)]
    Pack(#[from] data::file::Error),
    /// The idx belongs to another pack.
    #[error("it indexes pack {indexes}, not {name}")]
    OtherPack { indexes: ObjectId, name: String },
    /// The pack is not as long as listed.
    #[error("{len} bytes, the listing says {listed}")]
    Length { len: u64, listed: u64 },
    /// The pack's trailer is not its name.
    #[error("its trailer is {trailer}, its name says {name}")]
    Trailer { trailer: ObjectId, name: String },
}

/// Checks idx bytes against their trailer and against the pack's checksum.
pub(crate) fn parse_idx(
    path: &Path,
    bytes: Vec<u8>,
    p: &listing::Pack,
) -> Result<index::File, Refused> {
    let idx = index::File::from_bytes(path, bytes)?;
    idx.verify()?;
    if Some(idx.pack_checksum()) != p.checksum() {
        return Err(Refused::OtherPack {
            indexes: idx.pack_checksum(),
            name: p.name.clone(),
        });
    }
    Ok(idx)
}

/// The idx of pack `p`: from the cache if it is there and sound, else
/// fetched from `url` and cached.
pub(crate) fn idx(
    client: &Client,
    url: &str,
    p: &listing::Pack,
    cache: &Path,
) -> Result<(index::File, PathBuf), Error> {
    let dir = cache.join("idx");
    let path = dir.join(format!("{}.idx", p.name));
    if let Ok(bytes) = fs::read(&path) {
        match parse_idx(&path, bytes, p) {
            Ok(idx) => return Ok((idx, path)),
            Err(why) => tracing::warn!(
                "cached {} is bad ({why}); fetching it again",
                path.display()
            ),
        }
    }
    let limit = if p.idx > 0 { p.idx } else { MAX_IDX };
    let bytes = client.get(url, limit)?.ok_or_else(|| Error::Gone {
        url: url.to_owned(),
    })?;
    fs::create_dir_all(&dir).map_err(cache_io(&dir))?;
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(cache_io(&dir))?;
    tmp.write_all(&bytes).map_err(cache_io(&path))?;
    // Checked once, in memory; named by its cache path for later errors.
    let idx = parse_idx(&path, bytes, p).map_err(|e| Error::Idx {
        url: url.to_owned(),
        what: trees_pack::error_chain(&e),
    })?;
    tmp.persist(&path).map_err(|e| Error::Cache {
        path: path.clone(),
        source: e.error,
    })?;
    Ok((idx, path))
}

/// The record table of pack `p`: from the cache if it is there, as long
/// as the listing says and sound, else fetched from `url` and cached. A
/// table is named by its pack, whose checksum it carries: a cached one
/// never goes stale. `ids` is the pack's idx, which names the parts of a
/// version 3 table.
pub(crate) fn table(
    client: &Client,
    url: &str,
    len: u64,
    p: &listing::Pack,
    ids: &trees_pack::index::File,
    cache: &Path,
) -> Result<trees_split::table::Table, Error> {
    let dir = cache.join("idx");
    let path = dir.join(format!("{}.split", p.name));
    if let Ok(bytes) = fs::read(&path)
        && bytes.len() as u64 == len
    {
        match table_of(&bytes, p, ids) {
            Ok(t) => return Ok(t),
            Err(why) => tracing::warn!(
                "cached {} is bad ({why}); fetching it again",
                path.display()
            ),
        }
    }
    let bytes = client.get(url, len.max(1))?.ok_or_else(|| Error::Gone {
        url: url.to_owned(),
    })?;
    let t = table_of(&bytes, p, ids).map_err(|what| Error::Table {
        url: url.to_owned(),
        what,
    })?;
    fs::create_dir_all(&dir).map_err(cache_io(&dir))?;
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(cache_io(&dir))?;
    tmp.write_all(&bytes).map_err(cache_io(&path))?;
    tmp.persist(&path).map_err(|e| Error::Cache {
        path: path.clone(),
        source: e.error,
    })?;
    Ok(t)
}

/// The cached whole copy of pack `p`, if there is one of the right length.
pub(crate) fn cached_pack(cache: &Path, p: &listing::Pack) -> Option<PathBuf> {
    let path = cache.join("packs").join(format!("{}.pack", p.name));
    (fs::metadata(&path).ok()?.len() == p.pack).then_some(path)
}

/// Downloads the whole pack `p` from `url` into the cache (resuming a
/// `.part` left by an interrupted download), checks its trailer and the
/// checksum its name carries, and returns its path.
pub(crate) fn download_pack(
    client: &Client,
    url: &str,
    p: &listing::Pack,
    cache: &Path,
) -> Result<PathBuf, Error> {
    let dir = cache.join("packs");
    fs::create_dir_all(&dir).map_err(cache_io(&dir))?;
    let dest = dir.join(format!("{}.pack", p.name));
    let part = dir.join(format!("{}.pack.part", p.name));
    // Two readers of the same server share the cache: one downloads, the
    // other waits for it and then finds the pack in place.
    let lock_path = dir.join(format!("{}.pack.lock", p.name));
    let _lock =
        trees_silo::lock::Lock::exclusive(lock_path.clone(), true).map_err(|e| Error::Cache {
            path: lock_path,
            source: std::io::Error::other(e.to_string()),
        })?;
    if let Some(done) = cached_pack(cache, p) {
        return Ok(done);
    }
    fetch_checked_pack(client, url, p, &part, &|_| {})?;
    fs::rename(&part, &dest).map_err(cache_io(&dest))?;
    Ok(dest)
}

/// Downloads pack `p` from `url` into `part`, resuming what `part` already
/// holds, and checks it: its length against the listing, its trailer
/// against its content, and its trailer against its name. A copy that
/// fails the check is removed and fetched once more from the start.
pub(crate) fn fetch_checked_pack(
    client: &Client,
    url: &str,
    p: &listing::Pack,
    part: &Path,
    on_bytes: &dyn Fn(u64),
) -> Result<(), Error> {
    let mut last = String::new();
    for _ in 0..2 {
        let mut f = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(part)
            .map_err(cache_io(part))?;
        let have = f.metadata().map_err(cache_io(part))?.len();
        let have = if have > p.pack { 0 } else { have };
        let len = client
            .download(url, &mut f, have, p.pack, on_bytes)?
            .ok_or_else(|| Error::Gone {
                url: url.to_owned(),
            })?;
        f.sync_all().map_err(cache_io(part))?;
        drop(f);
        match check_pack(part, p, len) {
            Ok(()) => return Ok(()),
            Err(why) => {
                let why = trees_pack::error_chain(&why);
                tracing::warn!("{url}: {why}; fetching it again from the start");
                last = why;
                fs::remove_file(part).map_err(cache_io(part))?;
            }
        }
    }
    Err(Error::BadPack {
        url: url.to_owned(),
        what: last,
    })
}

fn check_pack(path: &Path, p: &listing::Pack, len: u64) -> Result<(), Refused> {
    if len != p.pack {
        return Err(Refused::Length {
            len,
            listed: p.pack,
        });
    }
    let f = data::File::open(path)?;
    f.verify_checksum()?;
    if Some(f.checksum()) != p.checksum() {
        return Err(Refused::Trailer {
            trailer: f.checksum(),
            name: p.name.clone(),
        });
    }
    Ok(())
}

/// Parses the record table `bytes` of pack `p`, whose idx is `ids`,
/// checking that it is `p`'s.
pub(crate) fn table_of(
    bytes: &[u8],
    p: &listing::Pack,
    ids: &trees_pack::index::File,
) -> Result<trees_split::table::Table, String> {
    let t = trees_split::table::Table::parse(bytes, ids).map_err(|e| e.to_string())?;
    if Some(*t.pack()) != p.checksum() {
        return Err(format!("it belongs to pack {}, not {}", t.pack(), p.name));
    }
    Ok(t)
}
