//! Objects too large to hold, streamed out of a pack.
//!
//! [`Bundle::read_at`] rebuilds an object in memory, and its delta base
//! with it: for an object of gigabytes, twice its size. Streaming instead:
//!
//! - a whole entry inflates straight from the pack file, by positioned
//!   reads rather than through the mapping, so that the pack's pages do not
//!   join the resident set;
//! - a delta chain is rebuilt base first, each intermediate object into a
//!   private temporary file that the next delta reads from (mapped), and
//!   the last object straight into the caller's writer.
//!
//! What stays in memory: one inflated delta, and the pages of one base.

use std::io::{Read, Write};
use std::path::Path;

use crate::bundle::{Bundle, Error, MAX_CHAIN};
use crate::data::{Header, Type};
use crate::id::{Hasher, Kind};
use crate::mmap::Region;
use crate::{ObjectId, delta};

/// Bytes of a delta's start that always hold its two size fields.
const DELTA_HEADER_MAX: usize = 20;

impl Bundle {
    fn io_error(&self, offset: u64) -> impl Fn(std::io::Error) -> Error + '_ {
        move |source| Error::Stream {
            path: self.pack.path().to_owned(),
            offset,
            source,
        }
    }

    /// The size of the object whose entry is at `offset`, without
    /// rebuilding it: a whole entry's header says it; a delta's own header
    /// does, read from the first bytes of its zlib stream.
    pub fn object_size_at(&self, offset: u64) -> Result<u64, Error> {
        let h = self.pack.header(offset)?;
        if let Type::Whole(_) = h.kind {
            return Ok(h.size);
        }
        let mut head = Vec::with_capacity(DELTA_HEADER_MAX);
        // Through the mapping: a few pages at most, where positioned reads
        // would cost a file open and a buffer per call.
        let start = offset + h.len as u64;
        let reader = self.pack.bytes(start, self.pack.entries_end())?;
        flate2::read::ZlibDecoder::new(reader)
            .take(DELTA_HEADER_MAX as u64)
            .read_to_end(&mut head)
            .map_err(self.io_error(offset))?;
        delta::apply::result_size(&head).map_err(|source| Error::Delta {
            path: self.pack.path().to_owned(),
            offset,
            source,
        })
    }

    /// The zlib stream of the entry at `offset`: positioned reads of the
    /// pack file when it is one, else the bytes in memory.
    fn entry_reader(&self, offset: u64, h: &Header) -> Box<dyn Read + '_> {
        let start = offset + h.len as u64;
        let end = self.pack.entries_end();
        if let Ok(file) = std::fs::File::open(self.pack.path())
            && file.metadata().is_ok_and(|m| m.len() == self.pack.len())
        {
            return Box::new(std::io::BufReader::with_capacity(
                1 << 20,
                Positioned {
                    file,
                    at: start,
                    end,
                },
            ));
        }
        Box::new(self.pack.bytes(start, end).unwrap_or(&[]))
    }

    /// Re-hashes the pack and compares with its trailer, as
    /// [`crate::data::File::verify_checksum`] does, by positioned reads.
    pub fn verify_checksum_streamed(&self) -> Result<(), Error> {
        let Ok(file) = std::fs::File::open(self.pack.path()) else {
            return Ok(self.pack.verify_checksum()?);
        };
        let end = self.pack.len() - crate::data::TRAILER_LEN as u64;
        let mut r = Positioned { file, at: 0, end };
        let mut h = gix_hash::hasher(gix_hash::Kind::Sha1);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = r.read(&mut buf).map_err(self.io_error(0))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        let collision = || {
            self.io_error(0)(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "SHA-1 collision attack detected",
            ))
        };
        let actual = h.try_finalize().map_err(|_| collision())?;
        let expected = self.pack.checksum();
        if r.at != end || actual != expected {
            return Err(crate::data::file::Error::Checksum {
                path: self.pack.path().to_owned(),
                expected,
                actual,
            }
            .into());
        }
        Ok(())
    }

    /// A reader of the pack's bytes `start..end` by positioned reads (or
    /// from memory when the pack is not a file).
    pub fn range_reader(&self, start: u64, end: u64) -> Result<Box<dyn Read + '_>, Error> {
        match std::fs::File::open(self.pack.path()) {
            Ok(file) => Ok(Box::new(std::io::BufReader::with_capacity(
                1 << 20,
                Positioned {
                    file,
                    at: start,
                    end,
                },
            ))),
            Err(_) => Ok(Box::new(self.pack.bytes(start, end)?)),
        }
    }

    /// The CRC32 of the pack's bytes `start..end`, by positioned reads of
    /// the pack file when it is one (its pages then do not join the
    /// resident set, as they would through the mapping).
    pub fn crc32_streamed(&self, start: u64, end: u64) -> Result<u32, Error> {
        let Ok(file) = std::fs::File::open(self.pack.path()) else {
            return Ok(crc32fast::hash(self.pack.bytes(start, end)?));
        };
        let mut r = Positioned {
            file,
            at: start,
            end,
        };
        let mut crc = crc32fast::Hasher::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = r.read(&mut buf).map_err(self.io_error(start))?;
            if n == 0 {
                break;
            }
            crc.update(&buf[..n]);
        }
        if r.at != end {
            return Err(self.io_error(start)(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the pack ends before the entry",
            )));
        }
        Ok(crc.finalize())
    }

    /// Writes the object whose entry is at `offset` to `out` without
    /// holding it (see the module doc); intermediate bases of its delta
    /// chain go to temporary files in `tmp`. Returns its kind and size.
    /// The caller checks its id: on an error, `out` has part of it.
    pub fn stream_at(
        &self,
        offset: u64,
        out: &mut dyn Write,
        tmp: &Path,
    ) -> Result<(Kind, u64), Error> {
        let mut chain = Vec::new();
        let mut cur = offset;
        let (at, whole, kind) = loop {
            let h = self.pack.header(cur)?;
            match h.kind {
                Type::Whole(kind) => break (cur, h, kind),
                Type::OfsDelta { distance } => {
                    chain.push((cur, h));
                    cur -= distance; // entry::decode checked distance <= cur
                }
                Type::RefDelta { base } => {
                    chain.push((cur, h));
                    cur = self.find(&base)?.ok_or_else(|| Error::BaseMissing {
                        path: self.pack.path().to_owned(),
                        offset: cur,
                        base,
                    })?;
                }
            }
            if chain.len() > MAX_CHAIN {
                return Err(Error::ChainTooDeep {
                    path: self.pack.path().to_owned(),
                    offset,
                });
            }
        };
        let inflate = |out: &mut dyn Write| -> Result<u64, Error> {
            let mut z = flate2::read::ZlibDecoder::new(self.entry_reader(at, &whole));
            let n =
                std::io::copy(&mut (&mut z).take(whole.size), out).map_err(self.io_error(at))?;
            if n != whole.size {
                return Err(self.io_error(at)(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("inflates to {n} bytes, its header says {}", whole.size),
                )));
            }
            Ok(n)
        };
        if chain.is_empty() {
            return Ok((kind, inflate(out)?));
        }
        let to_file = |fill: &mut dyn FnMut(&mut dyn Write) -> Result<u64, Error>,
                       at: u64|
         -> Result<tempfile::NamedTempFile, Error> {
            let mut f = tempfile::NamedTempFile::new_in(tmp).map_err(self.io_error(at))?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, f.as_file_mut());
            fill(&mut w)?;
            w.flush().map_err(self.io_error(at))?;
            drop(w);
            Ok(f)
        };
        let mut base = to_file(&mut |w| inflate(w), at)?;
        let last = chain.len() - 1;
        for (k, (off, h)) in chain.iter().rev().enumerate() {
            let (d, _) = self.pack.inflate(*off, h)?;
            let len = base
                .as_file()
                .metadata()
                .map_err(self.io_error(*off))?
                .len();
            let len = usize::try_from(len).map_err(|_| Error::TooLarge {
                path: self.pack.path().to_owned(),
                offset: *off,
                size: len,
                limit: usize::MAX as u64,
            })?;
            let mut windows = Windowed {
                file: base.as_file(),
                len: len as u64,
                window: None,
            };
            let mut apply = |w: &mut dyn Write| {
                delta::apply::apply_to(&mut windows, &d, w, self.max_object()).map_err(|source| {
                    Error::Delta {
                        path: self.pack.path().to_owned(),
                        offset: *off,
                        source,
                    }
                })
            };
            if k == last {
                return Ok((kind, apply(out)?));
            }
            let next = to_file(&mut apply, *off)?;
            base = next;
        }
        unreachable!("the loop returns at the last link of a non-empty chain")
    }

    /// The id of the object whose entry is at `offset`, streamed through
    /// [`Bundle::stream_at`].
    pub fn hash_streamed(&self, offset: u64, tmp: &Path) -> Result<ObjectId, Error> {
        let size = self.object_size_at(offset)?;
        // A delta's kind is its base's: the chain walk finds it.
        let (_, kind) = self.chain_end(offset)?;
        let mut h = Hasher::new(kind, size);
        self.stream_at(offset, &mut h, tmp)?;
        h.finish().map_err(|e| {
            self.io_error(offset)(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                e.to_string(),
            ))
        })
    }
}

/// Bytes of a base mapped at once while a delta is applied to it.
const BASE_WINDOW: u64 = 64 << 20;

/// A base in a file, mapped one window at a time: a delta's copies mostly
/// walk the base in order, so a window is mapped a few times at most, and
/// the resident pages are one window's, whatever the base's size.
struct Windowed<'a> {
    file: &'a std::fs::File,
    len: u64,
    window: Option<(u64, Region)>,
}

impl delta::apply::Source for Windowed<'_> {
    fn size(&self) -> u64 {
        self.len
    }

    fn copy(
        &mut self,
        mut offset: u64,
        size: u64,
        put: &mut dyn FnMut(&[u8]) -> Result<(), delta::apply::Error>,
    ) -> Result<(), delta::apply::Error> {
        let end = offset + size;
        while offset < end {
            let hit =
                matches!(&self.window, Some((s, r)) if *s <= offset && offset < s + r.len() as u64);
            if !hit {
                // Drop the old window first: its pages leave the resident set.
                self.window = None;
                let start = offset / BASE_WINDOW * BASE_WINDOW;
                let len = (self.len - start).min(2 * BASE_WINDOW) as usize;
                let r = Region::map(self.file, start, len)
                    .map_err(|e| delta::apply::Error::Base(e.to_string()))?;
                self.window = Some((start, r));
            }
            let (s, r) = self.window.as_ref().expect("mapped above");
            let from = (offset - s) as usize;
            let n = ((end - offset) as usize).min(r.len() - from);
            put(&r[from..from + n])?;
            offset += n as u64;
        }
        Ok(())
    }
}

/// Positioned reads of a file from `at` to `end`.
struct Positioned {
    file: std::fs::File,
    at: u64,
    end: u64,
}

impl Read for Positioned {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let n = (buf.len() as u64).min(self.end.saturating_sub(self.at)) as usize;
        if n == 0 {
            return Ok(0);
        }
        let got = self.file.read_at(&mut buf[..n], self.at)?;
        self.at += got as u64;
        Ok(got)
    }
}
