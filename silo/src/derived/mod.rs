//! `derived/deltas/`: files that turn one blob into another, made ahead of
//! time for clients of a static web server ("I have Python-3.10.4, send me
//! 3.10.5").
//!
//! For each `have`/`want` hint, named by the two full ids so that a client
//! can find them without listing the directory:
//!
//! ```text
//! derived/deltas/<have>..<want>.pack        thin git pack: git index-pack --fix-thin --stdin
//! derived/deltas/<have>..<want>.vcdiff      xdelta3 -d -s HAVE PATCH WANT
//! derived/deltas/<have>..<want>.patch.zst   zstd -d --long=31 --patch-from=HAVE PATCH
//! derived/deltas/<have>..<want>.patch.lzma  silo apply HAVE PATCH
//! derived/deltas/<have>..<want>.delta.xz    silo apply HAVE PATCH (xz -d gives a git delta)
//! derived/deltas/<have>..<want>.json        what was made, smallest first
//! ```
//!
//! Everything here is recomputable from the objects: `silo verify` applies
//! every file and checks the result's id, `silo gc` removes the files of
//! pairs whose `have` or `want` is unreachable, and a missing or wrong hint
//! costs bytes, never correctness. The `.json` is written last, so a pair
//! without one is unfinished and is made again.

mod apply;
mod check;
mod manifest;

use std::path::{Path, PathBuf};

use trees_pack::ObjectId;

pub use apply::{ApplyError, apply};
pub use check::{unreachable, verify};
pub use manifest::{File, Manifest, Skipped};

use crate::Silo;

/// One kind of derived file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// A thin git pack: `want` as a REF_DELTA against `have`.
    ThinPack,
    /// VCDIFF, made through the xdelta3 bindings.
    Vcdiff,
    /// A zstd frame with `have` as its prefix.
    Zstd,
    /// LZMA2 with `have` as its preset dictionary.
    Lzma,
    /// Our git-format delta in an xz container.
    DeltaXz,
}

impl Format {
    /// Every format, in the order they are listed when sizes tie.
    pub const ALL: [Format; 5] = [
        Format::Lzma,
        Format::Zstd,
        Format::DeltaXz,
        Format::ThinPack,
        Format::Vcdiff,
    ];

    /// The formats `silo repack --hints` makes unless told otherwise, in
    /// the order they are started: the quick ones first, so that LZMA (by
    /// far the slowest) does not share a core with `delta.xz`'s encoder.
    pub const DEFAULT: [Format; 5] = [
        Format::ThinPack,
        Format::Vcdiff,
        Format::Zstd,
        Format::Lzma,
        Format::DeltaXz,
    ];

    /// The file name suffix, after `<have>..<want>`.
    pub fn extension(self) -> &'static str {
        match self {
            Format::ThinPack => "pack",
            Format::Vcdiff => "vcdiff",
            Format::Zstd => "patch.zst",
            Format::Lzma => "patch.lzma",
            Format::DeltaXz => "delta.xz",
        }
    }

    /// How a client applies it (HAVE, PATCH and WANT are placeholders).
    pub fn applies_with(self) -> &'static str {
        match self {
            Format::ThinPack => {
                "git index-pack --fix-thin --stdin < PATCH (in a repository holding HAVE)"
            }
            Format::Vcdiff => "xdelta3 -d -s HAVE PATCH WANT",
            Format::Zstd => "zstd -d --long=31 --patch-from=HAVE PATCH -o WANT",
            Format::Lzma | Format::DeltaXz => "silo apply HAVE PATCH -o WANT",
        }
    }

    /// The format whose extension ends `name`.
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| name.ends_with(&format!(".{}", f.extension())))
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::ThinPack => "thin-pack",
            Format::Vcdiff => "vcdiff",
            Format::Zstd => "zstd",
            Format::Lzma => "lzma",
            Format::DeltaXz => "delta-xz",
        })
    }
}

/// A name that is not one of [`Format::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format {0:?}: thin-pack, vcdiff, zstd, lzma or delta-xz")]
pub struct UnknownFormat(pub String);

impl std::str::FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, UnknownFormat> {
        Format::ALL
            .into_iter()
            .find(|f| f.to_string() == s)
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// `derived/deltas/`.
pub fn deltas_dir(silo: &Silo) -> PathBuf {
    silo.derived_dir().join("deltas")
}

/// `<have>..<want>`: the stem every file of a pair shares.
pub fn stem(have: &ObjectId, want: &ObjectId) -> String {
    format!("{have}..{want}")
}

/// The `have` and `want` of a derived file's name, and its format (`None`
/// for the `.json`). `None` if the name is not one of ours.
pub fn parse_name(path: &Path) -> Option<(ObjectId, ObjectId, Option<Format>)> {
    let name = path.file_name()?.to_str()?;
    let have = trees_pack::id::parse_hex(name.get(..40)?)?;
    if name.get(40..42)? != ".." {
        return None;
    }
    let want = trees_pack::id::parse_hex(name.get(42..82)?)?;
    let rest = name.get(82..)?;
    if rest == ".json" {
        return Some((have, want, None));
    }
    let format = Format::from_name(name)?;
    (rest == format!(".{}", format.extension())).then_some((have, want, Some(format)))
}
