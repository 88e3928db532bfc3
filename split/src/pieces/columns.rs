//! A zip's recipe laid out by column ("TRCQ"), so that the recipe of the
//! next job or release is a delta of this one that copies long runs.
//!
//! A zip recipe in the plain layout ("TRCP", [`super`]) interleaves, member
//! by member, bytes that stay from one release to the next (names,
//! attributes, the directory's shape) with bytes that do not (each local
//! header's time and CRC-32, its extra field's timestamps, each member's
//! lengths and deflate corrections). A delta against the last release's
//! recipe then needs a copy and an insert for every member, which cost
//! about as much as the recipe zlib-compressed alone. The same bytes in
//! four streams keep what stays together:
//!
//! ```text
//! "TRCQ"  ctl_len:var fix_len:var cor_len:var  ctl  fix  cor  lit
//! ```
//!
//! `ctl` is the plain recipe after its magic with every literal's bytes
//! and every chunk's corrections taken out (their lengths stay); `cor`
//! holds the corrections in order; a literal's bytes go to `lit`, except
//!
//! - a literal that is one local header (`PK\3\4`, 30 bytes, name n,
//!   extra e: 30 + n + e bytes): its bytes 10..18 (time, date, CRC-32) and
//!   its extra field go to `fix`;
//! - a literal that starts with directory entries (`PK\1\2`, 46 bytes,
//!   name, extra, comment; read while they fit): each entry's extra field
//!   goes to `fix`.
//!
//! Only zip recipes (format 6) whose pieces are literals, stored runs and
//! deflate streams (tags 0, 1, 5, 6) are written this way. [`join`] gives
//! the plain recipe back, byte for byte; it checks every length against
//! the stream it reads and that every stream is used up, so its output is
//! no longer than its input, and hostile bytes give an error.

use super::derive::{CENTRAL_MAGIC, ENTRY, LOCAL, LOCAL_MAGIC, le16, local_header};
use crate::recipe::FormatError;
use crate::varint::{Reader, put};

/// The first bytes of a recipe laid out by column.
pub const MAGIC: [u8; 4] = *b"TRCQ";

/// Where the bytes of one literal go: `(to_fix, range)` in order.
fn routes(p: &[u8]) -> Vec<(bool, std::ops::Range<usize>)> {
    if let Some(n) = local_header(p) {
        return vec![
            (false, 0..10),
            (true, 10..18),
            (false, 18..LOCAL + n),
            (true, LOCAL + n..p.len()),
        ];
    }
    let mut out = Vec::new();
    let mut at = 0;
    while p.len() - at >= ENTRY && p[at..at + 4] == CENTRAL_MAGIC {
        let (n, e, c) = (le16(p, at + 28), le16(p, at + 30), le16(p, at + 32));
        let end = at + ENTRY + n + e + c;
        if end > p.len() {
            break;
        }
        out.push((false, at..at + ENTRY + n));
        out.push((true, at + ENTRY + n..at + ENTRY + n + e));
        out.push((false, at + ENTRY + n + e..end));
        at = end;
    }
    out.push((false, at..p.len()));
    out
}

/// The columns of the plain zip recipe `plain` ("TRCP"), or `None` if it
/// is not one this layout takes.
pub(crate) fn split(plain: &[u8]) -> Option<Vec<u8>> {
    let mut r = Reader {
        bytes: plain,
        at: super::MAGIC.len(),
    };
    let (mut ctl, mut fix, mut cor, mut lit) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let var = |r: &mut Reader<'_>, ctl: &mut Vec<u8>| -> Option<u64> {
        let v = r.varint("").ok()?;
        put(ctl, v);
        Some(v)
    };
    let format = r.byte("").ok()?;
    if format != super::FORMAT_ZIP {
        return None;
    }
    ctl.push(format);
    let contents = var(&mut r, &mut ctl)?;
    for _ in 0..contents {
        var(&mut r, &mut ctl)?;
    }
    for _ in 0..var(&mut r, &mut ctl)? {
        let tag = r.byte("").ok()?;
        ctl.push(tag);
        match tag {
            0 | 6 => {
                let p = r.bytes("").ok()?;
                put(&mut ctl, p.len() as u64);
                for (to_fix, range) in routes(p) {
                    let to = if to_fix { &mut fix } else { &mut lit };
                    to.extend_from_slice(&p[range]);
                }
            }
            1 => {
                var(&mut r, &mut ctl)?;
            }
            5 => {
                var(&mut r, &mut ctl)?;
                for _ in 0..var(&mut r, &mut ctl)? {
                    var(&mut r, &mut ctl)?;
                    var(&mut r, &mut ctl)?;
                    let c = r.bytes("").ok()?;
                    put(&mut ctl, c.len() as u64);
                    cor.extend_from_slice(c);
                }
            }
            _ => return None,
        }
    }
    if r.at != plain.len() {
        return None;
    }
    let mut out = MAGIC.to_vec();
    for s in [&ctl, &fix, &cor] {
        put(&mut out, s.len() as u64);
    }
    for s in [ctl, fix, cor, lit] {
        out.extend_from_slice(&s);
    }
    Some(out)
}

/// A stream of the columns, read from the front.
struct Stream<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Stream<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if n > self.bytes.len() {
            return Err(self.what);
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
}

/// Reads one literal of `len` bytes from `lit` and `fix` as [`routes`]
/// laid it out, appending it to `out`.
fn literal(
    len: usize,
    lit: &mut Stream<'_>,
    fix: &mut Stream<'_>,
    out: &mut Vec<u8>,
) -> Result<(), &'static str> {
    let start = out.len();
    let peek = |s: &Stream<'_>, at: usize| s.bytes.get(at..at + 2).map(|b| le16(b, 0));
    if len >= LOCAL && lit.bytes.starts_with(&LOCAL_MAGIC) {
        // In `lit`, the header's bytes 18..30 follow its bytes 0..10.
        if let (Some(n), Some(e)) = (peek(lit, 18), peek(lit, 20))
            && LOCAL + n + e == len
        {
            out.extend_from_slice(lit.take(10)?);
            out.extend_from_slice(fix.take(8)?);
            out.extend_from_slice(lit.take(LOCAL - 18 + n)?);
            out.extend_from_slice(fix.take(e)?);
            return Ok(());
        }
    }
    while len - (out.len() - start) >= ENTRY && lit.bytes.starts_with(&CENTRAL_MAGIC) {
        let head = lit.bytes.get(..ENTRY).ok_or(lit.what)?;
        let (n, e, c) = (le16(head, 28), le16(head, 30), le16(head, 32));
        if out.len() - start + ENTRY + n + e + c > len {
            break;
        }
        out.extend_from_slice(lit.take(ENTRY + n)?);
        out.extend_from_slice(fix.take(e)?);
        out.extend_from_slice(lit.take(c)?);
    }
    let rest = len - (out.len() - start);
    out.extend_from_slice(lit.take(rest)?);
    Ok(())
}

/// A length of bytes kept in another column: at most `max`, the whole
/// recipe's length.
fn length(r: &mut Reader<'_>, what: &'static str, max: usize) -> Result<usize, FormatError> {
    let v = r.varint(what)?;
    usize::try_from(v)
        .ok()
        .filter(|&v| v <= max)
        .ok_or_else(|| r.corrupt("a length larger than the recipe"))
}

/// The plain recipe ("TRCP") of the columns `bytes` ("TRCQ").
pub(crate) fn join(bytes: &[u8]) -> Result<Vec<u8>, FormatError> {
    let mut head = Reader {
        bytes,
        at: MAGIC.len(),
    };
    let mut lens = [0usize; 3];
    for l in &mut lens {
        *l = head.count("column length")?;
    }
    let corrupt = |what| FormatError::Corrupt {
        at: bytes.len(),
        what,
    };
    let mut rest = &bytes[head.at..];
    let mut streams = Vec::new();
    for l in lens {
        if l > rest.len() {
            return Err(corrupt("a column longer than the recipe"));
        }
        let (s, r) = rest.split_at(l);
        streams.push(s);
        rest = r;
    }
    let mut r = Reader {
        bytes: streams[0],
        at: 0,
    };
    let mut fix = Stream {
        bytes: streams[1],
        what: "the fix column ends early",
    };
    let mut cor = Stream {
        bytes: streams[2],
        what: "the corrections column ends early",
    };
    let mut lit = Stream {
        bytes: rest,
        what: "the literal column ends early",
    };
    let mut out = super::MAGIC.to_vec();
    out.reserve(bytes.len());
    let var = |r: &mut Reader<'_>, out: &mut Vec<u8>| -> Result<u64, FormatError> {
        let v = r.varint("a column count or length")?;
        put(out, v);
        Ok(v)
    };
    let format = r.byte("no format byte")?;
    if format != super::FORMAT_ZIP {
        return Err(r.corrupt("columns of a recipe that is not a zip's"));
    }
    out.push(format);
    for _ in 0..var(&mut r, &mut out)? {
        var(&mut r, &mut out)?;
    }
    for _ in 0..var(&mut r, &mut out)? {
        let tag = r.byte("piece tag")?;
        out.push(tag);
        match tag {
            0 | 6 => {
                let len = length(&mut r, "literal length", bytes.len())?;
                put(&mut out, len as u64);
                literal(len, &mut lit, &mut fix, &mut out).map_err(corrupt)?;
            }
            1 => {
                var(&mut r, &mut out)?;
            }
            5 => {
                var(&mut r, &mut out)?;
                for _ in 0..var(&mut r, &mut out)? {
                    var(&mut r, &mut out)?;
                    var(&mut r, &mut out)?;
                    let len = length(&mut r, "corrections length", bytes.len())?;
                    put(&mut out, len as u64);
                    out.extend_from_slice(cor.take(len).map_err(corrupt)?);
                }
            }
            _ => return Err(r.corrupt("a piece tag the columns do not hold")),
        }
    }
    if r.at != r.bytes.len() || !fix.bytes.is_empty() || !cor.bytes.is_empty() {
        return Err(corrupt("bytes left over in a column"));
    }
    if !lit.bytes.is_empty() {
        return Err(corrupt("bytes left over in the literal column"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pieces::{Piece, Recipe};
    use proptest::prelude::*;

    /// A zip recipe: two members (one deflated, by made-up corrections)
    /// behind local headers with extra fields, and their directory.
    fn recipe() -> Recipe {
        let local = |name: &[u8], extra: &[u8]| {
            let mut h = b"PK\x03\x04\x14\0\0\0\x08\0".to_vec();
            h.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&(extra.len() as u16).to_le_bytes());
            [h, name.to_vec(), extra.to_vec()].concat()
        };
        let mut dir = Vec::new();
        for (name, extra) in [(&b"a.txt"[..], &b"UT\x05\0\x03abcd"[..]), (b"b/c", b"")] {
            let mut e = b"PK\x01\x02".to_vec();
            e.extend_from_slice(&[0; 24]);
            e.extend_from_slice(&(name.len() as u16).to_le_bytes());
            e.extend_from_slice(&(extra.len() as u16).to_le_bytes());
            e.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            dir.extend([e, name.to_vec(), extra.to_vec(), b"!".to_vec()].concat());
        }
        dir.extend_from_slice(b"PK\x05\x06 the end");
        Recipe {
            format: crate::pieces::FORMAT_ZIP,
            contents: vec![5, 3],
            pieces: vec![
                Piece::Literal(local(b"a.txt", b"UT\x09\0\x03abcdefgh")),
                Piece::Deflate {
                    plain_len: 5,
                    chunks: vec![crate::recipe::Chunk {
                        plain_len: 5,
                        deflate_len: 7,
                        corrections: vec![9, 8, 7],
                    }],
                },
                Piece::Literal(local(b"b/c", b"")),
                Piece::Stored { plain_len: 3 },
                Piece::Literal(dir),
            ],
        }
    }

    #[test]
    fn columns_keep_every_byte_and_move_the_changing_ones_together() {
        let r = recipe();
        let plain = r.encode_with(&[]);
        let c = split(&plain).expect("a zip recipe");
        assert_eq!(c[..4], MAGIC);
        assert_eq!(join(&c).unwrap(), plain);
        assert_eq!(Recipe::decode(&c).unwrap(), r);
        assert_eq!(Recipe::decode(&r.encode()).unwrap(), r);
        // The fix column: the first header's time, date and CRC-32 and
        // its extra field, the second's, then the first entry's extra.
        let fix = [
            &[1, 2, 3, 4, 5, 6, 7, 8][..],
            b"UT\x09\0\x03abcdefgh",
            &[1, 2, 3, 4, 5, 6, 7, 8],
            b"UT\x05\0\x03abcd",
        ]
        .concat();
        assert!(c.windows(fix.len()).any(|w| w == fix), "{c:?}");
        for cut in 0..c.len() {
            assert!(join(&c[..cut]).is_err(), "cut at {cut} accepted");
        }
        let mut longer = c.clone();
        longer.push(0);
        assert!(join(&longer).is_err());
    }

    #[test]
    fn other_recipes_are_not_laid_out_by_column() {
        let mut r = recipe();
        r.format = crate::pieces::FORMAT_AR;
        assert_eq!(split(&r.encode_with(&[])), None);
        assert_eq!(r.encode()[..4], crate::pieces::MAGIC);
    }

    proptest! {
        #[test]
        fn hostile_columns_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..200), flip in any::<(usize, u8)>()) {
            let _ = join(&[&MAGIC[..], &tail].concat());
            let mut c = split(&recipe().encode_with(&[])).unwrap();
            let at = flip.0 % c.len();
            c[at] ^= flip.1;
            if let Ok(plain) = join(&c) {
                // Whatever it accepts is no longer than what it read.
                prop_assert!(plain.len() <= c.len());
            }
        }
    }
}
