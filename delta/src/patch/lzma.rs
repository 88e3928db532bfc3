//! LZMA2 with `have` as its preset dictionary: the idea of
//! `zstd --patch-from`, with LZMA's optimal parsing and range coder. On
//! software releases it is the smallest of our formats (see the table of
//! docs/benchmarks.md, "Client deltas"); only `silo apply` reads it, as
//! stock `xz` has no preset dictionary option.
//!
//! # Format
//!
//! ```text
//! "TRLZ"            4 bytes, magic
//! version           1 byte, 1
//! dict_size         u32, little-endian: the LZMA2 dictionary size
//! want_size         u64, little-endian: bytes the stream decodes to
//! want_xxh3         u64, little-endian: XXH3-64 of those bytes (a raw
//!                   LZMA2 stream has no check of its own)
//! stream            a raw LZMA2 stream (no .xz container) ending with its end marker
//! ```
//!
//! The dictionary holds all of `have` followed by all of `want`, so every
//! byte of `have` can be matched; the encoder's memory is about 10 bytes per
//! dictionary byte, which is what [`MAX_INPUT`] bounds.
//!
//! liblzma's safe bindings do not expose the preset dictionary, so this one
//! module calls `liblzma-sys` directly: see [`Coder`].

#![allow(unsafe_code)]

use liblzma_sys as sys;

use super::{Error, pair_size};

const FORMAT: &str = "lzma patch";
const MAGIC: &[u8; 4] = b"TRLZ";
const VERSION: u8 = 1;
const HEADER_LEN: usize = 4 + 1 + 4 + 8 + 8;

/// The largest `have` + `want` we encode: the encoder then needs about
/// 1.3 GiB.
pub const MAX_INPUT: u64 = 128 << 20;

/// liblzma's smallest dictionary.
const MIN_DICT: u32 = 4096;

/// A patch that rebuilds `want` from `have`, at xz preset `-9e`.
pub fn encode(have: &[u8], want: &[u8]) -> Result<Vec<u8>, Error> {
    let size = pair_size(FORMAT, have, want, MAX_INPUT)?;
    let fail = |what: String| Error::Encoder {
        format: FORMAT,
        what,
    };
    // Bounded by MAX_INPUT above, so it fits.
    let dict_size = (size as u32).max(MIN_DICT);
    let mut out = Vec::with_capacity(HEADER_LEN + want.len() / 4 + 1024);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&dict_size.to_le_bytes());
    out.extend_from_slice(&(want.len() as u64).to_le_bytes());
    out.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(want).to_le_bytes());
    let mut coder = Coder::new(true, have, dict_size).map_err(|e| fail(e.to_string()))?;
    coder
        .run(want, &mut out, u64::MAX)
        .map_err(|e| fail(e.to_string()))?;
    out.shrink_to_fit();
    Ok(out)
}

/// The output of `patch` applied to `have`, at most `limit` bytes.
pub fn decode(have: &[u8], patch: &[u8], limit: u64) -> Result<Vec<u8>, Error> {
    let corrupt = |what: String| Error::Corrupt {
        format: FORMAT,
        what,
    };
    if patch.len() < HEADER_LEN || &patch[..4] != MAGIC {
        return Err(corrupt("no TRLZ header".into()));
    }
    if patch[4] != VERSION {
        return Err(corrupt(format!("unknown version {}", patch[4])));
    }
    let dict_size = u32::from_le_bytes([patch[5], patch[6], patch[7], patch[8]]);
    let mut w = [0u8; 8];
    w.copy_from_slice(&patch[9..17]);
    let want_size = u64::from_le_bytes(w);
    w.copy_from_slice(&patch[17..25]);
    let want_xxh3 = u64::from_le_bytes(w);
    if want_size > limit {
        return Err(Error::OutputTooLarge {
            format: FORMAT,
            limit,
        });
    }
    // The encoder sizes the dictionary to the pair exactly: a header that
    // asks for more wants memory it does not need.
    let expected = (have.len() as u64 + want_size).max(u64::from(MIN_DICT));
    if u64::from(dict_size) != expected {
        return Err(corrupt(format!(
            "dictionary of {dict_size} bytes, expected {expected} for this have and want"
        )));
    }
    let mut out = Vec::with_capacity(want_size.min(64 << 20) as usize);
    let mut coder = Coder::new(false, have, dict_size).map_err(|e| corrupt(e.to_string()))?;
    coder
        .run(&patch[HEADER_LEN..], &mut out, want_size)
        .map_err(|e| corrupt(e.to_string()))?;
    if out.len() as u64 != want_size {
        return Err(corrupt(format!(
            "decodes to {} bytes, its header says {want_size}",
            out.len()
        )));
    }
    if xxhash_rust::xxh3::xxh3_64(&out) != want_xxh3 {
        return Err(corrupt(
            "the decoded bytes do not match the header's XXH3".into(),
        ));
    }
    Ok(out)
}

/// A raw LZMA2 encoder or decoder whose dictionary starts with `dict`.
///
/// Safety, for the whole type: `stream` is zero-initialised as liblzma
/// requires (`LZMA_STREAM_INIT` is all zeros), `options` and `dict` outlive
/// every call (`options` is boxed so that its address is stable, `dict` is
/// borrowed for the coder's lifetime), the in and out pointers handed to
/// `lzma_code` always describe live slices, and `lzma_end` runs exactly
/// once, in `drop`.
struct Coder<'a> {
    stream: sys::lzma_stream,
    _options: Box<sys::lzma_options_lzma>,
    _dict: &'a [u8],
}

impl<'a> Coder<'a> {
    fn new(encoder: bool, dict: &'a [u8], dict_size: u32) -> Result<Self, CoderError> {
        let preset_len = u32::try_from(dict.len()).map_err(|_| CoderError::DictTooLarge)?;
        // SAFETY: lzma_options_lzma is a plain C struct; all-zero is a valid
        // value, and lzma_lzma_preset fills it.
        let mut options: Box<sys::lzma_options_lzma> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: options points to a live, writable struct.
        if unsafe { sys::lzma_lzma_preset(&mut *options, 9 | sys::LZMA_PRESET_EXTREME) } != 0 {
            return Err(CoderError::NoPreset);
        }
        options.dict_size = dict_size;
        options.preset_dict = if dict.is_empty() {
            std::ptr::null()
        } else {
            dict.as_ptr()
        };
        options.preset_dict_size = preset_len;
        let filters = [
            sys::lzma_filter {
                id: sys::LZMA_FILTER_LZMA2,
                options: (&mut *options as *mut sys::lzma_options_lzma).cast(),
            },
            sys::lzma_filter {
                id: sys::LZMA_VLI_UNKNOWN,
                options: std::ptr::null_mut(),
            },
        ];
        // SAFETY: LZMA_STREAM_INIT is all zeros.
        let mut stream: sys::lzma_stream = unsafe { std::mem::zeroed() };
        // SAFETY: stream is initialised; filters is terminated by
        // LZMA_VLI_UNKNOWN and its options outlive the coder (boxed, owned).
        let ret = unsafe {
            if encoder {
                sys::lzma_raw_encoder(&mut stream, filters.as_ptr())
            } else {
                sys::lzma_raw_decoder(&mut stream, filters.as_ptr())
            }
        };
        if ret != sys::LZMA_OK {
            return Err(CoderError::Liblzma(describe(ret)));
        }
        Ok(Coder {
            stream,
            _options: options,
            _dict: dict,
        })
    }

    /// Feeds all of `input` and appends the output to `out` until the
    /// stream ends; more than `limit` bytes of output is an error.
    fn run(&mut self, input: &[u8], out: &mut Vec<u8>, limit: u64) -> Result<(), CoderError> {
        const STEP: usize = 1 << 20;
        self.stream.next_in = input.as_ptr();
        self.stream.avail_in = input.len();
        loop {
            if out.len() as u64 > limit {
                return Err(CoderError::TooLong(limit));
            }
            let room = STEP.min((limit - out.len() as u64).saturating_add(1) as usize);
            out.reserve(room);
            let spare = out.spare_capacity_mut();
            let spare_len = spare.len().min(room);
            self.stream.next_out = spare.as_mut_ptr().cast();
            self.stream.avail_out = spare_len;
            // SAFETY: next_in/avail_in describe the rest of `input` (liblzma
            // advances them), next_out/avail_out the spare capacity of `out`.
            let ret = unsafe { sys::lzma_code(&mut self.stream, sys::LZMA_FINISH) };
            let written = spare_len - self.stream.avail_out;
            // SAFETY: liblzma initialised the first `written` spare bytes.
            unsafe { out.set_len(out.len() + written) };
            match ret {
                sys::LZMA_STREAM_END => {
                    if self.stream.avail_in != 0 {
                        return Err(CoderError::Trailing(self.stream.avail_in));
                    }
                    if out.len() as u64 > limit {
                        return Err(CoderError::TooLong(limit));
                    }
                    return Ok(());
                }
                sys::LZMA_OK => {}
                // No progress possible: the input ended before the stream did.
                sys::LZMA_BUF_ERROR => return Err(CoderError::Truncated),
                e => return Err(CoderError::Liblzma(describe(e))),
            }
        }
    }
}

impl Drop for Coder<'_> {
    fn drop(&mut self) {
        // SAFETY: the stream was initialised by lzma_raw_{en,de}coder and is
        // ended once.
        unsafe { sys::lzma_end(&mut self.stream) };
    }
}

/// Why the coder stopped.
#[derive(Debug, thiserror::Error)]
enum CoderError {
    #[error("have is over 4 GiB")]
    DictTooLarge,
    #[error("liblzma has no preset 9e")]
    NoPreset,
    #[error("{0}")]
    Liblzma(String),
    #[error("decodes to more than {0} bytes")]
    TooLong(u64),
    #[error("{0} bytes follow the LZMA2 stream")]
    Trailing(usize),
    #[error("the LZMA2 stream is truncated")]
    Truncated,
}

fn describe(ret: sys::lzma_ret) -> String {
    match ret {
        sys::LZMA_MEM_ERROR => "out of memory".into(),
        sys::LZMA_OPTIONS_ERROR => "options not supported".into(),
        sys::LZMA_DATA_ERROR => "corrupt LZMA2 data".into(),
        sys::LZMA_FORMAT_ERROR => "not LZMA2 data".into(),
        sys::LZMA_PROG_ERROR => "liblzma programming error".into(),
        other => format!("liblzma error {other}"),
    }
}
