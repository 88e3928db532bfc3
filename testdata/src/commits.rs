//! Long series of small steps: a tarball of every commit of one tree.
//!
//! [`commits`] makes hundreds of consecutive versions of a tree where each
//! differs from the previous by one small commit: one to three files edited
//! (a text file's lines edited, inserted or deleted, or a few bytes of a
//! binary changed), now and then a file added (one commit in twelve) or
//! removed (one in twenty-five). Unlike [`series`](crate::series), which
//! changes a third of the files per release, consecutive versions here share
//! almost all their bytes: the workload of a silo that keeps the source
//! archive of every commit.
//!
//! Versions are made one at a time by an iterator, so a long series never
//! has to be in memory. The name is mixed into the seed: families with
//! different names (or seeds) have distinct content.
//!
//! ```
//! use trees_testdata::{CommitOptions, commits};
//! let v: Vec<_> = commits("demo", &CommitOptions::small(1, 3)).collect();
//! assert_eq!(v[0].file_name, "demo-00001.tar");
//! assert_eq!(v.len(), 3);
//! ```

use std::collections::BTreeMap;

use crate::{Release, Rng, binary_file, edit_binary, edit_text, tar_of, text_file};

/// How long a series and how big a tree.
#[derive(Debug, Clone)]
pub struct CommitOptions {
    /// Seed of everything (the family name is mixed in).
    pub seed: u64,
    /// Number of versions.
    pub versions: usize,
    /// Text files in the first version.
    pub text_files: usize,
    /// Mean lines per text file.
    pub lines: usize,
    /// Binary files in the first version.
    pub binary_files: usize,
    /// Bytes per binary file.
    pub binary_size: usize,
}

impl CommitOptions {
    /// About 150 KB a version: 24 text files and two 16 KiB binaries.
    pub fn small(seed: u64, versions: usize) -> Self {
        CommitOptions {
            seed,
            versions,
            text_files: 24,
            lines: 120,
            binary_files: 2,
            binary_size: 16 << 10,
        }
    }

    /// About 1.4 MB a version: 200 text files and four 64 KiB binaries.
    pub fn medium(seed: u64, versions: usize) -> Self {
        CommitOptions {
            seed,
            versions,
            text_files: 200,
            lines: 150,
            binary_files: 4,
            binary_size: 64 << 10,
        }
    }
}

/// The versions of a [`commits`] series, made one at a time.
#[derive(Debug, Clone)]
pub struct Commits {
    name: String,
    rng: Rng,
    lines: usize,
    tree: BTreeMap<String, Vec<u8>>,
    next: usize,
    versions: usize,
    next_new: usize,
}

/// FNV-1a of the name, to keep families with the same seed apart.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The versions of the series `name`: `<name>-00001.tar`, `<name>-00002.tar`,
/// … (numbers zero-padded to five digits, so that they sort), each a tar of
/// the tree under the directory `<name>-<number>`.
pub fn commits(name: &str, o: &CommitOptions) -> Commits {
    let mut rng = Rng::new(o.seed ^ name_hash(name));
    let mut tree = BTreeMap::new();
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
    Commits {
        name: name.to_string(),
        rng,
        lines: o.lines,
        tree,
        next: 0,
        versions: o.versions,
        next_new: o.text_files,
    }
}

impl Commits {
    /// One commit's worth of changes to the tree.
    fn commit(&mut self) {
        let rng = &mut self.rng;
        let paths: Vec<String> = self.tree.keys().cloned().collect();
        if paths.is_empty() {
            self.tree.insert(
                format!("src/new{:03}.txt", self.next_new),
                text_file(rng, self.lines),
            );
            self.next_new += 1;
            return;
        }
        for _ in 0..1 + rng.below(3) {
            let p = &paths[rng.below(paths.len() as u64) as usize];
            if let Some(file) = self.tree.get_mut(p) {
                if p.ends_with(".bin") {
                    edit_binary(rng, file);
                } else {
                    *file = edit_text(rng, file);
                }
            }
        }
        if rng.below(12) == 0 {
            self.tree.insert(
                format!("src/new{:03}.txt", self.next_new),
                text_file(rng, self.lines),
            );
            self.next_new += 1;
        }
        if rng.below(25) == 0 && paths.len() > 1 {
            self.tree
                .remove(&paths[rng.below(paths.len() as u64) as usize]);
        }
    }
}

impl Iterator for Commits {
    type Item = Release;

    fn next(&mut self) -> Option<Release> {
        if self.next >= self.versions {
            return None;
        }
        if self.next > 0 {
            self.commit();
        }
        self.next += 1;
        let root = format!("{}-{:05}", self.name, self.next);
        Some(Release {
            file_name: format!("{root}.tar"),
            tar: tar_of(&root, &self.tree),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.versions.saturating_sub(self.next);
        (n, Some(n))
    }
}

impl ExactSizeIterator for Commits {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn files(tar: &[u8]) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        for e in tar::Archive::new(tar).entries().unwrap() {
            let mut e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let (_, rest) = path.split_once('/').unwrap();
            let rest = rest.to_string();
            let mut v = Vec::new();
            e.read_to_end(&mut v).unwrap();
            out.insert(rest, v);
        }
        out
    }

    #[test]
    fn same_seed_same_bytes_other_name_other_bytes() {
        let a: Vec<Release> = commits("x", &CommitOptions::small(1, 5)).collect();
        let b: Vec<Release> = commits("x", &CommitOptions::small(1, 5)).collect();
        assert_eq!(a, b);
        let c: Vec<Release> = commits("y", &CommitOptions::small(1, 5)).collect();
        assert_ne!(a[0].tar[1024..], c[0].tar[1024..]);
        let d: Vec<Release> = commits("x", &CommitOptions::small(2, 5)).collect();
        assert_ne!(a[0].tar, d[0].tar);
    }

    #[test]
    fn consecutive_versions_differ_but_share_most_bytes() {
        let v: Vec<Release> = commits("x", &CommitOptions::small(3, 60)).collect();
        assert_eq!(v.len(), 60);
        assert!(v[59].file_name == "x-00060.tar");
        for w in v.windows(2) {
            assert_ne!(w[0].tar, w[1].tar);
            // Files, by path under the root: at most three edited, one
            // added and one removed; the rest, most bytes, the same.
            let (old, new) = (files(&w[0].tar), files(&w[1].tar));
            let changed = new.iter().filter(|(p, c)| old.get(*p) != Some(c)).count();
            let gone = old.keys().filter(|p| !new.contains_key(*p)).count();
            assert!((1..=4).contains(&changed) && gone <= 1, "{changed} {gone}");
            let same: usize = new
                .iter()
                .filter(|(p, c)| old.get(*p) == Some(c))
                .map(|(_, c)| c.len())
                .sum();
            let all: usize = new.values().map(Vec::len).sum();
            assert!(same * 10 > all * 8, "{same} of {all}");
        }
        let size = v[0].tar.len();
        assert!(size > 60_000 && size < 200_000, "{size}");
    }
}
