//! A zstd frame that uses `have` as its prefix, with long-distance matching:
//! what `zstd --patch-from=HAVE` makes, and what stock
//! `zstd -d --long=31 --patch-from=HAVE PATCH` applies.
//!
//! The window must reach from the start of `have` to the end of `want`, so
//! the frame's window log is the smallest that covers both; zstd's decoder
//! accepts at most 2^31 with `--long=31`, which bounds the pair.

use zstd::zstd_safe::{CCtx, CParameter};

use super::{Error, pair_size};

const FORMAT: &str = "zstd patch";

/// zstd's strongest level: patches are made once and fetched many times.
pub const LEVEL: i32 = 22;

/// The largest window stock zstd decodes with `--long=31`.
pub const MAX_INPUT: u64 = 1 << 31;

/// The smallest window log (10..=31) that covers `n` bytes.
fn window_log(n: u64) -> u32 {
    (64 - n.saturating_sub(1).leading_zeros()).clamp(10, 31)
}

/// A frame that rebuilds `want` from `have`, at `level`.
pub fn encode(have: &[u8], want: &[u8], level: i32) -> Result<Vec<u8>, Error> {
    let size = pair_size(FORMAT, have, want, MAX_INPUT)?;
    let fail = |code: usize| Error::Encoder {
        format: FORMAT,
        what: zstd::zstd_safe::get_error_name(code).to_owned(),
    };
    let mut c = CCtx::create();
    for p in [
        CParameter::CompressionLevel(level),
        CParameter::WindowLog(window_log(size)),
        CParameter::EnableLongDistanceMatching(true),
        CParameter::ChecksumFlag(true),
    ] {
        c.set_parameter(p).map_err(fail)?;
    }
    c.ref_prefix(have).map_err(fail)?;
    let mut out: Vec<u8> = Vec::with_capacity(zstd::zstd_safe::compress_bound(want.len()));
    c.compress2(&mut out, want).map_err(fail)?;
    out.shrink_to_fit();
    Ok(out)
}

/// The output of `patch` applied to `have`: at most `limit` bytes, one
/// frame, its checksum checked, its window no larger than `have` and
/// `limit` need.
pub fn decode(have: &[u8], patch: &[u8], limit: u64) -> Result<Vec<u8>, Error> {
    use zstd::zstd_safe::{DCtx, DParameter, InBuffer, OutBuffer};
    let fail = |code: usize| Error::Corrupt {
        format: FORMAT,
        what: zstd::zstd_safe::get_error_name(code).to_owned(),
    };
    let mut d = DCtx::create();
    // No honest frame needs a window past have + the whole output: a frame
    // that asks for more (up to 2 GiB) is refused before its window is
    // allocated.
    let needed = window_log((have.len() as u64).saturating_add(limit).min(MAX_INPUT));
    d.set_parameter(DParameter::WindowLogMax(needed))
        .map_err(fail)?;
    d.ref_prefix(have).map_err(fail)?;
    let mut input = InBuffer::around(patch);
    let mut out: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 1 << 17];
    loop {
        let mut o = OutBuffer::around(&mut buf[..]);
        let r = d.decompress_stream(&mut o, &mut input).map_err(fail)?;
        let n = o.pos();
        if (out.len() + n) as u64 > limit {
            return Err(Error::OutputTooLarge {
                format: FORMAT,
                limit,
            });
        }
        out.extend_from_slice(&buf[..n]);
        if r == 0 {
            break;
        }
        if n == 0 && input.pos() == patch.len() {
            return Err(Error::Corrupt {
                format: FORMAT,
                what: "the frame is truncated".to_owned(),
            });
        }
    }
    // One frame, and nothing after it.
    let rest = patch.len() - input.pos();
    if rest != 0 {
        return Err(Error::Corrupt {
            format: FORMAT,
            what: format!("{rest} bytes follow the frame"),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_covers_the_pair() {
        assert_eq!(window_log(0), 10);
        assert_eq!(window_log(1024), 10);
        assert_eq!(window_log(1025), 11);
        assert_eq!(window_log(1 << 31), 31);
    }
}
