//! Installing a pack: the one sequence of durable steps by which a pack
//! and its idx, written and checked in `tmp/`, become part of the silo.
//!
//! Repack (full and incremental), gc (through repack) and mirror all call
//! [`install_pack`]; nothing else renames files into `pack/`. The steps,
//! each a crash point (see [`crate::crash`]):
//!
//! 1. the pack is fsynced in `tmp/`;
//! 2. it is renamed to `pack/pack-<checksum>.pack`;
//! 3. `pack/` is fsynced, so the pack's name is durable;
//! 4. if the pack stores gzip files split, its record table
//!    (`trees_split::table`) is fsynced, renamed to
//!    `pack/pack-<checksum>.split`, and `pack/` fsynced;
//! 5. the idx is fsynced in `tmp/`;
//! 6. it is renamed to `pack/pack-<checksum>.idx`;
//! 7. `pack/` is fsynced again.
//!
//! Readers find packs by their idx, so until step 6 no reader sees the new
//! pack, and from step 6 on its pack and its table are complete on disk. A crash between
//! 2 and 6 leaves a `.pack` without an `.idx`: `silo verify` lists it as an
//! orphan (harmless), and the next repack or mirror of the same pack
//! renames a new copy over it. Only after step 7 may a caller delete what
//! the new pack replaces.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use tempfile::TempPath;

use crate::crash;
use crate::fsutil;

/// A step of [`install_pack`] failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot install {path}")]
pub struct Error {
    /// The file or directory of the failed step.
    pub path: PathBuf,
    /// The cause.
    pub source: io::Error,
}

fn at(path: &Path) -> impl Fn(io::Error) -> Error + '_ {
    move |source| Error {
        path: path.to_owned(),
        source,
    }
}

/// Installs `pack`, its record `table` if any, and `idx` (files of `tmp/`,
/// already checked) as `pack_dir/<name>.pack`, `.split` and `.idx`; returns the path of
/// the installed pack. Both are made read-only, like git's packs.
pub fn install_pack(
    pack_dir: &Path,
    pack: TempPath,
    table: Option<TempPath>,
    idx: TempPath,
    name: &str,
) -> Result<PathBuf, Error> {
    let pack_dest = pack_dir.join(format!("{name}.pack"));
    let idx_dest = pack_dir.join(format!("{name}.idx"));
    durable_rename(pack, &pack_dest, "pack")?;
    fsutil::sync_dir(pack_dir).map_err(at(pack_dir))?;
    if let Some(table) = table {
        let dest = pack_dir.join(format!("{name}.{}", trees_split::table::EXTENSION));
        durable_rename(table, &dest, "split")?;
        fsutil::sync_dir(pack_dir).map_err(at(pack_dir))?;
    }
    durable_rename(idx, &idx_dest, "idx")?;
    fsutil::sync_dir(pack_dir).map_err(at(pack_dir))?;
    Ok(pack_dest)
}

/// fsyncs `src` (read-only) and renames it to `dest`: steps 1-2 or 4-5.
fn durable_rename(src: TempPath, dest: &Path, what: &str) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&src, fs::Permissions::from_mode(0o444)).map_err(at(&src))?;
    fs::File::open(&src)
        .and_then(|f| f.sync_all())
        .map_err(at(&src))?;
    crash::point(&format!("{what} synced"));
    src.persist(dest).map_err(|e| Error {
        path: dest.to_owned(),
        source: e.error,
    })?;
    crash::point(&format!("{what} renamed"));
    Ok(())
}
