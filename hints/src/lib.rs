//! The medo side: the small JSON files that name blobs in a silo.
//!
//! A medo directory lives in a git repository and holds `*.treeptr` files,
//! each naming one blob by its git blob id, with its size, format and
//! provenance; a `SILO.json` saying which silos hold those blobs; and
//! perhaps a `HINTS.json` telling repack which blobs are related. This
//! crate reads them strictly: an unknown field, a bad id or malformed JSON
//! is an error that names the file and the field, since a typo must never
//! silently point at nothing.
//!
//! - [`treeptr::Treeptr`]: one blob, named (read and written).
//! - [`silos::Silos`]: the silos of a SILO.json, with [`silos::Silos::find`]
//!   for the nearest one of a directory.
//! - [`hints::Hints`]: HINTS.json, every name resolved to a blob id.
//! - [`reachable::reachable`]: the live blobs of some medo directories, the
//!   input of `silo gc`.
//!
//! Nothing here reads a silo; that is `trees-silo`'s job.
//!
//! ```
//! let t = trees_hints::treeptr::Treeptr::parse(
//!     std::path::Path::new("Python-3.10.4.treeptr"),
//!     br#"{"blob": "ce013625030ba8dba906f756967f9e9ca394464a", "size": 6, "format": "tar",
//!          "provenance": {"url": "https://example.org/x.tgz"}}"#,
//! )?;
//! assert_eq!(t.size, 6);
//! let s = trees_hints::silos::Silos::parse(
//!     std::path::Path::new("medo/SILO.json"),
//!     br#"{"silos": [{"path": "../deps.silo"}]}"#,
//! )?;
//! assert_eq!(s.paths().next(), Some(std::path::Path::new("medo/../deps.silo")));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

pub mod hints;
pub mod reachable;
pub mod silos;
pub mod treeptr;

pub use trees_pack::ObjectId;
