//! Objects too large to hold in memory: inflated once into a private file
//! in `tmp/` and mapped one window at a time.
//!
//! A repack holds each object's bytes from reading to writing. Past the
//! `large` threshold (an eighth of `--memory`), an object is inflated into
//! a temporary file instead ([`Data::Spilled`]), fingerprinted through a
//! reading window, diffed with [`trees_delta::delta_windowed`], compressed
//! as it streams into the pack, and read back by streaming its entry
//! through the pack's delta chain ([`trees_pack::Bundle::stream_at`]). Resident memory then
//! follows the windows and the delta tables, not the objects' sizes; the
//! page cache does the rest.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use tempfile::NamedTempFile;
use trees_delta::chunk::Params;
use trees_delta::{Fingerprint, Windows};
use trees_pack::mmap::Region;

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
    /// Its loose copy's deflate stream, if it can be the pack entry as is.
    pub(crate) reuse: Option<super::reuse::Reuse>,
}

/// Writes the whole spilled object `data` (`id`) to the pack: its loose
/// deflate stream as is where it has one, else compressed as it streams
/// (zlib 6, git's level, or `level` if lower: a stream of gigabytes at 9
/// costs minutes for a percent).
pub(crate) fn write_whole<W: std::io::Write>(
    w: &mut trees_pack::data::Writer<W>,
    id: trees_pack::ObjectId,
    data: &Data,
    level: u8,
) -> Result<u64, super::Error> {
    let io = |source| super::Error::Large {
        what: "read",
        id,
        source,
    };
    if let Data::Spilled(s) = data
        && let Some(r) = &s.reuse
    {
        let mut input = r.reader().map_err(io)?;
        return Ok(w.write_deflate(
            id,
            trees_pack::Kind::Blob,
            s.size,
            &mut input,
            r.len,
            r.adler,
        )?);
    }
    let mut r = data.reader().map_err(io)?;
    Ok(w.write_streamed(id, trees_pack::Kind::Blob, data.len(), &mut r, level.min(6))?)
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
    id: trees_pack::ObjectId,
    base: &Data,
    base_fp: &Fingerprint,
    target: &Data,
    target_fp: &Fingerprint,
    limit: usize,
) -> Result<Option<Vec<u8>>, super::Error> {
    match (base, target) {
        (Data::Mem(b), Data::Mem(t)) => Ok(trees_delta::delta(b, base_fp, t, target_fp, limit)?),
        _ => trees_delta::delta_windowed(base, base_fp, target, target_fp, limit, DELTA_WINDOW)
            .map_err(|source| super::Error::Windowed { id, source }),
    }
}

/// Streams the packed object at `offset` of `bundle` into a private file in
/// `tmp/`, hashing it on the way: it must be the blob `id`.
pub(crate) fn from_pack(
    silo: &crate::Silo,
    bundle: &trees_pack::Bundle,
    offset: u64,
    id: &trees_pack::ObjectId,
) -> Result<Spill, super::Error> {
    let pack_err = |source| crate::store::ReadError::Pack { id: *id, source };
    let tmp = silo.tmp_dir();
    let mut file = silo.temp_file(".raw").map_err(super::io_at(&tmp))?;
    let path = file.path().to_owned();
    let size = bundle.object_size_at(offset).map_err(pack_err)?;
    let hasher = {
        let mut w = HashWriter {
            out: std::io::BufWriter::with_capacity(1 << 20, file.as_file_mut()),
            hasher: trees_pack::id::Hasher::new(trees_pack::id::Kind::Blob, size),
        };
        bundle.stream_at(offset, &mut w, &tmp).map_err(pack_err)?;
        std::io::Write::flush(&mut w.out).map_err(super::io_at(&path))?;
        w.hasher
    };
    let actual = hasher.finish();
    if actual.as_ref().ok() != Some(id) {
        return Err(crate::store::ReadError::PackedMismatch {
            id: *id,
            pack: bundle.pack.path().to_owned(),
            actual: actual.map_or_else(|e| e.to_string(), |a| a.to_string()),
        }
        .into());
    }
    Ok(Spill {
        file,
        size,
        reuse: None,
    })
}

/// Writes through and hashes what was written.
struct HashWriter<W: std::io::Write> {
    out: W,
    hasher: trees_pack::id::Hasher,
}

impl<W: std::io::Write> std::io::Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}
