//! A blob as a tree (or a file) under a destination, and nowhere else.
//!
//! Every member is checked twice: by name ([`member::Checker`]: no absolute
//! names, no `..`, nothing under a symlink member, no devices or fifos),
//! for the whole tar before anything is written; and on disk, as it is
//! written: every directory on the way to a member must be a real
//! directory, not a symlink, whoever made it. A member is written to a
//! temporary file beside its place and renamed over it, so a symlink that
//! is already at that place is replaced, never written through.
//!
//! A file already there with the member's content is left alone (its
//! mtime too), so expanding twice writes nothing the second time; a file
//! with other content is replaced whole. Files and directories that the
//! tar does not name are left alone, as `tar x` leaves them.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::Format;
use super::member::{self, Checker, Kind, Member};

/// Bytes compared or copied per step.
const BUF: usize = 1 << 16;

/// Why a blob cannot be unpacked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A member is refused, or the tar is malformed.
    #[error(transparent)]
    Member(#[from] member::Error),
    /// What is on disk is in a member's way (a directory where the tar has a file).
    #[error("{path} {why}")]
    Conflict {
        /// The path on disk.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A member's content cannot be read (a gzip stream corrupt past its headers).
    #[error("cannot read the content of member {member:?}")]
    Read {
        /// The member's name.
        member: String,
        /// The cause.
        source: io::Error,
    },
    /// A zip's member is refused, or the zip is malformed.
    #[error(transparent)]
    Zip(#[from] crate::zip::Error),
    /// Writing failed.
    #[error("cannot write {path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// What [`unpack`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Files and symlinks written, directories made.
    pub written: u64,
    /// Files, symlinks and directories already as the blob says.
    pub unchanged: u64,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::Io { path, source }
}

/// Unpacks `blob` (at its start) into `dest`: a tar or tgz becomes the
/// tree under the directory `dest`; a [`Format::File`] becomes the file `dest`.
pub fn unpack(blob: File, format: Format, dest: &Path) -> Result<Outcome, Error> {
    match format {
        Format::File => unpack_file(blob, dest),
        Format::Zip => {
            let mut blob = blob;
            let mut tar = tempfile::tempfile().map_err(io_err(dest))?;
            crate::zip::as_tar(&mut blob, &mut tar)?;
            unpack_tar(tar, Format::Tar, dest)
        }
        Format::Tar | Format::Tgz | Format::Txz | Format::Tzst | Format::Deb => {
            unpack_tar(blob, format, dest)
        }
    }
}

fn unpack_file(mut blob: File, dest: &Path) -> Result<Outcome, Error> {
    match fs::symlink_metadata(dest) {
        Ok(m) if m.is_dir() => {
            return Err(Error::Conflict {
                path: dest.to_owned(),
                why: "is a directory; the blob is a single file".into(),
            });
        }
        Ok(m) if m.is_file() => {
            let mut existing = File::open(dest).map_err(io_err(dest))?;
            if same(&mut existing, &mut blob).map_err(io_err(dest))? {
                return Ok(Outcome {
                    written: 0,
                    unchanged: 1,
                });
            }
            blob.rewind().map_err(io_err(dest))?;
        }
        _ => {}
    }
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let mut tmp = temp_in(dir)?;
    io::copy(&mut blob, &mut tmp).map_err(io_err(tmp.path()))?;
    finish(tmp, dest, 0o644, None)?;
    Ok(Outcome {
        written: 1,
        unchanged: 0,
    })
}

/// Checks every member's name and kind before anything is written, so that
/// a hostile tar leaves no trace at all (the disk checks come later).
fn precheck(blob: &mut File, format: Format) -> Result<(), Error> {
    let mut checker = Checker::new(format);
    let copy = blob.try_clone().map_err(|e| checker.tar_error(e))?;
    let mut ar = member::archive(copy, format);
    for entry in ar.entries().map_err(|e| checker.tar_error(e))? {
        let entry = entry.map_err(|e| checker.tar_error(e))?;
        checker.check(&entry)?;
    }
    blob.rewind().map_err(|e| checker.tar_error(e))?;
    Ok(())
}

fn unpack_tar(mut blob: File, format: Format, dest: &Path) -> Result<Outcome, Error> {
    precheck(&mut blob, format)?;
    fs::create_dir_all(dest).map_err(io_err(dest))?;
    let mut out = Outcome::default();
    let mut checker = Checker::new(format);
    let mut real_dirs: HashSet<PathBuf> = HashSet::new();
    let mut dir_modes: Vec<(PathBuf, u32)> = Vec::new();
    let mut ar = member::archive(blob, format);
    for entry in ar.entries().map_err(|e| checker.tar_error(e))? {
        let mut entry = entry.map_err(|e| checker.tar_error(e))?;
        let Some(m) = checker.check(&entry)? else {
            continue;
        };
        parents(dest, &m, &m.path, &mut real_dirs)?;
        let target = dest.join(&m.path);
        let wrote = match &m.kind {
            Kind::Dir { mode } => {
                let wrote = dir(&target, &m)?;
                real_dirs.insert(m.path.clone());
                dir_modes.push((target, *mode));
                wrote
            }
            Kind::File { mode, mtime } => {
                let size = entry.size();
                file(&mut entry, size, &target, &m, *mode, Some(*mtime))?
            }
            Kind::Symlink(to) => symlink(to, &target)?,
            Kind::HardLink(from) => {
                parents(dest, &m, from, &mut real_dirs)?;
                let source = dest.join(from);
                let meta = fs::symlink_metadata(&source).map_err(io_err(&source))?;
                if !meta.is_file() {
                    return Err(member::Error::Refused {
                        member: m.name.clone(),
                        why: format!("its link target {} is not a file", source.display()),
                    }
                    .into());
                }
                let mut f = File::open(&source).map_err(io_err(&source))?;
                let mode = meta.permissions().mode() & 0o777;
                file(&mut f, meta.len(), &target, &m, mode, None)?
            }
        };
        if wrote {
            out.written += 1;
        } else {
            out.unchanged += 1;
        }
    }
    // Directory modes last, deepest first, so that a read-only directory
    // does not stop its own members; the owner keeps rwx for the next run.
    for (path, mode) in dir_modes.iter().rev() {
        let want = fs::Permissions::from_mode(mode | 0o700);
        fs::set_permissions(path, want).map_err(io_err(path))?;
    }
    Ok(out)
}

/// Makes sure every directory above `rel` under `dest` is a real
/// directory, making those missing. `real` caches those already seen.
fn parents(dest: &Path, m: &Member, rel: &Path, real: &mut HashSet<PathBuf>) -> Result<(), Error> {
    let mut ancestors: Vec<&Path> = rel
        .ancestors()
        .skip(1)
        .filter(|a| !a.as_os_str().is_empty())
        .collect();
    ancestors.reverse();
    for a in ancestors {
        if real.contains(a) {
            continue;
        }
        let p = dest.join(a);
        match fs::symlink_metadata(&p) {
            Ok(meta) if meta.is_dir() => {}
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(member::Error::Refused {
                    member: m.name.clone(),
                    why: format!("it would be written through the symlink {}", p.display()),
                }
                .into());
            }
            Ok(_) => {
                return Err(Error::Conflict {
                    path: p,
                    why: format!("is not a directory, but member {:?} lies under it", m.name),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&p).map_err(io_err(&p))?;
            }
            Err(e) => return Err(io_err(&p)(e)),
        }
        real.insert(a.to_owned());
    }
    Ok(())
}

/// A directory member; true if it was made.
fn dir(target: &Path, m: &Member) -> Result<bool, Error> {
    if m.path.as_os_str().is_empty() {
        return Ok(false);
    }
    match fs::symlink_metadata(target) {
        Ok(meta) if meta.is_dir() => Ok(false),
        Ok(meta) if meta.file_type().is_symlink() => Err(member::Error::Refused {
            member: m.name.clone(),
            why: format!("{} is a symlink, not a directory", target.display()),
        }
        .into()),
        Ok(_) => Err(Error::Conflict {
            path: target.to_owned(),
            why: format!("is in the way of the directory member {:?}", m.name),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir(target).map_err(io_err(target))?;
            Ok(true)
        }
        Err(e) => Err(io_err(target)(e)),
    }
}

/// A symlink member; true if it was written.
fn symlink(to: &Path, target: &Path) -> Result<bool, Error> {
    match fs::symlink_metadata(target) {
        // A link that cannot be read is replaced like one that differs.
        Ok(meta)
            if meta.file_type().is_symlink()
                && fs::read_link(target).is_ok_and(|now| now == to) =>
        {
            return Ok(false);
        }
        Ok(meta) if meta.is_dir() => {
            return Err(Error::Conflict {
                path: target.to_owned(),
                why: format!("is a directory; the tar has a symlink to {}", to.display()),
            });
        }
        _ => {}
    }
    let dir = target.parent().expect("a member's path has a parent: dest");
    let tmp = tempfile::Builder::new()
        .prefix(".medo-")
        .make_in(dir, |p| std::os::unix::fs::symlink(to, p))
        .map_err(io_err(dir))?;
    tmp.persist(target).map_err(|e| io_err(target)(e.error))?;
    Ok(true)
}

/// A file member with content `data` of `size` bytes; true if it was
/// written, false if the file there already had this content.
fn file(
    data: &mut dyn Read,
    size: u64,
    target: &Path,
    m: &Member,
    mode: u32,
    mtime: Option<u64>,
) -> Result<bool, Error> {
    let read_err = |source| Error::Read {
        member: m.name.clone(),
        source,
    };
    let mut a = vec![0u8; BUF];
    let mut b = vec![0u8; BUF];
    let mut head: &[u8] = &[];
    let mut prefix: Option<(File, u64)> = None;
    match fs::symlink_metadata(target) {
        Ok(meta) if meta.is_dir() => {
            return Err(Error::Conflict {
                path: target.to_owned(),
                why: format!("is a directory; the tar has a file {:?} there", m.name),
            });
        }
        Ok(meta) if meta.is_file() && meta.len() == size => {
            let mut existing = File::open(target).map_err(io_err(target))?;
            let mut pos = 0u64;
            loop {
                let n = fill(data, &mut a).map_err(read_err)?;
                if n == 0 {
                    if meta.permissions().mode() & 0o777 != mode {
                        let p = fs::Permissions::from_mode(mode);
                        fs::set_permissions(target, p).map_err(io_err(target))?;
                    }
                    return Ok(false);
                }
                let k = fill(&mut existing, &mut b[..n]).map_err(io_err(target))?;
                if k != n || a[..n] != b[..n] {
                    // The first `pos` bytes are the member's: copy them
                    // from the file rather than hold them all.
                    existing.rewind().map_err(io_err(target))?;
                    prefix = Some((existing, pos));
                    head = &a[..n];
                    break;
                }
                pos += n as u64;
            }
        }
        _ => {}
    }
    let dir = target.parent().expect("a member's path has a parent: dest");
    let mut tmp = temp_in(dir)?;
    let mut copied = 0u64;
    if let Some((existing, pos)) = prefix {
        copied += io::copy(&mut existing.take(pos), &mut tmp).map_err(io_err(target))?;
    }
    tmp.write_all(head).map_err(io_err(tmp.path()))?;
    copied += head.len() as u64;
    loop {
        let n = data.read(&mut b).map_err(read_err)?;
        if n == 0 {
            break;
        }
        tmp.write_all(&b[..n]).map_err(io_err(tmp.path()))?;
        copied += n as u64;
    }
    if copied != size {
        return Err(member::Error::Refused {
            member: m.name.clone(),
            why: format!("it is truncated: {copied} of {size} bytes"),
        }
        .into());
    }
    finish(tmp, target, mode, mtime)?;
    Ok(true)
}

/// A new temporary file in `dir`, removed if dropped.
fn temp_in(dir: &Path) -> Result<tempfile::NamedTempFile, Error> {
    tempfile::Builder::new()
        .prefix(".medo-")
        .tempfile_in(dir)
        .map_err(io_err(dir))
}

/// Gives `tmp` its mode and mtime and renames it over `target`.
fn finish(
    tmp: tempfile::NamedTempFile,
    target: &Path,
    mode: u32,
    mtime: Option<u64>,
) -> Result<(), Error> {
    let f = tmp.as_file();
    f.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io_err(tmp.path()))?;
    // The tar's mtime, as `tar x` keeps it (builds of source releases
    // compare mtimes). It is advisory: one the system cannot represent (a
    // hostile 2^60) is dropped, never a reason to fail or to panic.
    if let Some(t) = mtime.and_then(|t| SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(t)))
    {
        let _ = f.set_modified(t);
    }
    tmp.persist(target).map_err(|e| io_err(target)(e.error))?;
    Ok(())
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
pub(crate) fn fill(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// True if the two inputs have the same bytes.
pub(crate) fn same(a: &mut dyn Read, b: &mut dyn Read) -> io::Result<bool> {
    let mut x = vec![0u8; BUF];
    let mut y = vec![0u8; BUF];
    loop {
        let n = fill(a, &mut x)?;
        let k = fill(b, &mut y)?;
        if n != k || x[..n] != y[..k] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}
