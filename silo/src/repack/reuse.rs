//! Reusing a loose object's deflate stream as its pack entry.
//!
//! A loose object is one gzip member and a pack entry one zlib stream: both
//! wrap raw deflate data, with different headers and checksums (gzip ends
//! in a CRC32 and the size, zlib in an Adler-32). git packs loose objects
//! without recompressing them for the same reason: for a blob of gigabytes,
//! recompression is most of a repack's time.
//!
//! [`inflate`] inflates the gzip member itself, as raw deflate, so that it
//! knows exactly where the deflate data ends; it checks the gzip trailer,
//! the size and the id on the way. Only a file that is exactly one member,
//! with nothing after it, has its stream reused ([`Reuse`]); anything else
//! (no size field, another member, trailing bytes, damage) gets `None`,
//! and the caller inflates it the ordinary way, which names any damage.
//! The new pack is read back and checked against every id before anything
//! is removed, as always.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use trees_pack::ObjectId;
use trees_pack::id::{Hasher, Kind};

/// The deflate data of a loose object, ready to be wrapped as zlib.
pub(crate) struct Reuse {
    /// The loose file, open (it stays readable if the path goes away).
    pub(crate) file: File,
    /// Where the deflate data starts.
    pub(crate) start: u64,
    /// Its length.
    pub(crate) len: u64,
    /// Adler-32 of the inflated object: the zlib trailer.
    pub(crate) adler: u32,
}

impl Reuse {
    /// A reader of exactly the deflate data.
    pub(crate) fn reader(&self) -> std::io::Result<impl Read + use<>> {
        let mut f = self.file.try_clone()?;
        f.seek(SeekFrom::Start(self.start))?;
        Ok(BufReader::with_capacity(1 << 20, f).take(self.len))
    }
}

/// Longest gzip header handled (file name and comment included).
const MAX_HEADER: usize = trees_split::gzip::MAX_HEADER;

/// Where the deflate data starts in the gzip file whose first bytes are
/// `h`, and the size from our `tS` extra field; `None` for anything else.
fn parse_header(h: &[u8]) -> Option<(usize, u64)> {
    let header = trees_split::gzip::parse(h).ok()?;
    let size = header.subfield(*b"tS")?;
    Some((header.len, u64::from_le_bytes(size.try_into().ok()?)))
}

/// Inflates the loose object at `path` into `out`, raw, checking that it
/// is exactly one gzip member whose content hashes to `id`. Returns its
/// size and the stream to reuse; `None` if it is anything else, in which
/// case `out` may hold part of it and the caller starts over.
pub(crate) fn inflate(
    path: &Path,
    id: &ObjectId,
    out: &mut dyn Write,
) -> std::io::Result<Option<(u64, Reuse)>> {
    let file = File::open(path)?;
    let file_len = file.metadata()?.len();
    let mut r = BufReader::with_capacity(1 << 20, file.try_clone()?);
    let mut head = vec![0u8; MAX_HEADER.min(file_len as usize)];
    r.read_exact(&mut head)?;
    let Some((start, size)) = parse_header(&head) else {
        return Ok(None);
    };
    r.seek(SeekFrom::Start(start as u64))?;
    let mut z = flate2::Decompress::new(false);
    let mut hasher = Hasher::new(Kind::Blob, size);
    let mut crc = crc32fast::Hasher::new();
    let mut adler = adler2::Adler32::new();
    let mut buf = vec![0u8; 1 << 20];
    let end = loop {
        let input = r.fill_buf()?;
        let before = z.total_in();
        let out_before = z.total_out();
        let status = match z.decompress(input, &mut buf, flate2::FlushDecompress::None) {
            Ok(s) => s,
            Err(_) => return Ok(None),
        };
        let used = (z.total_in() - before) as usize;
        let made = (z.total_out() - out_before) as usize;
        r.consume(used);
        let piece = &buf[..made];
        hasher.update(piece);
        crc.update(piece);
        adler.write_slice(piece);
        out.write_all(piece)?;
        if status == flate2::Status::StreamEnd {
            break start as u64 + z.total_in();
        }
        if used == 0 && made == 0 {
            return Ok(None); // the file ends inside the stream
        }
    };
    let mut trailer = [0u8; 8];
    if file_len != end + 8 || r.read_exact(&mut trailer).is_err() {
        return Ok(None);
    }
    let (want_crc, want_len) = trailer.split_at(4);
    if z.total_out() != size
        || want_crc != crc.finalize().to_le_bytes()
        || want_len != (size as u32).to_le_bytes()
        || hasher.finish().ok() != Some(*id)
    {
        return Ok(None);
    }
    Ok(Some((
        size,
        Reuse {
            file,
            start: start as u64,
            len: end - start as u64,
            adler: adler.checksum(),
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip(data: &[u8], extra_size: bool) -> Vec<u8> {
        let mut b = flate2::GzBuilder::new();
        if extra_size {
            let mut x = b"tS\x08\x00".to_vec();
            x.extend_from_slice(&(data.len() as u64).to_le_bytes());
            b = b.extra(x).filename("name");
        }
        let mut w = b.write(Vec::new(), flate2::Compression::new(6));
        w.write_all(data).unwrap();
        w.finish().unwrap()
    }

    #[test]
    fn a_plain_member_is_reused_and_anything_else_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let data = trees_testdata::series("r", &trees_testdata::Options::small(3))[0]
            .tar
            .clone();
        let id = trees_pack::id::hash_object(Kind::Blob, &data).unwrap();
        let good = gzip(&data, true);
        let p = dir.path().join("x.gz");
        std::fs::write(&p, &good).unwrap();
        let mut out = Vec::new();
        let (size, reuse) = inflate(&p, &id, &mut out).unwrap().unwrap();
        assert_eq!((size, out == data), (data.len() as u64, true));
        // The reused stream, wrapped as zlib, inflates to the object.
        let mut z = vec![0x78, 0x9c];
        reuse.reader().unwrap().read_to_end(&mut z).unwrap();
        z.extend_from_slice(&reuse.adler.to_be_bytes());
        let mut back = Vec::new();
        flate2::read::ZlibDecoder::new(&z[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back == data);

        let refuse = |bytes: &[u8], id: &ObjectId| {
            std::fs::write(&p, bytes).unwrap();
            inflate(&p, id, &mut Vec::new()).unwrap().is_none()
        };
        assert!(refuse(&gzip(&data, false), &id), "no size field");
        let mut two = good.clone();
        two.extend_from_slice(&gzip(b"more", true));
        assert!(refuse(&two, &id), "a second member");
        let mut junk = good.clone();
        junk.push(0);
        assert!(refuse(&junk, &id), "trailing bytes");
        let mut flipped = good.clone();
        let n = flipped.len();
        flipped[n - 6] ^= 1;
        assert!(refuse(&flipped, &id), "bad CRC");
        let other = trees_pack::id::hash_object(Kind::Blob, b"other").unwrap();
        assert!(refuse(&good, &other), "another id");
        assert!(refuse(&good[..good.len() / 2], &id), "cut short");
    }
}
