//! Packs of our own for the tests: planned object by object with the depth
//! and base each must end up with, written with our [`data::Writer`] and
//! [`index::write()`]; and raw packs assembled byte by byte for hostile cases.

use std::path::{Path, PathBuf};

use trees_pack::data::write::{Base, DEFAULT_LEVEL, Entry};
use trees_pack::id::{Kind, hash_object};
use trees_pack::{ObjectId, data, delta, index};

/// One object a plan puts in a pack, and what readers must see of it.
#[derive(Debug, Clone)]
pub struct Expected {
    /// Its id.
    pub id: ObjectId,
    /// Its content.
    pub data: Vec<u8>,
    /// Its delta chain depth (0 for a whole object).
    pub depth: usize,
    /// The object its delta is against, if it is one.
    pub base: Option<ObjectId>,
}

/// How a delta entry names its base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// OFS_DELTA: the base is written earlier in the pack.
    Ofs,
    /// REF_DELTA: the base is named by id, and may be anywhere in the pack.
    Ref,
}

/// The entries of a pack, in pack order, and the objects they make.
#[derive(Debug, Default)]
pub struct Plan {
    /// The entries to write, in order; reorder them (REF_DELTA bases may
    /// come later) before [`Plan::write`].
    pub entries: Vec<Entry>,
    /// What every entry makes, in planning order.
    pub objects: Vec<Expected>,
}

/// A pack and its idx on disk.
#[derive(Debug)]
pub struct Written {
    /// `pack-<checksum>.pack`.
    pub pack: PathBuf,
    /// `pack-<checksum>.idx`.
    pub idx: PathBuf,
    /// The pack's checksum.
    pub checksum: ObjectId,
    /// The idx entries, sorted by id.
    pub entries: Vec<index::Entry>,
}

impl Plan {
    fn expected(&self, id: &ObjectId) -> &Expected {
        self.objects
            .iter()
            .find(|o| o.id == *id)
            .expect("the base was planned")
    }

    /// Plans a whole blob.
    pub fn whole(&mut self, data: Vec<u8>) -> ObjectId {
        let id = hash_object(Kind::Blob, &data).unwrap();
        self.entries
            .push(Entry::whole(id, Kind::Blob, &data, DEFAULT_LEVEL));
        self.objects.push(Expected {
            id,
            data,
            depth: 0,
            base: None,
        });
        id
    }

    /// Plans a blob made by applying `delta` to `base`, checking first that
    /// it does make `data`.
    pub fn delta(&mut self, base: ObjectId, link: Link, delta: &[u8], data: Vec<u8>) -> ObjectId {
        let b = self.expected(&base);
        let mut rebuilt = Vec::new();
        delta::apply(&b.data, delta, &mut rebuilt).unwrap();
        assert!(
            rebuilt == data,
            "the planned delta does not rebuild its target"
        );
        let depth = b.depth + 1;
        let id = hash_object(Kind::Blob, &data).unwrap();
        let base_ref = match link {
            Link::Ofs => Base::Ofs(base),
            Link::Ref => Base::Ref(base),
        };
        self.entries
            .push(Entry::delta(id, base_ref, delta, DEFAULT_LEVEL));
        self.objects.push(Expected {
            id,
            data,
            depth,
            base: Some(base),
        });
        id
    }

    /// Plans `data` as a delta against `base` found by `trees_delta::diff`.
    pub fn diff(&mut self, base: ObjectId, link: Link, data: Vec<u8>) -> ObjectId {
        let d = trees_delta::diff(&self.expected(&base).data, &data).unwrap();
        assert!(
            d.len() < data.len() / 4,
            "related releases make small deltas ({} bytes)",
            d.len()
        );
        self.delta(base, link, &d, data)
    }

    /// Writes the entries, in order, as `dir/pack-<checksum>.{pack,idx}`.
    pub fn write(&self, dir: &Path) -> Written {
        let mut w = data::Writer::new(Vec::new(), self.entries.len() as u32).unwrap();
        for e in &self.entries {
            w.write(e).unwrap();
        }
        let out = w.finish().unwrap();
        assert_eq!(out.len, out.out.len() as u64);
        save(dir, &out.out, out.entries, out.checksum)
    }
}

/// Saves `pack` as `dir/pack-<checksum>.pack` and writes its idx beside it.
pub fn save(
    dir: &Path,
    pack: &[u8],
    mut entries: Vec<index::Entry>,
    checksum: ObjectId,
) -> Written {
    let pack_path = dir.join(format!("pack-{checksum}.pack"));
    let idx_path = pack_path.with_extension("idx");
    std::fs::write(&pack_path, pack).unwrap();
    let idx = std::fs::File::create(&idx_path).unwrap();
    index::write(&mut entries, &checksum, idx).unwrap();
    Written {
        pack: pack_path,
        idx: idx_path,
        checksum,
        entries,
    }
}

/// A pack assembled from raw entries (header, base reference and zlib
/// stream, exactly as they go on disk), each with the id the idx gives it.
/// Returns the pack's bytes, its idx entries and its checksum.
pub fn raw(entries: &[(ObjectId, Vec<u8>)]) -> (Vec<u8>, Vec<index::Entry>, ObjectId) {
    let mut pack = Vec::new();
    pack.extend_from_slice(b"PACK");
    pack.extend_from_slice(&2u32.to_be_bytes());
    pack.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    let mut idx = Vec::new();
    for (id, bytes) in entries {
        idx.push(index::Entry {
            id: *id,
            offset: pack.len() as u64,
            crc32: crc32fast::hash(bytes),
        });
        pack.extend_from_slice(bytes);
    }
    let checksum = sha1(&pack);
    pack.extend_from_slice(checksum.as_slice());
    (pack, idx, checksum)
}

/// The plain SHA-1 of `bytes` (a pack or idx trailer).
pub fn sha1(bytes: &[u8]) -> ObjectId {
    let mut h = gix_hash::hasher(gix_hash::Kind::Sha1);
    h.update(bytes);
    h.try_finalize().unwrap()
}

/// The id of blob `data`.
pub fn blob_id(data: &[u8]) -> ObjectId {
    hash_object(Kind::Blob, data).unwrap()
}

/// The error and its causes on one line, as every report prints them.
pub use trees_pack::error_chain as chain;

/// The file name of `path`, as text.
pub fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}
