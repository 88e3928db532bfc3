//! Splitting an xz file, a zstd file, an `ar` archive (a `.deb`) or a zip
//! archive (a wheel, a `.jar`, split by its `zip_members` module) into
//! its contents and a general recipe ([`crate::pieces`]).
//!
//! - xz: each stream decoded to the content, its settings found
//!   ([`crate::xz::find_settings`]); stream padding and bytes after the
//!   last stream (at most [`MAX_TAIL`]) are literal pieces.
//! - zstd: each frame decoded to the content, its settings found
//!   ([`crate::zstd::find_settings`]); skippable frames are literal.
//! - ar: the global header, each member header and pad byte are literal;
//!   each member's data is a content of its own, re-made by its codec
//!   where one re-makes it (xz, zstd, gzip through preflate-rs) and
//!   stored as it is where none does. Small members (`debian-binary`)
//!   stay in the recipe.
//!
//! Like [`crate::analyse`], this trusts nothing it reads and the caller
//! rebuilds X from what would be stored and compares ids before it relies
//! on the split.

use std::io::{self, Write};

use crate::pieces::{FORMAT_AR, FORMAT_XZ, FORMAT_ZIP, FORMAT_ZSTD, Piece, Recipe};

mod zip_members;

/// Most bytes after the last stream or frame kept in the recipe.
pub const MAX_TAIL: usize = 64 << 10;
/// Members of an archive at most this long stay in the recipe.
pub const SMALL_MEMBER: usize = 1024;

/// Where the contents go: a writer that is told where each content starts.
pub trait Contents: Write {
    /// Begins a new content; the bytes written from now on are its.
    fn start(&mut self) -> io::Result<()>;
    /// Drops the content begun last (its bytes are not wanted).
    fn abandon(&mut self) -> io::Result<()>;
}

/// Contents in memory (tests, `split-check`).
#[derive(Debug, Default)]
pub struct InMemory(pub Vec<Vec<u8>>);

impl Write for InMemory {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.0.last_mut() {
            Some(c) => {
                c.extend_from_slice(buf);
                Ok(buf.len())
            }
            None => Err(io::Error::other("no content started")),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Contents for InMemory {
    fn start(&mut self) -> io::Result<()> {
        self.0.push(Vec::new());
        Ok(())
    }
    fn abandon(&mut self) -> io::Result<()> {
        self.0.pop();
        Ok(())
    }
}

/// Why a file is stored whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not a container we split (or a damaged one).
    #[error("{0}")]
    NotContainer(String),
    /// Its encoder's output is not one we re-make.
    #[error("{0}")]
    NotRemade(String),
    /// Over the memory bound.
    #[error("over the memory bound: {0}")]
    OverMemory(String),
}

/// Why a split failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Stored whole.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Writing a content failed.
    #[error("cannot write the content")]
    Io(#[from] io::Error),
}

/// The container format (a [`crate::pieces`] format) `head` starts like.
pub fn sniff(head: &[u8]) -> Option<u8> {
    if head.starts_with(&crate::xz::MAGIC) {
        Some(FORMAT_XZ)
    } else if head.starts_with(&crate::zstd::MAGIC) {
        Some(FORMAT_ZSTD)
    } else if head.starts_with(crate::ar::MAGIC) {
        Some(FORMAT_AR)
    } else if head.starts_with(&crate::zip::LOCAL_MAGIC) {
        Some(FORMAT_ZIP)
    } else {
        None
    }
}

/// Counts the bytes written through it.
struct Count<'a> {
    c: &'a mut dyn Contents,
    n: u64,
}

impl Write for Count<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.c.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.c.flush()
    }
}

/// Splits X (its bytes) into contents, written to `contents`, and a recipe.
/// `memory` bounds the decoders.
pub fn split(x: &[u8], contents: &mut dyn Contents, memory: u64) -> Result<Recipe, Error> {
    let format = sniff(x).ok_or_else(|| {
        Refusal::NotContainer("not xz, zstd, an ar archive or a zip archive".to_owned())
    })?;
    let mut pieces = Vec::new();
    let mut lens = Vec::new();
    match format {
        FORMAT_AR => ar(x, contents, memory, &mut pieces, &mut lens)?,
        FORMAT_ZIP => zip_members::split(x, contents, memory, &mut pieces, &mut lens)?,
        _ => {
            contents.start()?;
            let mut c = Count { c: contents, n: 0 };
            if format == FORMAT_XZ {
                xz(x, &mut c, memory, &mut pieces)?;
            } else {
                zstd(x, &mut c, &mut pieces)?;
            }
            lens.push(c.n);
        }
    }
    Ok(Recipe {
        format,
        contents: lens,
        pieces: merge_literals(pieces),
    })
}

fn tail(rest: &[u8], what: &str, pieces: &mut Vec<Piece>) -> Result<(), Refusal> {
    if rest.len() > MAX_TAIL {
        return Err(Refusal::NotContainer(format!(
            "more than 64 KiB after the last {what}"
        )));
    }
    pieces.push(Piece::Literal(rest.to_vec()));
    Ok(())
}

/// The streams of an xz file, into one content.
fn xz(x: &[u8], c: &mut Count<'_>, memory: u64, pieces: &mut Vec<Piece>) -> Result<(), Error> {
    use crate::xz::{self as z, DecodeError};
    let mut at = 0;
    while at < x.len() {
        let rest = &x[at..];
        if !rest.starts_with(&z::MAGIC) {
            if pieces.is_empty() {
                return Err(Refusal::NotContainer("not xz".to_owned()).into());
            }
            tail(rest, "xz stream", pieces)?;
            break;
        }
        let (len, plain, head) = match z::decode_stream(rest, c, z::PROBE, memory / 4) {
            Ok(r) => r,
            Err(DecodeError::Refused(r)) => return Err(xz_refusal(r).into()),
            Err(DecodeError::Io(e)) => return Err(e.into()),
        };
        let settings = z::find_settings(&rest[..len], &head, plain).map_err(xz_refusal)?;
        pieces.push(Piece::Xz {
            plain_len: plain,
            out_len: len as u64,
            settings,
        });
        at += len;
        // Stream padding: zero bytes, a multiple of four.
        let pad = x[at..].iter().take_while(|&&b| b == 0).count() / 4 * 4;
        if pad > 0 {
            tail(&x[at..at + pad], "xz stream", pieces)?;
            at += pad;
        }
    }
    Ok(())
}

fn xz_refusal(r: crate::xz::Refusal) -> Refusal {
    use crate::xz::Refusal as R;
    match r {
        R::NotXz(w) => Refusal::NotContainer(format!("not xz: {w}")),
        R::NoSettings(w) => Refusal::NotRemade(w),
        R::OverMemory(w) => Refusal::OverMemory(w),
    }
}

/// The frames of a zstd file, into one content.
fn zstd(x: &[u8], c: &mut Count<'_>, pieces: &mut Vec<Piece>) -> Result<(), Error> {
    use crate::zstd::{self as z, DecodeError, Refusal as R};
    let refusal = |r: R| match r {
        R::NotZstd(w) => Refusal::NotContainer(format!("not zstd: {w}")),
        R::NoSettings(w) => Refusal::NotRemade(w),
        R::OverMemory(w) => Refusal::OverMemory(w),
    };
    let mut at = 0;
    while at < x.len() {
        let rest = &x[at..];
        if let Some(n) = z::skippable_len(rest) {
            let n = usize::try_from(n).unwrap_or(usize::MAX).min(rest.len());
            tail(&rest[..n], "frame (a skippable frame over 64 KiB)", pieces)?;
            at += n;
            continue;
        }
        if !rest.starts_with(&z::MAGIC) {
            if pieces.is_empty() {
                return Err(Refusal::NotContainer("not zstd".to_owned()).into());
            }
            tail(rest, "zstd frame", pieces)?;
            break;
        }
        let len = z::frame_len(rest).map_err(refusal)?;
        let frame = &rest[..len];
        if z::header(frame).map_err(refusal)?.dict {
            return Err(
                Refusal::NotRemade("a zstd frame made with a dictionary".to_owned()).into(),
            );
        }
        let plain = match z::decode_frame(frame, c) {
            Ok(p) => p,
            Err(DecodeError::Refused(r)) => return Err(refusal(r).into()),
            Err(DecodeError::Io(e)) => return Err(e.into()),
        };
        let settings = z::find_settings(frame, plain).map_err(refusal)?;
        pieces.push(Piece::Zstd {
            plain_len: plain,
            out_len: len as u64,
            version: z::lib_version(),
            settings,
        });
        at += len;
    }
    Ok(())
}

/// An archive: framing literal, each member a content of its own.
fn ar(
    x: &[u8],
    contents: &mut dyn Contents,
    memory: u64,
    pieces: &mut Vec<Piece>,
    lens: &mut Vec<u64>,
) -> Result<(), Error> {
    let members = crate::ar::parse(x).map_err(|e| Refusal::NotContainer(e.to_string()))?;
    pieces.push(Piece::Literal(crate::ar::MAGIC.to_vec()));
    for m in members {
        pieces.push(Piece::Literal(m.header.to_vec()));
        if m.data.len() <= SMALL_MEMBER {
            pieces.push(Piece::Literal(m.data.to_vec()));
        } else {
            contents.start()?;
            let mut c = Count {
                c: &mut *contents,
                n: 0,
            };
            let made = member(m.data, &mut c, memory)?;
            let piece = match made {
                Some(p) => {
                    lens.push(c.n);
                    p
                }
                None => {
                    // Stored as it is: a content of its own all the same,
                    // so an unchanged member dedupes by id.
                    contents.abandon()?;
                    contents.start()?;
                    contents.write_all(m.data)?;
                    lens.push(m.data.len() as u64);
                    Piece::Stored {
                        plain_len: m.data.len() as u64,
                    }
                }
            };
            pieces.push(piece);
        }
        if !m.pad.is_empty() {
            pieces.push(Piece::Literal(m.pad.to_vec()));
        }
    }
    if lens.is_empty() {
        return Err(Refusal::NotContainer("an archive of small members only".to_owned()).into());
    }
    Ok(())
}

/// One member's data re-made by its codec, or `None` if none re-makes it.
fn member(data: &[u8], c: &mut Count<'_>, memory: u64) -> Result<Option<Piece>, Error> {
    let mut inner = Vec::new();
    let plain_before = c.n;
    let r = if data.starts_with(&crate::xz::MAGIC) {
        xz(data, c, memory, &mut inner)
    } else if data.starts_with(&crate::zstd::MAGIC) {
        zstd(data, c, &mut inner)
    } else if data.starts_with(&[0x1f, 0x8b, 8]) {
        let limits = crate::analyse::Limits::for_memory(memory);
        return match crate::analyse::split(&mut &data[..], c, limits) {
            Ok(recipe) => Ok(Some(Piece::Gzip {
                plain_len: c.n - plain_before,
                recipe: recipe.encode(),
            })),
            Err(crate::analyse::Error::Refused(_)) => Ok(None),
            Err(crate::analyse::Error::Io(e)) => Err(e.into()),
        };
    } else {
        return Ok(None);
    };
    match r {
        // One stream or frame: one piece. Several (or padding): not
        // re-made as a member (rare; stored as it is).
        Ok(()) if inner.len() == 1 => Ok(inner.pop()),
        Ok(()) | Err(Error::Refused(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn merge_literals(pieces: Vec<Piece>) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::with_capacity(pieces.len());
    for p in pieces {
        match (out.last_mut(), p) {
            (_, Piece::Literal(b)) if b.is_empty() => {}
            (Some(Piece::Literal(a)), Piece::Literal(b)) => a.extend_from_slice(&b),
            (_, p) => out.push(p),
        }
    }
    out
}
