//! Patches for clients: a file that turns one blob (`have`) into another
//! (`want`), in formats that stock tools or our own `silo apply` read.
//!
//! | format | made with | applied by | limit on `have` + `want` |
//! |---|---|---|---|
//! | [`vcdiff`] | the xdelta3 library (bindings) | stock `xdelta3 -d -s HAVE` | [`vcdiff::MAX_INPUT`] |
//! | [`zstd`] | zstd, level 22, `have` as prefix, long matching | stock `zstd -d --long=31 --patch-from=HAVE` | 2 GiB |
//! | [`lzma`] | LZMA2 with `have` as its preset dictionary | `silo apply` | [`lzma::MAX_INPUT`] |
//! | [`xz`] | our git-format delta, then xz `-9e` | `silo apply` (or `xz -d` and a git delta applier) | none |
//!
//! Every decoder treats the patch as hostile: it refuses to produce more
//! than the caller's `limit` bytes, and reports a patch that is truncated or
//! corrupt as [`Error::Corrupt`]. None of them checks that the result is
//! `want`: that is the caller's job, by its id.

pub mod lzma;
pub mod vcdiff;
pub mod xz;
pub mod zstd;

/// Why a patch cannot be made or applied.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The pair is too large for this format.
    #[error("{format}: have + want is {size} bytes, more than this format's limit of {limit}")]
    TooLarge {
        /// The format.
        format: &'static str,
        /// `have.len() + want.len()`.
        size: u64,
        /// The format's limit.
        limit: u64,
    },
    /// This format cannot express this pair.
    #[error("{format}: {what}")]
    Unsupported {
        /// The format.
        format: &'static str,
        /// Why not.
        what: &'static str,
    },
    /// The patch would produce more than the caller allows.
    #[error("{format}: the patch produces more than the limit of {limit} bytes")]
    OutputTooLarge {
        /// The format.
        format: &'static str,
        /// The caller's bound.
        limit: u64,
    },
    /// The patch is not a valid patch of this format, or not for this `have`.
    #[error("{format}: corrupt patch: {what}")]
    Corrupt {
        /// The format.
        format: &'static str,
        /// What is wrong.
        what: String,
    },
    /// The compressor failed (out of memory, or a library error).
    #[error("{format}: the encoder failed: {what}")]
    Encoder {
        /// The format.
        format: &'static str,
        /// The library's message.
        what: String,
    },
}

/// Bytes of `a` and `b` together, refused past a format's `limit`.
fn pair_size(format: &'static str, a: &[u8], b: &[u8], limit: u64) -> Result<u64, Error> {
    let size = a.len() as u64 + b.len() as u64;
    if size > limit {
        return Err(Error::TooLarge {
            format,
            size,
            limit,
        });
    }
    Ok(size)
}

/// Reads all of `r` into a vector, refusing more than `limit` bytes.
fn read_bounded(r: impl std::io::Read, limit: u64, format: &'static str) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let mut out = Vec::new();
    let n = r
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| Error::Corrupt {
            format,
            what: e.to_string(),
        })?;
    if n as u64 > limit {
        return Err(Error::OutputTooLarge { format, limit });
    }
    Ok(out)
}
