//! Choosing bases: a maximum-weight spanning forest over bytes shared.
//!
//! Kruskal's algorithm takes the candidate edges heaviest first and keeps
//! each one that joins two trees: every blob ends up joined to the blobs it
//! shares the most with, in total, and a forest has no cycles by
//! construction. Each tree is then rooted (the root is stored whole) and
//! every other blob becomes a delta against its parent. A blob deeper than
//! `max_depth` is stored whole instead and starts a new chain.

use std::collections::VecDeque;

use serde::Serialize;

use crate::relate::Candidate;

/// Which blob of a tree is stored whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Root {
    /// The largest: releases tend to grow, so this is usually the newest,
    /// and deltas then mostly delete, which costs little.
    #[default]
    Largest,
    /// The smallest: the whole object costs least; deltas mostly insert.
    Smallest,
}

impl std::fmt::Display for Root {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Root::Largest => "largest",
            Root::Smallest => "smallest",
        })
    }
}

/// A name that is not `largest` or `smallest`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a root: largest or smallest")]
pub struct UnknownRoot(pub String);

impl std::str::FromStr for Root {
    type Err = UnknownRoot;
    fn from_str(s: &str) -> Result<Root, UnknownRoot> {
        [Root::Largest, Root::Smallest]
            .into_iter()
            .find(|r| r.to_string() == s)
            .ok_or_else(|| UnknownRoot(s.to_owned()))
    }
}

/// The chosen shape: each blob's base (or none: whole) and chain depth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forest {
    /// The base of each blob, if it is a delta.
    pub base: Vec<Option<usize>>,
    /// Its chain depth (0 for a whole blob).
    pub depth: Vec<usize>,
    /// An order in which every base comes before its deltas.
    pub order: Vec<usize>,
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// The forest over `candidates` (as from [`crate::relate::relate`]) of blobs
/// of `sizes`, rooted by `root`, chains at most `max_depth` long.
pub fn choose(
    candidates: &[Vec<Candidate>],
    sizes: &[u64],
    root: Root,
    max_depth: usize,
) -> Forest {
    let n = sizes.len();
    let mut edges: Vec<(u64, usize, usize)> = Vec::new();
    for (a, cands) in candidates.iter().enumerate() {
        for c in cands {
            edges.push((c.shared, a.min(c.other), a.max(c.other)));
        }
    }
    // Heaviest first; ties broken by index so that the result is deterministic.
    edges.sort_unstable_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    edges.dedup_by(|x, y| x.1 == y.1 && x.2 == y.2);
    let mut uf: Vec<usize> = (0..n).collect();
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (_, a, b) in edges {
        let (ra, rb) = (find(&mut uf, a), find(&mut uf, b));
        if ra != rb {
            uf[ra] = rb;
            adj[a].push(b);
            adj[b].push(a);
        }
    }
    // Root each tree.
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n];
    for x in 0..n {
        let r = find(&mut uf, x);
        members[r].push(x);
    }
    let mut base = vec![None; n];
    let mut depth = vec![0usize; n];
    let mut order = Vec::with_capacity(n);
    let mut trees: Vec<&Vec<usize>> = members.iter().filter(|m| !m.is_empty()).collect();
    trees.sort_by_key(|m| m[0]);
    for m in trees {
        let r = *m
            .iter()
            .max_by(|&&x, &&y| match root {
                Root::Largest => sizes[x].cmp(&sizes[y]).then(y.cmp(&x)),
                Root::Smallest => sizes[y].cmp(&sizes[x]).then(y.cmp(&x)),
            })
            .expect("trees are not empty");
        let mut queue = VecDeque::from([r]);
        let mut seen = std::collections::HashSet::from([r]);
        while let Some(x) = queue.pop_front() {
            order.push(x);
            for &y in &adj[x] {
                if seen.insert(y) {
                    if depth[x] < max_depth {
                        base[y] = Some(x);
                        depth[y] = depth[x] + 1;
                    }
                    queue.push_back(y);
                }
            }
        }
    }
    Forest { base, depth, order }
}

impl Forest {
    /// Stores `x` whole (its delta did not pay), lowering the depth of its subtree.
    pub fn make_whole(&mut self, x: usize) {
        self.base[x] = None;
        // `order` lists bases first, so one pass fixes every depth.
        for &y in &self.order {
            self.depth[y] = self.base[y].map_or(0, |b| self.depth[b] + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> Vec<Vec<Candidate>> {
        (0..n)
            .map(|i| {
                let mut v = Vec::new();
                if i > 0 {
                    v.push(Candidate {
                        other: i - 1,
                        shared: 100,
                    });
                }
                if i + 1 < n {
                    v.push(Candidate {
                        other: i + 1,
                        shared: 100,
                    });
                }
                v
            })
            .collect()
    }

    #[test]
    fn a_series_becomes_one_chain_from_the_largest() {
        let sizes: Vec<u64> = (0..5).map(|i| 1000 + i).collect();
        let f = choose(&chain(5), &sizes, Root::Largest, 50);
        assert_eq!(f.base, vec![Some(1), Some(2), Some(3), Some(4), None]);
        assert_eq!(f.depth, vec![4, 3, 2, 1, 0]);
        assert_eq!(f.order[0], 4);
        let g = choose(&chain(5), &sizes, Root::Smallest, 50);
        assert_eq!(g.base[0], None);
    }

    #[test]
    fn depth_is_bounded_and_bases_come_first() {
        let sizes = vec![10u64; 12];
        let f = choose(&chain(12), &sizes, Root::Largest, 3);
        assert!(f.depth.iter().all(|&d| d <= 3));
        let pos: Vec<usize> = {
            let mut p = vec![0; 12];
            for (i, &x) in f.order.iter().enumerate() {
                p[x] = i;
            }
            p
        };
        for (x, b) in f.base.iter().enumerate() {
            if let Some(b) = b {
                assert!(pos[*b] < pos[x]);
                assert_eq!(f.depth[x], f.depth[*b] + 1);
            }
        }
    }

    #[test]
    fn unrelated_blobs_stay_whole() {
        let f = choose(&[vec![], vec![]], &[5, 6], Root::Largest, 50);
        assert_eq!(f.base, vec![None, None]);
        assert_eq!(f.order.len(), 2);
    }

    #[test]
    fn make_whole_fixes_the_subtree() {
        let sizes: Vec<u64> = (0..4).map(|i| 1000 + i).collect();
        let mut f = choose(&chain(4), &sizes, Root::Largest, 50);
        f.make_whole(2);
        assert_eq!(f.depth, vec![2, 1, 0, 0]);
    }
}
