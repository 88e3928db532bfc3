//! xz streams: the framing parsed, the encoder's settings found, and the
//! stream re-made by liblzma.
//!
//! An xz file is one or more streams, each optionally followed by stream
//! padding (zero bytes, a multiple of four). A stream is
//!
//! ```text
//! header   12 bytes: FD 37 7A 58 5A 00, flags (00, check id), CRC32
//! blocks   each: header ((size byte + 1) x 4 bytes: flags, optional
//!          compressed and uncompressed sizes, the filter chain, CRC32),
//!          the filter's data, padding to 4, the check
//! index    record of every block's sizes
//! footer   12 bytes: CRC32, backward size, flags, "YZ"
//! ```
//!
//! The encoder decides every byte of a stream from its plain text and a
//! few settings: the check, the LZMA2 options (a preset 0-9, extreme or
//! not, whose dictionary the block header states), and whether it was
//! liblzma's single-threaded encoder (block headers without sizes, one
//! block) or the multithreaded one (`lzma_stream_encoder_mt`, what dpkg
//! and `xz -T0` call: sizes in every block header, blocks of a fixed
//! plain size). The thread count does not change the bytes. So a stream
//! is stored as its plain text and those settings ([`Settings`]); which
//! settings, [`find_settings`] learns by encoding the start of the first
//! block with each candidate and comparing with what the stream holds.
//! The caller then re-makes the whole file and compares ids before it
//! relies on the split.

use std::io::{self, Read, Write};

use liblzma::stream::{Action, Check, Filters, LzmaOptions, MtStreamBuilder, Status, Stream};

/// The first bytes of every stream.
pub const MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0];
/// liblzma's flag for the extreme variant of a preset.
const EXTREME: u32 = 0x8000_0000;
/// Plain bytes of the first block encoded to tell candidates apart (the
/// head of a stream that [`find_settings`] needs).
pub const PROBE: usize = 4 << 20;
/// The largest dictionary we re-make with: liblzma's encoder needs about
/// eleven times it; preset 9 uses 64 MiB.
pub const MAX_DICT: u32 = 256 << 20;

/// How one stream was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// The check id of the stream flags (0 none, 1 CRC32, 4 CRC64, 10 SHA-256).
    pub check: u8,
    /// The preset, 0-9.
    pub preset: u8,
    /// The extreme variant (`-e`).
    pub extreme: bool,
    /// The LZMA2 dictionary, as the block header states it.
    pub dict: u32,
    /// 0: liblzma's single-threaded encoder; else the multithreaded
    /// encoder's block size (plain bytes a block).
    pub block_size: u64,
}

/// Why a stream is not one we re-make.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not an xz stream, or a damaged one.
    #[error("not xz: {0}")]
    NotXz(String),
    /// A stream we parse but do not re-make (another filter chain, or no
    /// setting re-makes it).
    #[error("xz settings not found: {0}")]
    NoSettings(String),
    /// Its dictionary or decoder needs more memory than allowed.
    #[error("over the memory bound: {0}")]
    OverMemory(String),
}

/// A stream's framing, as far as finding its settings needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framing {
    /// The check id.
    pub check: u8,
    /// Offset of the first block's data (after its header), in the stream.
    pub data_at: usize,
    /// Whether the first block header states its sizes (the multithreaded
    /// encoder writes them).
    pub sizes: bool,
    /// The first block's plain size, if stated.
    pub first_plain: Option<u64>,
    /// The LZMA2 dictionary of the first block.
    pub dict: u32,
}

/// Parses a stream's header and first block header at the start of `s`.
pub fn framing(s: &[u8]) -> Result<Framing, Refusal> {
    let bad = |w: &str| Refusal::NotXz(w.to_owned());
    if s.get(..6) != Some(&MAGIC[..]) {
        return Err(bad("no xz magic"));
    }
    let flags = s.get(6..8).ok_or_else(|| bad("truncated stream header"))?;
    if flags[0] != 0 || flags[1] & 0xf0 != 0 {
        return Err(bad("unsupported stream flags"));
    }
    let check = flags[1];
    let hsize_byte = *s.get(12).ok_or_else(|| bad("truncated"))?;
    if hsize_byte == 0 {
        return Err(Refusal::NoSettings("a stream without blocks".to_owned()));
    }
    let hsize = (usize::from(hsize_byte) + 1) * 4;
    let h = s
        .get(12..12 + hsize)
        .ok_or_else(|| bad("truncated block header"))?;
    let bflags = h[1];
    if bflags & 0x3c != 0 {
        return Err(bad("reserved block flags are set"));
    }
    let mut at = 2;
    let varint = |at: &mut usize| -> Result<u64, Refusal> {
        let mut v = 0u64;
        for i in 0..9 {
            let b = *h.get(*at).ok_or_else(|| bad("block header varint"))?;
            *at += 1;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad("block header varint too long"))
    };
    if bflags & 0x40 != 0 {
        varint(&mut at)?;
    }
    let first_plain = if bflags & 0x80 != 0 {
        Some(varint(&mut at)?)
    } else {
        None
    };
    let filters = (bflags & 3) + 1;
    if filters != 1 {
        return Err(Refusal::NoSettings(format!(
            "a filter chain of {filters} filters (we re-make LZMA2 alone)"
        )));
    }
    let id = varint(&mut at)?;
    let props = varint(&mut at)?;
    if id != 0x21 || props != 1 {
        return Err(Refusal::NoSettings(format!(
            "filter {id:#x} (we re-make LZMA2 alone)"
        )));
    }
    let d = *h
        .get(at)
        .ok_or_else(|| bad("truncated filter properties"))?;
    if d > 40 {
        return Err(bad("an LZMA2 dictionary size over 4 GiB"));
    }
    let dict = if d == 40 {
        u32::MAX
    } else {
        (2 | u32::from(d & 1)) << (d / 2 + 11)
    };
    Ok(Framing {
        check,
        data_at: 12 + hsize,
        sizes: first_plain.is_some(),
        first_plain,
        dict,
    })
}

/// The dictionary of a preset.
fn preset_dict(preset: u8) -> u32 {
    match preset {
        0 => 256 << 10,
        1 => 1 << 20,
        2 => 2 << 20,
        3 | 4 => 4 << 20,
        5 | 6 => 8 << 20,
        7 => 16 << 20,
        8 => 32 << 20,
        _ => 64 << 20,
    }
}

fn check_of(id: u8) -> Option<Check> {
    Some(match id {
        0 => Check::None,
        1 => Check::Crc32,
        4 => Check::Crc64,
        10 => Check::Sha256,
        _ => return None,
    })
}

impl Settings {
    fn options(&self) -> Result<LzmaOptions, io::Error> {
        let mut preset = u32::from(self.preset);
        if self.extreme {
            preset |= EXTREME;
        }
        let mut o = LzmaOptions::new_preset(preset).map_err(io::Error::other)?;
        o.dict_size(self.dict);
        Ok(o)
    }

    /// Bytes of memory the encoder needs with `threads` threads: liblzma's
    /// own figure for the multithreaded encoder (its buffers are a block of
    /// input and output per thread); for the single-threaded one about
    /// 11.5 x the dictionary, as liblzma's BT4 match finder takes.
    pub fn encoder_memory(&self, threads: u32) -> u64 {
        let single = u64::from(self.dict) * 23 / 2 + (4 << 20);
        if self.block_size == 0 {
            return single;
        }
        let Ok(opts) = self.options() else {
            return u64::MAX;
        };
        let mut f = Filters::new();
        f.lzma2(&opts);
        let mut b = MtStreamBuilder::new();
        b.threads(threads.max(1))
            .block_size(self.block_size)
            .filters(f);
        match b.memusage() {
            0 | u64::MAX => u64::MAX,
            n => n,
        }
    }

    /// A liblzma encoder of these settings, with `threads` threads (the
    /// multithreaded one only).
    pub fn encoder(&self, threads: u32) -> io::Result<Stream> {
        if self.dict > MAX_DICT {
            return Err(io::Error::other("an LZMA2 dictionary over 256 MiB"));
        }
        let check = check_of(self.check).ok_or_else(|| io::Error::other("unknown check"))?;
        let mut f = Filters::new();
        f.lzma2(&self.options()?);
        if self.block_size == 0 {
            return Stream::new_stream_encoder(&f, check).map_err(io::Error::other);
        }
        MtStreamBuilder::new()
            .threads(threads.max(1))
            .block_size(self.block_size)
            .filters(f)
            .check(check)
            .encoder()
            .map_err(io::Error::other)
    }
}

/// Runs `stream` over everything `input` gives, writing to `out`; returns
/// the bytes written.
pub fn encode(stream: &mut Stream, input: &mut dyn Read, out: &mut dyn Write) -> io::Result<u64> {
    let mut inbuf = vec![0u8; 1 << 20];
    let mut outbuf: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut written = 0u64;
    let mut eof = false;
    let mut have = 0usize;
    let mut at = 0usize;
    loop {
        if at == have && !eof {
            have = crate::read_full(input, &mut inbuf)?;
            at = 0;
            eof = have < inbuf.len();
        }
        let action = if eof && at == have {
            Action::Finish
        } else {
            Action::Run
        };
        let before = stream.total_in();
        outbuf.clear();
        let status = stream
            .process_vec(&inbuf[at..have], &mut outbuf, action)
            .map_err(io::Error::other)?;
        at += (stream.total_in() - before) as usize;
        out.write_all(&outbuf)?;
        written += outbuf.len() as u64;
        if status == Status::StreamEnd {
            return Ok(written);
        }
    }
}

/// The candidates for a stream with `f`'s framing and `plain` bytes of
/// plain text, most likely first.
fn candidates(f: &Framing, plain: u64) -> Vec<Settings> {
    let mut out = Vec::new();
    let block_sizes: Vec<u64> = if !f.sizes {
        vec![0]
    } else {
        match f.first_plain {
            // More than one block: the first is a whole block.
            Some(first) if first < plain => vec![first],
            // One block: liblzma's default block size (3 x the dictionary,
            // at least 1 MiB; what dpkg and `xz -T0` use) if it holds the
            // plain text, else the plain size. The block size is not only
            // where blocks end: a block that ends exactly at it is made 4
            // bytes shorter than one that ends at the input's end.
            _ => {
                let default = (3 * u64::from(f.dict)).max(1 << 20);
                vec![if default >= plain { default } else { plain }]
            }
        }
    };
    for bs in block_sizes {
        for preset in [6u8, 9, 5, 7, 8, 4, 3, 2, 1, 0] {
            if preset_dict(preset) != f.dict {
                continue;
            }
            for extreme in [false, true] {
                out.push(Settings {
                    check: f.check,
                    preset,
                    extreme,
                    dict: f.dict,
                    block_size: bs,
                });
            }
        }
        // A dictionary no preset has (xz --lzma2=dict=..., or a reduced
        // one): every preset with that dictionary.
        if out.is_empty() {
            for preset in [6u8, 9, 0, 1, 2, 3, 4, 5, 7, 8] {
                for extreme in [false, true] {
                    out.push(Settings {
                        check: f.check,
                        preset,
                        extreme,
                        dict: f.dict,
                        block_size: bs,
                    });
                }
            }
        }
    }
    out
}

/// Finds the settings that re-make the stream `s` (its bytes, from its
/// header to its footer) whose plain text starts with `head` (at least
/// [`PROBE`] bytes of it, or all of it) and has `plain` bytes in all.
///
/// Each candidate encodes `head` with the raw LZMA2 encoder and without
/// finishing, so it gives only whole LZMA2 chunks, which must equal the
/// first block's data; a head that is the whole first block is encoded
/// to the end and compared whole.
pub fn find_settings(s: &[u8], head: &[u8], plain: u64) -> Result<Settings, Refusal> {
    let f = framing(s)?;
    if f.dict > MAX_DICT {
        return Err(Refusal::OverMemory(format!(
            "an LZMA2 dictionary of {} MiB",
            f.dict >> 20
        )));
    }
    let block_plain = f.first_plain.unwrap_or(plain);
    let whole = (head.len() as u64) >= block_plain;
    let head = if whole {
        &head[..block_plain as usize]
    } else {
        head
    };
    let data = &s[f.data_at..];
    let mut tried = 0;
    for c in candidates(&f, plain) {
        tried += 1;
        if probe(&c, head, whole, data).unwrap_or(false) {
            return Ok(c);
        }
    }
    Err(Refusal::NoSettings(format!(
        "none of {tried} liblzma settings with a {} KiB dictionary re-makes the first block",
        f.dict >> 10
    )))
}

fn probe(c: &Settings, head: &[u8], whole: bool, data: &[u8]) -> io::Result<bool> {
    let mut f = Filters::new();
    f.lzma2(&c.options()?);
    let mut raw = Stream::new_raw_encoder(&f).map_err(io::Error::other)?;
    let mut out = Vec::with_capacity(head.len() / 2 + 4096);
    let mut at = 0;
    loop {
        let action = if whole { Action::Finish } else { Action::Run };
        let before = raw.total_in();
        if out.capacity() - out.len() < 4096 {
            out.reserve(1 << 20);
        }
        let status = raw
            .process_vec(&head[at..], &mut out, action)
            .map_err(io::Error::other)?;
        at += (raw.total_in() - before) as usize;
        if out.len() > data.len() || out[..] != data[..out.len()] {
            return Ok(false);
        }
        if status == Status::StreamEnd || (!whole && at == head.len()) {
            break;
        }
    }
    // A probe that gave no whole chunk tells nothing.
    Ok(!out.is_empty())
}

/// The length of the stream at the start of `s` and its plain text, by
/// decoding it (the plain text goes to `plain`, the first `keep` bytes of
/// it also to the returned head). The decoder is bounded by `memlimit`.
pub fn decode_stream(
    s: &[u8],
    plain: &mut dyn Write,
    keep: usize,
    memlimit: u64,
) -> Result<(usize, u64, Vec<u8>), DecodeError> {
    let mut d = Stream::new_stream_decoder(memlimit.max(1 << 20), 0)
        .map_err(|e| DecodeError::Refused(Refusal::NotXz(e.to_string())))?;
    let mut out: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut head = Vec::new();
    let mut total = 0u64;
    loop {
        let at = d.total_in() as usize;
        out.clear();
        let status = d.process_vec(&s[at..], &mut out, Action::Run);
        let status = match status {
            Ok(st) => st,
            Err(liblzma::stream::Error::MemLimit) => {
                return Err(DecodeError::Refused(Refusal::OverMemory(format!(
                    "its decoder needs more than {} MiB",
                    memlimit >> 20
                ))));
            }
            Err(e) => return Err(DecodeError::Refused(Refusal::NotXz(e.to_string()))),
        };
        if head.len() < keep {
            let n = (keep - head.len()).min(out.len());
            head.extend_from_slice(&out[..n]);
        }
        plain.write_all(&out).map_err(DecodeError::Io)?;
        total += out.len() as u64;
        if status == Status::StreamEnd {
            return Ok((d.total_in() as usize, total, head));
        }
        if out.is_empty() && d.total_in() as usize == at {
            return Err(DecodeError::Refused(Refusal::NotXz(
                "truncated stream".to_owned(),
            )));
        }
    }
}

/// Why decoding a stream failed.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The stream is not usable.
    #[error(transparent)]
    Refused(Refusal),
    /// Writing the plain text failed.
    #[error("cannot write the content")]
    Io(#[source] io::Error),
}

/// Reads the plain text of an xz file (every stream, padding skipped)
/// from `r`, its decoder bounded at `memlimit` bytes: for unpacking a
/// `.tar.xz` whose bytes are hostile.
pub fn reader<R: Read>(r: R, memlimit: u64) -> io::Result<impl Read> {
    let d = Stream::new_stream_decoder(memlimit, liblzma::stream::CONCATENATED)
        .map_err(io::Error::other)?;
    Ok(liblzma::read::XzDecoder::new_stream(r, d))
}
