//! The medo commands' library: trees in and out of a silo, named by treeptrs.
//!
//! A medo directory (in a git repository) names blobs with `*.treeptr`
//! files; the blobs live in the silos its `SILO.json` lists (both parsed by
//! `trees-hints`). This crate moves trees between a directory and a silo
//! (through `trees-silo`, and `trees-remote` for silos served over HTTP):
//!
//! - [`add`]: a directory becomes a deterministic tar ([`archive`]), is
//!   stored in a silo, and a treeptr names it;
//! - [`fetch`]: a treeptr's blob is read, checked against its id and size,
//!   from the first silo that has it;
//! - [`unpack`]: a blob becomes a tree under a destination, refusing every
//!   member that would write outside it ([`member`] says which); a `.deb`
//!   gives its `data.tar.*` member ([`deb`]);
//! - [`expand`] and [`verify`]: those two for every treeptr of a directory;
//! - [`url`]: where a blob can be downloaded from a silo served over HTTP.
//!
//! Nothing here prints: outcomes carry the notes the `medo` binary shows.

pub mod add;
pub mod archive;
pub mod deb;
pub mod expand;
pub mod fetch;
pub mod member;
pub mod unpack;
pub mod url;
pub mod verify;
pub mod zip;

use std::path::Path;

/// What a blob is, as a treeptr's `format` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// An uncompressed tar: expanded into a directory.
    Tar,
    /// A gzipped tar (`.tgz`, `.tar.gz`): gunzipped, then expanded.
    Tgz,
    /// An xz'd tar (`.txz`, `.tar.xz`): decompressed, then expanded.
    Txz,
    /// A zstd'd tar (`.tzst`, `.tar.zst`): decompressed, then expanded.
    Tzst,
    /// A Debian package (`.deb`, `.udeb`): its `data.tar.*` member,
    /// decompressed and expanded (what `dpkg-deb -x` writes).
    Deb,
    /// A zip archive (`.zip`, `.whl`, `.jar`, `.wwz`): its members
    /// expanded into a directory, with the same checks as a tar's.
    Zip,
    /// Any other file: expanded as that file.
    File,
}

impl Format {
    /// The name in a treeptr.
    pub fn name(self) -> &'static str {
        match self {
            Format::Tar => "tar",
            Format::Tgz => "tgz",
            Format::Txz => "txz",
            Format::Tzst => "tzst",
            Format::Deb => "deb",
            Format::Zip => "zip",
            Format::File => "file",
        }
    }

    /// The format a treeptr names, if it is one of ours.
    pub fn parse(name: &str) -> Option<Format> {
        [
            Format::Tar,
            Format::Tgz,
            Format::Txz,
            Format::Tzst,
            Format::Deb,
            Format::Zip,
            Format::File,
        ]
        .into_iter()
        .find(|f| f.name() == name)
    }

    /// The format of a file added as it is, from its name.
    pub fn of_file(path: &Path) -> Format {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.ends_with(".tar") {
            Format::Tar
        } else if name.ends_with(".tgz") || name.ends_with(".tar.gz") {
            Format::Tgz
        } else if name.ends_with(".txz") || name.ends_with(".tar.xz") {
            Format::Txz
        } else if name.ends_with(".tzst") || name.ends_with(".tar.zst") {
            Format::Tzst
        } else if name.ends_with(".deb") || name.ends_with(".udeb") {
            Format::Deb
        } else if [".zip", ".whl", ".jar", ".war", ".wwz", ".egg", ".nupkg"]
            .iter()
            .any(|e| name.ends_with(e))
        {
            Format::Zip
        } else {
            Format::File
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_of_files_by_name() {
        for (name, f) in [
            ("a.tar", Format::Tar),
            ("A.TAR", Format::Tar),
            ("a.tgz", Format::Tgz),
            ("x/a.tar.gz", Format::Tgz),
            ("Python-3.12.0.tar.xz", Format::Txz),
            ("a.tzst", Format::Tzst),
            ("hello_2.10-3_amd64.deb", Format::Deb),
            ("a.zip", Format::Zip),
            ("rich-13.7.1-py3-none-any.whl", Format::Zip),
            ("job.wwz", Format::Zip),
            ("a.ZIP.txt", Format::File),
            ("tar", Format::File),
        ] {
            assert_eq!(Format::of_file(Path::new(name)), f, "{name}");
            assert_eq!(Format::parse(f.name()), Some(f));
        }
        assert_eq!(Format::parse("rar"), None);
    }
}
