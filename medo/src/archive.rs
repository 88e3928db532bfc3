//! A directory as a deterministic tar: the same tree always gives the same
//! bytes, hence the same blob id, whoever made it and whenever.
//!
//! Members are the directory's contents (no top-level name), depth first,
//! each directory's names in byte order, a directory's entry before its
//! contents. Every header has mtime 0, uid and gid 0 with empty owner
//! names; modes are kept; symlinks stay symlinks; names too long for the
//! header use GNU long-name entries (which the `tar` crate writes with the
//! same fixed fields). Other files (fifos, sockets, devices) are refused:
//! they have no content to store.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Why a directory cannot be written as a tar.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory of the tree cannot be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A file is neither a regular file, a directory nor a symlink.
    #[error("{path} is a {kind}: a tree may hold only files, directories and symlinks")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
    /// Writing the tar failed.
    #[error("cannot write the tar of {path}")]
    Write {
        /// The file being written when it failed.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// Writes the tree under `src` as a tar to `out` and finishes the tar.
pub fn write<W: Write>(src: &Path, out: W) -> Result<W, Error> {
    let mut b = tar::Builder::new(out);
    walk(src, Path::new(""), &mut b)?;
    b.into_inner().map_err(|source| Error::Write {
        path: src.to_owned(),
        source,
    })
}

fn walk<W: Write>(root: &Path, rel: &Path, b: &mut tar::Builder<W>) -> Result<(), Error> {
    let dir = root.join(rel);
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    let mut names = Vec::new();
    for e in fs::read_dir(&dir).map_err(io(&dir))? {
        names.push(e.map_err(io(&dir))?.file_name());
    }
    // Byte order of the names: what `tar --sort=name` does, and stable
    // across locales.
    names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
    for name in names {
        let rel = rel.join(&name);
        let path = root.join(&rel);
        let meta = fs::symlink_metadata(&path).map_err(io(&path))?;
        let kind = meta.file_type();
        let write_err = |source| Error::Write {
            path: path.clone(),
            source,
        };
        let mut h = header(meta.permissions().mode() & 0o7777);
        if kind.is_symlink() {
            let target = fs::read_link(&path).map_err(io(&path))?;
            h.set_entry_type(tar::EntryType::Symlink);
            b.append_link(&mut h, &rel, &target).map_err(write_err)?;
        } else if kind.is_dir() {
            h.set_entry_type(tar::EntryType::Directory);
            b.append_data(&mut h, &rel, io::empty())
                .map_err(write_err)?;
            walk(root, &rel, b)?;
        } else if kind.is_file() {
            let file = fs::File::open(&path).map_err(io(&path))?;
            h.set_entry_type(tar::EntryType::Regular);
            h.set_size(meta.len());
            let exact = Exact {
                inner: file.take(meta.len()),
                left: meta.len(),
            };
            b.append_data(&mut h, &rel, exact).map_err(write_err)?;
        } else {
            return Err(Error::Unsupported {
                path,
                kind: kind_name(&meta),
            });
        }
    }
    Ok(())
}

/// A header with every field that could vary between machines fixed.
fn header(mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_mode(mode);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(0);
    // new_gnu() leaves the owner names and device numbers zeroed: empty.
    h
}

fn kind_name(meta: &fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_fifo() {
        "fifo"
    } else if t.is_socket() {
        "socket"
    } else if t.is_block_device() || t.is_char_device() {
        "device node"
    } else {
        "special file"
    }
}

/// A reader that fails unless it yields exactly the size written in the
/// header: a file that shrinks while it is read would otherwise leave a
/// member shorter than its header says, and a corrupt tar.
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the file shrank while it was read ({} bytes short)",
                    self.left
                ),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}
