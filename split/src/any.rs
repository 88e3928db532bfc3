//! Any recipe this build reads: formats 1 and 5 (a gzip file, [`crate::recipe`])
//! or the general one (xz, zstd, `ar`: [`crate::pieces`]), told apart by
//! their magic, with one rebuild for both.

use std::io::{Read, Write};

use crate::pieces;
use crate::recipe::{self, FormatError};

/// Every record format this build rebuilds: 1 gzip (preflate-rs 0.7.6),
/// 2 xz (liblzma), 3 zstd (libzstd 1.5.4), 4 `ar` (members by codec),
/// 5 gzip (trees-deflate), 6 zip (members by trees-deflate).
pub const FORMATS: &[u8] = &[
    recipe::FORMAT_PREFLATE_0_7_6,
    pieces::FORMAT_XZ,
    pieces::FORMAT_ZSTD,
    pieces::FORMAT_AR,
    recipe::FORMAT_TREES_DEFLATE,
    pieces::FORMAT_ZIP,
];

/// What each format is, for messages.
pub const FORMAT_NAMES: &str = "1 = gzip by preflate-rs 0.7.6, 2 = xz by liblzma, \
     3 = zstd by libzstd 1.5.4, 4 = ar with its members by codec, 5 = gzip by trees-deflate, \
     6 = zip with its members by trees-deflate";

/// A decoded recipe of either layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyRecipe {
    /// Formats 1 and 5.
    Gzip(recipe::Recipe),
    /// Formats 2-4 and 6.
    Pieces(pieces::Recipe),
}

/// Why a rebuild failed.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    /// A gzip (format 1 or 5) rebuild failed.
    #[error(transparent)]
    Gzip(#[from] crate::rebuild::Error),
    /// A general rebuild failed.
    #[error(transparent)]
    Pieces(#[from] pieces::RebuildError),
}

impl AnyRecipe {
    /// Decodes either layout.
    pub fn decode(bytes: &[u8]) -> Result<AnyRecipe, FormatError> {
        if bytes.starts_with(&pieces::MAGIC) || bytes.starts_with(&pieces::columns::MAGIC) {
            pieces::Recipe::decode(bytes).map(AnyRecipe::Pieces)
        } else {
            recipe::Recipe::decode(bytes).map(AnyRecipe::Gzip)
        }
    }

    /// The record format.
    pub fn format(&self) -> u8 {
        match self {
            AnyRecipe::Gzip(r) => r.format,
            AnyRecipe::Pieces(r) => r.format,
        }
    }

    /// The contents' lengths, in order.
    pub fn content_lens(&self) -> Vec<u64> {
        match self {
            AnyRecipe::Gzip(r) => vec![r.content_len()],
            AnyRecipe::Pieces(r) => r.contents.clone(),
        }
    }

    /// X's length, as declared.
    pub fn rebuilt_len(&self) -> u64 {
        match self {
            AnyRecipe::Gzip(r) => r.rebuilt_len(),
            AnyRecipe::Pieces(r) => r.rebuilt_len(),
        }
    }

    /// The bytes.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            AnyRecipe::Gzip(r) => r.encode(),
            AnyRecipe::Pieces(r) => r.encode(),
        }
    }

    /// Writes X, re-made from the contents read back to back from
    /// `content`, to `out`; encoders use at most `memory` bytes.
    pub fn rebuild(
        &self,
        content: &mut dyn Read,
        out: &mut dyn Write,
        memory: u64,
    ) -> Result<u64, RebuildError> {
        Ok(match self {
            AnyRecipe::Gzip(r) => crate::rebuild::rebuild(r, content, out)?,
            AnyRecipe::Pieces(r) => pieces::rebuild(r, content, out, memory)?,
        })
    }
}
