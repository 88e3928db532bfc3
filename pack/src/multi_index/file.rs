//! Reading a multi-pack-index: every length, bound and reference checked
//! once at open, so that lookups cannot fail; the checksum and the order
//! of the ids are left to [`File::verify`].

use std::path::{Path, PathBuf};

use super::{
    ALIGNMENT, CHUNK_ENTRY_LEN, Entry, HASH_VERSION, HEADER_LEN, LARGE_OFFSET_BIT, LOFF, MAGIC,
    OIDF, OIDL, OOFF, PNAM, VERSION, is_pack_name,
};
use crate::ObjectId;
use crate::mmap::Map;

/// Why a multi-pack-index cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Opening or mapping the file failed.
    #[error("could not read multi-pack-index {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The layout is wrong: header, chunk table, a chunk's size or content.
    #[error("multi-pack-index {path} is corrupt: {what}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The trailer is not the SHA-1 of the file.
    #[error(
        "multi-pack-index {path} is corrupt: its checksum says {expected}, its content hashes to {actual}"
    )]
    Checksum {
        /// The file.
        path: PathBuf,
        /// The trailer.
        expected: ObjectId,
        /// The computed hash.
        actual: ObjectId,
    },
}

/// An open multi-pack-index.
pub struct File {
    map: Map,
    path: PathBuf,
    names: Vec<String>,
    count: u32,
    /// Where the chunks start.
    fanout: usize,
    ids: usize,
    offsets: usize,
    /// Where LOFF starts and how many offsets it holds, if it exists.
    large: Option<(usize, usize)>,
}

/// Where the chunks are, and what the header says.
struct Layout {
    packs: u32,
    chunks: Vec<([u8; 4], usize, usize)>,
}

impl File {
    /// Opens `path` and checks its layout (not yet its checksum: see [`File::verify`]).
    pub fn open(path: &Path) -> Result<File, Error> {
        let map = Map::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_map(path, map)
    }

    /// A multi-pack-index already in memory; `path` names it in errors.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<File, Error> {
        Self::from_map(path, Map::Owned(bytes))
    }

    fn from_map(path: &Path, map: Map) -> Result<File, Error> {
        let corrupt = |what: String| Error::Corrupt {
            path: path.to_owned(),
            what,
        };
        let d = map.bytes();
        let layout = read_table(d).map_err(corrupt)?;
        let chunk = |id: [u8; 4]| {
            layout
                .chunks
                .iter()
                .find(|c| c.0 == id)
                .map(|&(_, start, end)| (start, end))
        };
        let required = |id: [u8; 4]| {
            chunk(id).ok_or_else(|| {
                corrupt(format!(
                    "the required chunk {} is missing",
                    String::from_utf8_lossy(&id)
                ))
            })
        };
        let (names_at, names_end) = required(PNAM)?;
        let (fanout, fanout_end) = required(OIDF)?;
        let (ids, ids_end) = required(OIDL)?;
        let (offsets, offsets_end) = required(OOFF)?;
        let names = read_names(&d[names_at..names_end], layout.packs).map_err(corrupt)?;
        let count = read_fanout(&d[fanout..fanout_end]).map_err(corrupt)?;
        let want = |width: u64| u64::from(count) * width;
        if (ids_end - ids) as u64 != want(20) {
            return Err(corrupt(format!(
                "OIDL has {} bytes, not 20 for each of {count} objects",
                ids_end - ids
            )));
        }
        if (offsets_end - offsets) as u64 != want(8) {
            return Err(corrupt(format!(
                "OOFF has {} bytes, not 8 for each of {count} objects",
                offsets_end - offsets
            )));
        }
        let large = match chunk(LOFF) {
            Some((start, end)) if !(end - start).is_multiple_of(8) => {
                return Err(corrupt(format!(
                    "LOFF has {} bytes, not a multiple of 8",
                    end - start
                )));
            }
            Some((start, end)) => Some((start, (end - start) / 8)),
            None => None,
        };
        check_offsets(&d[offsets..offsets_end], layout.packs, large.map(|l| l.1))
            .map_err(corrupt)?;
        Ok(File {
            path: path.to_owned(),
            names,
            count,
            fanout,
            ids,
            offsets,
            large,
            map,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of objects.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The packs' idx names (`pack-<hex>.idx`), sorted; an entry's
    /// [`Entry::pack`] indexes this.
    pub fn pack_names(&self) -> &[String] {
        &self.names
    }

    /// The file's checksum, as written in its trailer.
    pub fn checksum(&self) -> ObjectId {
        let d = self.data();
        ObjectId::try_from(&d[d.len() - 20..]).expect("the length was checked at open")
    }

    fn data(&self) -> &[u8] {
        self.map.bytes()
    }

    fn fanout(&self, byte: usize) -> u32 {
        be32(self.data(), self.fanout + byte * 4)
    }

    fn id_bytes(&self, i: u32) -> &[u8] {
        let at = self.ids + i as usize * 20;
        &self.data()[at..at + 20]
    }

    /// The `i`th entry (in id order), if `i` is below [`File::count`].
    pub fn entry(&self, i: u32) -> Option<Entry> {
        if i >= self.count {
            return None;
        }
        let d = self.data();
        let at = self.offsets + i as usize * 8;
        let (pack, word) = (be32(d, at), be32(d, at + 4));
        let offset = match self.large {
            Some((start, _)) if word & LARGE_OFFSET_BIT != 0 => {
                // Checked at open: the slot is below LOFF's count.
                let at = start + (word & !LARGE_OFFSET_BIT) as usize * 8;
                u64::from_be_bytes(d[at..at + 8].try_into().expect("8 bytes"))
            }
            _ => u64::from(word),
        };
        Some(Entry {
            id: ObjectId::try_from(self.id_bytes(i)).expect("ids have 20 bytes"),
            pack,
            offset,
        })
    }

    /// The pack and offset of `id`, if listed: the fan-out narrows the
    /// range, then a binary search.
    pub fn lookup(&self, id: &gix_hash::oid) -> Option<Entry> {
        let want = id.as_bytes();
        let first = usize::from(*want.first()?);
        let mut lo = if first == 0 {
            0
        } else {
            self.fanout(first - 1)
        };
        let mut hi = self.fanout(first);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.id_bytes(mid).cmp(want) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return self.entry(mid),
            }
        }
        None
    }

    /// Checks the trailer, that the ids are strictly increasing and that
    /// the fan-out puts each where it is.
    pub fn verify(&self) -> Result<(), Error> {
        let d = self.data();
        let corrupt = |what: String| Error::Corrupt {
            path: self.path.clone(),
            what,
        };
        let actual = crate::id::sha1(&[&d[..d.len() - 20]]).map_err(|e| corrupt(e.to_string()))?;
        if actual != self.checksum() {
            return Err(Error::Checksum {
                path: self.path.clone(),
                expected: self.checksum(),
                actual,
            });
        }
        for i in 0..self.count {
            let id = self.id_bytes(i);
            if i > 0 && self.id_bytes(i - 1) >= id {
                return Err(corrupt(format!(
                    "ids are not sorted at position {i} ({})",
                    gix_hash::oid::from_bytes_unchecked(id)
                )));
            }
            let first = usize::from(id[0]);
            let lo = if first == 0 {
                0
            } else {
                self.fanout(first - 1)
            };
            if i < lo || i >= self.fanout(first) {
                return Err(corrupt(format!(
                    "the fan-out does not cover object {} at position {i}",
                    gix_hash::oid::from_bytes_unchecked(id)
                )));
            }
        }
        Ok(())
    }
}

/// Reads the header and the chunk table: each chunk starts after the table,
/// at a multiple of 4, where the previous one ends or later, and the last
/// ends where the trailer starts. Ids are unique and not 0.
fn read_table(d: &[u8]) -> Result<Layout, String> {
    if d.len() < HEADER_LEN + CHUNK_ENTRY_LEN + 20 {
        return Err(format!(
            "{} bytes is too short for a multi-pack-index",
            d.len()
        ));
    }
    if d[..4] != MAGIC {
        return Err("it does not start with \"MIDX\"".into());
    }
    if d[4] != VERSION {
        return Err(format!("version {} is not 1", d[4]));
    }
    if d[5] != HASH_VERSION {
        return Err(format!("hash version {} is not 1 (SHA-1)", d[5]));
    }
    if d[7] != 0 {
        return Err(format!(
            "it has {} base multi-pack-indexes, but only 0 is supported",
            d[7]
        ));
    }
    let n = usize::from(d[6]);
    let packs = be32(d, 8);
    let table_end = HEADER_LEN + (n + 1) * CHUNK_ENTRY_LEN;
    let trailer = d.len() - 20;
    if table_end > trailer {
        return Err(format!("its table of {n} chunks runs past the end"));
    }
    let entry = |k: usize| {
        let at = HEADER_LEN + k * CHUNK_ENTRY_LEN;
        let id: [u8; 4] = d[at..at + 4].try_into().expect("4 bytes");
        let offset = u64::from_be_bytes(d[at + 4..at + 12].try_into().expect("8 bytes"));
        (id, offset)
    };
    let mut chunks: Vec<([u8; 4], usize, usize)> = Vec::with_capacity(n);
    let mut prev = table_end as u64;
    for k in 0..n {
        let (id, start) = entry(k);
        let name = String::from_utf8_lossy(&id);
        if id == [0; 4] {
            return Err(format!("chunk {k} of {n} has the terminating id 0"));
        }
        if chunks.iter().any(|c| c.0 == id) {
            return Err(format!("chunk {name} appears twice"));
        }
        if start < prev || !start.is_multiple_of(ALIGNMENT as u64) {
            return Err(format!(
                "chunk {name} starts at {start}, not at a multiple of 4 from {prev} on"
            ));
        }
        let end = entry(k + 1).1;
        if end < start || end > trailer as u64 {
            return Err(format!(
                "chunk {name} runs from {start} to {end}, outside the file's {trailer} bytes"
            ));
        }
        chunks.push((id, start as usize, end as usize));
        prev = end;
    }
    let (id, end) = entry(n);
    if id != [0; 4] || end != trailer as u64 {
        return Err(format!(
            "the chunk table does not end with id 0 at offset {trailer} (id {id:02x?}, offset {end})"
        ));
    }
    Ok(Layout { packs, chunks })
}

/// The `packs` names of PNAM: each `pack-<hex>.idx`, NUL-terminated,
/// strictly increasing, then 0-3 NULs. Allocates no more than the chunk.
fn read_names(chunk: &[u8], packs: u32) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = Vec::new();
    let mut rest = chunk;
    for i in 0..packs {
        let Some(nul) = rest.iter().position(|&b| b == 0) else {
            return Err(format!(
                "PNAM ends after {i} names, but the header says {packs}"
            ));
        };
        let name = std::str::from_utf8(&rest[..nul])
            .ok()
            .filter(|s| is_pack_name(s))
            .ok_or_else(|| {
                format!(
                    "pack name {i} ({:?}) is not pack-<40 hex digits>.idx",
                    String::from_utf8_lossy(&rest[..nul])
                )
            })?;
        if let Some(prev) = names.last()
            && prev.as_str() >= name
        {
            return Err(format!("pack names are not sorted: {prev} before {name}"));
        }
        names.push(name.to_owned());
        rest = &rest[nul + 1..];
    }
    if rest.len() >= ALIGNMENT || rest.iter().any(|&b| b != 0) || !chunk.len().is_multiple_of(4) {
        return Err(format!(
            "PNAM has {} bytes after its {packs} names, not 0-3 NULs of padding",
            rest.len()
        ));
    }
    Ok(names)
}

/// The object count, if the fan-out has 256 entries that never decrease.
fn read_fanout(chunk: &[u8]) -> Result<u32, String> {
    if chunk.len() != 256 * 4 {
        return Err(format!("OIDF has {} bytes, not 1024", chunk.len()));
    }
    let mut prev = 0u32;
    for i in 0..256 {
        let n = be32(chunk, i * 4);
        if n < prev {
            return Err(format!(
                "fan-out entry {i} ({n}) is below entry {} ({prev})",
                i - 1
            ));
        }
        prev = n;
    }
    Ok(prev)
}

/// Each OOFF row names a pack below `packs`, and each reference into LOFF
/// (if there is one, of `large` offsets) is in range.
fn check_offsets(chunk: &[u8], packs: u32, large: Option<usize>) -> Result<(), String> {
    for (i, row) in chunk.chunks_exact(8).enumerate() {
        let pack = be32(row, 0);
        if pack >= packs {
            return Err(format!(
                "object {i} is in pack {pack}, but there are {packs} packs"
            ));
        }
        let word = be32(row, 4);
        if let Some(large) = large
            && word & LARGE_OFFSET_BIT != 0
            && (word & !LARGE_OFFSET_BIT) as usize >= large
        {
            return Err(format!(
                "object {i} points at large offset {}, but there are {large}",
                word & !LARGE_OFFSET_BIT
            ));
        }
    }
    Ok(())
}

fn be32(d: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(d[at..at + 4].try_into().expect("4 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index;
    use crate::multi_index::{Pack, write};

    fn id(first: u8, n: u8) -> ObjectId {
        let mut b = [n; 20];
        b[0] = first;
        ObjectId::from_bytes_or_panic(&b)
    }

    /// An idx of made-up entries at `offsets` (there is no pack behind it).
    fn idx(offsets: &[(ObjectId, u64)]) -> index::File {
        let mut entries: Vec<index::Entry> = offsets
            .iter()
            .map(|&(id, offset)| index::Entry {
                id,
                offset,
                crc32: 0,
            })
            .collect();
        let mut bytes = Vec::new();
        index::write(&mut entries, &id(0, 0), &mut bytes).expect("made-up entries are valid");
        index::File::from_bytes(Path::new("made-up.idx"), bytes).expect("we wrote it")
    }

    fn roundtrip(offsets: &[(ObjectId, u64)]) -> (Vec<u8>, File) {
        let index = idx(offsets);
        let name = format!("pack-{}.idx", "ab".repeat(20));
        let mut out = Vec::new();
        let checksum = write(
            &[Pack {
                name: &name,
                index: &index,
            }],
            &mut out,
        )
        .expect("written");
        let f = File::from_bytes(Path::new("multi-pack-index"), out.clone()).expect("reads back");
        f.verify().expect("verifies");
        assert_eq!(f.checksum(), checksum);
        assert_eq!(f.pack_names(), [name]);
        for &(id, offset) in offsets {
            let e = f.lookup(&id).expect("listed");
            assert_eq!((e.id, e.pack, e.offset), (id, 0, offset));
        }
        (out, f)
    }

    /// Large offsets need a pack of more than 2 GiB, so git cannot be the
    /// oracle (`git multi-pack-index verify` reads the packs): this checks
    /// git's rule by the bytes. One offset past 2^32 brings LOFF, and then
    /// every offset of 2^31 and more goes there, in id order.
    #[test]
    fn offsets_past_4_gib_go_to_loff_with_every_offset_past_2_gib() {
        let offsets = [
            (id(1, 1), 12),
            (id(2, 2), 0x8000_0000),
            (id(3, 3), 0x1_2345_6789),
            (id(4, 4), 0x7fff_ffff),
        ];
        let (bytes, f) = roundtrip(&offsets);
        assert_eq!(bytes[6], 5, "five chunks");
        assert_eq!(
            &bytes[HEADER_LEN + 4 * 12..HEADER_LEN + 4 * 12 + 4],
            b"LOFF"
        );
        let loff = f.large.expect("LOFF");
        assert_eq!(loff.1, 2);
        let words: Vec<u32> = (0..4)
            .map(|i| be32(&bytes, f.offsets + i * 8 + 4))
            .collect();
        assert_eq!(words, [12, 0x8000_0000, 0x8000_0001, 0x7fff_ffff]);
        assert_eq!(
            &bytes[loff.0..loff.0 + 16],
            [0x8000_0000u64.to_be_bytes(), 0x1_2345_6789u64.to_be_bytes()].concat()
        );
    }

    /// Offsets from 2^31 to 2^32 - 1 alone do not bring LOFF: they are
    /// stored as they are, top bit and all, and read back as offsets.
    #[test]
    fn offsets_below_4_gib_stay_in_ooff() {
        let offsets = [(id(5, 5), 0xffff_ffff), (id(6, 6), 0x8000_0000)];
        let (bytes, f) = roundtrip(&offsets);
        assert_eq!(bytes[6], 4, "four chunks");
        assert!(f.large.is_none());
        assert_eq!(be32(&bytes, f.offsets + 4), 0xffff_ffff);
    }

    #[test]
    fn loff_references_out_of_range_are_refused_at_open() {
        let (mut bytes, f) = roundtrip(&[(id(1, 1), 0x1_0000_0000)]);
        let at = f.offsets + 4;
        bytes[at..at + 4].copy_from_slice(&(LARGE_OFFSET_BIT | 1).to_be_bytes());
        let e = File::from_bytes(Path::new("multi-pack-index"), bytes)
            .err()
            .expect("refused");
        assert!(e.to_string().contains("large offset 1"), "{e}");
    }
}
