//! VCDIFF (RFC 3284) through the xdelta3 library's bindings: stock
//! `xdelta3 -d -s HAVE PATCH WANT` applies what [`encode`] makes.
//!
//! The bindings (`xdelta3` 0.1.5) work on whole buffers with 32-bit sizes and
//! size their output buffer as twice the two inputs, in 32 bits; a pair past
//! [`MAX_INPUT`] is refused here with a message instead of overflowing
//! there. They also choose the compression settings (flags 0: xdelta3's
//! defaults, no secondary compressor), so stock `xdelta3 -9 -S djw` makes
//! smaller files than these; `silo` offers this format for clients that only
//! have xdelta3.

use super::{Error, pair_size};

const FORMAT: &str = "vcdiff";

/// The bindings compute `2 × (input + source)` in 32 bits.
pub const MAX_INPUT: u64 = (u32::MAX / 2) as u64;

/// A VCDIFF patch that rebuilds `want` from `have`.
pub fn encode(have: &[u8], want: &[u8]) -> Result<Vec<u8>, Error> {
    let size = pair_size(FORMAT, have, want, MAX_INPUT)?;
    if have.is_empty() || want.is_empty() {
        return Err(Error::Unsupported {
            format: FORMAT,
            what: "the bindings cannot encode an empty have or want",
        });
    }
    xdelta3::encode(want, have).ok_or_else(|| Error::Encoder {
        format: FORMAT,
        what: format!(
            "xd3_encode_memory failed (the bindings give it an output buffer of {} bytes, \
             too small for some tiny pairs)",
            2 * size
        ),
    })
}

/// The output of `patch` applied to `have`, at most `limit` bytes.
///
/// The bindings give the decoder an output buffer of `2 × (patch + have)`
/// bytes; a result larger than that cannot be decoded through them.
pub fn decode(have: &[u8], patch: &[u8], limit: u64) -> Result<Vec<u8>, Error> {
    let size = pair_size(FORMAT, have, patch, MAX_INPUT)?;
    let out = xdelta3::decode(patch, have).ok_or_else(|| Error::Corrupt {
        format: FORMAT,
        what: format!(
            "xd3_decode_memory refused it (or its output exceeds the bindings' buffer of {} bytes)",
            2 * size
        ),
    })?;
    if out.len() as u64 > limit {
        return Err(Error::OutputTooLarge {
            format: FORMAT,
            limit,
        });
    }
    Ok(out)
}
