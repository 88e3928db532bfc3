//! A Debian package's data: the `data.tar.*` member of its `ar` archive,
//! decompressed as its name says (`.xz`, `.zst`, `.gz`, or none), read as
//! a stream. Everything about the archive is hostile: member sizes are
//! parsed strictly, the decoders are bounded (xz at 1 GiB of memory, zstd
//! at a 128 MiB window), and any fault comes out as a read error that the
//! untar reports with the treeptr.

use std::io::{self, BufReader, Read};

use trees_split::ar::{HEADER, MAGIC};

/// Most memory the xz decoder of a member may use.
const XZ_MEMLIMIT: u64 = 1 << 30;

/// The decompressed `data.tar` of the package `r` reads, or a reader that
/// fails with why there is none.
pub fn data_tar<R: Read + 'static>(r: R) -> Box<dyn Read> {
    match find(r) {
        Ok(d) => d,
        Err(e) => Box::new(Fail(Some(e))),
    }
}

/// As [`decoder`], or a reader that fails with why not.
pub fn decoded<R: Read + 'static>(name: &[u8], r: R) -> Box<dyn Read> {
    decoder(name, r).unwrap_or_else(|e| Box::new(Fail(Some(e))))
}

/// Reads the member named by its compression: a reader of its plain tar.
pub fn decoder<R: Read + 'static>(name: &[u8], r: R) -> io::Result<Box<dyn Read>> {
    Ok(if name.ends_with(b".xz") {
        Box::new(trees_split::xz::reader(BufReader::new(r), XZ_MEMLIMIT)?)
    } else if name.ends_with(b".zst") {
        Box::new(trees_split::zstd::Decoder::new(BufReader::new(r)))
    } else if name.ends_with(b".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(r)))
    } else if name.ends_with(b".tar") {
        Box::new(BufReader::new(r))
    } else {
        return Err(io::Error::other(format!(
            "the package's data member {:?} is compressed in a way medo does not read",
            String::from_utf8_lossy(name)
        )));
    })
}

fn find<R: Read + 'static>(mut r: R) -> io::Result<Box<dyn Read>> {
    let bad =
        |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("not a .deb: {what}"));
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic).map_err(|_| bad("no ar header"))?;
    if &magic != MAGIC {
        return Err(bad("no ar header"));
    }
    loop {
        let mut h = [0u8; HEADER];
        match r.read_exact(&mut h) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(bad("it has no data.tar member"));
            }
            Err(e) => return Err(e),
        }
        if &h[58..60] != b"`\n" {
            return Err(bad("a damaged member header"));
        }
        let size: u64 = std::str::from_utf8(&h[48..58])
            .ok()
            .map(str::trim_end)
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("a member size that is not a number"))?;
        let end = h[..16]
            .iter()
            .rposition(|&b| b != b' ')
            .map_or(0, |p| p + 1);
        let name = h[..end].strip_suffix(b"/").unwrap_or(&h[..end]).to_vec();
        if name.starts_with(b"data.tar") {
            return decoder(&name, r.take(size));
        }
        let skip = size + size % 2;
        if io::copy(&mut (&mut r).take(skip), &mut io::sink())? != skip {
            return Err(bad("truncated"));
        }
    }
}

/// A reader that fails once with the error it holds.
struct Fail(Option<io::Error>);

impl Read for Fail {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(self
            .0
            .take()
            .unwrap_or_else(|| io::Error::other("not a .deb")))
    }
}
