//! The silo: a plain directory of blobs named by their git blob id.
//!
//! ```text
//! SILO/objects/ab/<38 hex>.gz   loose blobs, gzip of the raw content
//! SILO/pack/pack-<sha>.{pack,idx}  git pack v2 + idx v2
//! SILO/pack/pack-<sha>.split      which objects the pack stores split (gzip = content + recipe)
//! SILO/derived/deltas/           client deltas of have/want hints (recomputable)
//! SILO/info/files.json           what the silo holds, for HTTP clients
//! SILO/tmp/                      writes in progress, never read
//! SILO/silo.lock                 held by repack and gc
//! ```
//!
//! This crate is the store, and only the store: what a silo directory
//! holds and every operation that reads or changes it. Its map:
//!
//! - [`store`]: [`Silo`], add and read blobs by id or prefix, wherever they
//!   are (loose, packed, or stored split: [`store::split`]), with the
//!   packs' set ([`store::packs`]) rescanned so that no reader sees a
//!   present object as missing;
//! - [`storage`]: the one interface through which files are listed, read,
//!   staged, created, published and deleted, each with its protocol
//!   ([`storage::Local`] is the directory);
//! - [`loose`]: the loose object format; [`lock`]: `silo.lock`;
//! - [`repack`] and [`gc`]: plan, then execute; [`derive`] and [`derived`]:
//!   client deltas made ahead of time, and their names and formats;
//! - [`verify`], [`du`], [`listing`] (`info/files.json`), [`units`] (sizes
//!   and durations as typed), [`progress`], [`crash`] (fault injection).
//!
//! Silos served over HTTP are `trees-remote`'s; trees in and out of a silo
//! are `trees-medo`'s; the `silo` and `medo` commands are `trees-cli`'s.
//! Every write is staged in `tmp/` and published whole, so that a reader
//! never sees half a file and a crash never loses a blob that was added.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let silo = trees_silo::Silo::init(dir.path())?;
//! let file = dir.path().join("hello.txt");
//! std::fs::write(&file, "hello\n")?;
//! let (id, added) = silo.add_file(&file)?;
//! assert!(added);
//! assert_eq!(id.to_string(), "ce013625030ba8dba906f756967f9e9ca394464a");
//! let mut out = Vec::new();
//! silo.read(&id, &mut out)?;
//! assert_eq!(out, b"hello\n");
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

pub mod crash;
pub mod derive;
pub mod derived;
pub mod du;
pub mod families;
pub mod gc;
pub mod listing;
pub mod lock;
pub mod loose;
pub mod multi_index;
pub mod progress;
pub mod repack;
pub mod storage;
pub mod store;
pub mod supersede;
pub mod units;
pub mod verify;

pub use progress::{NoProgress, Progress};
pub use store::Silo;
pub use store::packs;
pub use store::split;
pub use trees_pack::ObjectId;
