//! The general recipe: a file X as a sequence of pieces, each framing
//! bytes kept as they are or a run of plain text re-made by an encoder.
//!
//! A split object is X = rebuild(R, T1 ... Tn): its contents T1 ... Tn
//! are git blobs (a `.deb`'s `control.tar` and `data.tar`, a `.tar.xz`'s
//! tar), R is this recipe, and the record table lists X, R and the
//! contents in order. The pieces read the contents back to back, each
//! the next `plain_len` bytes of them, so a rebuild streams: the contents
//! in, X out. Layout (integers are unsigned LEB128 varints unless a width
//! is given):
//!
//! ```text
//! "TRCP"                 magic, 4 bytes
//! format                 1 byte, the container: 2 xz, 3 zstd, 4 ar, 6 zip
//! contents               count n >= 1, then n lengths: T1 ... Tn
//! pieces                 count >= 1; each a tag byte and its fields:
//!   0 literal            len, bytes: framing kept byte for byte
//!   1 stored             plain_len: the next bytes of the contents, as they are
//!   2 gzip               plain_len, len, a gzip recipe ("TGZR", format 1 or 2)
//!   3 xz                 plain_len, out_len, check (1 byte), preset (1 byte,
//!                        bit 7 extreme), dict, block_size (0: single-threaded)
//!   4 zstd               plain_len, out_len, libzstd version, level (zigzag),
//!                        flags (1 byte: 1 checksum, 2 pledged size, 4 long),
//!                        workers (1 byte, 0 or 1)
//!   5 deflate            plain_len, then a raw deflate stream's chunks as in
//!                        a gzip recipe of format 5 (count, then each
//!                        chunk's plain_len, deflate_len, corrections_len,
//!                        corrections): a zip member's data, re-made by
//!                        trees-deflate
//!   6 zip framing        len, bytes: a literal of a zip (format 6 only)
//!                        whose derivable fields are zeroed: a local
//!                        header's sizes, a directory entry's copy of its
//!                        local header and offset ([`derive`])
//! ```
//!
//! A zip's recipe is written with the same bytes laid out by column
//! ("TRCQ", [`columns`]) where that gives them back exactly.
//!
//! The pieces' plain lengths add up to the contents' lengths. Nothing in
//! a recipe is trusted: [`Recipe::decode`] bounds every count and length,
//! a rebuild checks each piece's output length, and the caller checks the
//! rebuilt bytes against X's id.

use crate::recipe::FormatError;
use crate::varint::{Reader, put, put_bytes};

pub(crate) mod columns;
mod derive;
mod rebuild;
pub use rebuild::{RebuildError, rebuild};

/// The first bytes of every general recipe.
pub const MAGIC: [u8; 4] = *b"TRCP";
/// Container: one or more xz streams (and stream padding).
pub const FORMAT_XZ: u8 = 2;
/// Container: one or more zstd frames (and skippable frames).
pub const FORMAT_ZSTD: u8 = 3;
/// Container: an `ar` archive (a `.deb`), each member re-made by its codec.
pub const FORMAT_AR: u8 = 4;
/// Container: a zip archive (a wheel, a `.jar`), each member's data a
/// content of its own, re-made by trees-deflate where it is deflated.
/// Format 5 is the gzip recipe's (one namespace), so 6.
pub const FORMAT_ZIP: u8 = 6;
/// The formats of this layout.
pub const FORMATS: &[u8] = &[FORMAT_XZ, FORMAT_ZSTD, FORMAT_AR, FORMAT_ZIP];

/// One piece of X.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Framing bytes, kept as they are.
    Literal(Vec<u8>),
    /// The next `plain_len` bytes of the contents, as they are.
    Stored {
        /// Bytes.
        plain_len: u64,
    },
    /// A gzip file re-made by a gzip recipe (format 1 or 2) from the next bytes.
    Gzip {
        /// Plain bytes it reads.
        plain_len: u64,
        /// The format-1 recipe's bytes.
        recipe: Vec<u8>,
    },
    /// An xz stream re-made by liblzma.
    Xz {
        /// Plain bytes it reads.
        plain_len: u64,
        /// Bytes it gives.
        out_len: u64,
        /// The encoder's settings.
        settings: crate::xz::Settings,
    },
    /// A zstd frame re-made by libzstd.
    Zstd {
        /// Plain bytes it reads.
        plain_len: u64,
        /// Bytes it gives.
        out_len: u64,
        /// The libzstd version that re-makes it.
        version: u32,
        /// The encoder's settings.
        settings: crate::zstd::Settings,
    },
    /// A raw deflate stream re-made by trees-deflate from the next bytes.
    Deflate {
        /// Plain bytes it reads.
        plain_len: u64,
        /// Its chunks (recipe format 5's).
        chunks: Vec<crate::recipe::Chunk>,
    },
}

impl Piece {
    /// Plain bytes of the contents it reads.
    pub fn plain_len(&self) -> u64 {
        match self {
            Piece::Literal(_) => 0,
            Piece::Stored { plain_len }
            | Piece::Gzip { plain_len, .. }
            | Piece::Xz { plain_len, .. }
            | Piece::Zstd { plain_len, .. }
            | Piece::Deflate { plain_len, .. } => *plain_len,
        }
    }

    /// Bytes of X it gives (a gzip piece: as its recipe declares).
    pub fn out_len(&self) -> u64 {
        match self {
            Piece::Literal(b) => b.len() as u64,
            Piece::Stored { plain_len } => *plain_len,
            Piece::Gzip { recipe, .. } => crate::recipe::Recipe::decode(recipe)
                .map(|r| r.rebuilt_len())
                .unwrap_or(0),
            Piece::Xz { out_len, .. } | Piece::Zstd { out_len, .. } => *out_len,
            Piece::Deflate { chunks, .. } => chunks.iter().map(|c| c.deflate_len).sum(),
        }
    }
}

/// A decoded general recipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipe {
    /// The container: one of [`FORMATS`].
    pub format: u8,
    /// The contents' lengths, in order.
    pub contents: Vec<u64>,
    /// The pieces, in order.
    pub pieces: Vec<Piece>,
}

impl Recipe {
    /// The contents' total length.
    pub fn content_len(&self) -> u64 {
        self.contents.iter().sum()
    }

    /// X's length, as the recipe declares it.
    pub fn rebuilt_len(&self) -> u64 {
        self.pieces.iter().map(Piece::out_len).sum()
    }

    /// The recipe's bytes. A zip's: its framing with the derivable fields
    /// zeroed (tag 6), laid out by column ([`columns`]), as far as each
    /// decodes to the same recipe.
    pub fn encode(&self) -> Vec<u8> {
        if self.format != FORMAT_ZIP {
            return self.encode_with(&[]);
        }
        let derived = derive::derivable(&self.pieces);
        let mut plain = self.encode_with(&[]);
        if derived.iter().any(Option::is_some) {
            let out = self.encode_with(&derived);
            if Recipe::decode(&out).as_ref() == Ok(self) {
                plain = out;
            }
        }
        match columns::split(&plain) {
            Some(c) if columns::join(&c).as_ref() == Ok(&plain) => c,
            _ => plain,
        }
    }

    /// The recipe's bytes, piece `i` written as `derived[i]` (tag 6) where
    /// that is given.
    fn encode_with(&self, derived: &[Option<Vec<u8>>]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.push(self.format);
        put(&mut out, self.contents.len() as u64);
        for &c in &self.contents {
            put(&mut out, c);
        }
        put(&mut out, self.pieces.len() as u64);
        for (i, p) in self.pieces.iter().enumerate() {
            if let Some(Some(zeroed)) = derived.get(i) {
                out.push(6);
                put_bytes(&mut out, zeroed);
                continue;
            }
            match p {
                Piece::Literal(b) => {
                    out.push(0);
                    put_bytes(&mut out, b);
                }
                Piece::Stored { plain_len } => {
                    out.push(1);
                    put(&mut out, *plain_len);
                }
                Piece::Gzip { plain_len, recipe } => {
                    out.push(2);
                    put(&mut out, *plain_len);
                    put_bytes(&mut out, recipe);
                }
                Piece::Xz {
                    plain_len,
                    out_len,
                    settings,
                } => {
                    out.push(3);
                    put(&mut out, *plain_len);
                    put(&mut out, *out_len);
                    put_xz(&mut out, settings);
                }
                Piece::Zstd {
                    plain_len,
                    out_len,
                    version,
                    settings,
                } => {
                    out.push(4);
                    put(&mut out, *plain_len);
                    put(&mut out, *out_len);
                    put_zstd(&mut out, *version, settings);
                }
                Piece::Deflate { plain_len, chunks } => {
                    out.push(5);
                    put(&mut out, *plain_len);
                    crate::recipe::put_chunks(&mut out, chunks);
                }
            }
        }
        out
    }

    /// Decodes a recipe; hostile bytes give an error, never a panic or an
    /// allocation larger than the input.
    pub fn decode(bytes: &[u8]) -> Result<Recipe, FormatError> {
        if bytes.get(..4) == Some(&columns::MAGIC[..]) {
            return Recipe::decode(&columns::join(bytes)?);
        }
        if bytes.get(..4) != Some(&MAGIC[..]) {
            return Err(FormatError::Magic);
        }
        let mut r = Reader { bytes, at: 4 };
        let format = r.byte("no format byte")?;
        if !FORMATS.contains(&format) {
            return Err(FormatError::UnknownFormat(format));
        }
        let n = r.count("content count")?;
        if n == 0 {
            return Err(r.corrupt("no contents"));
        }
        let mut contents = Vec::with_capacity(n);
        let mut total = 0u64;
        for _ in 0..n {
            let c = r.varint("content length")?;
            total = total
                .checked_add(c)
                .ok_or_else(|| r.corrupt("contents over 2^64 bytes"))?;
            contents.push(c);
        }
        let n = r.count("piece count")?;
        if n == 0 {
            return Err(r.corrupt("no pieces"));
        }
        let mut pieces = Vec::with_capacity(n);
        let mut derived = Vec::new();
        let mut plain = 0u64;
        for i in 0..n {
            if r.bytes.get(r.at) == Some(&6) && format == FORMAT_ZIP {
                r.at += 1;
                derived.resize(i + 1, false);
                derived[i] = true;
                pieces.push(Piece::Literal(r.bytes("zip framing")?.to_vec()));
                continue;
            }
            let p = r.piece()?;
            plain = plain
                .checked_add(p.plain_len())
                .ok_or_else(|| r.corrupt("pieces over 2^64 bytes"))?;
            pieces.push(p);
        }
        if plain != total {
            return Err(r.corrupt("the pieces read other than the contents' length"));
        }
        if r.at != bytes.len() {
            return Err(r.corrupt("bytes after the end"));
        }
        derive::restore(&mut pieces, &derived).map_err(|what| r.corrupt(what))?;
        Ok(Recipe {
            format,
            contents,
            pieces,
        })
    }
}

/// xz settings, encoded: check, preset (bit 7: extreme), dict, block size.
fn put_xz(out: &mut Vec<u8>, s: &crate::xz::Settings) {
    out.push(s.check);
    out.push(s.preset | if s.extreme { 0x80 } else { 0 });
    put(out, u64::from(s.dict));
    put(out, s.block_size);
}

/// zstd settings, encoded: the libzstd version, the level (zigzag), flags
/// (bit 0 checksum, 1 pledged size, 2 long), workers.
fn put_zstd(out: &mut Vec<u8>, version: u32, s: &crate::zstd::Settings) {
    put(out, u64::from(version));
    let zz = ((s.level << 1) ^ (s.level >> 31)) as u32;
    put(out, u64::from(zz));
    out.push(u8::from(s.checksum) | u8::from(s.pledged) << 1 | u8::from(s.long) << 2);
    out.push(s.workers);
}

/// Most bytes an encoded piece may declare beyond its plain text: xz and
/// zstd add a few bytes per block or chunk to incompressible data.
fn max_out(plain: u64) -> u64 {
    plain.saturating_add(plain / 16).saturating_add(1 << 20)
}

impl Reader<'_> {
    fn out_len(&mut self, plain_len: u64) -> Result<u64, FormatError> {
        let out_len = self.varint("output length")?;
        if out_len > max_out(plain_len) {
            return Err(self.corrupt("an output longer than any encoding of its plain text"));
        }
        Ok(out_len)
    }

    fn piece(&mut self) -> Result<Piece, FormatError> {
        Ok(match self.byte("piece tag")? {
            0 => Piece::Literal(self.bytes("literal")?.to_vec()),
            1 => Piece::Stored {
                plain_len: self.varint("stored length")?,
            },
            2 => {
                let plain_len = self.varint("plain length")?;
                let at = self.at;
                let recipe = self.bytes("gzip recipe")?.to_vec();
                let inner =
                    crate::recipe::Recipe::decode(&recipe).map_err(|_| FormatError::Corrupt {
                        at,
                        what: "a gzip piece's recipe is unusable",
                    })?;
                if inner.content_len() != plain_len {
                    return Err(self.corrupt("a gzip piece's recipe reads another length"));
                }
                Piece::Gzip { plain_len, recipe }
            }
            3 => {
                let plain_len = self.varint("plain length")?;
                let out_len = self.out_len(plain_len)?;
                let check = self.byte("xz check")?;
                let preset = self.byte("xz preset")?;
                let dict = self.varint("xz dictionary")?;
                let block_size = self.varint("xz block size")?;
                if ![0, 1, 4, 10].contains(&check) {
                    return Err(self.corrupt("an xz check liblzma does not make"));
                }
                if preset & 0x7f > 9 {
                    return Err(self.corrupt("an xz preset over 9"));
                }
                if !(4096..=u64::from(crate::xz::MAX_DICT)).contains(&dict) {
                    return Err(self.corrupt("an xz dictionary outside 4 KiB .. 256 MiB"));
                }
                if block_size > 1 << 40 {
                    return Err(self.corrupt("an xz block size over 1 TiB"));
                }
                Piece::Xz {
                    plain_len,
                    out_len,
                    settings: crate::xz::Settings {
                        check,
                        preset: preset & 0x7f,
                        extreme: preset & 0x80 != 0,
                        dict: dict as u32,
                        block_size,
                    },
                }
            }
            4 => {
                let plain_len = self.varint("plain length")?;
                let out_len = self.out_len(plain_len)?;
                let version = self.varint("libzstd version")?;
                let zz = self.varint("zstd level")?;
                let flags = self.byte("zstd flags")?;
                let workers = self.byte("zstd workers")?;
                let version =
                    u32::try_from(version).map_err(|_| self.corrupt("libzstd version"))?;
                let zz = u32::try_from(zz).map_err(|_| self.corrupt("zstd level"))?;
                let level = ((zz >> 1) as i32) ^ -((zz & 1) as i32);
                if !(-131_072..=22).contains(&level) || flags > 7 || workers > 1 {
                    return Err(self.corrupt("zstd settings out of range"));
                }
                Piece::Zstd {
                    plain_len,
                    out_len,
                    version,
                    settings: crate::zstd::Settings {
                        level,
                        checksum: flags & 1 != 0,
                        pledged: flags & 2 != 0,
                        long: flags & 4 != 0,
                        workers,
                    },
                }
            }
            5 => {
                let plain_len = self.varint("plain length")?;
                let chunks = crate::recipe::read_chunks(self)?;
                if chunks.iter().map(|c| c.plain_len).sum::<u64>() != plain_len {
                    return Err(self.corrupt("a deflate piece's chunks read another length"));
                }
                Piece::Deflate { plain_len, chunks }
            }
            _ => return Err(self.corrupt("an unknown piece tag")),
        })
    }
}
