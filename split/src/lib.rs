//! Compressed releases, bit-exact: a compressed file X (a `.tar.gz`,
//! `.tgz`, `.crate`; a `.tar.xz`, `.tar.zst`; a `.deb`) split into its
//! contents T1 ... Tn and a recipe R of a few hundred bytes, and re-made
//! from them byte for byte.
//!
//! gzip scrambles bytes, so two releases of a project share nothing as
//! `.tar.gz` although their tars share nearly everything. A deflate stream
//! can be re-made from its plain text and a record of where its
//! compressor's choices differ from a model of it: trees-deflate makes
//! that record and replays it (recipe format 5, [`analyse::redeflate`]), for every
//! valid stream; preflate-rs, which made format 1, still reads those. This
//! crate adds what a store needs around it:
//!
//! - [`gzip`]: the member header, parsed byte for byte (the one parser of
//!   the workspace);
//! - [`analyse`]: X into T and R, a chunk at a time, in bounded memory;
//! - [`recipe`]: R's format, versioned, checked on read;
//! - [`rebuild`]: T and R back into X, a chunk at a time;
//! - [`xz`], [`zstd`], [`ar`]: the other containers' framing, and the
//!   settings that liblzma and libzstd re-make a stream or frame with;
//! - [`zip`]: the zip archive framing (end records, central directory,
//!   local headers), every count, size and offset checked as hostile;
//! - [`container`]: an xz, zstd, `ar` or zip file into its contents and a
//!   general recipe ([`pieces`]); [`any`] reads and rebuilds either layout;
//! - [`table`]: the record table beside a pack that says X = rebuild(R, T1 ... Tn);
//! - [`worker`]: the rebuild in a separate, limited process, for recipes
//!   that come from disk or the network (preflate-rs can loop without
//!   bound on hostile ones).
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::io::Write;
//! let tar = b"a tar, or anything else, a few times over. ".repeat(200);
//! let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(9));
//! gz.write_all(&tar)?;
//! let x = gz.finish()?;
//! let mut content = Vec::new();
//! let recipe = trees_split::analyse::split(&mut &x[..], &mut content, Default::default())?;
//! assert_eq!(content, tar);
//! let mut again = Vec::new();
//! trees_split::rebuild::rebuild(&recipe, &mut &content[..], &mut again)?;
//! assert_eq!(again, x);
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

pub mod analyse;
pub mod any;
pub mod ar;
pub mod container;
pub mod gzip;
pub mod pieces;
pub mod rebuild;
pub mod recipe;
pub mod table;
mod varint;
pub mod worker;
pub mod xz;
pub mod zip;
pub mod zstd;

/// Reads until `buf` is full or the input ends; returns the bytes read.
pub(crate) fn read_full(r: &mut dyn std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
