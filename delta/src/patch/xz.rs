//! Our git-format delta (copy/insert instructions, as in a pack), in an xz
//! container at `-9e`: `xz -d` gives back the delta, and any git delta
//! applier (ours: `trees_pack::delta::apply`) rebuilds `want`.
//!
//! The delta's copies are already as long as they go, so xz mostly
//! compresses the inserted bytes; xz's CRC64 guards the container.

use std::io::Write;

use liblzma::stream::{Check, PRESET_EXTREME, Stream};

use super::{Error, read_bounded};

const FORMAT: &str = "delta.xz";

/// The xz decoder's memory limit: `-9e` needs 65 MiB, so a container that
/// asks for more than this was not made by us.
const MEMLIMIT: u64 = 256 << 20;

/// Compresses a git-format `delta` at xz `-9e`.
pub fn encode(delta: &[u8]) -> Result<Vec<u8>, Error> {
    let fail = |what: String| Error::Encoder {
        format: FORMAT,
        what,
    };
    let stream = Stream::new_easy_encoder(9 | PRESET_EXTREME, Check::Crc64)
        .map_err(|e| fail(e.to_string()))?;
    let mut e = liblzma::write::XzEncoder::new_stream(Vec::with_capacity(delta.len() / 2), stream);
    e.write_all(delta).map_err(|e| fail(e.to_string()))?;
    e.finish().map_err(|e| fail(e.to_string()))
}

/// The delta inside an xz `patch`, at most `limit` bytes, then applied to
/// `have`: a result of at most `limit` bytes.
pub fn decode(have: &[u8], patch: &[u8], limit: u64) -> Result<Vec<u8>, Error> {
    let corrupt = |what: String| Error::Corrupt {
        format: FORMAT,
        what,
    };
    let stream = Stream::new_stream_decoder(MEMLIMIT, 0).map_err(|e| corrupt(e.to_string()))?;
    let mut reader = liblzma::read::XzDecoder::new_stream(patch, stream);
    // A delta is at most a few bytes per byte of result, plus its header.
    let delta = read_bounded(
        &mut reader,
        limit.saturating_mul(2).saturating_add(64),
        FORMAT,
    )?;
    if reader.total_in() != patch.len() as u64 {
        return Err(corrupt(format!(
            "{} bytes follow the xz stream",
            patch.len() as u64 - reader.total_in()
        )));
    }
    let mut out = Vec::new();
    trees_pack::delta::apply::apply_with_limit(have, &delta, &mut out, limit).map_err(
        |e| match e {
            trees_pack::delta::apply::Error::ResultTooLarge { .. } => Error::OutputTooLarge {
                format: FORMAT,
                limit,
            },
            e => corrupt(format!("the delta inside: {e}")),
        },
    )?;
    Ok(out)
}
