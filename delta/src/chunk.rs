//! Fingerprints: a blob cut into content-defined chunks, each hashed.
//!
//! FastCDC (the 2020 variant, normalization level 1) puts cut points where
//! the content says, not at fixed offsets, so an insertion early in a file
//! shifts the chunks after it without changing them: two releases of a tree
//! share most of their chunk hashes. A chunk hash is xxh3-64 of the chunk:
//! plenty to *find* related content (every match is verified byte by byte
//! before it is used); ids stay SHA-1.

use serde::Serialize;

/// The hash of one chunk's bytes (xxh3-64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ChunkHash(pub u64);

/// One chunk of a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    /// Hash of its bytes.
    pub hash: ChunkHash,
    /// Offset in the blob.
    pub offset: u64,
    /// Length in bytes.
    pub len: u32,
}

/// Chunk size bounds, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// No chunk is shorter (but the last).
    pub min: u32,
    /// The mean the cut-point mask aims at.
    pub avg: u32,
    /// No chunk is longer.
    pub max: u32,
    /// Cut at every member of a tar, too (see [`tar_members`]).
    pub tar_aware: bool,
}

impl Default for Params {
    /// 1 KiB / 4 KiB / 32 KiB: a source file edit touches one or two chunks,
    /// and a 100 MB tar costs about 25,000 chunks (400 KB of fingerprint).
    fn default() -> Self {
        Params {
            min: 1 << 10,
            avg: 4 << 10,
            max: 32 << 10,
            tar_aware: true,
        }
    }
}

/// A blob's chunks, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprint {
    /// Size of the blob.
    pub size: u64,
    /// Its chunks, covering it exactly.
    pub chunks: Vec<Chunk>,
}

/// Cuts `data` into chunks and hashes each.
///
/// If `p.tar_aware` and `data` is a tar, every member (header and content)
/// is chunked on its own. Why: a tree has many files smaller than a chunk,
/// and plain chunks straddle them, so one edited file spoils the chunks of
/// its neighbours; with cuts at members, an edit spoils only its own file.
pub fn fingerprint(data: &[u8], p: &Params) -> Fingerprint {
    let mut chunks = Vec::with_capacity(data.len() / p.avg.max(1) as usize + 1);
    let regions = if p.tar_aware {
        tar_members(data)
    } else {
        Vec::new()
    };
    let mut start = 0usize;
    for end in regions.into_iter().chain([data.len()]) {
        if end > start {
            cut(data, start, end, p, &mut chunks);
            start = end;
        }
    }
    Fingerprint {
        size: data.len() as u64,
        chunks,
    }
}

/// Bytes of a large blob held at once by [`fingerprint_at`].
pub const WINDOW: usize = 64 << 20;

/// [`fingerprint`] of a blob of `size` bytes too large to hold in memory,
/// read through `read_at(offset, buf)` (which fills `buf` exactly) one
/// window of [`WINDOW`] bytes at a time. The chunks are the same as
/// [`fingerprint`]'s: a cut point depends only on the bytes since the
/// chunk's start, so each window's last chunk, which the window may have
/// cut short, is dropped and read again at the start of the next.
pub fn fingerprint_at(
    read_at: &mut dyn FnMut(u64, &mut [u8]) -> std::io::Result<()>,
    size: u64,
    p: &Params,
) -> std::io::Result<Fingerprint> {
    let mut chunks = Vec::new();
    let regions = if p.tar_aware {
        tar_members_at(read_at, size)?
    } else {
        Vec::new()
    };
    let mut buf = Vec::new();
    let mut start = 0u64;
    for end in regions.into_iter().chain([size]) {
        while start < end {
            let win_end = end.min(start + WINDOW as u64);
            let len = (win_end - start) as usize;
            buf.resize(len, 0);
            read_at(start, &mut buf)?;
            let first = chunks.len();
            cut(&buf, 0, len, p, &mut chunks);
            for c in &mut chunks[first..] {
                c.offset += start;
            }
            if win_end < end && chunks.len() > first + 1 {
                let last = chunks.pop().expect("more than one chunk");
                start = last.offset;
            } else {
                start = win_end;
            }
        }
    }
    Ok(Fingerprint { size, chunks })
}

/// [`tar_members`] through `read_at`, one header at a time.
fn tar_members_at(
    read_at: &mut dyn FnMut(u64, &mut [u8]) -> std::io::Result<()>,
    size: u64,
) -> std::io::Result<Vec<u64>> {
    let mut ends = Vec::new();
    let mut at = 0u64;
    let mut h = [0u8; 512];
    while at + 512 <= size {
        read_at(at, &mut h)?;
        match member_end(&h, at as usize) {
            Some(next) if (next as u64) <= size => {
                ends.push(next as u64);
                at = next as u64;
            }
            _ => break,
        }
    }
    Ok(ends)
}

/// Where the member whose header `h` is at `at` ends, if `h` is a sound
/// ustar header.
fn member_end(h: &[u8], at: usize) -> Option<usize> {
    const BLOCK: usize = 512;
    if h.len() < BLOCK || &h[257..262] != b"ustar" {
        return None;
    }
    // Size: 11 octal digits (GNU's base-256 form for huge members is
    // not parsed: such a member ends the walk).
    let field = &h[124..136];
    let digits: Vec<u8> = field
        .iter()
        .copied()
        .filter(|b| (b'0'..=b'7').contains(b))
        .collect();
    if field[0] & 0x80 != 0 || digits.is_empty() {
        return None;
    }
    let size = digits.iter().try_fold(0u64, |v, d| {
        v.checked_mul(8)?.checked_add(u64::from(d - b'0'))
    })?;
    usize::try_from(size)
        .ok()
        .and_then(|s| s.checked_add(BLOCK - 1))
        .map(|s| s / BLOCK * BLOCK)
        .and_then(|s| (at + BLOCK).checked_add(s))
}

fn cut(data: &[u8], start: usize, end: usize, p: &Params, out: &mut Vec<Chunk>) {
    let region = &data[start..end];
    if region.len() <= p.min as usize {
        out.push(Chunk {
            hash: ChunkHash(xxhash_rust::xxh3::xxh3_64(region)),
            offset: start as u64,
            len: region.len() as u32, // <= p.min
        });
        return;
    }
    let cdc = fastcdc::v2020::FastCDC::with_level(
        region,
        p.min as usize,
        p.avg as usize,
        p.max as usize,
        fastcdc::v2020::Normalization::Level1,
    );
    out.extend(cdc.map(|c| Chunk {
        hash: ChunkHash(xxhash_rust::xxh3::xxh3_64(
            &region[c.offset..c.offset + c.length],
        )),
        offset: (start + c.offset) as u64,
        len: c.length as u32, // at most p.max
    }));
}

/// The offsets where the members of a tar end, if `data` is a ustar or GNU
/// tar; empty otherwise. The input is untrusted: parsing stops at the first
/// header that does not make sense, and the rest is chunked as plain data.
pub fn tar_members(data: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut at = 0usize;
    while let Some(h) = data.get(at..at + 512) {
        match member_end(h, at) {
            Some(next) if next <= data.len() => {
                ends.push(next);
                at = next;
            }
            _ => break,
        }
    }
    ends
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_blob_and_survive_an_insertion() {
        let a = trees_testdata::random_bytes(1, 200_000);
        let mut b = a.clone();
        b.splice(1000..1000, b"inserted text".iter().copied());
        let (fa, fb) = (
            fingerprint(&a, &Params::default()),
            fingerprint(&b, &Params::default()),
        );
        let covered: u64 = fa.chunks.iter().map(|c| u64::from(c.len)).sum();
        assert_eq!(covered, a.len() as u64);
        assert!(
            fa.chunks
                .windows(2)
                .all(|w| w[0].offset + u64::from(w[0].len) == w[1].offset)
        );
        let ha: std::collections::HashSet<_> = fa.chunks.iter().map(|c| c.hash).collect();
        let shared = fb.chunks.iter().filter(|c| ha.contains(&c.hash)).count();
        assert!(
            shared + 2 >= fb.chunks.len(),
            "{shared} of {} chunks shared",
            fb.chunks.len()
        );
    }

    #[test]
    fn tar_members_are_found_and_garbage_is_survived() {
        let rel = trees_testdata::series("t", &trees_testdata::Options::small(3));
        let tar = &rel[0].tar;
        let ends = tar_members(tar);
        assert!(ends.len() > 40, "{} members", ends.len());
        assert!(ends.windows(2).all(|w| w[0] < w[1]) && *ends.last().unwrap() <= tar.len());
        let fp = fingerprint(tar, &Params::default());
        let covered: u64 = fp.chunks.iter().map(|c| u64::from(c.len)).sum();
        assert_eq!(covered, tar.len() as u64);
        // A size field claiming more than the data: the walk stops there.
        let mut bad = tar.clone();
        bad[124..135].copy_from_slice(b"77777777777");
        assert!(tar_members(&bad).is_empty());
        assert!(tar_members(b"not a tar").is_empty());
        assert!(tar_members(&tar[..600]).is_empty());
    }

    #[test]
    fn windows_give_the_same_chunks_as_the_whole() {
        let rel = trees_testdata::series("w", &trees_testdata::Options::small(5));
        let mut data = rel[0].tar.clone();
        data.extend(trees_testdata::random_bytes(4, 3 * WINDOW / 2));
        for p in [
            Params::default(),
            Params {
                tar_aware: false,
                ..Params::default()
            },
        ] {
            let whole = fingerprint(&data, &p);
            let mut read = |at: u64, buf: &mut [u8]| {
                buf.copy_from_slice(&data[at as usize..at as usize + buf.len()]);
                Ok(())
            };
            let windowed = fingerprint_at(&mut read, data.len() as u64, &p).unwrap();
            assert_eq!(windowed, whole);
        }
    }

    #[test]
    fn empty_blob_has_no_chunks() {
        assert!(fingerprint(&[], &Params::default()).chunks.is_empty());
    }
}
