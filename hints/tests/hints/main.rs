//! Integration tests of trees-hints on real files in temporary directories.
//! Modules mirror `src/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod hints;
mod reachable;
mod silos;
mod treeptr;

use std::path::Path;

/// A treeptr's JSON for blob `id`.
pub fn treeptr_json(id: &str) -> String {
    format!(
        r#"{{"blob": "{id}", "size": 6, "format": "tar", "provenance": {{"url": "https://example.org/x"}}}}"#
    )
}

/// Writes `content` at `root/rel`, creating directories.
pub fn put(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// The error and its causes on one line, as every report prints them.
pub use trees_pack::error_chain as chain;

/// Ids used by the tests (any 40 hex digits will do: nothing reads a silo).
pub const IDS: [&str; 3] = [
    "ce013625030ba8dba906f756967f9e9ca394464a",
    "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391",
    "0000000000000000000000000000000000000001",
];
