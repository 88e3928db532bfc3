//! One pack of a remote silo, read entry by entry with ranged GETs.
//!
//! The `.idx` gives every entry's offset, so the entries sorted by offset
//! give every entry's extent: it ends where the next one starts (the last
//! ends at the trailer). Reading an object fetches exactly its entry, then
//! the entry of its delta base, and so on down the chain, each checked
//! against the CRC32 the idx records before it is inflated; the result is
//! checked against its id. Bytes therefore cost what the object and its
//! bases take in the pack, not the pack.
//!
//! A server that ignores `Range` gets one fallback: the whole pack is
//! downloaded into the cache (resumable, checked against its trailer and
//! the checksum its name carries), and read locally from then on.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use trees_pack::data::{entry, inflate};
use trees_pack::{Bundle, Cache, Kind, ObjectId, data, delta, id, index};

use super::cache;
use super::http::{Client, Ranged};
use super::{Error, Note};
use trees_silo::listing;

/// A pack of a remote silo.
pub(crate) struct RemotePack {
    /// The `.pack`'s URL.
    pub url: String,
    pub idx: index::File,
    idx_path: PathBuf,
    /// (offset, position in the idx), sorted by offset.
    by_offset: Vec<(u64, u32)>,
    /// Where the trailer starts: the last entry ends here.
    entries_end: u64,
    /// Set once the server was seen to ignore `Range`: the local copy.
    whole: OnceLock<Bundle>,
    bases: Mutex<Cache>,
    limit: u64,
    /// Its record table, if the listing names one (fetched, checked).
    pub table: Option<trees_split::table::Table>,
}

impl RemotePack {
    /// Opens the pack described by `p` in the listing, its idx from the
    /// cache or the server.
    pub fn open(
        client: &Client,
        base: &str,
        p: &listing::Pack,
        cache_dir: &std::path::Path,
        limit: u64,
    ) -> Result<RemotePack, Error> {
        let url = format!("{base}pack/{}.pack", p.name);
        let idx_url = format!("{base}pack/{}.idx", p.name);
        let (idx, idx_path) = cache::idx(client, &idx_url, p, cache_dir)?;
        let bad = |what: String| Error::Idx {
            url: idx_url.clone(),
            what,
        };
        let mut by_offset = Vec::with_capacity(idx.count() as usize);
        for i in 0..idx.count() {
            by_offset.push((idx.offset(i).map_err(|e| bad(e.to_string()))?, i));
        }
        by_offset.sort_unstable();
        let entries_end = p.pack.saturating_sub(data::TRAILER_LEN as u64);
        if let Some(&(last, _)) = by_offset.last()
            && last >= entries_end
        {
            return Err(bad(format!(
                "offset {last} is past the end of the pack's entries ({entries_end}, from the listing)"
            )));
        }
        if by_offset.windows(2).any(|w| w[0].0 == w[1].0)
            || by_offset
                .first()
                .is_some_and(|f| f.0 < data::HEADER_LEN as u64)
        {
            return Err(bad(
                "two entries share an offset, or one is inside the header".into(),
            ));
        }
        let table = match p.split {
            None => None,
            Some(n) => Some(cache::table(
                client,
                &format!("{base}pack/{}.split", p.name),
                n,
                p,
                &idx,
                cache_dir,
            )?),
        };
        let whole = OnceLock::new();
        if let Some(local) = cache::cached_pack(cache_dir, p)
            && let Ok(b) = Bundle::open_pair(&idx_path, &local)
        {
            let _ = whole.set(b);
        }
        Ok(RemotePack {
            url,
            idx,
            idx_path,
            by_offset,
            entries_end,
            whole,
            bases: Mutex::new(Cache::new(trees_pack::cache::DEFAULT_BUDGET)),
            limit,
            table,
        })
    }

    /// The raw bytes of the entry at `offset`, checked against its CRC32.
    fn entry(
        &self,
        client: &Client,
        offset: u64,
        p: &listing::Pack,
        cache_dir: &std::path::Path,
        notes: &Mutex<Vec<Note>>,
    ) -> Result<Option<Vec<u8>>, Error> {
        let at = self
            .by_offset
            .binary_search_by_key(&offset, |e| e.0)
            .map_err(|_| Error::Entry {
                url: self.url.clone(),
                offset,
                what: "a delta names a base at this offset, where no entry starts".into(),
            })?;
        let (_, i) = self.by_offset[at];
        let end = self.by_offset.get(at + 1).map_or(self.entries_end, |e| e.0);
        // deflate adds at most 5 bytes per 16 KiB block, plus headers: an
        // entry longer than this cannot hold an object within the limit.
        let most = self
            .limit
            .saturating_add(self.limit / 1024)
            .saturating_add(1 << 20);
        if end - offset > most {
            return Err(Error::Entry {
                url: self.url.clone(),
                offset,
                what: format!(
                    "the entry spans {} bytes, more than an object within the limit of {} bytes can take",
                    end - offset,
                    self.limit
                ),
            });
        }
        let raw = match client.range(&self.url, offset, end)? {
            Ranged::Bytes(b) => b,
            Ranged::Ignored => {
                let local = cache::download_pack(client, &self.url, p, cache_dir)?;
                let b = Bundle::open_pair(&self.idx_path, &local).map_err(|e| Error::Entry {
                    url: self.url.clone(),
                    offset,
                    what: format!("the downloaded copy cannot be read: {e}"),
                })?;
                let _ = self.whole.set(b);
                notes
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(Note::RangeIgnored {
                        url: self.url.clone(),
                        bytes: p.pack,
                    });
                return Ok(None);
            }
        };
        let crc = crc32fast::hash(&raw);
        if crc != self.idx.crc32(i) {
            return Err(Error::Entry {
                url: self.url.clone(),
                offset,
                what: format!(
                    "the {} bytes received have CRC32 {crc:08x}, the idx records {:08x} (the server's copy differs)",
                    raw.len(),
                    self.idx.crc32(i)
                ),
            });
        }
        Ok(Some(raw))
    }

    /// Reads object `id`, which the idx holds at position `i`.
    pub fn read(
        &self,
        client: &Client,
        i: u32,
        p: &listing::Pack,
        cache_dir: &std::path::Path,
        notes: &Mutex<Vec<Note>>,
    ) -> Result<(Kind, Arc<Vec<u8>>), Error> {
        let id = self.idx.id(i);
        let offset = self.idx.offset(i).map_err(|e| Error::Idx {
            url: self.url.clone(),
            what: e.to_string(),
        })?;
        if let Some(b) = self.whole.get() {
            return self.read_local(b, &id, offset);
        }
        let bad = |offset: u64, what: String| Error::Entry {
            url: self.url.clone(),
            offset,
            what,
        };
        // Walk down the chain, fetching each entry, until a whole object
        // (or one already in the cache of bases).
        let mut chain: Vec<(u64, Vec<u8>, data::Header)> = Vec::new();
        let mut cur = offset;
        // A hostile pack can make a chain loop (REF_DELTA to itself): each
        // step would cost a request, so a loop is refused at once.
        let mut seen = std::collections::HashSet::new();
        let (kind, mut content) = loop {
            if !seen.insert(cur) {
                return Err(bad(cur, "the delta chain loops back to this entry".into()));
            }
            if let Some(hit) = self
                .bases
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(cur)
            {
                break hit;
            }
            let Some(raw) = self.entry(client, cur, p, cache_dir, notes)? else {
                // The server ignores Range: `entry` has set the local copy.
                let Some(b) = self.whole.get() else {
                    return Err(bad(cur, "the downloaded copy of the pack is gone".into()));
                };
                return self.read_local(b, &id, offset);
            };
            let h = entry::decode(&raw, cur).map_err(|e| bad(cur, format!("bad header: {e}")))?;
            match h.kind {
                data::Type::Whole(kind) => {
                    if h.size > self.limit {
                        return Err(Error::TooLarge {
                            url: self.url.clone(),
                            id,
                            size: h.size,
                            limit: self.limit,
                        });
                    }
                    let (d, _) = inflate::inflate(&raw[h.len..], h.size)
                        .map_err(|e| bad(cur, e.to_string()))?;
                    let d = Arc::new(d);
                    if !chain.is_empty() {
                        // A base: the next object of its family needs it too.
                        self.bases.lock().unwrap_or_else(|e| e.into_inner()).put(
                            cur,
                            kind,
                            d.clone(),
                        );
                    }
                    break (kind, d);
                }
                data::Type::OfsDelta { distance } => {
                    let next = cur - distance; // decode checked distance <= cur
                    chain.push((cur, raw, h));
                    cur = next;
                }
                data::Type::RefDelta { base } => {
                    let j = self.idx.lookup(&base).ok_or_else(|| {
                        bad(cur, format!("its delta base {base} is not in this pack"))
                    })?;
                    chain.push((cur, raw, h));
                    cur = self.idx.offset(j).map_err(|e| bad(cur, e.to_string()))?;
                }
            }
            if chain.len() > trees_pack::bundle::MAX_CHAIN {
                return Err(bad(offset, "the delta chain is too deep".into()));
            }
        };
        for (off, raw, h) in chain.into_iter().rev() {
            let (d, _) =
                inflate::inflate(&raw[h.len..], h.size).map_err(|e| bad(off, e.to_string()))?;
            let mut out = Vec::new();
            delta::apply::apply_with_limit(&content, &d, &mut out, self.limit)
                .map_err(|e| bad(off, format!("bad delta: {e}")))?;
            content = Arc::new(out);
            self.bases
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .put(off, kind, content.clone());
        }
        check(&self.url, &id, kind, &content)?;
        Ok((kind, content))
    }

    fn read_local(
        &self,
        b: &Bundle,
        id: &ObjectId,
        offset: u64,
    ) -> Result<(Kind, Arc<Vec<u8>>), Error> {
        let checked = b
            .read_at(offset)
            .map_err(|e| Error::Entry {
                url: self.url.clone(),
                offset,
                what: format!("in the cached copy {}: {e}", b.pack.path().display()),
            })
            .and_then(|obj| check(&self.url, id, obj.kind, &obj.data).map(|()| obj));
        match checked {
            Ok(obj) => Ok((obj.kind, obj.data)),
            Err(e) => {
                // A damaged cached copy is dropped, so the next run fetches it again.
                tracing::warn!("removing the cached copy {}", b.pack.path().display());
                let _ = std::fs::remove_file(b.pack.path());
                Err(e)
            }
        }
    }
}

/// The content must hash to its id.
/// Fetches the record table at `url` (at most `len` bytes, as listed) and
/// checks it: its format, and that it belongs to pack `p`, whose idx is
/// `ids`.
pub(crate) fn fetch_table(
    client: &Client,
    url: &str,
    len: u64,
    p: &listing::Pack,
    ids: &trees_pack::index::File,
) -> Result<trees_split::table::Table, Error> {
    let bad = |what: String| Error::Table {
        url: url.to_owned(),
        what,
    };
    let bytes = client.get(url, len.max(1))?.ok_or_else(|| Error::Gone {
        url: url.to_owned(),
    })?;
    cache::table_of(&bytes, p, ids).map_err(bad)
}

fn check(url: &str, id: &ObjectId, kind: Kind, content: &[u8]) -> Result<(), Error> {
    let actual = id::hash_object(kind, content).map_err(|e| Error::Mismatch {
        url: url.to_owned(),
        id: *id,
        actual: e.to_string(),
    })?;
    if actual != *id {
        return Err(Error::Mismatch {
            url: url.to_owned(),
            id: *id,
            actual: actual.to_string(),
        });
    }
    Ok(())
}
