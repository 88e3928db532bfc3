//! Zip framing fields a recipe need not keep: what a reader derives from
//! the recipe itself.
//!
//! A split zip's recipe (format 6) keeps each local header and the central
//! directory as framing. Most of their bytes repeat what the recipe says
//! elsewhere: a local header's compressed and uncompressed sizes are the
//! output and plain lengths of the data piece after it, and each directory
//! entry repeats its member's local header (time, date, CRC-32, sizes,
//! name) and names where that header starts. Those fields change in every
//! job of a CI series even when nothing else does, so kept as they are
//! they are most of what one recipe's delta against the last one spends.
//!
//! A framing piece written with tag 6 ([`crate::pieces`]) has these fields
//! zeroed, and [`restore`] puts them back:
//!
//! - a piece that is exactly one local header (`"PK\3\4"`, 30 bytes, name,
//!   extra): bytes 18..26, the sizes, become the output and plain lengths
//!   of the piece after it if that is member data (0 otherwise; FFFFFFFF
//!   from 4 GiB on, as zip64 writes them);
//! - a piece that starts with directory entries (`"PK\1\2"`, 46 bytes,
//!   name, extra, comment): entry k takes bytes 12..28 (time, date, CRC-32,
//!   sizes) and its name from the k-th local header before it, and bytes
//!   42..46 from where that header starts in the zip (FFFFFFFF from 4 GiB
//!   on); the entries are read while they fit and there are local headers
//!   left, and whatever follows them (end records, comment) is kept.
//!
//! [`derivable`] marks a piece only where restoring its zeroed copy gives
//! its bytes back exactly, so a zip with junk before its first member, data
//! descriptors, or a directory in another order simply keeps plain
//! literals there. Nothing here trusts the recipe: every length is checked
//! against the piece's bytes before it is used.

use super::Piece;

/// A local file header's signature: [`crate::zip::LOCAL_MAGIC`], not
/// imported, as `zip` uses `pieces` (the two would be a module cycle).
pub(super) const LOCAL_MAGIC: [u8; 4] = *b"PK\x03\x04";
/// A central directory entry's signature.
pub(super) const CENTRAL_MAGIC: [u8; 4] = *b"PK\x01\x02";

/// A local header's fixed bytes, before its name and extra field.
pub(super) const LOCAL: usize = 30;
/// A directory entry's fixed bytes, before its name, extra and comment.
pub(super) const ENTRY: usize = 46;

/// The little-endian 16-bit field of `b` at `at`.
pub(super) fn le16(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

/// A 32-bit zip field for `v`: FFFFFFFF when it does not fit (zip64).
fn field(v: u64) -> [u8; 4] {
    u32::try_from(v)
        .ok()
        .filter(|&v| v != u32::MAX)
        .unwrap_or(u32::MAX)
        .to_le_bytes()
}

/// A local header seen before: where it starts, its bytes 10..26 (time,
/// date, CRC-32, sizes) and its name.
struct Local {
    at: u64,
    fields: [u8; 16],
    name: Vec<u8>,
}

/// The name's length if `b` is exactly one local header.
pub(super) fn local_header(b: &[u8]) -> Option<usize> {
    if b.len() < LOCAL || b[..4] != LOCAL_MAGIC {
        return None;
    }
    let n = le16(b, 26);
    (LOCAL + n + le16(b, 28) == b.len()).then_some(n)
}

/// The sizes a local header followed by `next` declares.
fn sizes(next: Option<&Piece>) -> [u8; 8] {
    let (out, plain) = match next {
        Some(p @ (Piece::Stored { .. } | Piece::Deflate { .. })) => (p.out_len(), p.plain_len()),
        _ => (0, 0),
    };
    let mut s = [0u8; 8];
    s[..4].copy_from_slice(&field(out));
    s[4..].copy_from_slice(&field(plain));
    s
}

/// The directory entries at the start of `b` that local headers in
/// `locals` can restore: (start, name length) of each.
fn entries(b: &[u8], locals: &[Local]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while out.len() < locals.len() && b.len() - at >= ENTRY && b[at..at + 4] == CENTRAL_MAGIC {
        let n = le16(b, at + 28);
        let end = at + ENTRY + n + le16(b, at + 30) + le16(b, at + 32);
        if end > b.len() || n != locals[out.len()].name.len() {
            break;
        }
        out.push((at, n));
        at = end;
    }
    out
}

/// Writes what `locals[k]` says into directory entry k of `b`.
fn fill_entries(b: &mut [u8], found: &[(usize, usize)], locals: &[Local]) {
    for (&(at, n), l) in found.iter().zip(locals) {
        b[at + 12..at + 28].copy_from_slice(&l.fields);
        b[at + 42..at + 46].copy_from_slice(&field(l.at));
        b[at + ENTRY..at + ENTRY + n].copy_from_slice(&l.name);
    }
}

/// Zeroes what [`fill_entries`] writes.
fn zero_entries(b: &mut [u8], found: &[(usize, usize)]) {
    for &(at, n) in found {
        b[at + 12..at + 28].fill(0);
        b[at + 42..at + 46].fill(0);
        b[at + ENTRY..at + ENTRY + n].fill(0);
    }
}

/// Walks `pieces` as [`restore`] and [`derivable`] both do: for each
/// literal piece, `f(index, bytes, sizes after it, locals before it)`,
/// which may rewrite the bytes; a local header's fields are recorded after
/// `f` had its say.
fn walk(pieces: &mut [Piece], mut f: impl FnMut(usize, &mut Vec<u8>, [u8; 8], &[Local])) {
    let mut locals: Vec<Local> = Vec::new();
    let mut at = 0u64;
    for i in 0..pieces.len() {
        let next = sizes(pieces.get(i + 1));
        let len = pieces[i].out_len();
        if let Piece::Literal(b) = &mut pieces[i] {
            f(i, b, next, &locals);
            if let Some(n) = local_header(b) {
                let mut fields = [0u8; 16];
                fields.copy_from_slice(&b[10..26]);
                locals.push(Local {
                    at,
                    fields,
                    name: b[LOCAL..LOCAL + n].to_vec(),
                });
            }
        }
        at = at.saturating_add(len);
    }
}

/// Puts back the fields of the pieces marked in `derived` (tag 6 pieces,
/// read as literals with those fields zeroed). A marked piece that is
/// neither a local header nor directory entries is an error.
pub(crate) fn restore(pieces: &mut [Piece], derived: &[bool]) -> Result<(), &'static str> {
    let mut bad = None;
    walk(pieces, |i, b, next, locals| {
        if !derived.get(i).copied().unwrap_or(false) {
            return;
        }
        if local_header(b).is_some() {
            b[18..26].copy_from_slice(&next);
            return;
        }
        let found = entries(b, locals);
        if found.is_empty() {
            bad =
                Some("a derived zip framing piece that is neither a local header nor a directory");
        }
        fill_entries(b, &found, locals);
    });
    bad.map_or(Ok(()), Err)
}

/// For each piece, its bytes with the derivable fields zeroed, where
/// [`restore`] gives them back exactly; `None` where it would not (and for
/// every piece that is not framing).
pub(crate) fn derivable(pieces: &[Piece]) -> Vec<Option<Vec<u8>>> {
    let mut out = vec![None; pieces.len()];
    let mut scratch = pieces.to_vec();
    walk(&mut scratch, |i, b, next, locals| {
        if local_header(b).is_some() {
            if b[18..26] == next {
                let mut z = b.clone();
                z[18..26].fill(0);
                out[i] = Some(z);
            }
            return;
        }
        let found = entries(b, locals);
        if found.is_empty() {
            return;
        }
        let mut restored = b.clone();
        fill_entries(&mut restored, &found, locals);
        if restored == *b {
            let mut z = b.clone();
            zero_entries(&mut z, &found);
            out[i] = Some(z);
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pieces::{FORMAT_ZIP, Recipe};

    /// A one-member zip's framing around a stored member of `len` bytes:
    /// its local header, and its directory entry (naming `offset`) with
    /// the end record.
    fn framing(len: u32, offset: u32) -> (Vec<u8>, Vec<u8>) {
        let name = b"a.txt";
        let fields = |h: &mut Vec<u8>| {
            h.extend_from_slice(&[0x21, 0x43, 0x65, 0x57]); // time, date
            h.extend_from_slice(&0xdead_beef_u32.to_le_bytes()); // CRC-32
            h.extend_from_slice(&len.to_le_bytes());
            h.extend_from_slice(&len.to_le_bytes());
        };
        let mut local = b"PK\x03\x04\x0a\x00\x00\x00\x00\x00".to_vec();
        fields(&mut local);
        local.extend_from_slice(&[5, 0, 0, 0]);
        local.extend_from_slice(name);
        let mut dir = b"PK\x01\x02\x1e\x03\x0a\x00\x00\x00\x00\x00".to_vec();
        fields(&mut dir);
        dir.extend_from_slice(&[5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xa4, 0x81]);
        dir.extend_from_slice(&offset.to_le_bytes());
        dir.extend_from_slice(name);
        dir.extend_from_slice(b"PK\x05\x06\0\0\0\0\x01\0\x01\0\x33\0\0\0");
        dir.extend_from_slice(&(35 + len).to_le_bytes());
        dir.extend_from_slice(&[0, 0]);
        (local, dir)
    }

    fn recipe(len: u32, offset: u32) -> Recipe {
        let (local, dir) = framing(len, offset);
        Recipe {
            format: FORMAT_ZIP,
            contents: vec![u64::from(len)],
            pieces: vec![
                Piece::Literal(local),
                Piece::Stored {
                    plain_len: u64::from(len),
                },
                Piece::Literal(dir),
            ],
        }
    }

    #[test]
    fn sizes_and_the_directorys_copies_are_derived_and_restored() {
        let r = recipe(9, 0);
        let d = derivable(&r.pieces);
        let (Some(local), None, Some(dir)) = (&d[0], &d[1], &d[2]) else {
            panic!("{d:?}");
        };
        assert_eq!(local[18..26], [0; 8]);
        assert_eq!(
            local[14..18],
            0xdead_beef_u32.to_le_bytes(),
            "the CRC-32 stays"
        );
        assert_eq!(dir[12..28], [0; 16]);
        assert_eq!(dir[46..51], [0; 5], "the name is the local header's");
        let bytes = r.encode_with(&d);
        // "TRCP", format, 1 content of 9 bytes, 3 pieces: the first is tag 6.
        assert_eq!(bytes[4..9], [FORMAT_ZIP, 1, 9, 3, 6], "{bytes:?}");
        assert_eq!(Recipe::decode(&bytes).as_ref(), Ok(&r));
        assert_eq!(Recipe::decode(&r.encode()), Ok(r));
    }

    #[test]
    fn fields_that_disagree_stay_literal() {
        // The directory names offset 7 where the header is at 0 (junk
        // before the archive would do this); the local header's sizes
        // disagree with the data after it.
        let mut r = recipe(9, 7);
        let d = derivable(&r.pieces);
        assert!(d[0].is_some() && d[2].is_none(), "{d:?}");
        assert_eq!(Recipe::decode(&r.encode()), Ok(r.clone()));
        r.pieces[1] = Piece::Stored { plain_len: 8 };
        r.contents = vec![8];
        assert!(derivable(&r.pieces).iter().all(Option::is_none));
        assert_eq!(Recipe::decode(&r.encode()), Ok(r));
    }

    #[test]
    fn a_derived_piece_that_is_no_framing_is_refused() {
        let mut bytes = crate::pieces::MAGIC.to_vec();
        bytes.extend_from_slice(&[FORMAT_ZIP, 1, 1, 2, 1, 1, 6, 3]);
        bytes.extend_from_slice(b"abc");
        assert!(Recipe::decode(&bytes).is_err());
        // Tag 6 is a zip's only.
        bytes[4] = crate::pieces::FORMAT_AR;
        assert!(Recipe::decode(&bytes).is_err());
    }
}
