//! The members of a tar, each checked before anything is done with it.
//!
//! A member is refused if its name could reach outside the destination
//! (an absolute name, a `..` component), if it lies under an earlier
//! symlink member (writing it would write wherever the link points), if it
//! is a device node or a fifo, or if it is a hard link to anything but an
//! earlier regular file. What is left can only name a place inside the
//! destination; [`crate::unpack`] also checks the disk itself, since
//! a destination may hold symlinks the tar never made.

use std::collections::HashSet;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use super::Format;

/// Why a member cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The member is unsafe or of a kind medo does not write.
    #[error("member {member:?} is refused: {why}")]
    Refused {
        /// Its name, as the tar says.
        member: String,
        /// Why.
        why: String,
    },
    /// The tar (or its gzip) is malformed or cannot be read.
    #[error("the blob is not a valid {format}")]
    Tar {
        /// What it should be.
        format: &'static str,
        /// The cause.
        source: io::Error,
    },
}

/// What a member is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A regular file of this mode and mtime; its content follows.
    File {
        /// Permission bits (setuid, setgid and sticky dropped).
        mode: u32,
        /// Seconds since the epoch.
        mtime: u64,
    },
    /// A directory; `path` may be empty (the destination itself, `./`).
    Dir {
        /// Permission bits.
        mode: u32,
    },
    /// A symlink to this target, which is not checked: a link may point
    /// anywhere, nothing is ever written through one.
    Symlink(PathBuf),
    /// A hard link to this earlier regular file member.
    HardLink(PathBuf),
}

/// One checked member.
#[derive(Debug, Clone)]
pub struct Member {
    /// Its name as the tar says it, for messages.
    pub name: String,
    /// Its place under the destination: only normal components.
    pub path: PathBuf,
    /// What it is.
    pub kind: Kind,
}

/// The tar in `file`, decompressed first for [`Format::Tgz`],
/// [`Format::Txz`] and [`Format::Tzst`]; a [`Format::Deb`]'s data member.
pub fn archive<R: Read + 'static>(file: R, format: Format) -> tar::Archive<Box<dyn Read>> {
    let r: Box<dyn Read> = match format {
        Format::Tgz => Box::new(flate2::read::GzDecoder::new(io::BufReader::new(file))),
        Format::Txz => crate::deb::decoded(b".xz", file),
        Format::Tzst => Box::new(trees_split::zstd::Decoder::new(io::BufReader::new(file))),
        Format::Deb => crate::deb::data_tar(file),
        _ => Box::new(io::BufReader::new(file)),
    };
    tar::Archive::new(r)
}

/// Checks members in order, remembering what later members may depend on.
#[derive(Debug, Default)]
pub struct Checker {
    symlinks: HashSet<PathBuf>,
    files: HashSet<PathBuf>,
    format: Option<Format>,
}

impl Checker {
    /// A checker for a tar of this format (for messages).
    pub fn new(format: Format) -> Checker {
        Checker {
            format: Some(format),
            ..Checker::default()
        }
    }

    /// An error of the tar itself, as opposed to one of its members.
    pub fn tar_error(&self, source: io::Error) -> Error {
        Error::Tar {
            format: self.format.unwrap_or(Format::Tar).name(),
            source,
        }
    }

    /// The member `entry` is, or `None` for a header that is not a member
    /// (a pax global header, as `git archive` writes).
    pub fn check<R: Read>(&mut self, entry: &tar::Entry<R>) -> Result<Option<Member>, Error> {
        let header = entry.header();
        let ty = header.entry_type();
        if ty.is_pax_global_extensions() {
            return Ok(None);
        }
        let raw = entry.path_bytes();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let refused = |why: &str| Error::Refused {
            member: name.clone(),
            why: why.to_owned(),
        };
        let raw_path = entry.path().map_err(|e| self.tar_error(e))?;
        let path = normal(&raw_path).map_err(refused)?;
        let mode = header.mode().map_err(|e| self.tar_error(e))? & 0o777;
        let kind = if ty.is_dir() || (ty.is_file() && raw.ends_with(b"/")) {
            Kind::Dir { mode }
        } else if ty.is_file() || ty.is_contiguous() || ty.is_gnu_sparse() {
            let mtime = header.mtime().map_err(|e| self.tar_error(e))?;
            Kind::File { mode, mtime }
        } else if ty.is_symlink() {
            let target = entry.link_name().map_err(|e| self.tar_error(e))?;
            match target {
                Some(t) if !t.as_os_str().is_empty() => Kind::Symlink(t.into_owned()),
                _ => return Err(refused("it is a symlink without a target")),
            }
        } else if ty.is_hard_link() {
            let target = entry.link_name().map_err(|e| self.tar_error(e))?;
            let target = normal(target.as_deref().unwrap_or(Path::new("")))
                .map_err(|why| refused(&format!("its link target {why}")))?;
            if !self.files.contains(&target) {
                return Err(refused(&format!(
                    "it is a hard link to {target:?}, which is not an earlier file of the tar"
                )));
            }
            Kind::HardLink(target)
        } else if ty.is_character_special() || ty.is_block_special() {
            return Err(refused("it is a device node"));
        } else if ty.is_fifo() {
            return Err(refused("it is a fifo"));
        } else {
            return Err(refused(&format!(
                "its type {:?} is not a file, directory or link",
                ty.as_byte() as char
            )));
        };
        if path.as_os_str().is_empty() && !matches!(kind, Kind::Dir { .. }) {
            return Err(refused("it names the destination itself"));
        }
        if let Some(link) = path
            .ancestors()
            .skip(1)
            .find(|a| self.symlinks.contains(*a))
        {
            return Err(refused(&format!(
                "it lies under the symlink member {}, and would be written wherever that points",
                link.display()
            )));
        }
        match &kind {
            Kind::Symlink(_) => {
                self.symlinks.insert(path.clone());
                self.files.remove(&path);
            }
            Kind::File { .. } | Kind::HardLink(_) => {
                self.symlinks.remove(&path);
                self.files.insert(path.clone());
            }
            Kind::Dir { .. } => {
                self.symlinks.remove(&path);
                self.files.remove(&path);
            }
        }
        Ok(Some(Member { name, path, kind }))
    }
}

/// `p` with `.` components dropped, or why it is not a relative path that
/// stays inside its root.
fn normal(p: &Path) -> Result<PathBuf, &'static str> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => return Err("it has a `..` component"),
            Component::RootDir | Component::Prefix(_) => return Err("it is an absolute path"),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_paths_stay_inside() {
        assert_eq!(normal(Path::new("./a/./b/")).unwrap(), Path::new("a/b"));
        assert_eq!(normal(Path::new(".")).unwrap(), Path::new(""));
        assert!(normal(Path::new("a/../../b")).is_err());
        assert!(normal(Path::new("/etc/passwd")).is_err());
        assert!(normal(Path::new("a/..")).is_err());
    }
}
