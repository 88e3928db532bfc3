//! Packs held hollow in a bucket's replica, downloaded when the engine
//! asks for them.
//!
//! A nightly repack or a gc reads few packs: those it copies or rewrites
//! (see `trees_silo::repack`); it decides which from the idx and
//! fingerprint files alone. A replica opened for them ([`Packs::OnDemand`])
//! therefore downloads every file but the `.pack` files, and puts in each
//! pack's place a *hollow* file: its size, its 12-byte header and its
//! 20-byte trailer (both known from its idx), and a hole between. The
//! store's readers open it like any pack (the trailer matches the idx, the
//! size and the time are the bucket's), and `Storage::fetch` downloads
//! the real bytes before anything reads an entry.
//!
//! A hollow pack has a marker, `hollow/<pack name>` under the replica's
//! root, made before the hollow file and removed after the real one
//! replaced it; so a crash anywhere leaves either a marker (the pack is
//! downloaded again) or a whole pack, never a hollow pack taken for whole.

use std::fs;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use trees_pack::{data, index};
use trees_silo::storage::{self, Local, Storage};

use super::client::{Client, Meta};

/// When a bucket's replica downloads packs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packs {
    /// At every sync: every command can map every pack.
    Whole,
    /// When `Storage::fetch` asks (repack and gc, which fetch what they
    /// copy or rewrite): the others are held hollow.
    OnDemand,
}

/// Whether `path` (relative to the silo) is a pack.
pub(super) fn is_pack(path: &str) -> bool {
    path.starts_with("pack/") && path.ends_with(".pack")
}

/// The hollow packs of the replica at `root`.
#[derive(Debug)]
pub(super) struct Hollow {
    dir: PathBuf,
    root: PathBuf,
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> storage::Error + 'a {
    move |source| storage::Error {
        op,
        path: path.to_owned(),
        source,
    }
}

impl Hollow {
    pub(super) fn new(root: &Path) -> Hollow {
        Hollow {
            dir: root.join("hollow"),
            root: root.to_owned(),
        }
    }

    fn marker(&self, pack: &str) -> PathBuf {
        self.dir
            .join(Path::new(pack).file_name().unwrap_or_default())
    }

    /// Whether the replica's `pack` is hollow (or was being made so).
    pub(super) fn is_hollow(&self, pack: &str) -> bool {
        is_pack(pack) && self.marker(pack).exists()
    }

    /// Puts a hollow `pack` (listed as `meta`) in the replica; `false` if
    /// it cannot be (a file there already, no idx beside it, or too short
    /// to be a pack): the caller downloads it instead.
    ///
    /// Another process syncing the same replica may fill the pack
    /// meanwhile and remove the marker: the hollow file is therefore put
    /// create-only after the marker, so that it never replaces a whole
    /// pack, and a whole pack with a marker is only downloaded again.
    pub(super) fn make(
        &self,
        replica: &Local,
        pack: &str,
        meta: &Meta,
    ) -> Result<bool, storage::Error> {
        let idx_path = self.root.join(Path::new(pack).with_extension("idx"));
        let Ok(idx) = index::File::open(&idx_path) else {
            return Ok(false);
        };
        if self.root.join(pack).exists() {
            return Ok(false);
        }
        if meta.size < 32 {
            return Ok(false);
        }
        let marker = self.marker(pack);
        fs::create_dir_all(&self.dir).map_err(io_err("create", &self.dir))?;
        fs::write(&marker, b"").map_err(io_err("create", &marker))?;
        let staged = replica.stage(".hollow")?;
        let f = staged.file();
        let at = staged.path().to_owned();
        let mut header = Vec::with_capacity(12);
        header.extend_from_slice(b"PACK");
        header.extend_from_slice(&2u32.to_be_bytes());
        header.extend_from_slice(&idx.count().to_be_bytes());
        f.set_len(meta.size).map_err(io_err("write", &at))?;
        f.write_all_at(&header, 0).map_err(io_err("write", &at))?;
        f.write_all_at(idx.pack_checksum().as_slice(), meta.size - 20)
            .map_err(io_err("write", &at))?;
        let _ = f.set_modified(meta.modified);
        replica.create(staged, Path::new(pack))?;
        Ok(true)
    }

    /// Downloads the hollow `pack` whole into the replica, checked against
    /// its trailer and its idx, and forgets that it was hollow.
    pub(super) fn fill(
        &self,
        client: &Client,
        replica: &Local,
        pack: &str,
    ) -> Result<(), storage::Error> {
        let url = PathBuf::from(client.location().url_of(pack));
        let refuse = |what: String| storage::Error {
            op: "fetch",
            path: url.clone(),
            source: io::Error::other(what),
        };
        let mut staged = replica.stage(".download")?;
        let got = client
            .download(pack, staged.file_mut())
            .map_err(|e| refuse(e.to_string()))?
            .ok_or_else(|| refuse("it is no longer in the bucket".to_owned()))?;
        let checked = data::File::open(staged.path()).and_then(|f| {
            f.verify_checksum()?;
            Ok(f.checksum())
        });
        let idx_path = self.root.join(Path::new(pack).with_extension("idx"));
        let want = index::File::open(&idx_path)
            .map_err(|e| refuse(format!("its idx: {e}")))?
            .pack_checksum();
        match checked {
            Ok(sum) if sum == want => {}
            Ok(sum) => {
                return Err(refuse(format!(
                    "its trailer is {sum}, its idx names {want}"
                )));
            }
            Err(e) => return Err(refuse(trees_pack::error_chain(&e))),
        }
        let _ = staged.file().set_modified(got.modified);
        replica.replace(staged, Path::new(pack))?;
        self.forget(pack)
    }

    /// `pack` is whole now, or gone: its marker goes.
    pub(super) fn forget(&self, pack: &str) -> Result<(), storage::Error> {
        let marker = self.marker(pack);
        match fs::remove_file(&marker) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err("delete", &marker)(e)),
            _ => Ok(()),
        }
    }
}
