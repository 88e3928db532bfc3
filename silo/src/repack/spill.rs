//! Objects too large to hold in memory: inflated once into a private file
//! in `tmp/` and mapped one window at a time.
//!
//! A repack holds each object's bytes from reading to writing. Past the
//! `large` threshold (an eighth of `--memory`), an object is inflated into
//! a temporary file instead ([`Data::Spilled`]), fingerprinted through a
//! reading window, diffed with [`trees_delta::delta_windowed`], compressed
//! as it streams into the pack, and read back by streaming its entry
//! through the pack's delta chain ([`hash_entry`]). Resident memory then
//! follows the windows and the delta tables, not the objects' sizes; the
//! page cache does the rest.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use tempfile::NamedTempFile;
use trees_delta::chunk::Params;
use trees_delta::{Fingerprint, Windows};
use trees_pack::data::Type;
use trees_pack::id::{Hasher, Kind};
use trees_pack::mmap::Region;
use trees_pack::{Bundle, ObjectId};

/// Bytes of the target diffed per window.
pub(crate) const DELTA_WINDOW: usize = 256 << 20;

/// An object's bytes.
#[derive(Clone)]
pub(crate) enum Data {
    /// In memory.
    Mem(Arc<Vec<u8>>),
    /// In a private temporary file.
    Spilled(Arc<Spill>),
}

/// A private temporary file holding one object, deleted when dropped.
pub(crate) struct Spill {
    pub(crate) file: NamedTempFile,
    pub(crate) size: u64,
}

impl Data {
    pub(crate) fn len(&self) -> u64 {
        match self {
            Data::Mem(v) => v.len() as u64,
            Data::Spilled(s) => s.size,
        }
    }

    /// The object's chunks.
    pub(crate) fn fingerprint(&self, params: &Params) -> std::io::Result<Fingerprint> {
        match self {
            Data::Mem(v) => Ok(trees_delta::chunk::fingerprint(v, params)),
            Data::Spilled(s) => {
                let f = s.file.as_file();
                trees_delta::chunk::fingerprint_at(
                    &mut |at, buf| f.read_exact_at(buf, at),
                    s.size,
                    params,
                )
            }
        }
    }

    /// A reader of the whole object.
    pub(crate) fn reader(&self) -> std::io::Result<Box<dyn Read + Send + '_>> {
        Ok(match self {
            Data::Mem(v) => Box::new(v.as_slice()),
            Data::Spilled(s) => {
                let mut f = s.file.reopen()?;
                f.seek(SeekFrom::Start(0))?;
                Box::new(std::io::BufReader::with_capacity(1 << 20, f))
            }
        })
    }
}

/// A window of an object's bytes, in memory or mapped.
pub(crate) enum Window {
    Mem(Arc<Vec<u8>>, usize, usize),
    Mapped(Region),
}

impl std::ops::Deref for Window {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Window::Mem(v, s, l) => &v[*s..*s + *l],
            Window::Mapped(r) => r,
        }
    }
}

impl Windows for Data {
    type Window = Window;
    fn size(&self) -> u64 {
        self.len()
    }
    fn window(&self, start: u64, len: usize) -> std::io::Result<Window> {
        match self {
            Data::Mem(v) => {
                let s = usize::try_from(start).unwrap_or(usize::MAX);
                if s.checked_add(len).is_none_or(|e| e > v.len()) {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "window past the end of the object",
                    ));
                }
                Ok(Window::Mem(v.clone(), s, len))
            }
            Data::Spilled(sp) => Ok(Window::Mapped(Region::map(sp.file.as_file(), start, len)?)),
        }
    }
}

/// The delta of `target` against `base`, by windows if either is spilled.
pub(crate) fn delta(
    base: &Data,
    base_fp: &Fingerprint,
    target: &Data,
    target_fp: &Fingerprint,
    limit: usize,
) -> Result<Option<Vec<u8>>, super::Error> {
    match (base, target) {
        (Data::Mem(b), Data::Mem(t)) => Ok(trees_delta::delta(b, base_fp, t, target_fp, limit)?),
        _ => trees_delta::delta_windowed(base, base_fp, target, target_fp, limit, DELTA_WINDOW)
            .map_err(|e| super::Error::Large(e.to_string())),
    }
}

/// Why a streamed read failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StreamError {
    #[error(transparent)]
    Pack(#[from] trees_pack::bundle::Error),
    #[error(transparent)]
    Data(#[from] trees_pack::data::file::Error),
    #[error(transparent)]
    Delta(#[from] trees_pack::delta::apply::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("inflates to {actual} bytes, its header says {expected}")]
    Size { expected: u64, actual: u64 },
    #[error("a delta chain longer than {} entries", trees_pack::bundle::MAX_CHAIN)]
    Chain,
    #[error("REF_DELTA base {0} is not in the pack")]
    BaseMissing(ObjectId),
    #[error("{0}")]
    Hash(String),
}

/// Streams the object whose entry is at `offset` into `out`, without
/// holding it: a whole entry inflates straight from the pack file; a delta
/// chain is rebuilt base first, each intermediate object into a private
/// file in `tmp`, and the last straight into `out`. Returns its size.
pub(crate) fn stream_entry(
    bundle: &Bundle,
    offset: u64,
    out: &mut dyn std::io::Write,
    tmp: &std::path::Path,
) -> Result<u64, StreamError> {
    let mut chain = Vec::new();
    let mut cur = offset;
    let whole = loop {
        let h = bundle.pack.header(cur)?;
        match h.kind {
            Type::Whole(_) => break (cur, h),
            Type::OfsDelta { distance } => {
                chain.push((cur, h));
                cur -= distance;
            }
            Type::RefDelta { base } => {
                chain.push((cur, h));
                cur = bundle.find(&base)?.ok_or(StreamError::BaseMissing(base))?;
            }
        }
        if chain.len() > trees_pack::bundle::MAX_CHAIN {
            return Err(StreamError::Chain);
        }
    };
    let inflate_whole = |out: &mut dyn std::io::Write| -> Result<u64, StreamError> {
        let (at, h) = &whole;
        let file = std::fs::File::open(bundle.pack.path())?;
        let start = at + h.len as u64;
        let reader = PositionedReader {
            file: &file,
            at: start,
            end: bundle.pack.entries_end(),
        };
        let mut z =
            flate2::read::ZlibDecoder::new(std::io::BufReader::with_capacity(1 << 20, reader));
        let n = std::io::copy(&mut (&mut z).take(h.size), out)?;
        if n != h.size {
            return Err(StreamError::Size {
                expected: h.size,
                actual: n,
            });
        }
        Ok(n)
    };
    if chain.is_empty() {
        return inflate_whole(out);
    }
    let mut base = tempfile::NamedTempFile::new_in(tmp)?;
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, base.as_file_mut());
        inflate_whole(&mut w)?;
        std::io::Write::flush(&mut w)?;
    }
    let limit = trees_pack::delta::apply::DEFAULT_RESULT_LIMIT;
    for (k, (off, h)) in chain.iter().rev().enumerate() {
        let (d, _) = bundle.pack.inflate(*off, h)?;
        let len = base.as_file().metadata()?.len();
        let map = Region::map(
            base.as_file(),
            0,
            usize::try_from(len).map_err(|_| StreamError::Chain)?,
        )?;
        if k + 1 == chain.len() {
            return Ok(trees_pack::delta::apply::apply_to(&map, &d, out, limit)?);
        }
        let mut next = tempfile::NamedTempFile::new_in(tmp)?;
        {
            let mut w = std::io::BufWriter::with_capacity(1 << 20, next.as_file_mut());
            trees_pack::delta::apply::apply_to(&map, &d, &mut w, limit)?;
            std::io::Write::flush(&mut w)?;
        }
        drop(map);
        base = next;
    }
    unreachable!("the loop returns at the last link of a non-empty chain")
}

/// The blob id of the object whose entry is at `offset`, streamed.
pub(crate) fn hash_entry(
    bundle: &Bundle,
    offset: u64,
    size: u64,
    tmp: &std::path::Path,
) -> Result<ObjectId, StreamError> {
    let mut h = HashWriter(Hasher::new(Kind::Blob, size), 0);
    let n = stream_entry(bundle, offset, &mut h, tmp)?;
    if n != size || h.1 != size {
        return Err(StreamError::Size {
            expected: size,
            actual: n,
        });
    }
    h.0.finish().map_err(|e| StreamError::Hash(e.to_string()))
}

struct HashWriter(Hasher, u64);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        self.1 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reads a file from `at` to `end` with positioned reads.
struct PositionedReader<'a> {
    file: &'a std::fs::File,
    at: u64,
    end: u64,
}

impl Read for PositionedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.end.saturating_sub(self.at);
        let n = (buf.len() as u64).min(left) as usize;
        if n == 0 {
            return Ok(0);
        }
        let got = self.file.read_at(&mut buf[..n], self.at)?;
        self.at += got as u64;
        Ok(got)
    }
}
