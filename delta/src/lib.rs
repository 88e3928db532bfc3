//! Finding deltas: given a base and a target, the copy and insert
//! instructions that rebuild the target, in git's delta format.
//!
//! The engine, stage by stage:
//!
//! 1. [`chunk`]: each blob is cut into content-defined chunks (FastCDC),
//!    each chunk hashed: its [`Fingerprint`].
//! 2. [`relate`]: an inverted index from chunk hash to blobs scores every
//!    blob's candidate bases by bytes shared, anywhere in the silo.
//! 3. [`forest`]: a maximum-weight spanning forest over bytes shared picks
//!    each blob's base; chains are bounded, cycles impossible.
//! 4. [`matcher`]: the delta itself, in git's format: matching chunks seed
//!    copies ([`seeds`]), and a 16-byte block index of the base (the method
//!    of git's `diff-delta.c`) finds the rest; every match is verified and
//!    extended byte by byte both ways.
//!
//! For clients that hold one blob and want another, [`patch`] makes the
//! same change in the formats of stock tools (VCDIFF, zstd `--patch-from`)
//! and in two of ours (LZMA2 with a preset dictionary, an xz'd git delta).
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

pub mod chunk;
pub mod forest;
pub mod matcher;
pub mod patch;
pub mod relate;

pub use chunk::{ChunkHash, Fingerprint, fingerprint};
pub use matcher::Index;

/// The delta of `target` against `base`, both fingerprinted: chunks they
/// share seed the copies, and the block index holds only the base's chunks
/// that the target lacks (where the rest of the target must come from).
/// `None` if it would exceed `max_size`.
pub fn delta(
    base: &[u8],
    base_fp: &Fingerprint,
    target: &[u8],
    target_fp: &Fingerprint,
    max_size: usize,
) -> Result<Option<Vec<u8>>, matcher::Error> {
    let ranges = unshared_ranges(base_fp, target_fp);
    Index::with_ranges(base, &ranges).diff_seeded(target, &seeds(base_fp, target_fp), max_size)
}

/// A blob too large to hold in memory, mapped one window at a time.
pub trait Windows {
    /// A mapped window; dropping it releases its pages.
    type Window: std::ops::Deref<Target = [u8]>;
    /// The blob's size.
    fn size(&self) -> u64;
    /// Bytes `start..start + len`.
    fn window(&self, start: u64, len: usize) -> std::io::Result<Self::Window>;
}

/// Why [`delta_windowed`] failed.
#[derive(Debug, thiserror::Error)]
pub enum WindowedError {
    /// A window could not be mapped.
    #[error("cannot map a window of a large blob")]
    Io(#[from] std::io::Error),
    /// The encoder refused a copy (a bug).
    #[error(transparent)]
    Encode(#[from] matcher::Error),
}

/// Bases whose unshared bytes exceed this are indexed every 16th byte
/// (git's step) instead of every 4th: the table costs 2 bytes per base
/// byte at step 4, half a byte at step 16.
pub const FINE_INDEX_LIMIT: usize = 64 << 20;

/// [`delta`] for blobs too large to hold in memory. The target is diffed
/// one `window` at a time, with the base mapped afresh for each window, so
/// the pages resident stay near two windows and the block table, whatever
/// the blobs' sizes. A match never spans two windows: that costs one copy
/// instruction per window.
pub fn delta_windowed<B: Windows, T: Windows>(
    base: &B,
    base_fp: &Fingerprint,
    target: &T,
    target_fp: &Fingerprint,
    max_size: usize,
    window: usize,
) -> Result<Option<Vec<u8>>, WindowedError> {
    let ranges = unshared_ranges(base_fp, target_fp);
    let indexed: usize = ranges.iter().map(|(s, e)| e - s).sum();
    let step = if indexed > FINE_INDEX_LIMIT {
        matcher::BLOCK
    } else {
        matcher::STEP
    };
    let base_len = usize::try_from(base.size()).map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "base larger than memory")
    })?;
    let mut table = {
        let b = base.window(0, base_len)?;
        Index::with_ranges_step(&b, &ranges, step).into_table()
    };
    let seeds = seeds(base_fp, target_fp);
    let mut enc = trees_pack::delta::Encoder::new(base.size(), target.size());
    let window = window.max(1) as u64;
    let mut start = 0u64;
    let mut next_seed = 0;
    // The last copy's diagonal, as base offset minus target offset.
    let mut diagonal: Option<i64> = None;
    while start < target.size() {
        let len = (target.size() - start).min(window);
        let part_seeds: Vec<(u64, u64)> = seeds[next_seed..]
            .iter()
            .take_while(|s| s.0 < start + len)
            .map(|&(t, b)| (t - start, b))
            .collect();
        next_seed += part_seeds.len();
        let t = target.window(start, len as usize)?;
        let b = base.window(0, base_len)?;
        let idx = table.bind(&b);
        let mut local = diagonal.and_then(|d| isize::try_from(d + start as i64).ok());
        let ok = idx.diff_part(&mut enc, &t, &part_seeds, max_size, &mut local)?;
        diagonal = local.map(|d| d as i64 - start as i64);
        table = idx.into_table();
        if !ok {
            return Ok(None);
        }
        start += len;
    }
    let d = enc.finish()?;
    Ok((d.len() <= max_size).then_some(d))
}

/// The ranges of `base` in chunks that `target` lacks, merged.
fn unshared_ranges(base_fp: &Fingerprint, target_fp: &Fingerprint) -> Vec<(usize, usize)> {
    let in_target: std::collections::HashSet<ChunkHash> =
        target_fp.chunks.iter().map(|c| c.hash).collect();
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for c in base_fp
        .chunks
        .iter()
        .filter(|c| !in_target.contains(&c.hash))
    {
        let (s, e) = (c.offset as usize, c.offset as usize + c.len as usize);
        match ranges.last_mut() {
            Some(last) if last.1 == s => last.1 = e,
            _ => ranges.push((s, e)),
        }
    }
    ranges
}

/// Where `target`'s chunks are found in `base`, by equal chunk hashes:
/// (target offset, base offset) pairs in target order, for
/// [`Index::diff_seeded`].
pub fn seeds(base: &Fingerprint, target: &Fingerprint) -> Vec<(u64, u64)> {
    let mut at: std::collections::HashMap<ChunkHash, u64> = std::collections::HashMap::new();
    for c in &base.chunks {
        at.entry(c.hash).or_insert(c.offset);
    }
    target
        .chunks
        .iter()
        .filter_map(|c| at.get(&c.hash).map(|&b| (c.offset, b)))
        .collect()
}

/// A delta that rebuilds `target` from `base`.
pub fn diff(base: &[u8], target: &[u8]) -> Result<Vec<u8>, matcher::Error> {
    Ok(Index::new(base)
        .diff(target, usize::MAX)?
        .expect("an unbounded delta is never abandoned"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A blob in memory, windowed the way a mapped file is.
    struct Mem(Vec<u8>);

    impl Windows for Mem {
        type Window = Vec<u8>;
        fn size(&self) -> u64 {
            self.0.len() as u64
        }
        fn window(&self, start: u64, len: usize) -> std::io::Result<Vec<u8>> {
            let s = start as usize;
            self.0
                .get(s..s + len)
                .map(<[u8]>::to_vec)
                .ok_or_else(|| std::io::Error::other("past the end"))
        }
    }

    #[test]
    fn windowed_deltas_rebuild_the_target_and_cost_little_more() {
        let rel = trees_testdata::series("w", &trees_testdata::Options::small(8));
        let (base, target) = (rel[0].tar.clone(), rel[1].tar.clone());
        let p = chunk::Params::default();
        let (bf, tf) = (fingerprint(&base, &p), fingerprint(&target, &p));
        let whole = delta(&base, &bf, &target, &tf, usize::MAX)
            .unwrap()
            .unwrap();
        for window in [4096, 50_000, 1 << 30] {
            let d = delta_windowed(
                &Mem(base.clone()),
                &bf,
                &Mem(target.clone()),
                &tf,
                usize::MAX,
                window,
            )
            .unwrap()
            .unwrap();
            let mut out = Vec::new();
            trees_pack::delta::apply(&base, &d, &mut out).unwrap();
            assert!(out == target, "window {window}");
            // A match cut at each window boundary costs a copy instruction.
            let windows = target.len().div_ceil(window);
            assert!(
                d.len() <= whole.len() + 16 * windows,
                "window {window}: {} vs {}",
                d.len(),
                whole.len()
            );
        }
        // The size bound still gives up.
        let none =
            delta_windowed(&Mem(base.clone()), &bf, &Mem(target.clone()), &tf, 10, 4096).unwrap();
        assert!(none.is_none());
    }
}
