//! Relating blobs: which blobs share the most bytes with which.
//!
//! An inverted index maps each chunk hash to the blobs that contain it.
//! For each blob, walking the postings of its distinct chunks adds up the
//! bytes it shares with every other blob; the best few become its candidate
//! bases. No window and no names: a blob finds its best base anywhere in
//! the silo. The work is the sum of the posting lengths, so a chunk found
//! in very many blobs (zero padding, a license file) is skipped past a cap:
//! it says little about which blob is closest, and would make the cost
//! quadratic.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::chunk::{ChunkHash, Fingerprint};

/// Bounds on the work.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Chunks present in more blobs than this are not counted.
    pub max_postings: usize,
    /// Candidates kept per blob.
    pub candidates: usize,
    /// A candidate must share at least 1/`min_share` of the blob. Below
    /// that a delta rarely pays, and a weak edge (the zero blocks that end
    /// every tar) would join unrelated families into one tree.
    pub min_share: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            // A release series rarely has more than this many versions
            // sharing one chunk; past it the chunk is boilerplate.
            max_postings: 256,
            candidates: 8,
            min_share: 16,
        }
    }
}

/// A blob that shares bytes with another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// Index of the other blob.
    pub other: usize,
    /// Bytes of the blob that the other also has (by distinct chunks).
    pub shared: u64,
}

/// Bytes of `a` in chunks that `b` also has (distinct chunks counted once):
/// the score [`relate`] gives, for one pair named by a hint.
pub fn shared(a: &Fingerprint, b: &Fingerprint) -> u64 {
    let in_b: std::collections::HashSet<_> = b.chunks.iter().map(|c| c.hash).collect();
    let mut seen = std::collections::HashSet::new();
    a.chunks
        .iter()
        .filter(|c| in_b.contains(&c.hash) && seen.insert(c.hash))
        .map(|c| u64::from(c.len))
        .sum()
}

/// For each blob, its best candidate bases, most shared bytes first.
pub fn relate(fps: &[Fingerprint], o: &Options) -> Vec<Vec<Candidate>> {
    let all: Vec<usize> = (0..fps.len()).collect();
    relate_some(fps, &all, o)
}

/// [`relate`] for the blobs `which` only, against all of `fps`: an
/// incremental repack relates its few new blobs to every packed one. The
/// index costs one pass over every chunk; the search, only `which`'s.
pub fn relate_some(fps: &[Fingerprint], which: &[usize], o: &Options) -> Vec<Vec<Candidate>> {
    let mut index: HashMap<ChunkHash, Vec<u32>> = HashMap::new();
    for (i, fp) in fps.iter().enumerate() {
        for c in &fp.chunks {
            let list = index.entry(c.hash).or_default();
            if list.last() != Some(&(i as u32)) {
                list.push(i as u32);
            }
        }
    }
    which
        .par_iter()
        .map(|&i| candidates_of(fps, &index, i, o))
        .collect()
}

fn candidates_of(
    fps: &[Fingerprint],
    index: &HashMap<ChunkHash, Vec<u32>>,
    i: usize,
    o: &Options,
) -> Vec<Candidate> {
    let mut shared: HashMap<u32, u64> = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for c in &fps[i].chunks {
        if !seen.insert(c.hash) {
            continue;
        }
        let Some(list) = index.get(&c.hash) else {
            continue;
        };
        if list.len() > o.max_postings {
            continue;
        }
        for &j in list {
            if j as usize != i {
                *shared.entry(j).or_default() += u64::from(c.len);
            }
        }
    }
    let floor = fps[i].size / o.min_share.max(1);
    let mut v: Vec<Candidate> = shared
        .into_iter()
        .filter(|&(_, s)| s > 0 && s >= floor)
        .map(|(j, s)| Candidate {
            other: j as usize,
            shared: s,
        })
        .collect();
    v.sort_unstable_by(|a, b| b.shared.cmp(&a.shared).then(a.other.cmp(&b.other)));
    v.truncate(o.candidates);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::{Params, fingerprint};

    #[test]
    fn each_release_finds_its_neighbours_and_not_strangers() {
        let rel = trees_testdata::series("r", &trees_testdata::Options::small(4));
        let stranger = trees_testdata::random_bytes(9, 300_000);
        let mut fps: Vec<_> = rel
            .iter()
            .map(|r| fingerprint(&r.tar, &Params::default()))
            .collect();
        fps.push(fingerprint(&stranger, &Params::default()));
        let c = relate(&fps, &Options::default());
        for (i, cands) in c.iter().enumerate().take(rel.len()) {
            let best = cands[0].other;
            assert!(
                best + 1 == i || best == i + 1,
                "release {i} chose {best}: {cands:?}"
            );
            assert!(
                cands.iter().all(|x| x.other != rel.len()),
                "release {i} relates to random bytes"
            );
        }
        assert!(c[rel.len()].is_empty());
    }
}
