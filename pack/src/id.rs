//! Object ids and the hashing that makes them.
//!
//! An object's id is the SHA-1 of `"<kind> <size>\0"` followed by its bytes, as
//! `git hash-object` computes it. We hash with sha1dc (through gix-hash), the
//! collision-detecting SHA-1 that git uses: input carrying a known collision
//! attack (SHAttered) is refused instead of silently getting a colliding id.

use std::fmt;

pub use gix_hash::ObjectId;

/// The kind of a git object, with its pack type code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A commit (pack type 1).
    Commit,
    /// A tree (pack type 2).
    Tree,
    /// A blob: the only kind a silo stores (pack type 3).
    Blob,
    /// An annotated tag (pack type 4).
    Tag,
}

impl Kind {
    /// The 3-bit type code that pack entry headers use.
    pub fn code(self) -> u8 {
        match self {
            Kind::Commit => 1,
            Kind::Tree => 2,
            Kind::Blob => 3,
            Kind::Tag => 4,
        }
    }

    /// The kind for a pack type code, if it names a whole object.
    pub fn from_code(code: u8) -> Option<Kind> {
        Some(match code {
            1 => Kind::Commit,
            2 => Kind::Tree,
            3 => Kind::Blob,
            4 => Kind::Tag,
            _ => return None,
        })
    }

    /// The name git uses in object headers and `cat-file` output.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Commit => "commit",
            Kind::Tree => "tree",
            Kind::Blob => "blob",
            Kind::Tag => "tag",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why hashing an object failed.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// sha1dc saw the fingerprint of a SHA-1 collision attack in the input.
    #[error("SHA-1 collision attack detected in the content (as git would, we refuse it)")]
    Collision,
    /// More or fewer bytes were hashed than the header announced.
    #[error("{actual} bytes were hashed, but the object header announced {expected}")]
    SizeMismatch {
        /// The size written into the object header.
        expected: u64,
        /// The number of bytes actually fed.
        actual: u64,
    },
}

/// A streaming object hasher: feed exactly `size` bytes, then [`Hasher::finish`].
#[derive(Clone)]
pub struct Hasher {
    inner: gix_hash::Hasher,
    expected: u64,
    seen: u64,
}

impl Hasher {
    /// Starts hashing an object of `kind` and exactly `size` bytes.
    pub fn new(kind: Kind, size: u64) -> Self {
        let mut inner = gix_hash::hasher(gix_hash::Kind::Sha1);
        inner.update(format!("{} {size}\0", kind.as_str()).as_bytes());
        Hasher {
            inner,
            expected: size,
            seen: 0,
        }
    }

    /// Feeds the next bytes of the object.
    pub fn update(&mut self, bytes: &[u8]) {
        self.seen += bytes.len() as u64;
        self.inner.update(bytes);
    }

    /// The id, if exactly the announced number of bytes was fed and no
    /// collision attack was seen.
    pub fn finish(self) -> Result<ObjectId, HashError> {
        if self.seen != self.expected {
            return Err(HashError::SizeMismatch {
                expected: self.expected,
                actual: self.seen,
            });
        }
        self.inner.try_finalize().map_err(|_| HashError::Collision)
    }
}

/// A hasher is a sink: what is written is hashed (and counted against the
/// size it was given, so a short or long stream fails at `finish`).
impl std::io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The id of an object of `kind` whose content is `data`.
pub fn hash_object(kind: Kind, data: &[u8]) -> Result<ObjectId, HashError> {
    let mut h = Hasher::new(kind, data.len() as u64);
    h.update(data);
    h.finish()
}

/// A plain SHA-1 over bytes (pack and idx trailers), with collision detection.
pub fn sha1(parts: &[&[u8]]) -> Result<ObjectId, HashError> {
    let mut h = gix_hash::hasher(gix_hash::Kind::Sha1);
    for p in parts {
        h.update(p);
    }
    h.try_finalize().map_err(|_| HashError::Collision)
}

/// Parses 40 hex digits into an id.
pub fn parse_hex(hex: &str) -> Option<ObjectId> {
    if hex.len() != 40 {
        return None;
    }
    ObjectId::from_hex(hex.as_bytes()).ok()
}

/// Decodes up to 40 hex digits into bytes, the last nibble of an odd-length
/// prefix in the high half of the last byte. `None` if a digit is not hex.
pub fn decode_hex_prefix(hex: &str) -> Option<Vec<u8>> {
    if hex.len() > 40 {
        return None;
    }
    let mut out = vec![0u8; hex.len().div_ceil(2)];
    for (i, c) in hex.bytes().enumerate() {
        let v = (c as char).to_digit(16)? as u8;
        out[i / 2] |= if i % 2 == 0 { v << 4 } else { v };
    }
    Some(out)
}

/// True if `id`'s hex form starts with the `hex_len` digits in `prefix`
/// (as made by [`decode_hex_prefix`]).
pub fn matches_prefix(id: &gix_hash::oid, prefix: &[u8], hex_len: usize) -> bool {
    let bytes = id.as_bytes();
    let full = hex_len / 2;
    if bytes[..full] != prefix[..full] {
        return false;
    }
    hex_len.is_multiple_of(2) || (bytes[full] & 0xf0) == prefix[full]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_blob_has_gits_id() {
        let id = hash_object(Kind::Blob, b"").unwrap();
        assert_eq!(id.to_string(), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    }

    #[test]
    fn hello_blob_has_gits_id() {
        // printf 'hello\n' | git hash-object --stdin
        let id = hash_object(Kind::Blob, b"hello\n").unwrap();
        assert_eq!(id.to_string(), "ce013625030ba8dba906f756967f9e9ca394464a");
    }

    #[test]
    fn hasher_refuses_wrong_size() {
        let mut h = Hasher::new(Kind::Blob, 3);
        h.update(b"ab");
        assert!(matches!(
            h.finish(),
            Err(HashError::SizeMismatch {
                expected: 3,
                actual: 2
            })
        ));
    }

    #[test]
    fn prefix_matching_handles_odd_lengths() {
        let id = parse_hex("ce013625030ba8dba906f756967f9e9ca394464a").unwrap();
        assert!(matches_prefix(&id, &decode_hex_prefix("ce013").unwrap(), 5));
        assert!(matches_prefix(&id, &decode_hex_prefix("ce01").unwrap(), 4));
        assert!(!matches_prefix(
            &id,
            &decode_hex_prefix("ce014").unwrap(),
            5
        ));
        assert!(decode_hex_prefix("zz").is_none());
    }
}

/// An id in JSON (and any serde format) as its 40 hex digits:
/// `#[serde(with = "trees_pack::id::hex")]` on an [`ObjectId`] field,
/// `hex::option` on an `Option<ObjectId>`, `hex::vec` on a `Vec<ObjectId>`.
pub mod hex {
    use super::{ObjectId, parse_hex};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// Writes `id` as hex.
    pub fn serialize<S: Serializer>(id: &ObjectId, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(id)
    }

    /// Reads 40 hex digits, refusing anything else.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ObjectId, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse_hex(&s).ok_or_else(|| D::Error::custom(format!("{s:?} is not 40 hex digits")))
    }

    /// The same for an optional id (`null` when absent).
    pub mod option {
        use super::ObjectId;
        use serde::{Deserialize, Deserializer, Serializer};

        /// Writes `id` as hex, or `null`.
        pub fn serialize<S: Serializer>(id: &Option<ObjectId>, s: S) -> Result<S::Ok, S::Error> {
            match id {
                Some(id) => s.collect_str(id),
                None => s.serialize_none(),
            }
        }

        /// Reads hex or `null`.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ObjectId>, D::Error> {
            #[derive(Deserialize)]
            struct Hex(#[serde(with = "super")] ObjectId);
            Ok(Option::<Hex>::deserialize(d)?.map(|h| h.0))
        }
    }

    /// The same for a list of ids.
    pub mod vec {
        use super::ObjectId;
        use serde::{Deserialize, Deserializer, Serializer, ser::SerializeSeq};

        /// Writes each id as hex.
        pub fn serialize<S: Serializer>(ids: &[ObjectId], s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(ids.len()))?;
            for id in ids {
                seq.serialize_element(&id.to_string())?;
            }
            seq.end()
        }

        /// Reads a list of hex ids.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ObjectId>, D::Error> {
            #[derive(Deserialize)]
            struct Hex(#[serde(with = "super")] ObjectId);
            Ok(Vec::<Hex>::deserialize(d)?
                .into_iter()
                .map(|h| h.0)
                .collect())
        }
    }
}
