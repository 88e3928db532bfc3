//! The gzip member header (RFC 1952, section 2.3), parsed byte for byte.
//!
//! ```text
//! +---+---+---+---+---+---+---+---+---+---+
//! |ID1|ID2|CM |FLG|     MTIME     |XFL|OS |   10 bytes, always
//! +---+---+---+---+---+---+---+---+---+---+
//! (if FLG.FEXTRA)   XLEN (2, little-endian), then XLEN bytes of subfields,
//!                   each SI1 SI2 LEN(2) and LEN bytes of data
//! (if FLG.FNAME)    a zero-terminated file name
//! (if FLG.FCOMMENT) a zero-terminated comment
//! (if FLG.FHCRC)    CRC16 of the header (2 bytes)
//! ... deflate data ... CRC32 (4) ISIZE (4)
//! ```
//!
//! A gzip file is one or more such members back to back. This is the one
//! header parser of the workspace: the silo's loose objects (gzip with our
//! `tS` size subfield) and the split of downloaded `.tar.gz` files both
//! use it.

/// The first two bytes of every member.
pub const MAGIC: [u8; 2] = [0x1f, 0x8b];
/// CM: deflate, the only method RFC 1952 defines.
pub const CM_DEFLATE: u8 = 8;
/// FLG bit: a CRC16 of the header follows the other fields.
pub const FHCRC: u8 = 1 << 1;
/// FLG bit: an extra field (XLEN and subfields) follows the fixed part.
pub const FEXTRA: u8 = 1 << 2;
/// FLG bit: a zero-terminated file name follows.
pub const FNAME: u8 = 1 << 3;
/// FLG bit: a zero-terminated comment follows.
pub const FCOMMENT: u8 = 1 << 4;
/// FLG bits RFC 1952 reserves: "must be zero"; a reader must refuse them.
pub const RESERVED: u8 = 0xe0;
/// CRC32 and ISIZE after the deflate data.
pub const TRAILER_LEN: usize = 8;
/// The longest header we accept. RFC 1952 bounds none of the name and
/// comment; 64 KiB is far beyond any real one and bounds what we buffer.
pub const MAX_HEADER: usize = 64 << 10;

/// A parsed member header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    /// Its length in bytes: the deflate data starts here.
    pub len: usize,
    /// FLG.
    pub flags: u8,
    /// The extra field's subfields (without XLEN), if FEXTRA is set.
    pub extra: Option<&'a [u8]>,
}

/// Why bytes are not a gzip member header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The bytes end inside the header: more may make it whole.
    #[error("the gzip header is truncated")]
    Short,
    /// The bytes are not a gzip header (or one no reader may accept).
    #[error("not a gzip header: {0}")]
    NotGzip(&'static str),
}

/// Parses the member header at the start of `h`.
pub fn parse(h: &[u8]) -> Result<Header<'_>, HeaderError> {
    use HeaderError::{NotGzip, Short};
    let fixed = h.get(..10).ok_or(if h.len() < 2 || h[..2] == MAGIC {
        Short
    } else {
        NotGzip("no gzip magic")
    })?;
    if fixed[..2] != MAGIC {
        return Err(NotGzip("no gzip magic"));
    }
    if fixed[2] != CM_DEFLATE {
        return Err(NotGzip("compression method is not deflate"));
    }
    let flags = fixed[3];
    if flags & RESERVED != 0 {
        return Err(NotGzip("reserved flag bits are set"));
    }
    let mut at = 10;
    let mut extra = None;
    if flags & FEXTRA != 0 {
        let xlen = h.get(at..at + 2).ok_or(Short)?;
        let xlen = usize::from(u16::from_le_bytes([xlen[0], xlen[1]]));
        extra = Some(h.get(at + 2..at + 2 + xlen).ok_or(Short)?);
        at += 2 + xlen;
    }
    for bit in [FNAME, FCOMMENT] {
        if flags & bit != 0 {
            let rest = h.get(at..).ok_or(Short)?;
            let end = rest.iter().position(|&b| b == 0).ok_or(Short)?;
            at += end + 1;
        }
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    if at > h.len() {
        return Err(Short);
    }
    if at > MAX_HEADER {
        return Err(NotGzip("header longer than 64 KiB"));
    }
    Ok(Header {
        len: at,
        flags,
        extra,
    })
}

impl Header<'_> {
    /// The data of the first extra subfield named `id` (SI1 SI2).
    pub fn subfield(&self, id: [u8; 2]) -> Option<&[u8]> {
        let extra = self.extra?;
        let mut x = 0;
        while x + 4 <= extra.len() {
            let n = usize::from(u16::from_le_bytes([extra[x + 2], extra[x + 3]]));
            let data = extra.get(x + 4..x + 4 + n)?;
            if extra[x..x + 2] == id {
                return Some(data);
            }
            x += 4 + n;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_optional_field_is_measured() {
        // FHCRC | FEXTRA | FNAME | FCOMMENT
        let mut h = vec![0x1f, 0x8b, 8, 0x1e, 0, 0, 0, 0, 0, 3];
        h.extend([6, 0, b'a', b'b', 2, 0, 7, 7]);
        h.extend(b"name\0comment\0");
        h.extend([0xaa, 0xbb]);
        let len = h.len();
        h.extend([1, 2, 3]);
        let p = parse(&h).unwrap();
        assert_eq!(p.len, len);
        assert_eq!(p.subfield(*b"ab"), Some(&[7u8, 7][..]));
        assert_eq!(p.subfield(*b"zz"), None);
        for cut in 0..len {
            assert_eq!(parse(&h[..cut]), Err(HeaderError::Short), "cut at {cut}");
        }
    }

    #[test]
    fn not_gzip_is_refused() {
        assert!(matches!(
            parse(b"PK\x03\x04 zip"),
            Err(HeaderError::NotGzip(_))
        ));
        assert!(matches!(
            parse(&[0x1f, 0x8b, 8, 0x20, 0, 0, 0, 0, 0, 0]),
            Err(HeaderError::NotGzip("reserved flag bits are set"))
        ));
        assert!(matches!(
            parse(&[0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 0]),
            Err(HeaderError::NotGzip(_))
        ));
    }
}
