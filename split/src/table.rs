//! The record table: which objects of a pack are stored split, and how.
//!
//! Beside `pack-<sha>.pack` and its idx, a pack whose objects include
//! split files has `pack-<sha>.split`. The idx lists the contents
//! T1 ... Tn and R (git blobs, so git reads every byte we keep); the table
//! lists X, the object users asked for, which is in no idx. Layout
//! (integers big-endian like an idx; version 1 when every record has one
//! content, as every gzip record does, so tables of gzip files are the
//! bytes they always were; version 2 otherwise):
//!
//! ```text
//! "TSPL"                    magic, 4 bytes
//! version                   4 bytes, 1
//! count                     4 bytes, records that follow
//! pack checksum             20 bytes: the trailer of the pack this table
//!                           belongs to (as the idx records it)
//! count records of 72 bytes, sorted by X's id, no id twice:
//!   x                       20 bytes, the id of the gzip file
//!   content                 20 bytes, the id of T (a blob in the pack)
//!   recipe                  20 bytes, the id of R (a blob in the pack)
//!   size                    8 bytes, X's length
//!   format                  1 byte, R's format (crate::any::FORMATS)
//!   more                    3 bytes: version 1, zero; version 2, how many
//!                           contents X has after T1 (at most 65,535)
//! version 2 only: the further contents, 20 bytes each, record by record
//!                           in record order (the sum of the records' more)
//! checksum                  20 bytes: SHA-1 of everything above
//! ```
//!
//! Version 3 is version 2 with every content and recipe named by its
//! place in the pack's idx (a 4-byte index, big-endian) instead of its
//! 20-byte id: records of 40 bytes (x, content, recipe, size, format,
//! more), further contents of 4. A record and its parts always share a
//! pack, so the idx beside the table names them all. Tables whose records
//! have further contents (zips, xz, zstd, ar) are written as version 3; a
//! zip of 1,000 members costs 4,036 bytes of table where version 2 spent
//! 20,052. Version 2 is still read.
//!
//! A reader finds X by binary search. Every field is checked on open:
//! length, magic, version, order, reserved bytes, places, checksum.

use trees_pack::ObjectId;
use trees_pack::id::sha1;

/// The first bytes of every table.
pub const MAGIC: [u8; 4] = *b"TSPL";
/// The table layout of records with one content each.
pub const VERSION: u32 = 1;
/// The table layout with further contents, named by id (read, no longer
/// written).
pub const VERSION_CONTENTS: u32 = 2;
/// The table layout with further contents, named by their place in the
/// pack's idx.
pub const VERSION_PLACES: u32 = 3;
/// Most contents one record may have.
pub const MAX_CONTENTS: usize = 65_536;
/// The table file's extension, beside `.pack` and `.idx`.
pub const EXTENSION: &str = "split";

const HEADER: usize = 4 + 4 + 4 + 20;
const RECORD: usize = 72;
const RECORD_PLACES: usize = 40;
const TRAILER: usize = 20;

/// One split object: X = rebuild(R, T1 ... Tn).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The split file's id.
    pub x: ObjectId,
    /// Its contents T1 ... Tn, in order; at least one.
    pub contents: Vec<ObjectId>,
    /// Its recipe R.
    pub recipe: ObjectId,
    /// X's length.
    pub size: u64,
    /// R's format.
    pub format: u8,
}

impl Record {
    /// Its first content (T of a gzip file), for messages.
    pub fn first_content(&self) -> ObjectId {
        self.contents.first().copied().unwrap_or(self.x)
    }
}

/// Why bytes are not a table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Wrong magic or too short.
    #[error("not a record table (no \"TSPL\" header)")]
    Magic,
    /// A layout this build does not read.
    #[error("record table version {0} is unknown to this build, which reads versions 1 to 3")]
    Version(u32),
    /// The length does not match the count.
    #[error("record table has {actual} bytes where {count} records need {expected}")]
    Length {
        /// Records announced.
        count: u32,
        /// Bytes they need.
        expected: u64,
        /// Bytes there are.
        actual: u64,
    },
    /// The checksum does not match.
    #[error("record table checksum mismatch: it is damaged")]
    Checksum,
    /// Records out of order, twice, or with reserved bytes set.
    #[error("record {index} is malformed: {what}")]
    Record {
        /// Which record.
        index: usize,
        /// What is wrong.
        what: &'static str,
    },
}

/// The ids of the pack a table belongs to, in its idx's order: a version
/// 3 table names contents and recipes by their place there.
pub trait PackIds {
    /// How many objects the idx lists.
    fn count(&self) -> u32;
    /// The id at place `i` (`i < count`).
    fn id_at(&self, i: u32) -> ObjectId;
    /// The place of `id`, if the idx lists it.
    fn place(&self, id: &ObjectId) -> Option<u32>;
}

impl PackIds for trees_pack::index::File {
    fn count(&self) -> u32 {
        trees_pack::index::File::count(self)
    }
    fn id_at(&self, i: u32) -> ObjectId {
        self.id(i)
    }
    fn place(&self, id: &ObjectId) -> Option<u32> {
        self.lookup(id)
    }
}

/// Sorted ids, as an idx lists them.
impl PackIds for [ObjectId] {
    fn count(&self) -> u32 {
        u32::try_from(self.len()).unwrap_or(u32::MAX)
    }
    fn id_at(&self, i: u32) -> ObjectId {
        self[i as usize]
    }
    fn place(&self, id: &ObjectId) -> Option<u32> {
        self.binary_search(id)
            .ok()
            .and_then(|i| u32::try_from(i).ok())
    }
}

/// A parsed table.
#[derive(Debug, Clone)]
pub struct Table {
    pack: ObjectId,
    records: Vec<Record>,
}

impl Table {
    /// Parses and checks a table beside the pack whose idx lists `ids`
    /// (a version 3 table names its parts by their place there).
    pub fn parse<I: PackIds + ?Sized>(bytes: &[u8], ids: &I) -> Result<Table, Error> {
        if bytes.len() < HEADER + TRAILER || bytes[..4] != MAGIC {
            return Err(Error::Magic);
        }
        let word = |at: usize| {
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let version = word(4);
        let (record, part) = match version {
            VERSION | VERSION_CONTENTS => (RECORD, 20),
            VERSION_PLACES => (RECORD_PLACES, 4),
            v => return Err(Error::Version(v)),
        };
        let count = word(8);
        let records_end = HEADER as u64 + u64::from(count) * record as u64;
        let more_of = |r: &[u8]| {
            usize::from(r[record - 3]) << 16
                | usize::from(r[record - 2]) << 8
                | usize::from(r[record - 1])
        };
        // The further contents, from the records' counts (versions 2, 3).
        let mut more_total = 0u64;
        if records_end + TRAILER as u64 <= bytes.len() as u64 && version != VERSION {
            for r in bytes[HEADER..records_end as usize].chunks_exact(record) {
                more_total += more_of(r) as u64;
            }
        }
        let expected = records_end + more_total * part as u64 + TRAILER as u64;
        if bytes.len() as u64 != expected {
            return Err(Error::Length {
                count,
                expected,
                actual: bytes.len() as u64,
            });
        }
        let body = &bytes[..bytes.len() - TRAILER];
        if sha1(&[body]).ok().as_ref().map(|s| s.as_bytes()) != Some(&bytes[body.len()..]) {
            return Err(Error::Checksum);
        }
        let id = |b: &[u8]| ObjectId::try_from(b).map_err(|_| Error::Magic);
        let pack = id(&bytes[12..32])?;
        // A part: its id (versions 1, 2) or its place in the idx (3).
        let part_at = |at: usize, index: usize| -> Result<ObjectId, Error> {
            if part == 20 {
                return id(&body[at..at + 20]);
            }
            let i = u32::from_be_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
            if i >= ids.count() {
                return Err(Error::Record {
                    index,
                    what: "a part past the end of the pack's idx",
                });
            }
            Ok(ids.id_at(i))
        };
        let mut records: Vec<Record> = Vec::with_capacity(count as usize);
        let mut extra = records_end as usize;
        for (index, at) in (HEADER..records_end as usize).step_by(record).enumerate() {
            let r = &body[at..at + record];
            let more = more_of(r);
            if version == VERSION && more != 0 {
                return Err(Error::Record {
                    index,
                    what: "reserved bytes are not zero",
                });
            }
            if more >= MAX_CONTENTS {
                return Err(Error::Record {
                    index,
                    what: "more than 65,536 contents",
                });
            }
            let mut contents = Vec::with_capacity(1 + more);
            contents.push(part_at(at + 20, index)?);
            for _ in 0..more {
                contents.push(part_at(extra, index)?);
                extra += part;
            }
            let size_at = 20 + 2 * part;
            let rec = Record {
                x: id(&r[..20])?,
                contents,
                recipe: part_at(at + 20 + part, index)?,
                size: u64::from_be_bytes(
                    r[size_at..size_at + 8]
                        .try_into()
                        .map_err(|_| Error::Magic)?,
                ),
                format: r[size_at + 8],
            };
            if records.last().is_some_and(|p| p.x >= rec.x) {
                return Err(Error::Record {
                    index,
                    what: "not in ascending order of ids (or an id twice)",
                });
            }
            records.push(rec);
        }
        Ok(Table { pack, records })
    }

    /// The bytes of a table of `records` for the pack with trailer `pack`,
    /// whose idx lists `ids`: version 1 if every record has one content,
    /// else version 3 (version 2 if a part is not in `ids`, which no
    /// repack makes). Records with no content, or more than
    /// [`MAX_CONTENTS`], are left out (no split makes them).
    pub fn encode<I: PackIds + ?Sized>(pack: &ObjectId, records: &[Record], ids: &I) -> Vec<u8> {
        let mut sorted: Vec<&Record> = records
            .iter()
            .filter(|r| !r.contents.is_empty() && r.contents.len() <= MAX_CONTENTS)
            .collect();
        sorted.sort_unstable_by_key(|r| r.x);
        sorted.dedup_by_key(|r| r.x);
        let placed = |r: &&Record| {
            ids.place(&r.recipe).is_some() && r.contents.iter().all(|c| ids.place(c).is_some())
        };
        let version = if sorted.iter().all(|r| r.contents.len() == 1) {
            VERSION
        } else if sorted.iter().all(placed) {
            VERSION_PLACES
        } else {
            VERSION_CONTENTS
        };
        let mut out = Vec::with_capacity(HEADER + TRAILER + sorted.len() * RECORD);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&(sorted.len() as u32).to_be_bytes());
        out.extend_from_slice(pack.as_bytes());
        let put = |out: &mut Vec<u8>, id: &ObjectId| match (version, ids.place(id)) {
            (VERSION_PLACES, Some(i)) => out.extend_from_slice(&i.to_be_bytes()),
            _ => out.extend_from_slice(id.as_bytes()),
        };
        for r in &sorted {
            let more = (r.contents.len() - 1) as u32;
            out.extend_from_slice(r.x.as_bytes());
            put(&mut out, &r.contents[0]);
            put(&mut out, &r.recipe);
            out.extend_from_slice(&r.size.to_be_bytes());
            out.push(r.format);
            out.extend_from_slice(&more.to_be_bytes()[1..]);
        }
        for r in &sorted {
            for c in &r.contents[1..] {
                put(&mut out, c);
            }
        }
        let sum = sha1(&[&out])
            .map(|s| s.as_bytes().to_vec())
            .unwrap_or_else(|_| vec![0; 20]);
        out.extend_from_slice(&sum);
        out
    }

    /// The checksum of the pack this table belongs to.
    pub fn pack(&self) -> &ObjectId {
        &self.pack
    }

    /// Every record, sorted by X's id.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The record of X, by binary search.
    pub fn find(&self, x: &ObjectId) -> Option<&Record> {
        self.records
            .binary_search_by(|r| r.x.cmp(x))
            .ok()
            .map(|i| &self.records[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NONE: &[ObjectId] = &[];

    fn id(n: u8) -> ObjectId {
        ObjectId::try_from(&[n; 20][..]).unwrap()
    }

    fn sample() -> Vec<u8> {
        let recs = [
            Record {
                x: id(9),
                contents: vec![id(1)],
                recipe: id(2),
                size: 77,
                format: 1,
            },
            Record {
                x: id(3),
                contents: vec![id(4)],
                recipe: id(5),
                size: 1 << 40,
                format: 1,
            },
        ];
        Table::encode(&id(0xee), &recs, NONE)
    }

    /// A record of `contents` in format `format`, and one of one content.
    fn two_records(contents: Vec<ObjectId>, format: u8) -> [Record; 2] {
        [
            Record {
                x: id(9),
                contents,
                recipe: id(2),
                size: 77,
                format,
            },
            Record {
                x: id(3),
                contents: vec![id(4)],
                recipe: id(5),
                size: 5,
                format: 2,
            },
        ]
    }

    #[test]
    fn round_trip_sorted_and_found() {
        let t = Table::parse(&sample(), NONE).unwrap();
        assert_eq!(t.pack(), &id(0xee));
        assert_eq!(t.records().len(), 2);
        assert_eq!(t.records()[0].x, id(3));
        assert_eq!(t.find(&id(9)).unwrap().size, 77);
        assert_eq!(t.find(&id(4)), None);
    }

    #[test]
    fn records_with_further_contents_make_version_2() {
        let recs = two_records(vec![id(1), id(7), id(8)], 4);
        let b = Table::encode(&id(0xee), &recs, NONE);
        assert_eq!(b[7], 2);
        let t = Table::parse(&b, NONE).unwrap();
        assert_eq!(t.find(&id(9)).unwrap(), &recs[0]);
        assert_eq!(t.find(&id(3)).unwrap(), &recs[1]);
        for cut in 0..b.len() {
            assert!(Table::parse(&b[..cut], NONE).is_err());
        }
        // A version-1 table may not claim further contents.
        let mut v1 = b.clone();
        v1[7] = 1;
        assert!(Table::parse(&v1, NONE).is_err());
    }

    #[test]
    fn parts_in_the_idx_make_version_3_named_by_place() {
        let mut ids: Vec<ObjectId> = (1..=8).map(id).collect();
        ids.sort_unstable();
        let recs = two_records(vec![id(1), id(7), id(8), id(7)], 6);
        let b = Table::encode(&id(0xee), &recs, &ids[..]);
        assert_eq!(b[7], 3);
        assert_eq!(b.len(), 32 + 2 * 40 + 3 * 4 + 20);
        let t = Table::parse(&b, &ids[..]).unwrap();
        assert_eq!(t.find(&id(9)).unwrap(), &recs[0]);
        assert_eq!(t.find(&id(3)).unwrap(), &recs[1]);
        // Version 2 names the same records with 112 bytes more.
        let v2 = Table::encode(&id(0xee), &recs, NONE);
        assert_eq!(v2[7], 2);
        assert_eq!(v2.len(), b.len() + 2 * 32 + 3 * 16);
        assert_eq!(Table::parse(&v2, NONE).unwrap().records(), t.records());
        // An idx shorter than a place is refused, naming the record.
        assert!(matches!(
            Table::parse(&b, &ids[..5]),
            Err(Error::Record { what, .. }) if what.contains("past the end")
        ));
        for cut in 0..b.len() {
            assert!(Table::parse(&b[..cut], &ids[..]).is_err());
        }
    }

    #[test]
    fn damage_and_unknown_versions_are_named() {
        let mut b = sample();
        b[7] = 4;
        assert_eq!(Table::parse(&b, NONE).unwrap_err(), Error::Version(4));
        let mut b = sample();
        b[40] ^= 1;
        assert_eq!(Table::parse(&b, NONE).unwrap_err(), Error::Checksum);
        let b = sample();
        assert!(matches!(
            Table::parse(&b[..b.len() - 1], NONE),
            Err(Error::Length { .. })
        ));
    }

    proptest! {
        #[test]
        fn hostile_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..300), fix in any::<bool>()) {
            if fix && bytes.len() >= 12 {
                bytes[..4].copy_from_slice(&MAGIC);
                let v = [VERSION, VERSION_CONTENTS, VERSION_PLACES][bytes.len() % 3];
                bytes[4..8].copy_from_slice(&v.to_be_bytes());
            }
            let ids: Vec<ObjectId> = (0..4).map(id).collect();
            let _ = Table::parse(&bytes, &ids[..]);
        }
    }
}
