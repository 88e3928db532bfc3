//! A zip blob (a wheel, a jar, a CI job's `.wwz`) as a tar, so that it is
//! expanded and verified by the same code, with the same checks, as every
//! tar: [`crate::member`] refuses a member named outside the destination
//! (`../`, an absolute name), one under an earlier symlink, and so on.
//!
//! Each member's name is checked here first, so that the refusal names
//! the zip's member as the zip spells it; then its data is decoded
//! (stored or deflate; any other method is refused, naming the member)
//! into a temporary file, at most [`MAX_MEMBER`] bytes whatever its
//! declared size says, and appended to the tar with its Unix mode (when
//! the zip has one) and its time. Nothing is written under the
//! destination until the whole zip has been read this way.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::{Component, Path};

use trees_split::zip::listing::{self, Data, Entry, Kind};

use crate::member;

/// The most bytes one member may inflate to: a zip bomb's member stops
/// here with an error naming it.
pub const MAX_MEMBER: u64 = 16 << 30;

/// Why a zip cannot be turned into a tar.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A member is refused (its name, its method, its size).
    #[error(transparent)]
    Member(#[from] member::Error),
    /// The zip itself is not one we read.
    #[error("the blob is not a valid zip")]
    Zip(#[source] listing::Error),
    /// Reading the blob or writing the tar failed.
    #[error("cannot turn the zip into a tar")]
    Io(#[source] io::Error),
}

fn refused(e: &Entry, why: impl Into<String>) -> Error {
    member::Error::Refused {
        member: e.display_name(),
        why: why.into(),
    }
    .into()
}

/// Writes the zip `zip` (read from its start) as a tar to `out`, and
/// rewinds `out`.
pub fn as_tar(zip: &mut File, out: &mut File) -> Result<(), Error> {
    zip.rewind().map_err(Error::Io)?;
    let mut bytes = Vec::new();
    zip.read_to_end(&mut bytes).map_err(Error::Io)?;
    let entries = listing::of_zip(&bytes).map_err(Error::Zip)?;
    let mut b = tar::Builder::new(&mut *out);
    for e in &entries {
        let name = std::str::from_utf8(&e.name)
            .map_err(|_| refused(e, "its name is not UTF-8"))?
            .to_owned();
        let path = Path::new(&name);
        for c in path.components() {
            match c {
                Component::ParentDir => return Err(refused(e, "it has a `..` component")),
                Component::RootDir | Component::Prefix(_) => {
                    return Err(refused(e, "it is an absolute path"));
                }
                _ => {}
            }
        }
        if path.components().all(|c| c == Component::CurDir) {
            if e.kind() == Kind::Dir {
                continue;
            }
            return Err(refused(e, "it names the destination itself"));
        }
        let mut h = tar::Header::new_gnu();
        h.set_mtime(e.mtime.unwrap_or(0));
        let data = match e.data {
            Data::Range { start, len } => &bytes[start..start + len],
            _ => &[][..],
        };
        match e.kind() {
            Kind::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(e.mode.map_or(0o755, |m| m & 0o777));
                h.set_size(0);
                b.append_data(&mut h, path, io::empty())
                    .map_err(Error::Io)?;
            }
            Kind::Symlink => {
                let mut to = Vec::new();
                listing::decode(e, data, 64 << 10, &mut to)
                    .map_err(|x| refused(e, x.to_string()))?;
                let to =
                    String::from_utf8(to).map_err(|_| refused(e, "its target is not UTF-8"))?;
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                b.append_link(&mut h, path, &to).map_err(Error::Io)?;
            }
            Kind::File => {
                let mut text = tempfile::tempfile().map_err(Error::Io)?;
                let mut w = io::BufWriter::new(&mut text);
                let n = listing::decode(e, data, MAX_MEMBER, &mut w).map_err(|x| match x {
                    listing::Error::Output { source, .. } => Error::Io(source),
                    x => refused(e, x.to_string()),
                })?;
                w.flush().map_err(Error::Io)?;
                drop(w);
                text.rewind().map_err(Error::Io)?;
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(e.mode.map_or(0o644, |m| m & 0o777));
                h.set_size(n);
                b.append_data(&mut h, path, &mut text).map_err(Error::Io)?;
            }
        }
    }
    b.finish().map_err(Error::Io)?;
    drop(b);
    out.rewind().map_err(Error::Io)?;
    Ok(())
}
