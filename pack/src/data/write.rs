//! Writing a pack: entries compressed ahead of time (in parallel, by the
//! caller), then written in order with their offsets, CRC32s and the trailer.

use std::collections::HashMap;
use std::io::Write;

use super::entry::{self, Type};
use crate::ObjectId;
use crate::id::Kind;
use crate::index;

/// The zlib level pack entries get unless the caller says otherwise: libdeflate
/// at 6 is both smaller and faster than zlib's default of 6.
pub const DEFAULT_LEVEL: u8 = 6;

/// What a writer refuses.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing to the output failed.
    #[error("could not write the pack")]
    Io(#[from] std::io::Error),
    /// An OFS_DELTA entry came before its base.
    #[error("OFS_DELTA entry {id} names base {base}, which was not written before it")]
    BaseNotWritten {
        /// The delta's id.
        id: ObjectId,
        /// The missing base.
        base: ObjectId,
    },
    /// The same id was written twice.
    #[error("object {0} was written twice")]
    Duplicate(ObjectId),
    /// More entries than the header announced.
    #[error("the pack header announced {0} entries; one more was written")]
    TooMany(u32),
    /// Fewer entries than the header announced.
    #[error("the pack header announced {expected} entries, but {written} were written")]
    TooFew {
        /// Announced.
        expected: u32,
        /// Written.
        written: u32,
    },
    /// An entry copied verbatim from another pack does not match the CRC32
    /// that pack's idx records for it: the source pack is damaged.
    #[error(
        "entry {id} copied from another pack has CRC32 {actual:08x}, its idx says {expected:08x}"
    )]
    CopyCrc {
        /// The entry's id.
        id: ObjectId,
        /// The CRC32 in the source idx.
        expected: u32,
        /// The CRC32 of the bytes copied.
        actual: u32,
    },
    /// The trailer hash saw a collision attack (never expected in practice).
    #[error("computing the pack checksum")]
    Hash(#[from] crate::id::HashError),
}

/// How an entry refers to its base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// A whole object.
    None(Kind),
    /// A delta against `ObjectId`, written as OFS_DELTA: the base must come first.
    Ofs(ObjectId),
    /// A delta against `ObjectId`, written as REF_DELTA: the base may be
    /// anywhere in the pack, or outside it (a thin pack).
    Ref(ObjectId),
}

/// An entry ready to be written: its data already zlib-compressed.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The id of the object this entry produces.
    pub id: ObjectId,
    /// Whole, or a delta and its base.
    pub base: Base,
    /// Inflated size of the data: the object, or the delta.
    pub size: u64,
    /// The zlib stream.
    pub compressed: Vec<u8>,
}

impl Entry {
    /// A whole object.
    pub fn whole(id: ObjectId, kind: Kind, data: &[u8], level: u8) -> Entry {
        Entry {
            id,
            base: Base::None(kind),
            size: data.len() as u64,
            compressed: compress(data, level),
        }
    }

    /// A delta (in git's format) that rebuilds `id` from `base`.
    pub fn delta(id: ObjectId, base: Base, delta: &[u8], level: u8) -> Entry {
        Entry {
            id,
            base,
            size: delta.len() as u64,
            compressed: compress(delta, level),
        }
    }
}

/// zlib-compresses `data` with libdeflate at `level` (clamped to 1..=12).
pub fn compress(data: &[u8], level: u8) -> Vec<u8> {
    use libdeflater::{CompressionLvl, Compressor};
    use std::cell::RefCell;
    thread_local! {
        // A compressor allocates its match finder tables; one a thread and level.
        static COMPRESSORS: RefCell<HashMap<u8, Compressor>> = RefCell::new(HashMap::new());
    }
    let level = level.clamp(1, 12);
    COMPRESSORS.with(|cell| {
        let mut map = cell.borrow_mut();
        let c = map.entry(level).or_insert_with(|| {
            Compressor::new(CompressionLvl::new(i32::from(level)).expect("level clamped to 1..=12"))
        });
        let mut out = vec![0u8; c.zlib_compress_bound(data.len())];
        let n = c
            .zlib_compress(data, &mut out)
            .expect("the output buffer has libdeflate's own bound");
        out.truncate(n);
        // The bound is larger than the input: do not keep it allocated.
        out.shrink_to_fit();
        out
    })
}

/// What a finished pack is.
#[derive(Debug)]
pub struct Outcome<W> {
    /// SHA-1 of the pack: the trailer, and the name `pack-<checksum>.pack`.
    pub checksum: ObjectId,
    /// Id, offset and CRC32 of every entry, in pack order: the input of the idx writer.
    pub entries: Vec<index::Entry>,
    /// Bytes written, trailer included.
    pub len: u64,
    /// The output, flushed.
    pub out: W,
}

/// Copies exactly `len` bytes of `input` to `out`; fewer is an error
/// naming the object.
fn copy_exact(
    input: &mut dyn std::io::Read,
    len: u64,
    out: &mut dyn Write,
    id: &ObjectId,
) -> Result<(), Error> {
    let copied = std::io::copy(&mut std::io::Read::take(input, len), out)?;
    if copied != len {
        return Err(Error::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("entry {id}: {copied} bytes read, {len} expected"),
        )));
    }
    Ok(())
}

/// Everything written to the pack goes to its output, its checksum and
/// the entry's CRC32 at once.
struct Tee<'a, W: Write> {
    out: &'a mut W,
    hasher: &'a mut gix_hash::Hasher,
    crc: crc32fast::Hasher,
    len: u64,
}

impl<W: Write> Write for Tee<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.crc.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Writes entries, in order, to `out`.
pub struct Writer<W: Write> {
    out: W,
    hasher: gix_hash::Hasher,
    offset: u64,
    expected: u32,
    written: HashMap<ObjectId, u64>,
    entries: Vec<index::Entry>,
    header: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// Starts a pack of exactly `count` entries.
    pub fn new(mut out: W, count: u32) -> Result<Self, Error> {
        let mut hasher = gix_hash::hasher(gix_hash::Kind::Sha1);
        let mut head = Vec::with_capacity(super::HEADER_LEN);
        head.extend_from_slice(b"PACK");
        head.extend_from_slice(&2u32.to_be_bytes());
        head.extend_from_slice(&count.to_be_bytes());
        out.write_all(&head)?;
        hasher.update(&head);
        Ok(Writer {
            out,
            hasher,
            offset: super::HEADER_LEN as u64,
            expected: count,
            written: HashMap::with_capacity(count as usize),
            entries: Vec::with_capacity(count as usize),
            header: Vec::with_capacity(32),
        })
    }

    /// The offset the next entry will have.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The offset of an entry already written.
    pub fn offset_of(&self, id: &ObjectId) -> Option<u64> {
        self.written.get(id).copied()
    }

    /// Refuses an entry past the announced count, or a second `id`.
    fn admit(&self, id: &ObjectId) -> Result<(), Error> {
        if self.entries.len() as u64 >= u64::from(self.expected) {
            return Err(Error::TooMany(self.expected));
        }
        if self.written.contains_key(id) {
            return Err(Error::Duplicate(*id));
        }
        Ok(())
    }

    /// Records an entry of `len` bytes just written; returns its offset.
    fn record(&mut self, id: ObjectId, len: u64, crc32: u32) -> u64 {
        let offset = self.offset;
        self.offset += len;
        self.written.insert(id, offset);
        self.entries.push(index::Entry { id, offset, crc32 });
        offset
    }

    /// Where an entry written piece by piece goes, with the header of a
    /// whole object of `kind` and `size` already in it if given.
    fn tee(&mut self, whole: Option<(Kind, u64)>) -> Result<Tee<'_, W>, Error> {
        let mut sink = Tee {
            out: &mut self.out,
            hasher: &mut self.hasher,
            crc: crc32fast::Hasher::new(),
            len: 0,
        };
        if let Some((kind, size)) = whole {
            self.header.clear();
            entry::encode(&Type::Whole(kind), size, &mut self.header);
            sink.write_all(&self.header)?;
        }
        Ok(sink)
    }

    /// Writes one entry and returns its offset.
    pub fn write(&mut self, e: &Entry) -> Result<u64, Error> {
        self.admit(&e.id)?;
        let kind = match e.base {
            Base::None(k) => Type::Whole(k),
            Base::Ref(base) => Type::RefDelta { base },
            Base::Ofs(base) => {
                let at = self
                    .written
                    .get(&base)
                    .ok_or(Error::BaseNotWritten { id: e.id, base })?;
                Type::OfsDelta {
                    distance: self.offset - at,
                }
            }
        };
        self.header.clear();
        entry::encode(&kind, e.size, &mut self.header);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&self.header);
        crc.update(&e.compressed);
        self.out.write_all(&self.header)?;
        self.out.write_all(&e.compressed)?;
        self.hasher.update(&self.header);
        self.hasher.update(&e.compressed);
        let len = (self.header.len() + e.compressed.len()) as u64;
        Ok(self.record(e.id, len, crc.finalize()))
    }

    /// Writes `raw`, one entry of another pack (header and zlib stream,
    /// exactly as stored there), verbatim: git's pack reuse. Its CRC32
    /// must equal `crc32`, the one the source idx records. The caller keeps
    /// OFS_DELTA distances valid by copying a whole pack's entries in their
    /// order and with nothing between them.
    pub fn copy_raw(&mut self, id: ObjectId, raw: &[u8], crc32: u32) -> Result<u64, Error> {
        self.admit(&id)?;
        let actual = crc32fast::hash(raw);
        if actual != crc32 {
            return Err(Error::CopyCrc {
                id,
                expected: crc32,
                actual,
            });
        }
        self.out.write_all(raw)?;
        self.hasher.update(raw);
        Ok(self.record(id, raw.len() as u64, crc32))
    }

    /// [`Writer::copy_raw`] of an entry of `len` bytes read from `input`
    /// as it streams: for entries too large to map whole. On a CRC32
    /// mismatch the pack is already wrong: the caller discards it.
    pub fn copy_streamed(
        &mut self,
        id: ObjectId,
        input: &mut dyn std::io::Read,
        len: u64,
        crc32: u32,
    ) -> Result<u64, Error> {
        self.admit(&id)?;
        let mut sink = self.tee(None)?;
        copy_exact(input, len, &mut sink, &id)?;
        let actual = sink.crc.finalize();
        if actual != crc32 {
            return Err(Error::CopyCrc {
                id,
                expected: crc32,
                actual,
            });
        }
        Ok(self.record(id, len, crc32))
    }

    /// Writes a whole object of `size` bytes read from `input`, compressed
    /// as it streams (zlib at `level`, 0 to 9): for objects too large to
    /// hold compressed in memory. `input` must yield exactly `size` bytes.
    pub fn write_streamed(
        &mut self,
        id: ObjectId,
        kind: Kind,
        size: u64,
        input: &mut dyn std::io::Read,
        level: u8,
    ) -> Result<u64, Error> {
        self.admit(&id)?;
        let mut sink = self.tee(Some((kind, size)))?;
        let mut z = flate2::write::ZlibEncoder::new(
            &mut sink,
            flate2::Compression::new(u32::from(level.min(9))),
        );
        copy_exact(input, size, &mut z, &id)?;
        z.finish()?;
        let (len, crc) = (sink.len, sink.crc.finalize());
        Ok(self.record(id, len, crc))
    }

    /// Writes a whole object of `size` bytes whose raw deflate data (as a
    /// gzip member holds it, `len` bytes) comes from `input`, wrapped as a
    /// zlib stream with `adler32` (of the object) as its trailer: an entry
    /// made without recompressing. The caller vouches for the stream; the
    /// pack is read back before it is used.
    pub fn write_deflate(
        &mut self,
        id: ObjectId,
        kind: Kind,
        size: u64,
        input: &mut dyn std::io::Read,
        len: u64,
        adler32: u32,
    ) -> Result<u64, Error> {
        self.admit(&id)?;
        let mut sink = self.tee(Some((kind, size)))?;
        // CMF 0x78: deflate with a 32 KiB window (deflate's largest);
        // FLG 0x9c: the default level, and the check bits.
        sink.write_all(&[0x78, 0x9c])?;
        copy_exact(input, len, &mut sink, &id)?;
        sink.write_all(&adler32.to_be_bytes())?;
        let (n, crc) = (sink.len, sink.crc.finalize());
        Ok(self.record(id, n, crc))
    }

    /// Writes the trailer and flushes.
    pub fn finish(mut self) -> Result<Outcome<W>, Error> {
        if self.entries.len() as u64 != u64::from(self.expected) {
            return Err(Error::TooFew {
                expected: self.expected,
                written: self.entries.len() as u32,
            });
        }
        let checksum = self
            .hasher
            .try_finalize()
            .map_err(|_| crate::id::HashError::Collision)?;
        self.out.write_all(checksum.as_slice())?;
        self.out.flush()?;
        Ok(Outcome {
            checksum,
            entries: self.entries,
            len: self.offset + super::TRAILER_LEN as u64,
            out: self.out,
        })
    }
}
