//! Entry headers: type, size, and the base reference of delta entries.

use crate::ObjectId;
use crate::id::Kind;

/// What an entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// A whole object of this kind.
    Whole(Kind),
    /// A delta against the entry `distance` bytes before this one.
    OfsDelta {
        /// Bytes from the base's entry to this entry (> 0).
        distance: u64,
    },
    /// A delta against the object with this id.
    RefDelta {
        /// The base's id.
        base: ObjectId,
    },
}

/// A parsed entry header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// What the entry holds.
    pub kind: Type,
    /// Inflated size of the entry's data (object or delta).
    pub size: u64,
    /// Bytes of header, including the base reference; the zlib stream starts here.
    pub len: usize,
}

/// Why an entry header cannot be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The header runs past the end of the data.
    #[error("entry header is truncated")]
    Truncated,
    /// The size varint does not fit 64 bits.
    #[error("entry size overflows 64 bits")]
    SizeOverflow,
    /// Type 0 and 5 are reserved.
    #[error("entry type {0} is not a valid pack entry type")]
    BadType(u8),
    /// The OFS_DELTA distance overflows, is zero, or points before the pack.
    #[error("OFS_DELTA base distance {distance} is invalid for an entry at offset {offset}")]
    BadDistance {
        /// The decoded distance (saturated on overflow).
        distance: u64,
        /// Offset of the entry.
        offset: u64,
    },
}

/// Appends the type-and-size header.
pub fn encode_type_size(code: u8, mut size: u64, out: &mut Vec<u8>) {
    let mut byte = (code << 4) | (size & 0x0f) as u8;
    size >>= 4;
    while size != 0 {
        out.push(byte | 0x80);
        byte = (size & 0x7f) as u8;
        size >>= 7;
    }
    out.push(byte);
}

/// Appends an OFS_DELTA distance in git's "offset encoding": big-endian
/// 7-bit groups where each continuation adds one, so that no two encodings
/// mean the same distance.
pub fn encode_distance(mut distance: u64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 10];
    let mut pos = buf.len() - 1;
    buf[pos] = (distance & 0x7f) as u8;
    distance >>= 7;
    while distance != 0 {
        distance -= 1;
        pos -= 1;
        buf[pos] = 0x80 | (distance & 0x7f) as u8;
        distance >>= 7;
    }
    out.extend_from_slice(&buf[pos..]);
}

/// Appends the whole header of an entry of `kind` whose data inflates to `size` bytes.
pub fn encode(kind: &Type, size: u64, out: &mut Vec<u8>) {
    match kind {
        Type::Whole(k) => encode_type_size(k.code(), size, out),
        Type::OfsDelta { distance } => {
            encode_type_size(6, size, out);
            encode_distance(*distance, out);
        }
        Type::RefDelta { base } => {
            encode_type_size(7, size, out);
            out.extend_from_slice(base.as_slice());
        }
    }
}

/// Parses the header at the start of `buf`, for an entry at pack offset `offset`.
pub fn decode(buf: &[u8], offset: u64) -> Result<Header, Error> {
    let mut pos = 0;
    let mut next = || -> Result<u8, Error> {
        let b = *buf.get(pos).ok_or(Error::Truncated)?;
        pos += 1;
        Ok(b)
    };
    let first = next()?;
    let code = (first >> 4) & 0x07;
    let mut size = u64::from(first & 0x0f);
    let mut shift = 4u32;
    let mut byte = first;
    while byte & 0x80 != 0 {
        byte = next()?;
        let bits = u64::from(byte & 0x7f);
        if shift > 63 || (bits << shift) >> shift != bits {
            return Err(Error::SizeOverflow);
        }
        size |= bits << shift;
        shift += 7;
    }
    let kind = match code {
        6 => {
            let mut byte = next()?;
            let mut distance = u64::from(byte & 0x7f);
            while byte & 0x80 != 0 {
                byte = next()?;
                distance = distance
                    .checked_add(1)
                    .and_then(|d| d.checked_mul(128))
                    .ok_or(Error::BadDistance {
                        distance: u64::MAX,
                        offset,
                    })?
                    | u64::from(byte & 0x7f);
            }
            if distance == 0 || distance > offset {
                return Err(Error::BadDistance { distance, offset });
            }
            Type::OfsDelta { distance }
        }
        7 => {
            let raw = buf.get(pos..pos + 20).ok_or(Error::Truncated)?;
            pos += 20;
            Type::RefDelta {
                base: ObjectId::try_from(raw).map_err(|_| Error::Truncated)?,
            }
        }
        c => Type::Whole(Kind::from_code(c).ok_or(Error::BadType(c))?),
    };
    Ok(Header {
        kind,
        size,
        len: pos,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip() {
        let base = crate::id::hash_object(Kind::Blob, b"x").unwrap();
        for kind in [
            Type::Whole(Kind::Blob),
            Type::Whole(Kind::Commit),
            Type::OfsDelta { distance: 1 },
            Type::OfsDelta { distance: 127 },
            Type::OfsDelta { distance: 128 },
            Type::OfsDelta { distance: 16511 },
            Type::OfsDelta { distance: 16512 },
            Type::OfsDelta { distance: 1 << 40 },
            Type::RefDelta { base },
        ] {
            for size in [0, 15, 16, 2047, 2048, 1 << 35, u64::MAX] {
                let mut buf = Vec::new();
                encode(&kind, size, &mut buf);
                let h = decode(&buf, 1 << 41).unwrap();
                assert_eq!((h.kind, h.size, h.len), (kind, size, buf.len()));
            }
        }
    }

    #[test]
    fn distance_encoding_matches_git() {
        // git's pack-format.txt: 128 is encoded as 0x80 0x00
        let mut buf = Vec::new();
        encode_distance(128, &mut buf);
        assert_eq!(buf, [0x80, 0x00]);
    }

    #[test]
    fn bad_headers_are_refused() {
        assert_eq!(decode(&[], 12), Err(Error::Truncated));
        assert_eq!(decode(&[0x80 | 0x30], 12), Err(Error::Truncated));
        assert_eq!(decode(&[0x00], 12), Err(Error::BadType(0)));
        assert_eq!(decode(&[0x50], 12), Err(Error::BadType(5)));
        // size continuation bytes past 64 bits
        assert_eq!(
            decode(
                &[0xb0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
                12
            ),
            Err(Error::SizeOverflow)
        );
        // OFS_DELTA pointing before the start of the pack
        assert_eq!(
            decode(&[0x60, 0x20], 12),
            Err(Error::BadDistance {
                distance: 32,
                offset: 12
            })
        );
        assert_eq!(
            decode(&[0x60, 0x00], 12),
            Err(Error::BadDistance {
                distance: 0,
                offset: 12
            })
        );
        // REF_DELTA with a short base id
        assert_eq!(decode(&[0x70, 1, 2, 3], 12), Err(Error::Truncated));
    }
}
