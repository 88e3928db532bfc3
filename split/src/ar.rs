//! The `ar` archive framing (what a `.deb` is), parsed byte for byte.
//!
//! ```text
//! "!<arch>\n"                         global header, 8 bytes
//! per member:
//!   name 16, mtime 12, uid 6, gid 6, mode 8, size 10 (decimal, space-padded),
//!   "`\n"                             a 60-byte header, all ASCII
//!   size bytes of data
//!   "\n" if size is odd               padding to an even offset
//! ```
//!
//! dpkg writes `debian-binary`, `control.tar.*` and `data.tar.*` in that
//! order. We keep every header and pad byte as found (they are framing
//! bytes of the recipe), so GNU and BSD name tables and any other member
//! need nothing special: they are data.

/// The global header.
pub const MAGIC: &[u8; 8] = b"!<arch>\n";
/// A member header's length.
pub const HEADER: usize = 60;

/// One member of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member<'a> {
    /// Its 60-byte header.
    pub header: &'a [u8],
    /// The name field, trimmed of spaces.
    pub name: &'a [u8],
    /// Its data.
    pub data: &'a [u8],
    /// The pad byte after odd-sized data, as found (empty after even).
    pub pad: &'a [u8],
}

/// Why bytes are not an `ar` archive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No global header.
    #[error("not an ar archive (no \"!<arch>\" header)")]
    Magic,
    /// A member header is damaged or the archive ends inside a member.
    #[error("ar member {index} at byte {at}: {what}")]
    Member {
        /// Which member, from 0.
        index: usize,
        /// Where its header starts.
        at: usize,
        /// What is wrong.
        what: &'static str,
    },
}

/// Parses an archive: every member, in order. Bytes after the last whole
/// member are an error (a truncated archive).
pub fn parse(x: &[u8]) -> Result<Vec<Member<'_>>, Error> {
    if !x.starts_with(MAGIC) {
        return Err(Error::Magic);
    }
    let mut at = MAGIC.len();
    let mut out = Vec::new();
    while at < x.len() {
        let index = out.len();
        let err = |what| Error::Member { index, at, what };
        let header = x.get(at..at + HEADER).ok_or(err("truncated header"))?;
        if &header[58..60] != b"`\n" {
            return Err(err("no \"`\\n\" at the end of its header"));
        }
        let size = std::str::from_utf8(&header[48..58])
            .ok()
            .map(str::trim_end)
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or(err("its size is not a decimal number"))?;
        let size = usize::try_from(size).map_err(|_| err("its size is too large"))?;
        let start = at + HEADER;
        let end = start
            .checked_add(size)
            .filter(|&e| e <= x.len())
            .ok_or(err("its data runs past the end"))?;
        let pad_end = if size % 2 == 1 && end < x.len() {
            end + 1
        } else {
            end
        };
        let name_end = header[..16]
            .iter()
            .rposition(|&b| b != b' ')
            .map_or(0, |p| p + 1);
        out.push(Member {
            header,
            name: &header[..name_end],
            data: &x[start..end],
            pad: &x[end..pad_end],
        });
        at = pad_end;
    }
    Ok(out)
}

/// A member of an archive stored split, as its recipe tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMember {
    /// The name field, trimmed of spaces.
    pub name: Vec<u8>,
    /// Which content holds its data (`None`: it is in the recipe).
    pub content: Option<usize>,
    /// Whether that content is the member's data decompressed (xz, zstd,
    /// gzip) rather than its bytes as they are.
    pub decoded: bool,
}

/// The members of the archive an `ar` recipe re-makes, in order, read
/// from its framing pieces without re-making anything; `None` if the
/// recipe is not of an archive (or its framing is not one).
pub fn members_of(recipe: &crate::pieces::Recipe) -> Option<Vec<SplitMember>> {
    use crate::pieces::{FORMAT_AR, Piece};
    if recipe.format != FORMAT_AR {
        return None;
    }
    let pieces = &recipe.pieces;
    let (mut i, mut off, mut content) = (0usize, 0usize, 0usize);
    // The next `n` bytes, if they are framing bytes of the current literal.
    let take = |i: &mut usize, off: &mut usize, n: usize| -> Option<Vec<u8>> {
        let Some(Piece::Literal(b)) = pieces.get(*i) else {
            return None;
        };
        let got = b.get(*off..*off + n)?.to_vec();
        *off += n;
        if *off == b.len() {
            *i += 1;
            *off = 0;
        }
        Some(got)
    };
    if take(&mut i, &mut off, MAGIC.len())? != MAGIC {
        return None;
    }
    let mut out = Vec::new();
    while i < pieces.len() {
        let header = take(&mut i, &mut off, HEADER)?;
        let size: usize = std::str::from_utf8(&header[48..58])
            .ok()?
            .trim_end()
            .parse()
            .ok()?;
        let name_end = header[..16]
            .iter()
            .rposition(|&b| b != b' ')
            .map_or(0, |p| p + 1);
        let name = header[..name_end].to_vec();
        let (at, decoded) = match pieces.get(i)? {
            Piece::Literal(_) => {
                take(&mut i, &mut off, size)?;
                (None, false)
            }
            p if p.out_len() == size as u64 => {
                i += 1;
                content += 1;
                (Some(content - 1), !matches!(p, Piece::Stored { .. }))
            }
            _ => return None,
        };
        out.push(SplitMember {
            name,
            content: at,
            decoded,
        });
        if size % 2 == 1 && i < pieces.len() {
            take(&mut i, &mut off, 1)?;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, data: &[u8]) -> Vec<u8> {
        let mut h = format!(
            "{name:<16}{:<12}0     0     100644  {:<10}`\n",
            1_700_000_000,
            data.len()
        )
        .into_bytes();
        h.extend_from_slice(data);
        if data.len() % 2 == 1 {
            h.push(b'\n');
        }
        h
    }

    #[test]
    fn members_of_a_split_archive_are_read_from_its_recipe() {
        use crate::container::{self, InMemory};
        let mut x = MAGIC.to_vec();
        x.extend(member("debian-binary", b"2.0\n"));
        x.extend(member("control.tar", &[7u8; 2001]));
        x.extend(member("data.tar", &[9u8; 3000]));
        let mut c = InMemory::default();
        let r = container::split(&x, &mut c, 1 << 28).unwrap();
        let m = members_of(&r).unwrap();
        let names: Vec<&[u8]> = m.iter().map(|m| &m.name[..]).collect();
        assert_eq!(names, [&b"debian-binary"[..], b"control.tar", b"data.tar"]);
        assert_eq!(m[0].content, None);
        assert_eq!((m[1].content, m[1].decoded), (Some(0), false));
        assert_eq!((m[2].content, m[2].decoded), (Some(1), false));
        assert_eq!(c.0[1], vec![9u8; 3000]);
    }

    #[test]
    fn members_and_padding() {
        let mut x = MAGIC.to_vec();
        x.extend(member("debian-binary", b"2.0\n"));
        x.extend(member("control.tar.xz", b"odd"));
        x.extend(member("data.tar.xz", b"even"));
        let m = parse(&x).unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].name, b"debian-binary");
        assert_eq!(m[1].data, b"odd");
        assert_eq!(m[1].pad, b"\n");
        assert_eq!(m[2].pad, b"");
        let total: usize = 8 + m
            .iter()
            .map(|m| 60 + m.data.len() + m.pad.len())
            .sum::<usize>();
        assert_eq!(total, x.len());
        for cut in 9..x.len() {
            let r = parse(&x[..cut]);
            let whole = [8 + 64, 8 + 64 + 63, 8 + 64 + 64].contains(&cut);
            assert_eq!(r.is_ok(), whole, "cut at {cut}");
        }
        assert_eq!(parse(b"not ar"), Err(Error::Magic));
    }
}
