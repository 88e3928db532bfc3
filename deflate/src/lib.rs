//! Deflate streams re-made exactly.
//!
//! A raw deflate stream (RFC 1951: the inside of a gzip member, a zip
//! member, a zlib stream) is parsed into blocks and tokens with every
//! choice its encoder made ([`parse`], [`stream`]) and written back bit
//! for bit ([`write`]). That is the base of the re-creator: given a
//! stream's plain text, a model of the encoder predicts its tokens and
//! headers, and a recipe records only where the stream differs from the
//! prediction, so the stream is re-made from the plain text and a recipe
//! a fraction of its size. The recipe grows with surprise; it never fails.
//!
//! ```
//! use trees_deflate::{parse::Parser, write::Writer};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let plain = b"deflate, deflate, deflate again".repeat(50);
//! let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
//! std::io::Write::write_all(&mut z, &plain)?;
//! let stream = z.finish()?;
//!
//! let (mut p, mut out, mut w) = (Parser::new(&stream), Vec::new(), Writer::new());
//! while let Some(block) = p.next_block(&mut out, usize::MAX)? {
//!     w.block(&block, &[])?;
//! }
//! let end = p.end()?;
//! assert_eq!(out, plain);
//! assert_eq!(w.finish(end.tail), stream[..end.len]);
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

pub mod bits;
pub mod corrections;
pub mod go_header;
pub mod huffman;
pub mod ld_header;
pub mod model;
pub mod mz_header;
pub mod parse;
pub mod rc;
pub mod recreate;
pub mod stream;
pub mod trees;
pub mod write;
