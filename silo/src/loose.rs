//! Loose blobs: `objects/ab/<38 hex>.gz`, the gzip of the raw content.
//!
//! The blob's size goes into the gzip header as an extra field (`tS`, eight
//! bytes little-endian) so that a reader can hash while it inflates (a git
//! id starts with the size). Any gzip tool reads these files; a loose file
//! written by another tool, without the field, costs a second pass.

use std::fs;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use flate2::{Compression, GzBuilder};
use trees_pack::ObjectId;
use trees_pack::id::{HashError, Hasher, Kind};

/// Bytes moved per read while streaming.
const BUF: usize = 1 << 20;
/// gzip level of loose objects: they are short-lived (repack packs them),
/// so speed beats the last percent of size.
const LEVEL: u32 = 6;

/// Why a loose object cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The content does not hash to the object's name.
    #[error("loose object {path} is corrupt: its content hashes to {actual}, not {expected}")]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// Its name.
        expected: ObjectId,
        /// The content's id.
        actual: ObjectId,
    },
    /// The gzip stream is corrupt or inflates to another size than recorded.
    #[error("loose object {path} ({id}) is corrupt: {what}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Its name.
        id: ObjectId,
        /// What is wrong.
        what: String,
    },
    /// The input changed while it was being added.
    #[error("{path} changed while it was being added (first {first}, then {second})")]
    Changed {
        /// The input file.
        path: PathBuf,
        /// Id of the first read.
        first: ObjectId,
        /// Id of the second read.
        second: ObjectId,
    },
    /// Writing the content to the output failed (a closed pipe, a full disk).
    #[error("cannot write the content of {id}")]
    Output {
        /// The object.
        id: ObjectId,
        /// The cause.
        source: io::Error,
    },
    /// Hashing refused the content.
    #[error("{path}: {source}")]
    Hash {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: HashError,
    },
}

fn io_err(path: &Path) -> impl Fn(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// The blob id of the file at `path`, streaming; with its size.
pub fn hash_file(path: &Path) -> Result<(ObjectId, u64), Error> {
    let mut f = fs::File::open(path).map_err(io_err(path))?;
    let size = f.metadata().map_err(io_err(path))?.len();
    let mut h = Hasher::new(Kind::Blob, size);
    let mut buf = vec![0u8; BUF];
    loop {
        let n = f.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let id = h.finish().map_err(|source| Error::Hash {
        path: path.to_owned(),
        source,
    })?;
    Ok((id, size))
}

/// Compresses `src` (of `size` bytes) into `dst`, re-hashing as it goes;
/// returns the id of what was read.
pub(crate) fn write_gzip(
    src: &Path,
    size: u64,
    dst: &mut fs::File,
    dst_path: &Path,
) -> Result<ObjectId, Error> {
    let mut f = fs::File::open(src).map_err(io_err(src))?;
    let mut extra = b"tS\x08\x00".to_vec();
    extra.extend_from_slice(&size.to_le_bytes());
    let mut gz = GzBuilder::new().extra(extra).write(
        io::BufWriter::with_capacity(BUF, dst),
        Compression::new(LEVEL),
    );
    let mut h = Hasher::new(Kind::Blob, size);
    let mut buf = vec![0u8; BUF];
    loop {
        let n = f.read(&mut buf).map_err(io_err(src))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        gz.write_all(&buf[..n]).map_err(io_err(dst_path))?;
    }
    let w = gz.finish().map_err(io_err(dst_path))?;
    w.into_inner()
        .map_err(|e| io_err(dst_path)(e.into_error()))?;
    h.finish().map_err(|source| Error::Hash {
        path: src.to_owned(),
        source,
    })
}

/// Opens the loose object at `path`, or `None` if there is none: a file
/// that a repack or gc removed between a listing and this open is a miss,
/// not an error. Everything after reads the handle, never the path again,
/// so the object stays readable even if it is removed while it is read.
pub(crate) fn open(path: &Path) -> Result<Option<fs::File>, Error> {
    match fs::File::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// The size recorded in our gzip extra field, if the file has one.
pub(crate) fn recorded_size(path: &Path) -> Result<Option<u64>, Error> {
    let f = fs::File::open(path).map_err(io_err(path))?;
    recorded_size_of(&f, path)
}

/// [`recorded_size`] of an open loose file (read from its start).
pub(crate) fn recorded_size_of(mut f: &fs::File, path: &Path) -> Result<Option<u64>, Error> {
    let mut head = [0u8; 24];
    f.seek(SeekFrom::Start(0)).map_err(io_err(path))?;
    let mut got = 0;
    while got < head.len() {
        let n = f.read(&mut head[got..]).map_err(io_err(path))?;
        if n == 0 {
            return Ok(None);
        }
        got += n;
    }
    // Ours: 1f 8b 08 FLG(FEXTRA) MTIME(4) XFL OS | XLEN(2)=12 | "tS" LEN(2)=8 | size(8),
    // 24 bytes; a header with more in it (a file name) is not ours.
    let Ok(header) = trees_split::gzip::parse(&head) else {
        return Ok(None);
    };
    Ok(header
        .subfield(*b"tS")
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map(u64::from_le_bytes))
}

/// The size of the open loose object `id`: the recorded one, or (for a
/// file written by another tool) its inflated length.
pub(crate) fn size_of(f: &fs::File, path: &Path, id: &ObjectId) -> Result<u64, Error> {
    match recorded_size_of(f, path)? {
        Some(n) => Ok(n),
        None => read_file(f, path, id, &mut io::sink()),
    }
}

/// Streams the loose object `id` at `path` into `out`, checking its id.
/// On a corrupt object the error comes after some bytes were written:
/// callers that must not see bad bytes read into a buffer first.
pub fn read(path: &Path, id: &ObjectId, out: &mut dyn Write) -> Result<u64, Error> {
    let f = fs::File::open(path).map_err(io_err(path))?;
    read_file(&f, path, id, out)
}

/// [`read`] of a loose file already open (`path` names it in errors).
pub(crate) fn read_file(
    f: &fs::File,
    path: &Path,
    id: &ObjectId,
    out: &mut dyn Write,
) -> Result<u64, Error> {
    let corrupt = |what: String| Error::Corrupt {
        path: path.to_owned(),
        id: *id,
        what,
    };
    let fail = |e: Side| match e {
        Side::Input(e) => corrupt(e.to_string()),
        Side::Output(source) => Error::Output { id: *id, source },
    };
    let size = match recorded_size_of(f, path)? {
        Some(s) => s,
        None => copy_inflated(f, &mut io::sink(), None).map_err(fail)?.0,
    };
    let (n, h) = copy_inflated(f, out, Some(Hasher::new(Kind::Blob, size))).map_err(fail)?;
    if n != size {
        return Err(corrupt(format!(
            "inflates to {n} bytes, its header records {size}"
        )));
    }
    let actual = h
        .expect("a hasher was given")
        .finish()
        .map_err(|e| corrupt(e.to_string()))?;
    if actual != *id {
        return Err(Error::Mismatch {
            path: path.to_owned(),
            expected: *id,
            actual,
        });
    }
    Ok(n)
}

/// Which side of a copy failed.
enum Side {
    Input(io::Error),
    Output(io::Error),
}

/// Inflates the whole of `file`, from its start, into `out`.
fn copy_inflated(
    mut file: &fs::File,
    out: &mut dyn Write,
    mut h: Option<Hasher>,
) -> Result<(u64, Option<Hasher>), Side> {
    file.seek(SeekFrom::Start(0)).map_err(Side::Input)?;
    let mut z = GzDecoder::new(BufReader::with_capacity(BUF, file));
    let mut buf = vec![0u8; BUF];
    let mut n = 0u64;
    loop {
        let got = z.read(&mut buf).map_err(Side::Input)?;
        if got == 0 {
            return Ok((n, h));
        }
        n += got as u64;
        if let Some(h) = h.as_mut() {
            h.update(&buf[..got]);
        }
        out.write_all(&buf[..got]).map_err(Side::Output)?;
    }
}
