//! A zip's members by name, and one member's bytes: from the whole file,
//! or from the recipe of a split zip alone, without its contents.
//!
//! A split zip's recipe (format 6, [`crate::container`]) keeps every byte
//! that is not member data as literal pieces at their places, and each
//! member's data as a piece of known output length. Laying the literals
//! out at their offsets, with zeros where the data goes, gives a file
//! whose framing is the zip's own: [`super::parse`] reads it as it reads
//! the zip, and each member's data start names the piece, hence the
//! content, that holds it. So one member of a split zip costs its recipe
//! and its one content, never the zip.
//!
//! Nothing is trusted: the zeroed layout is bounded by the caller's
//! limit, a member whose data is not exactly one piece is an error, and
//! [`decode`] inflates within a limit, never to a declared size.

use std::io::{self, Read, Write};

use crate::pieces::{FORMAT_ZIP, Piece, Recipe};

/// Where a member's data is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Data {
    /// It has none (a directory, an empty file).
    Empty,
    /// Content `index` of the split zip's record holds it: as the member's
    /// text when `encoded` is false, else as the member's compressed
    /// bytes (a member the split kept as it is).
    Content {
        /// Which content, from 0.
        index: usize,
        /// Whether the content is still compressed by the member's method.
        encoded: bool,
    },
    /// Bytes `start..start + len` of the zip, compressed by its method.
    Range {
        /// The data's offset in the zip.
        start: usize,
        /// Its compressed length.
        len: usize,
    },
}

/// One member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its name, as the directory says (`/`-separated, a directory's ending in `/`).
    pub name: Vec<u8>,
    /// Its compression method (0 stored, 8 deflate).
    pub method: u16,
    /// Its general purpose flags (bit 0: encrypted).
    pub flags: u16,
    /// Its declared uncompressed size (not trusted).
    pub size: u64,
    /// Its Unix mode, if the zip says one.
    pub mode: Option<u32>,
    /// Its last-modified time (seconds since the epoch), if valid.
    pub mtime: Option<u64>,
    /// Its data.
    pub data: Data,
}

/// The kind of a member, from its name and Unix mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link: its data is the target.
    Symlink,
}

impl Entry {
    /// What it is: a directory if its name ends in `/` or its mode says
    /// so, a symlink if its mode says so, else a file.
    pub fn kind(&self) -> Kind {
        const TYPE: u32 = 0o170_000;
        match self.mode.map(|m| m & TYPE) {
            _ if self.name.ends_with(b"/") => Kind::Dir,
            Some(0o040_000) => Kind::Dir,
            Some(0o120_000) => Kind::Symlink,
            _ => Kind::File,
        }
    }

    /// Its name for messages.
    pub fn display_name(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// Why a zip's members cannot be listed or read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The zip's framing is not one we read.
    #[error(transparent)]
    Zip(#[from] super::Error),
    /// The recipe is not a zip's.
    #[error("the recipe is of format {0}, not a zip's (6)")]
    NotZip(u8),
    /// The recipe's zip is larger than the limit allows laying out.
    #[error("the recipe re-makes {len} bytes, more than the {limit} bytes allowed to list it")]
    TooLarge {
        /// Its declared length.
        len: u64,
        /// The limit.
        limit: u64,
    },
    /// The recipe's pieces do not fall where its directory says members are.
    #[error("the recipe does not match its own directory: {0}")]
    Mismatch(String),
    /// The member's method is one this build does not decode.
    #[error("member {name:?} is compressed with method {method}, which silo does not decode")]
    Method {
        /// The member.
        name: String,
        /// Its method.
        method: u16,
    },
    /// The member is encrypted.
    #[error("member {0:?} is encrypted")]
    Encrypted(String),
    /// The member's data inflates past the limit: a zip bomb, or a member
    /// larger than the memory allowed.
    #[error("member {name:?} inflates past {limit} bytes (--memory), and is not read")]
    Bomb {
        /// The member.
        name: String,
        /// The limit.
        limit: u64,
    },
    /// The member's data is not a valid deflate stream.
    #[error("member {name:?} is not a valid deflate stream")]
    Inflate {
        /// The member.
        name: String,
        /// The cause.
        source: io::Error,
    },
    /// Writing the member failed.
    #[error("cannot write member {name:?}")]
    Output {
        /// The member.
        name: String,
        /// The cause.
        source: io::Error,
    },
}

/// The members of the zip `x`, in directory order.
pub fn of_zip(x: &[u8]) -> Result<Vec<Entry>, Error> {
    let archive = super::parse(x)?;
    let mut members = archive.members;
    members.sort_by_key(|m| m.entry);
    Ok(members
        .into_iter()
        .map(|m| Entry {
            data: if m.data_len == 0 {
                Data::Empty
            } else {
                Data::Range {
                    start: m.data_start,
                    len: m.data_len,
                }
            },
            mode: m.unix_mode(),
            mtime: m.mtime(),
            name: m.name,
            method: m.method,
            flags: m.flags,
            size: m.plain_len,
        })
        .collect())
}

/// The members of the zip that `recipe` re-makes, in directory order,
/// each naming the content that holds its data. The zip's framing is laid
/// out in memory (zeros for the data): at most `limit` bytes.
pub fn of_recipe(recipe: &Recipe, limit: u64) -> Result<Vec<Entry>, Error> {
    if recipe.format != FORMAT_ZIP {
        return Err(Error::NotZip(recipe.format));
    }
    let len = recipe
        .pieces
        .iter()
        .try_fold(0u64, |n, p| n.checked_add(p.out_len()))
        .unwrap_or(u64::MAX);
    let too_large = Error::TooLarge { len, limit };
    let size = usize::try_from(len).map_err(|_| Error::TooLarge { len, limit })?;
    if len > limit {
        return Err(too_large);
    }
    // Zeroed pages cost nothing until a literal is written on them.
    let mut skeleton = vec![0u8; size];
    // Where each data piece starts: (offset, content index, its length, kept as it is).
    let mut data = Vec::new();
    let (mut at, mut index) = (0usize, 0usize);
    for p in &recipe.pieces {
        // Each fits: the sum of all of them is `size`.
        let n = p.out_len() as usize;
        match p {
            Piece::Literal(b) => skeleton[at..at + n].copy_from_slice(b),
            Piece::Stored { .. } => {
                data.push((at, index, n, true));
                index += 1;
            }
            _ => {
                data.push((at, index, n, false));
                index += 1;
            }
        }
        at += n;
    }
    let mut entries = of_zip(&skeleton)?;
    for e in &mut entries {
        let Data::Range { start, len } = e.data else {
            continue;
        };
        let i = data.binary_search_by_key(&start, |d| d.0).map_err(|_| {
            Error::Mismatch(format!(
                "no piece starts at member {:?}'s data",
                e.display_name()
            ))
        })?;
        let (_, index, n, kept) = data[i];
        if n != len {
            return Err(Error::Mismatch(format!(
                "member {:?} has {len} bytes of data, its piece {n}",
                e.display_name()
            )));
        }
        // Kept as it is: encoded unless stored.
        e.data = Data::Content {
            index,
            encoded: kept && e.method != 0,
        };
    }
    Ok(entries)
}

/// Writes member `e`'s text to `out`, its data being `data` (its bytes as
/// [`Entry::data`] says: compressed for a `Range` or an `encoded`
/// content), inflating at most `limit` bytes. Returns the bytes written.
pub fn decode(e: &Entry, data: &[u8], limit: u64, out: &mut dyn Write) -> Result<u64, Error> {
    let name = e.display_name();
    let encoded = match e.data {
        Data::Empty => return Ok(0),
        Data::Content { encoded, .. } => encoded,
        Data::Range { .. } => true,
    };
    let output = |source| Error::Output {
        name: name.clone(),
        source,
    };
    if !encoded || e.method == 0 {
        if e.flags & super::FLAG_ENCRYPTED != 0 {
            return Err(Error::Encrypted(name));
        }
        out.write_all(data).map_err(output)?;
        return Ok(data.len() as u64);
    }
    if e.flags & super::FLAG_ENCRYPTED != 0 {
        return Err(Error::Encrypted(name));
    }
    if e.method != 8 {
        return Err(Error::Method {
            name,
            method: e.method,
        });
    }
    let mut inflater = flate2::read::DeflateDecoder::new(data).take(limit.saturating_add(1));
    let mut buf = vec![0u8; 64 << 10];
    let mut written = 0u64;
    loop {
        let n = match inflater.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => return Err(Error::Inflate { name, source }),
        };
        written += n as u64;
        if written > limit {
            return Err(Error::Bomb { name, limit });
        }
        out.write_all(&buf[..n]).map_err(output)?;
    }
    Ok(written)
}

/// The member named `path` (a directory's name with or without its `/`).
pub fn find<'a>(entries: &'a [Entry], path: &str) -> Option<&'a Entry> {
    let path = path.trim_start_matches("./");
    entries
        .iter()
        .find(|e| e.name == path.as_bytes())
        .or_else(|| {
            entries
                .iter()
                .find(|e| e.name.strip_suffix(b"/") == Some(path.trim_end_matches('/').as_bytes()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::{self, InMemory};

    /// A zip of a stored, a deflated, a directory and an empty member, by Python.
    fn python_zip() -> Vec<u8> {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("t.zip");
        let script = "import zipfile,sys\n\
            with zipfile.ZipFile(sys.argv[1],'w') as z:\n\
            \x20z.writestr('a/stored.txt', b'plain '*50, compress_type=zipfile.ZIP_STORED)\n\
            \x20z.writestr('a/', b'')\n\
            \x20z.writestr('empty', b'')\n\
            \x20z.writestr('b/deflated.txt', b'some text, some text, some more text\\n'*300, compress_type=zipfile.ZIP_DEFLATED)\n";
        let st = std::process::Command::new("python3")
            .args(["-c", script])
            .arg(&out)
            .status()
            .expect("python3 runs (the zip oracle)");
        assert!(st.success());
        std::fs::read(out).expect("read zip")
    }

    fn text(entries: &[Entry], x: &[u8], contents: &[Vec<u8>], path: &str) -> Vec<u8> {
        let e = find(entries, path).expect(path);
        let data: &[u8] = match e.data {
            Data::Empty => &[],
            Data::Content { index, .. } => &contents[index],
            Data::Range { start, len } => &x[start..start + len],
        };
        let mut out = Vec::new();
        decode(e, data, 1 << 20, &mut out).expect("decode");
        out
    }

    #[test]
    fn a_member_reads_the_same_from_the_zip_and_from_its_recipe() {
        let x = python_zip();
        let whole = of_zip(&x).expect("zip");
        let mut contents = InMemory::default();
        let recipe = container::split(&x, &mut contents, 1 << 30).expect("split");
        let split = of_recipe(&recipe, 1 << 20).expect("recipe");
        let names: Vec<_> = split.iter().map(|e| e.display_name()).collect();
        assert_eq!(names, ["a/stored.txt", "a/", "empty", "b/deflated.txt"]);
        assert_eq!(split[1].kind(), Kind::Dir);
        assert_eq!(split[2].data, Data::Empty);
        for path in ["a/stored.txt", "empty", "b/deflated.txt", "a"] {
            let a = text(&whole, &x, &[], path);
            let b = text(&split, &x, &contents.0, path);
            assert_eq!(a, b, "{path}");
        }
        assert_eq!(
            text(&split, &x, &contents.0, "b/deflated.txt").len(),
            37 * 300
        );
        assert!(find(&split, "missing").is_none());
        // Python's writestr stamps the time of the call: some valid date.
        assert!(
            split
                .iter()
                .all(|e| e.mtime.is_some_and(|t| t > 1_600_000_000))
        );
        // Too small a limit to lay it out is refused, not attempted.
        assert!(matches!(
            of_recipe(&recipe, 100),
            Err(Error::TooLarge { .. })
        ));
    }

    #[test]
    fn a_member_that_inflates_past_the_limit_is_refused_with_its_name() {
        let x = python_zip();
        let whole = of_zip(&x).expect("zip");
        let e = find(&whole, "b/deflated.txt").expect("member");
        let Data::Range { start, len } = e.data else {
            panic!("deflated member has data");
        };
        let err = decode(e, &x[start..start + len], 1000, &mut Vec::new()).expect_err("bomb");
        assert!(err.to_string().contains("b/deflated.txt"), "{err}");
        assert!(matches!(err, Error::Bomb { limit: 1000, .. }));
    }
}
