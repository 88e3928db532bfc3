//! Finding deltas: given a base and a target, the copy and insert
//! instructions that rebuild the target, in git's delta format.
//!
//! Input: two byte slices. Output: a delta that `trees_pack::delta::apply`
//! (and git) applies. The one matcher here, [`matcher::Index`], is the
//! fine-grained one git uses too: every aligned 16-byte block of the base
//! goes into a hash table; the target is scanned with a rolling hash, and
//! each hit is verified and extended forward and backward. Choosing *which*
//! base to use is the caller's job (the silo's repack).
//!
//! ```
//! let base = b"The quick brown fox jumps over the lazy dog. ".repeat(20);
//! let mut target = base.clone();
//! target.splice(300..300, b"NEW WORDS".iter().copied());
//! let d = trees_delta::diff(&base, &target)?;
//! assert!(d.len() < 40);
//! let mut out = Vec::new();
//! trees_pack::delta::apply(&base, &d, &mut out)?;
//! assert_eq!(out, target);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

pub mod matcher;

pub use matcher::Index;

/// A delta that rebuilds `target` from `base`.
pub fn diff(base: &[u8], target: &[u8]) -> Result<Vec<u8>, matcher::Error> {
    Ok(Index::new(base)
        .diff(target, usize::MAX)?
        .expect("an unbounded delta is never abandoned"))
}
