//! A bounded cache of resolved objects, so that reading along a delta chain
//! does not rebuild the same bases again and again.
//!
//! Keyed by pack offset, bounded by bytes, least recently used out first
//! (like git's `core.deltaBaseCacheLimit`, 96 MiB by default).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::id::Kind;

/// git's default `core.deltaBaseCacheLimit`.
pub const DEFAULT_BUDGET: usize = 96 << 20;

/// Least-recently-used objects by offset, at most `budget` bytes of them.
#[derive(Debug)]
pub struct Cache {
    budget: usize,
    used: usize,
    tick: u64,
    entries: HashMap<u64, (Kind, Arc<Vec<u8>>, u64)>,
    by_age: BTreeMap<u64, u64>,
}

impl Cache {
    /// An empty cache holding at most `budget` bytes.
    pub fn new(budget: usize) -> Self {
        Cache {
            budget,
            used: 0,
            tick: 0,
            entries: HashMap::new(),
            by_age: BTreeMap::new(),
        }
    }

    /// The object at `offset`, if cached; it becomes the most recent.
    pub fn get(&mut self, offset: u64) -> Option<(Kind, Arc<Vec<u8>>)> {
        self.tick += 1;
        let tick = self.tick;
        let (kind, data, age) = self.entries.get_mut(&offset)?;
        self.by_age.remove(age);
        *age = tick;
        self.by_age.insert(tick, offset);
        Some((*kind, data.clone()))
    }

    /// Caches an object; objects over half the budget are not kept.
    pub fn put(&mut self, offset: u64, kind: Kind, data: Arc<Vec<u8>>) {
        if data.len() > self.budget / 2 || self.entries.contains_key(&offset) {
            return;
        }
        self.tick += 1;
        self.used += data.len();
        self.entries.insert(offset, (kind, data, self.tick));
        self.by_age.insert(self.tick, offset);
        while self.used > self.budget {
            let Some((_, old)) = self.by_age.pop_first() else {
                break;
            };
            if let Some((_, d, _)) = self.entries.remove(&old) {
                self.used -= d.len();
            }
        }
    }

    /// Bytes currently held.
    pub fn used(&self) -> usize {
        self.used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used_within_budget() {
        let mut c = Cache::new(100);
        c.put(1, Kind::Blob, Arc::new(vec![0; 40]));
        c.put(2, Kind::Blob, Arc::new(vec![0; 40]));
        assert!(c.get(1).is_some());
        c.put(3, Kind::Blob, Arc::new(vec![0; 40]));
        assert!(c.get(2).is_none(), "2 was the least recently used");
        assert!(c.get(1).is_some() && c.get(3).is_some());
        assert!(c.used() <= 100);
        c.put(4, Kind::Blob, Arc::new(vec![0; 51]));
        assert!(c.get(4).is_none(), "over half the budget is not cached");
    }
}
