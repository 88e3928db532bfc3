//! `silo apply`: rebuild `want` from `have` and a derived file, and prove it
//! by its id. The file's name says which pair it is for; the base given must
//! hash to that `have`, and the result must hash to that `want`, or nothing
//! is returned.

use std::path::{Path, PathBuf};

use trees_delta::patch;
use trees_pack::id::{self, Kind};
use trees_pack::{ObjectId, data};

use super::{Format, parse_name};

/// Why a derived file cannot be applied. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The name is not `<have>..<want>.<format>`.
    #[error(
        "{path}: not a derived file name (<have>..<want>.pack|vcdiff|patch.zst|patch.lzma|delta.xz)"
    )]
    Name {
        /// The file.
        path: PathBuf,
    },
    /// The file cannot be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The base given is not the `have` the file was made for.
    #[error("{path} applies to {expected}, but the base given is {actual}")]
    WrongHave {
        /// The file.
        path: PathBuf,
        /// The `have` of its name.
        expected: ObjectId,
        /// The id of the base given.
        actual: String,
    },
    /// The patch is damaged (or its decoder refused it).
    #[error("{path}: {source}")]
    Patch {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        source: patch::Error,
    },
    /// The thin pack is damaged or is not a one-object thin pack.
    #[error("{path}: thin pack: {what}")]
    ThinPack {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The result is not `want`: the file is corrupt. Nothing is returned.
    #[error("{path}: the result hashes to {actual}, not {want}: the file is corrupt")]
    WrongWant {
        /// The file.
        path: PathBuf,
        /// The `want` of its name.
        want: ObjectId,
        /// What the result hashes to.
        actual: String,
    },
}

/// What `data` hashes to (or why it cannot be hashed) when that is not `id`.
fn mismatch(data: &[u8], id: &ObjectId) -> Option<String> {
    match id::hash_object(Kind::Blob, data) {
        Ok(actual) if actual == *id => None,
        Ok(actual) => Some(actual.to_string()),
        Err(e) => Some(e.to_string()),
    }
}

/// Applies the derived file at `path` to `have` and returns `want`'s id and
/// bytes, at most `limit` of them, after checking both ids.
pub fn apply(have: &[u8], path: &Path, limit: u64) -> Result<(ObjectId, Vec<u8>), ApplyError> {
    apply_to(Have::Unchecked(have), path, limit)
}

/// The base a derived file is applied to.
pub(super) enum Have<'a> {
    /// Bytes whose id must still be checked against the file's name.
    Unchecked(&'a [u8]),
    /// Bytes read from the silo by this id (the read checked it): `verify`
    /// applies five files to one `have` and hashes it once, not five times.
    Read(&'a [u8], ObjectId),
}

pub(super) fn apply_to(
    have: Have<'_>,
    path: &Path,
    limit: u64,
) -> Result<(ObjectId, Vec<u8>), ApplyError> {
    let (have_id, want_id, format) = match parse_name(path) {
        Some((h, w, Some(f))) => (h, w, f),
        _ => {
            return Err(ApplyError::Name {
                path: path.to_owned(),
            });
        }
    };
    let have = match have {
        Have::Read(bytes, id) if id == have_id => bytes,
        Have::Read(_, id) => {
            return Err(ApplyError::WrongHave {
                path: path.to_owned(),
                expected: have_id,
                actual: id.to_string(),
            });
        }
        Have::Unchecked(bytes) => {
            if let Some(actual) = mismatch(bytes, &have_id) {
                return Err(ApplyError::WrongHave {
                    path: path.to_owned(),
                    expected: have_id,
                    actual,
                });
            }
            bytes
        }
    };
    let io = |source| ApplyError::Io {
        path: path.to_owned(),
        source,
    };
    let patch_err = |source| ApplyError::Patch {
        path: path.to_owned(),
        source,
    };
    let out = match format {
        Format::ThinPack => thin_pack(have, &have_id, path, limit)?,
        f => {
            let bytes = std::fs::read(path).map_err(io)?;
            match f {
                Format::Vcdiff => patch::vcdiff::decode(have, &bytes, limit),
                Format::Zstd => patch::zstd::decode(have, &bytes, limit),
                Format::Lzma => patch::lzma::decode(have, &bytes, limit),
                _ => patch::xz::decode(have, &bytes, limit),
            }
            .map_err(patch_err)?
        }
    };
    if let Some(actual) = mismatch(&out, &want_id) {
        return Err(ApplyError::WrongWant {
            path: path.to_owned(),
            want: want_id,
            actual,
        });
    }
    Ok((want_id, out))
}

/// A pack of exactly one REF_DELTA entry against `have`, its checksum good.
fn thin_pack(
    have: &[u8],
    have_id: &ObjectId,
    path: &Path,
    limit: u64,
) -> Result<Vec<u8>, ApplyError> {
    let bad = |what: String| ApplyError::ThinPack {
        path: path.to_owned(),
        what,
    };
    let pack = data::File::open(path).map_err(|e| bad(trees_pack::error_chain(&e)))?;
    pack.verify_checksum()
        .map_err(|e| bad(trees_pack::error_chain(&e)))?;
    if pack.count() != 1 {
        return Err(bad(format!("holds {} entries, not 1", pack.count())));
    }
    let at = data::HEADER_LEN as u64;
    let h = pack
        .header(at)
        .map_err(|e| bad(trees_pack::error_chain(&e)))?;
    match h.kind {
        data::entry::Type::RefDelta { base } if base == *have_id => {}
        data::entry::Type::RefDelta { base } => {
            return Err(bad(format!("its delta is against {base}, not {have_id}")));
        }
        other => return Err(bad(format!("its entry is {other:?}, not a REF_DELTA"))),
    }
    if h.size > limit.saturating_mul(2).saturating_add(64) {
        return Err(bad(format!("its delta announces {} bytes", h.size)));
    }
    let (delta, end) = pack
        .inflate(at, &h)
        .map_err(|e| bad(trees_pack::error_chain(&e)))?;
    if end != pack.entries_end() {
        return Err(bad(format!(
            "{} bytes follow its entry",
            pack.entries_end() - end
        )));
    }
    let mut out = Vec::new();
    trees_pack::delta::apply::apply_with_limit(have, &delta, &mut out, limit)
        .map_err(|e| bad(format!("its delta: {e}")))?;
    Ok(out)
}
