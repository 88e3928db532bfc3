//! git pack v2 and idx v2, written and read; git's delta format.
//!
//! This crate knows the bytes on disk and nothing of silos or policy:
//!
//! - [`id`]: object ids ([`ObjectId`], collision-detecting SHA-1) and kinds;
//! - [`delta`]: git's copy/insert delta format, an [`delta::Encoder`] of
//!   instructions and a checked [`delta::apply`];
//! - [`data`]: the `.pack` file, its entry headers, a streaming
//!   [`data::Writer`] and a bounds-checked, memory-mapped [`data::File`];
//! - [`index`]: the `.idx` v2 file, [`index::write()`] (byte-identical to
//!   `git index-pack`) and [`index::File`] with binary search;
//! - [`multi_index`]: the `multi-pack-index` of several packs,
//!   [`multi_index::write()`] (byte-identical to `git multi-pack-index
//!   write`) and a checked [`multi_index::File`];
//! - [`Bundle`]: an idx and its pack, reading objects by id through delta
//!   chains with a bounded [`Cache`] of bases, and verifying everything;
//! - [`stream`]: objects too large to hold, streamed out of a pack through
//!   their delta chains ([`Bundle::stream_at`]), with [`mmap::Region`]
//!   windows of the files in between.
//!
//! Which base to choose and how to find the copies of a delta is decided
//! elsewhere (the `trees-delta` crate); this crate only writes what it is
//! given, and checks everything it reads as hostile.
//!
//! ```
//! use trees_pack::{data, delta, id::{hash_object, Kind}, index, Bundle};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let base = b"hello, world\n".repeat(10);
//! let mut target = base.clone();
//! target.extend_from_slice(b"and one more line\n");
//! let (base_id, target_id) = (hash_object(Kind::Blob, &base)?, hash_object(Kind::Blob, &target)?);
//!
//! // A delta: copy all of the base, then insert the new line.
//! let mut enc = delta::Encoder::new(base.len() as u64, target.len() as u64);
//! enc.copy(0, base.len() as u64)?;
//! enc.insert(b"and one more line\n");
//! let d = enc.finish()?;
//!
//! let mut w = data::Writer::new(Vec::new(), 2)?;
//! w.write(&data::write::Entry::whole(base_id, Kind::Blob, &base, 6))?;
//! w.write(&data::write::Entry::delta(target_id, data::write::Base::Ofs(base_id), &d, 6))?;
//! let mut out = w.finish()?;
//! std::fs::write(dir.path().join("p.pack"), &out.out)?;
//! index::write(&mut out.entries, &out.checksum, std::fs::File::create(dir.path().join("p.idx"))?)?;
//!
//! let bundle = Bundle::open(&dir.path().join("p.idx"))?;
//! assert_eq!(*bundle.read(&target_id)?.expect("present").data, target);
//! assert!(bundle.verify(&mut |_| {}).is_empty());
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

pub mod bundle;
pub mod cache;
pub mod data;
pub mod delta;
pub mod errors;
pub mod id;
pub mod index;
pub mod mmap;
pub mod multi_index;
pub mod stream;

pub use bundle::{Bundle, Object, Problem};
pub use cache::Cache;
pub use errors::error_chain;
pub use id::{Kind, ObjectId};
