//! Seeded, deterministic test data: related release series as uncompressed tars.
//!
//! A silo's real workload is a series of releases of the same tree, each a
//! little different from the last. [`series`] makes one from a seed: a tree
//! of text and binary files, then each next release with lines edited,
//! inserted and deleted, bytes changed in a binary, one file renamed, one
//! file added, and now and then one removed, written as a deterministic
//! ustar archive (sorted names, mtime 0, uid/gid 0, mode 0644). The same
//! seed gives the same bytes on every machine and every version of this
//! crate's dependencies: the random generator is our own SplitMix64.
//!
//! Two more shapes of workload:
//!
//! - [`commits`]: hundreds of consecutive versions of one tree, each one
//!   small commit away from the last (a tarball of every commit), made one
//!   at a time by an iterator.
//! - [`write_image`]: container-image-like tars (`docker save` output:
//!   `manifest.json`, a config, and `<id>/layer.tar` layers, each a tar of
//!   binaries and text), streamed to any writer, so a 1.5 GiB image needs a
//!   few MiB of memory. Two versions of an image share their unchanged layers
//!   byte for byte; a changed layer is an upgrade of the old one.
//!
//! ```
//! let releases = trees_testdata::series("demo", &trees_testdata::Options::small(7));
//! assert_eq!(releases.len(), 4);
//! assert_eq!(&releases[0].tar[257..262], b"ustar");
//! ```

#![deny(missing_docs)]

use std::collections::BTreeMap;

mod commits;
mod image;
mod rng;
pub use commits::{CommitOptions, Commits, commits};
pub use image::{ImageOptions, changed_layers, layer_version, write_image, write_layer_tar};
pub use rng::Rng;

/// How big a series to make.
#[derive(Debug, Clone)]
pub struct Options {
    /// Seed of everything.
    pub seed: u64,
    /// Number of releases.
    pub releases: usize,
    /// Text files in the first release.
    pub text_files: usize,
    /// Mean lines per text file.
    pub lines: usize,
    /// Binary files in the first release.
    pub binary_files: usize,
    /// Bytes per binary file.
    pub binary_size: usize,
}

impl Options {
    /// About 300 KB a release, four releases: quick enough for any test.
    pub fn small(seed: u64) -> Self {
        Options {
            seed,
            releases: 4,
            text_files: 40,
            lines: 150,
            binary_files: 3,
            binary_size: 16 << 10,
        }
    }

    /// About 3 MB a release: a benchmark-sized tree.
    pub fn medium(seed: u64, releases: usize) -> Self {
        Options {
            seed,
            releases,
            text_files: 300,
            lines: 200,
            binary_files: 8,
            binary_size: 160 << 10,
        }
    }
}

/// One release: its file name and its tar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// `<name>-1.<n>.0.tar` ([`series`]) or `<name>-<nnnnn>.tar` ([`commits`]).
    pub file_name: String,
    /// The uncompressed tar.
    pub tar: Vec<u8>,
}

const WORDS: &[&str] = &[
    "let", "mut", "self", "return", "if", "else", "for", "while", "match", "value", "index",
    "buffer", "length", "offset", "chunk", "delta", "base", "object", "pack", "tree", "blob",
    "read", "write", "error", "result", "count", "size", "hash", "table", "entry", "node", "parse",
    "fn", "pub", "struct", "impl", "(", ")", "{", "}", ";", "=", "+", "0", "1", "42",
];

/// Appends one line of code-like text to `out`.
fn push_text_line(rng: &mut Rng, out: &mut Vec<u8>) {
    let indent = 4 * rng.below(4) as usize;
    out.extend(std::iter::repeat_n(b' ', indent));
    for i in 0..1 + rng.below(10) {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize].as_bytes());
    }
    out.push(b'\n');
}

fn text_line(rng: &mut Rng) -> Vec<u8> {
    let mut line = Vec::new();
    push_text_line(rng, &mut line);
    line
}

fn text_file(rng: &mut Rng, lines: usize) -> Vec<u8> {
    let n = lines / 2 + rng.below(lines as u64 + 1) as usize;
    (0..n).flat_map(|_| text_line(rng)).collect()
}

fn binary_file(rng: &mut Rng, size: usize) -> Vec<u8> {
    // Half noise, half runs: like an object file, compressible but not much.
    let mut out = Vec::with_capacity(size);
    while out.len() < size {
        let run = 1 + rng.below(64) as usize;
        if rng.below(2) == 0 {
            out.extend((0..run).map(|_| rng.next_u64() as u8));
        } else {
            let b = rng.next_u64() as u8;
            out.extend(std::iter::repeat_n(b, run));
        }
    }
    out.truncate(size);
    out
}

fn edit_text(rng: &mut Rng, file: &[u8]) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = file
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(lines.len() as u64 + 1) as usize;
        match rng.below(3) {
            0 if at < lines.len() => lines[at] = text_line(rng),
            1 if at < lines.len() => {
                lines.remove(at);
            }
            _ => {
                for _ in 0..1 + rng.below(5) {
                    lines.insert(at.min(lines.len()), text_line(rng));
                }
            }
        }
    }
    lines.concat()
}

fn edit_binary(rng: &mut Rng, file: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        if file.is_empty() {
            break;
        }
        let at = rng.below(file.len() as u64) as usize;
        let n = (1 + rng.below(32) as usize).min(file.len() - at);
        for b in &mut file[at..at + n] {
            *b = rng.next_u64() as u8;
        }
    }
    let grow = rng.below(512) as usize;
    file.extend((0..grow).map(|_| rng.next_u64() as u8));
}

/// The releases of one series named `name`.
pub fn series(name: &str, o: &Options) -> Vec<Release> {
    let mut rng = Rng::new(o.seed);
    let mut tree: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for i in 0..o.text_files {
        let dir = ["src", "src/core", "docs", "tests"][i % 4];
        tree.insert(
            format!("{dir}/file{i:03}.txt"),
            text_file(&mut rng, o.lines),
        );
    }
    for i in 0..o.binary_files {
        tree.insert(
            format!("lib/blob{i}.bin"),
            binary_file(&mut rng, o.binary_size),
        );
    }
    let mut next_new = o.text_files;
    let mut out = Vec::with_capacity(o.releases);
    for r in 0..o.releases {
        if r > 0 {
            let paths: Vec<String> = tree.keys().cloned().collect();
            for p in &paths {
                if p.ends_with(".txt") && rng.below(3) == 0 {
                    let edited = edit_text(&mut rng, &tree[p]);
                    tree.insert(p.clone(), edited);
                } else if p.ends_with(".bin") && rng.below(2) == 0 {
                    let file = tree.get_mut(p).expect("path listed from the tree");
                    edit_binary(&mut rng, file);
                }
            }
            // Rename one file, add one, and every third release remove one.
            let victim = paths[rng.below(paths.len() as u64) as usize].clone();
            if let Some(content) = tree.remove(&victim) {
                tree.insert(format!("{victim}.renamed"), content);
            }
            tree.insert(
                format!("src/new{next_new:03}.txt"),
                text_file(&mut rng, o.lines),
            );
            next_new += 1;
            if r % 3 == 0 {
                let paths: Vec<String> = tree.keys().cloned().collect();
                tree.remove(&paths[rng.below(paths.len() as u64) as usize]);
            }
        }
        let version = format!("1.{r}.0");
        tree.insert("VERSION".into(), format!("{version}\n").into_bytes());
        out.push(Release {
            file_name: format!("{name}-{version}.tar"),
            tar: tar_of(&format!("{name}-{version}"), &tree),
        });
    }
    out
}

/// A deterministic ustar of `tree` under the directory `root`.
pub fn tar_of(root: &str, tree: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, content) in tree {
        let mut h = tar::Header::new_ustar();
        h.set_path(format!("{root}/{path}"))
            .expect("generated paths are short and relative");
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append(&h, content.as_slice())
            .expect("writing to a Vec cannot fail");
    }
    b.into_inner().expect("writing to a Vec cannot fail")
}

/// `len` incompressible bytes from `seed`.
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0; len];
    Rng::new(seed).fill(&mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let a = series("x", &Options::small(1));
        assert_eq!(a, series("x", &Options::small(1)));
        assert_ne!(a, series("x", &Options::small(2)));
    }

    #[test]
    fn consecutive_releases_differ_but_share_most_bytes() {
        let r = series("x", &Options::small(3));
        for w in r.windows(2) {
            assert_ne!(w[0].tar, w[1].tar);
            let same = w[0]
                .tar
                .iter()
                .zip(&w[1].tar)
                .take_while(|(a, b)| a == b)
                .count();
            assert!(same > 0);
        }
    }
}

#[cfg(test)]
mod committed {
    /// The example tars in `testdata/example` are this generator's output:
    /// regenerate them with `gen-series demo 1 4 testdata/example` and
    /// `gen-series widget 11 5 testdata/example` if this fails.
    #[test]
    fn committed_example_matches_the_generator() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("example");
        let widget = super::Options {
            releases: 5,
            ..super::Options::small(11)
        };
        let families = [
            super::series("demo", &super::Options::small(1)),
            super::series("widget", &widget),
        ];
        for r in families.iter().flatten() {
            let committed = std::fs::read(dir.join(&r.file_name)).unwrap();
            assert!(
                committed == r.tar,
                "{} differs from the generator",
                r.file_name
            );
        }
    }
}
