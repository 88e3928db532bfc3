//! Where the new objects of an incremental repack go: each new tree hangs
//! from at most one packed base ([`place`]).

use std::collections::{HashMap, VecDeque};

use trees_delta::forest::Root;
use trees_delta::relate;

use super::Options;
use super::plan::Place;

/// Bases of the new objects, and an order with bases first.
pub(crate) struct Placed {
    pub(crate) base: Vec<Option<Place>>,
    pub(crate) depth: Vec<usize>,
    pub(crate) order: Vec<usize>,
}

/// Joins the new objects (candidates indexed from `first_new`) to the
/// existing forest: Kruskal's algorithm over their edges, with every packed
/// object in one tree from the start, so that each new tree attaches to at
/// most one packed base. `depth_of` gives a packed object's chain depth.
pub(crate) fn place(
    first_new: usize,
    candidates: &[Vec<relate::Candidate>],
    sizes: &[u64],
    opts: &Options,
    depth_of: impl Fn(usize) -> usize,
) -> Placed {
    let n = sizes.len();
    // Nodes: 0 = every packed object; 1 + y = new object y.
    let mut uf: Vec<usize> = (0..=n).collect();
    fn find(uf: &mut [usize], mut x: usize) -> usize {
        while uf[x] != x {
            uf[x] = uf[uf[x]];
            x = uf[x];
        }
        x
    }
    let mut edges: Vec<(u64, usize, usize)> = Vec::new();
    for (y, cands) in candidates.iter().enumerate() {
        for c in cands {
            edges.push((c.shared, y + first_new, c.other));
        }
    }
    edges.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let node = |g: usize| if g < first_new { 0 } else { 1 + g - first_new };
    // New object -> its neighbours (new ones as new indexes, packed as Packed).
    let mut adj: Vec<Vec<Place>> = vec![Vec::new(); n];
    let mut hang: Vec<(usize, usize)> = Vec::new(); // (new y, packed x)
    for (_, a, b) in edges {
        let (ra, rb) = (find(&mut uf, node(a)), find(&mut uf, node(b)));
        if ra == rb {
            continue;
        }
        uf[ra] = rb;
        let y = a - first_new;
        if b < first_new {
            hang.push((y, b));
        } else {
            let z = b - first_new;
            adj[y].push(Place::New(z));
            adj[z].push(Place::New(y));
        }
    }
    let mut base: Vec<Option<Place>> = vec![None; n];
    let mut depth = vec![0usize; n];
    let mut seen = vec![false; n];
    let mut order = Vec::with_capacity(n);
    let mut queue = VecDeque::new();
    for (y, x) in hang {
        let d = depth_of(x).saturating_add(1);
        if d <= opts.max_depth {
            base[y] = Some(Place::Packed(x));
            depth[y] = d;
        }
        seen[y] = true;
        queue.push_back(y);
    }
    let mut bfs = |queue: &mut VecDeque<usize>,
                   seen: &mut Vec<bool>,
                   base: &mut Vec<Option<Place>>,
                   depth: &mut Vec<usize>| {
        while let Some(y) = queue.pop_front() {
            order.push(y);
            for p in adj[y].clone() {
                let Place::New(z) = p else { continue };
                if !seen[z] {
                    seen[z] = true;
                    if depth[y] < opts.max_depth {
                        base[z] = Some(Place::New(y));
                        depth[z] = depth[y] + 1;
                    }
                    queue.push_back(z);
                }
            }
        }
    };
    bfs(&mut queue, &mut seen, &mut base, &mut depth);
    // Trees of new objects only: rooted as a full repack roots them.
    let mut roots: Vec<usize> = Vec::new();
    let mut comp_root: HashMap<usize, usize> = HashMap::new();
    for y in 0..n {
        if seen[y] {
            continue;
        }
        let r = find(&mut uf, 1 + y);
        let better = |cur: usize| match opts.root {
            Root::Largest => sizes[y] > sizes[cur],
            Root::Smallest => sizes[y] < sizes[cur],
        };
        match comp_root.get(&r) {
            Some(&cur) if !better(cur) => {}
            _ => {
                comp_root.insert(r, y);
            }
        }
    }
    roots.extend(comp_root.values().copied());
    roots.sort_unstable();
    for r in roots {
        seen[r] = true;
        queue.push_back(r);
        bfs(&mut queue, &mut seen, &mut base, &mut depth);
    }
    Placed { base, depth, order }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_objects_hang_from_one_packed_base_and_chain_on() {
        // Packed 0..3; new 3 (=y0), 4 (=y1): y0 likes packed 2, y1 likes y0.
        let c = |other, shared| relate::Candidate { other, shared };
        let candidates = vec![vec![c(2, 90), c(1, 80), c(4, 70)], vec![c(3, 70), c(2, 60)]];
        let opts = Options::default();
        let p = place(3, &candidates, &[1000, 1000], &opts, |_| 0);
        assert_eq!(p.base, vec![Some(Place::Packed(2)), Some(Place::New(0))]);
        assert_eq!(p.order, vec![0, 1]);
        // A packed base at the depth limit: stored whole, its follower chains on.
        let p = place(3, &candidates, &[1000, 1000], &opts, |_| opts.max_depth);
        assert_eq!(p.base, vec![None, Some(Place::New(0))]);
    }
}
