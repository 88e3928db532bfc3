//! Inflating one entry's zlib stream from a byte slice, bounded by the size
//! its header announces.
//!
//! Used by [`super::File`] on a mapped pack, and by readers that hold only
//! the bytes of single entries (ranges of a pack fetched over HTTP). The
//! input is hostile: no buffer is reserved beyond what the compressed bytes
//! could inflate to, allocation failure is an error, and a stream that is
//! longer or shorter than announced is refused.

use flate2::{Decompress, FlushDecompress, Status};

/// Why a zlib stream did not inflate to the announced size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The stream is not valid zlib.
    #[error("corrupt zlib stream: {0}")]
    Corrupt(String),
    /// The input ends before the stream does.
    #[error("zlib stream is truncated")]
    Truncated,
    /// More data than the header announces.
    #[error("inflates to more than the {size} bytes its header announces")]
    TooLong {
        /// The announced size.
        size: u64,
    },
    /// Less data than the header announces.
    #[error("inflates to {got} bytes, but its header announces {size}")]
    TooShort {
        /// What came out.
        got: u64,
        /// The announced size.
        size: u64,
    },
    /// The output buffer could not be allocated.
    #[error("cannot allocate {0} bytes to inflate it")]
    Alloc(u64),
}

/// deflate cannot expand more than about 1032:1; no honest stream of `n`
/// compressed bytes inflates beyond this, so we never reserve more.
fn bound(compressed: usize) -> u64 {
    (compressed as u64).saturating_mul(1032).saturating_add(64)
}

/// Inflates the zlib stream at the start of `input`, which must produce
/// exactly `size` bytes. Returns the data and how many input bytes the
/// stream took (the input may go on past it).
pub fn inflate(input: &[u8], size: u64) -> Result<(Vec<u8>, usize), Error> {
    let mut z = Decompress::new(true);
    // One spare byte, so that a stream longer than announced is noticed.
    let first = size.min(bound(input.len())).min(64 << 20) + 1;
    let mut out = Vec::new();
    out.try_reserve_exact(first as usize)
        .map_err(|_| Error::Alloc(first))?;
    loop {
        let (in_before, out_before) = (z.total_in(), z.total_out());
        let status = z
            .decompress_vec(
                &input[z.total_in() as usize..],
                &mut out,
                FlushDecompress::Finish,
            )
            .map_err(|e| Error::Corrupt(e.to_string()))?;
        if out.len() as u64 > size {
            return Err(Error::TooLong { size });
        }
        if status == Status::StreamEnd {
            break;
        }
        if out.len() == out.capacity() {
            let want = (size - out.len() as u64 + 1).min(64 << 20);
            out.try_reserve(want as usize)
                .map_err(|_| Error::Alloc(out.len() as u64 + want))?;
        } else if z.total_in() == in_before && z.total_out() == out_before {
            return Err(Error::Truncated);
        }
    }
    if out.len() as u64 != size {
        return Err(Error::TooShort {
            got: out.len() as u64,
            size,
        });
    }
    Ok((out, z.total_in() as usize))
}
