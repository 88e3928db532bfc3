//! The medo side: the small JSON files that name blobs in a silo.
//!
//! A medo directory lives in a git repository and holds `*.treeptr` files,
//! each naming one blob by its git blob id, with its size, format and
//! provenance. This crate parses them strictly: an unknown field, a bad id
//! or malformed JSON is an error that names the file and the field, since a
//! typo in a treeptr must never silently point at nothing.
//!
//! So far: [`treeptr::Treeptr`]. `SILO.json`, `HINTS.json` and reachable
//! sets come with the medo issue.
//!
//! ```
//! let t = trees_hints::treeptr::Treeptr::parse(
//!     std::path::Path::new("Python-3.10.4.treeptr"),
//!     br#"{"blob": "ce013625030ba8dba906f756967f9e9ca394464a", "size": 6, "format": "tar",
//!          "provenance": {"url": "https://example.org/x.tgz"}}"#,
//! )?;
//! assert_eq!(t.size, 6);
//! # Ok::<(), trees_hints::treeptr::Error>(())
//! ```

#![deny(missing_docs)]

pub mod treeptr;
