//! Zip members by name: the key that makes a release's member the next
//! release's base (versions in the first directory aside), and, for a
//! nightly, the packed predecessor's members of the same names, read from
//! its recipe.

use std::collections::HashMap;

use trees_pack::ObjectId;
use trees_split::table::Record;

use crate::Silo;

/// A zip member's name with the digits of its first component dropped,
/// so that `pkg-1.2.dist-info/RECORD` and `pkg-1.3.dist-info/RECORD` are
/// one name, while `logs/task-0003.txt` stays apart from
/// `logs/task-0004.txt` (each job's task 3 is the next job's task 3's
/// base, not its task 4's) and a top-level `a1.py` from `a2.py`.
pub(crate) fn name_key(name: &[u8]) -> Vec<u8> {
    // A top-level file has no directory to carry a version: kept whole.
    let first = name.iter().position(|&b| b == b'/').unwrap_or(0);
    let (head, rest) = name.split_at(first);
    head.iter()
        .copied()
        .filter(|b| !b.is_ascii_digit())
        .chain(rest.iter().copied())
        .collect()
}

/// For a nightly: each zip split now is given, for each member, the
/// member of the same name in its packed predecessor as a related
/// hint. The predecessor is the packed zip (among `records`) that
/// holds the most of its members already (unchanged members are the
/// same blobs); its member names are read from its recipe, at most
/// `limit` bytes laid out. Without this, a small changed member finds
/// its packed predecessor by sketch alone, and a 3 KB log seldom does.
pub(crate) fn packed_predecessors(
    zips: &[Vec<(Vec<u8>, ObjectId)>],
    silo: &Silo,
    records: &[Record],
    limit: u64,
) -> Vec<Vec<ObjectId>> {
    let mut holders: HashMap<ObjectId, Vec<usize>> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        if r.format == trees_split::pieces::FORMAT_ZIP {
            for c in &r.contents {
                holders.entry(*c).or_default().push(i);
            }
        }
    }
    let mut names_of: HashMap<usize, HashMap<Vec<u8>, ObjectId>> = HashMap::new();
    let mut out = Vec::new();
    for members in zips {
        let mut votes: HashMap<usize, usize> = HashMap::new();
        for (_, id) in members {
            for &i in holders.get(id).into_iter().flatten() {
                *votes.entry(i).or_default() += 1;
            }
        }
        // The most members in common; the first record on a tie.
        let Some(best) = votes
            .into_iter()
            .max_by_key(|&(i, n)| (n, std::cmp::Reverse(i)))
            .map(|(i, _)| i)
        else {
            continue;
        };
        let names = names_of
            .entry(best)
            .or_insert_with(|| member_names(silo, &records[best], limit));
        for (key, id) in members {
            if let Some(p) = names.get(key).filter(|p| *p != id) {
                out.push(vec![*p, *id]);
            }
        }
    }
    out
}

/// The name key of each member of the packed split zip `r` whose content
/// is its text, from its recipe; empty if the recipe cannot be read (the
/// hints are only hints).
fn member_names(silo: &Silo, r: &Record, limit: u64) -> HashMap<Vec<u8>, ObjectId> {
    use trees_split::zip::listing::{self, Data};
    let mut bytes = Vec::new();
    if silo.read(&r.recipe, &mut bytes).is_err() {
        return HashMap::new();
    }
    let Ok(recipe) = trees_split::pieces::Recipe::decode(&bytes) else {
        return HashMap::new();
    };
    let Ok(entries) = listing::of_recipe(&recipe, limit) else {
        return HashMap::new();
    };
    entries
        .into_iter()
        .filter_map(|e| match e.data {
            Data::Content {
                index,
                encoded: false,
            } => r.contents.get(index).map(|c| (name_key(&e.name), *c)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod name_tests {
    #[test]
    fn versions_in_the_first_component_are_one_name_deeper_numbers_are_not() {
        use super::name_key as k;
        assert_eq!(
            k(b"pkg-1.2.dist-info/RECORD"),
            k(b"pkg-1.13.dist-info/RECORD")
        );
        assert_eq!(k(b"rich-13.5.0.data/x"), k(b"rich-13.6.0.data/x"));
        assert_ne!(k(b"logs/task-0003.txt"), k(b"logs/task-0004.txt"));
        assert_ne!(k(b"a1.py"), k(b"a2.py"));
        assert_ne!(k(b"v1"), k(b"v2"));
    }
}
