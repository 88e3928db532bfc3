//! X re-made from a general recipe and its contents, streamed: the
//! contents in, piece by piece, X out.

use std::io::{self, Read, Write};

use super::{Piece, Recipe};

/// Why a rebuild of a general recipe failed.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    /// A zstd piece names a libzstd other than this build's.
    #[error(
        "piece {piece}: a zstd frame made by libzstd {wanted}, which only that version re-makes; \
         this build has libzstd {have}"
    )]
    ZstdVersion {
        /// The piece, from 0.
        piece: usize,
        /// The version it names.
        wanted: String,
        /// Ours.
        have: String,
    },
    /// The encoder needs more memory than the rebuild may use.
    #[error(
        "piece {piece}: its xz encoder needs {need} MiB, over the {limit} MiB allowed (--memory)"
    )]
    Memory {
        /// The piece, from 0.
        piece: usize,
        /// MiB it needs.
        need: u64,
        /// MiB allowed.
        limit: u64,
    },
    /// A piece gave another length than recorded.
    #[error("piece {piece} re-made {actual} bytes, not the recorded {expected}")]
    Length {
        /// The piece, from 0.
        piece: usize,
        /// Recorded.
        expected: u64,
        /// Made.
        actual: u64,
    },
    /// The contents ended early or went on.
    #[error("the contents have {actual} bytes where the recipe needs {expected}")]
    ContentLength {
        /// Needed.
        expected: u64,
        /// Given (or at least).
        actual: u64,
    },
    /// A gzip piece failed.
    #[error("piece {piece}")]
    Gzip {
        /// The piece, from 0.
        piece: usize,
        /// Why.
        source: Box<crate::rebuild::Error>,
    },
    /// An encoder failed, or reading or writing did.
    #[error("piece {piece}: cannot re-make it")]
    Io {
        /// The piece, from 0.
        piece: usize,
        /// Why.
        source: io::Error,
    },
}

/// Counts what passes.
struct Counted<'a> {
    out: &'a mut dyn Write,
    n: u64,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Writes X, re-made from `recipe` and its contents read back to back
/// from `content`, to `out`, using at most `memory` bytes for encoders
/// (xz's multithreaded encoder runs as many threads as fit, at most the
/// machine's cores); returns X's length.
pub fn rebuild(
    recipe: &Recipe,
    content: &mut dyn Read,
    out: &mut dyn Write,
    memory: u64,
) -> Result<u64, RebuildError> {
    let mut written = 0u64;
    let mut consumed = 0u64;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    for (i, p) in recipe.pieces.iter().enumerate() {
        let ioe = |source| RebuildError::Io { piece: i, source };
        let mut part = content.take(p.plain_len());
        let mut counted = Counted { out, n: 0 };
        match p {
            Piece::Literal(b) => counted.write_all(b).map_err(ioe)?,
            Piece::Stored { .. } => {
                io::copy(&mut part, &mut counted).map_err(ioe)?;
            }
            Piece::Gzip { recipe, .. } => {
                let r = crate::recipe::Recipe::decode(recipe)
                    .map_err(|e| ioe(io::Error::other(e.to_string())))?;
                crate::rebuild::rebuild(&r, &mut part, &mut counted).map_err(|e| {
                    RebuildError::Gzip {
                        piece: i,
                        source: Box::new(e),
                    }
                })?;
            }
            Piece::Xz { settings, .. } => {
                let blocks = if settings.block_size == 0 {
                    1
                } else {
                    p.plain_len().div_ceil(settings.block_size).max(1)
                };
                let mut threads = cores.min(u32::try_from(blocks).unwrap_or(u32::MAX)).max(1);
                while threads > 1 && settings.encoder_memory(threads) > memory {
                    threads -= 1;
                }
                let need = settings.encoder_memory(threads);
                if need > memory {
                    return Err(RebuildError::Memory {
                        piece: i,
                        need: need >> 20,
                        limit: memory >> 20,
                    });
                }
                let mut enc = settings.encoder(threads).map_err(ioe)?;
                crate::xz::encode(&mut enc, &mut part, &mut counted).map_err(ioe)?;
            }
            Piece::Zstd {
                version, settings, ..
            } => {
                if *version != crate::zstd::lib_version() {
                    return Err(RebuildError::ZstdVersion {
                        piece: i,
                        wanted: crate::zstd::version_text(*version),
                        have: crate::zstd::version_text(crate::zstd::lib_version()),
                    });
                }
                settings
                    .encode(p.plain_len(), &mut part, &mut counted)
                    .map_err(ioe)?;
            }
            Piece::Deflate { chunks, .. } => {
                crate::rebuild::raw_deflate(chunks, &mut part, &mut counted).map_err(|e| {
                    RebuildError::Gzip {
                        piece: i,
                        source: Box::new(e),
                    }
                })?;
            }
        }
        let made = counted.n;
        let read = p.plain_len() - part.limit();
        consumed += read;
        if part.limit() != 0 {
            return Err(RebuildError::ContentLength {
                expected: recipe.content_len(),
                actual: consumed,
            });
        }
        if made != p.out_len() {
            return Err(RebuildError::Length {
                piece: i,
                expected: p.out_len(),
                actual: made,
            });
        }
        written += made;
    }
    if content
        .read(&mut [0u8; 1])
        .map_err(|source| RebuildError::Io {
            piece: recipe.pieces.len(),
            source,
        })?
        != 0
    {
        return Err(RebuildError::ContentLength {
            expected: recipe.content_len(),
            actual: consumed + 1,
        });
    }
    Ok(written)
}
