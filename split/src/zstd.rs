//! zstd frames: the header parsed, the encoder's settings found, and the
//! frame re-made by the libzstd this build bundles.
//!
//! A zstd file is a sequence of frames (RFC 8878): zstd frames
//! (`28 B5 2F FD`, a frame header, blocks of at most 128 KiB, an optional
//! 4-byte checksum) and skippable frames (`5? 2A 4D 18`, a 4-byte size,
//! data). Unlike deflate, a frame is decided by its plain text, the
//! compression level, a few flags and the library's version: libzstd's
//! output changes between versions (1.5.4's frames are re-made by no
//! later one), and a frame does not say which version made it. So a frame
//! is stored as its plain text and [`Settings`] only where *this* build's
//! libzstd re-makes it, and its recipe names the version
//! ([`LIB_VERSION`]); a build with another libzstd refuses to rebuild it
//! by name instead of giving other bytes.
//!
//! [`find_settings`] tries the levels (and with or without long-distance
//! matching and worker threads) by compressing and comparing as it goes:
//! a wrong candidate is stopped at its first differing byte, which comes
//! within the first block.

use std::io::{self, Read, Write};

use zstd_safe::{CCtx, CParameter, DCtx, InBuffer, OutBuffer};
use zstd_sys::ZSTD_EndDirective;

/// The first bytes of a zstd frame.
pub const MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// The largest window a frame may declare for us to decode it (the zstd
/// CLI's own default limit, 128 MiB, is 2^27).
pub const MAX_WINDOW_LOG: u32 = 27;

/// The libzstd version this build compresses with (`ZSTD_versionNumber`,
/// major * 10000 + minor * 100 + patch): 10504 for 1.5.4.
pub fn lib_version() -> u32 {
    zstd_safe::version_number()
}

/// The version the recipes of this build name; a test checks that the
/// linked library is this one.
pub const LIB_VERSION: u32 = 10504;

/// How one frame was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// The compression level.
    pub level: i32,
    /// Whether the frame has a checksum.
    pub checksum: bool,
    /// Whether the size was pledged (and so written in the header).
    pub pledged: bool,
    /// Long-distance matching with a 2^27 window (`--long`).
    pub long: bool,
    /// Worker threads (`-T`): 0 single-threaded, else 1 (the output does
    /// not depend on the count).
    pub workers: u8,
}

/// Why a frame is not one we re-make.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not zstd, or damaged.
    #[error("not zstd: {0}")]
    NotZstd(String),
    /// No setting of this build's libzstd re-makes it (another version or
    /// another encoder made it).
    #[error("zstd settings not found: {0}")]
    NoSettings(String),
    /// The frame's window is over what we decode.
    #[error("over the memory bound: {0}")]
    OverMemory(String),
}

/// A zstd frame header, as far as finding settings needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Its length.
    pub len: usize,
    /// Checksum flag.
    pub checksum: bool,
    /// The content size, if stated.
    pub content_size: Option<u64>,
    /// The window log (single-segment frames: from the content size).
    pub window_log: u32,
    /// A dictionary id was set.
    pub dict: bool,
}

/// Parses the frame header at the start of `f`.
pub fn header(f: &[u8]) -> Result<Header, Refusal> {
    let bad = |w: &str| Refusal::NotZstd(w.to_owned());
    if f.get(..4) != Some(&MAGIC[..]) {
        return Err(bad("no zstd magic"));
    }
    let fhd = *f.get(4).ok_or_else(|| bad("truncated frame header"))?;
    if fhd & 0x08 != 0 {
        return Err(bad("reserved frame header bit is set"));
    }
    let single = fhd & 0x20 != 0;
    let fcs_len = match fhd >> 6 {
        0 => usize::from(single),
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let did_len = match fhd & 3 {
        0 => 0,
        1 => 1,
        2 => 2,
        _ => 4,
    };
    let mut at = 5;
    let mut window_log = 0;
    if !single {
        let wd = *f.get(at).ok_or_else(|| bad("truncated frame header"))?;
        window_log = 10 + u32::from(wd >> 3);
        at += 1;
    }
    at += did_len;
    let fcs = f
        .get(at..at + fcs_len)
        .ok_or_else(|| bad("truncated frame header"))?;
    let mut size = [0u8; 8];
    size[..fcs_len].copy_from_slice(fcs);
    let mut content_size = (fcs_len > 0).then(|| u64::from_le_bytes(size));
    if fcs_len == 2 {
        content_size = content_size.map(|s| s + 256);
    }
    if single {
        let s = content_size.unwrap_or(0).max(1);
        window_log = 64 - (s - 1).leading_zeros().min(63);
    }
    Ok(Header {
        len: at + fcs_len,
        checksum: fhd & 0x04 != 0,
        content_size,
        window_log,
        dict: did_len > 0,
    })
}

/// The length of the skippable frame at the start of `f`, if it is one.
pub fn skippable_len(f: &[u8]) -> Option<u64> {
    let m = f.get(..8)?;
    if m[0] & 0xf0 != 0x50 || m[1..4] != [0x2a, 0x4d, 0x18] {
        return None;
    }
    Some(8 + u64::from(u32::from_le_bytes([m[4], m[5], m[6], m[7]])))
}

/// The length of the zstd frame at the start of `f`, by walking its
/// blocks (no decompression).
pub fn frame_len(f: &[u8]) -> Result<usize, Refusal> {
    let h = header(f)?;
    let mut at = h.len;
    loop {
        let b = f
            .get(at..at + 3)
            .ok_or_else(|| Refusal::NotZstd("truncated block header".to_owned()))?;
        let bh = u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16;
        let last = bh & 1 != 0;
        let size = (bh >> 3) as usize;
        let body = match (bh >> 1) & 3 {
            0 | 2 => size,
            1 => 1,
            _ => return Err(Refusal::NotZstd("reserved block type".to_owned())),
        };
        at += 3 + body;
        if at > f.len() {
            return Err(Refusal::NotZstd("truncated block".to_owned()));
        }
        if last {
            break;
        }
    }
    if h.checksum {
        at += 4;
    }
    if at > f.len() {
        return Err(Refusal::NotZstd("truncated checksum".to_owned()));
    }
    Ok(at)
}

/// Decodes the frame `f` (exactly one frame's bytes) into `plain`;
/// returns the plain length. Windows over 2^[`MAX_WINDOW_LOG`] are refused.
pub fn decode_frame(f: &[u8], plain: &mut dyn Write) -> Result<u64, DecodeError> {
    let h = header(f).map_err(DecodeError::Refused)?;
    if h.window_log > MAX_WINDOW_LOG {
        return Err(DecodeError::Refused(Refusal::OverMemory(format!(
            "a window of 2^{} bytes",
            h.window_log
        ))));
    }
    let mut d = DCtx::create();
    let _ = d.set_parameter(zstd_safe::DParameter::WindowLogMax(MAX_WINDOW_LOG));
    let mut input = InBuffer::around(f);
    let mut buf = vec![0u8; 1 << 17];
    let mut total = 0u64;
    loop {
        let mut out = OutBuffer::around(&mut buf[..]);
        let r = d.decompress_stream(&mut out, &mut input).map_err(|code| {
            DecodeError::Refused(Refusal::NotZstd(zstd_safe::get_error_name(code).to_owned()))
        })?;
        let n = out.pos();
        plain.write_all(&buf[..n]).map_err(DecodeError::Io)?;
        total += n as u64;
        if r == 0 {
            return Ok(total);
        }
        if n == 0 && input.pos() == f.len() {
            return Err(DecodeError::Refused(Refusal::NotZstd(
                "truncated frame".to_owned(),
            )));
        }
    }
}

/// Why decoding a frame failed.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The frame is not usable.
    #[error(transparent)]
    Refused(Refusal),
    /// Writing the plain text failed.
    #[error("cannot write the content")]
    Io(#[source] io::Error),
}

impl Settings {
    fn cctx(&self, plain: u64) -> io::Result<CCtx<'static>> {
        let mut c = CCtx::create();
        let err = |code| io::Error::other(zstd_safe::get_error_name(code));
        c.set_parameter(CParameter::CompressionLevel(self.level))
            .map_err(err)?;
        c.set_parameter(CParameter::ChecksumFlag(self.checksum))
            .map_err(err)?;
        if self.long {
            c.set_parameter(CParameter::EnableLongDistanceMatching(true))
                .map_err(err)?;
            c.set_parameter(CParameter::WindowLog(27)).map_err(err)?;
        }
        if self.workers > 0 {
            c.set_parameter(CParameter::NbWorkers(u32::from(self.workers)))
                .map_err(err)?;
        }
        if self.pledged {
            c.set_pledged_src_size(Some(plain)).map_err(err)?;
        }
        Ok(c)
    }

    /// Compresses the `plain` bytes that `input` gives into one frame,
    /// fed 128 KiB at a time as the zstd CLI does, to `out`; returns the
    /// bytes written.
    pub fn encode(&self, plain: u64, input: &mut dyn Read, out: &mut dyn Write) -> io::Result<u64> {
        let mut c = self.cctx(plain)?;
        let err = |code| io::Error::other(zstd_safe::get_error_name(code));
        let mut inbuf = vec![0u8; CCtx::in_size()];
        let mut outbuf = vec![0u8; CCtx::out_size()];
        let mut written = 0u64;
        loop {
            let n = crate::read_full(input, &mut inbuf)?;
            let end = n < inbuf.len();
            let mut i = InBuffer::around(&inbuf[..n]);
            loop {
                let mut o = OutBuffer::around(&mut outbuf[..]);
                let directive = if end {
                    ZSTD_EndDirective::ZSTD_e_end
                } else {
                    ZSTD_EndDirective::ZSTD_e_continue
                };
                let left = c.compress_stream2(&mut o, &mut i, directive).map_err(err)?;
                let got = o.pos();
                out.write_all(&outbuf[..got])?;
                written += got as u64;
                let done = if end { left == 0 } else { i.pos() == n };
                if done {
                    break;
                }
            }
            if end {
                return Ok(written);
            }
        }
    }
}

/// Stops at the first byte that differs from `want`.
struct Compare<'a> {
    want: &'a [u8],
    at: usize,
}

impl Write for Compare<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let end = self.at + buf.len();
        if end > self.want.len() || self.want[self.at..end] != *buf {
            return Err(io::Error::other("differs"));
        }
        self.at = end;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The plain text of one frame, decoded as it is read.
struct FrameReader<'a> {
    d: DCtx<'static>,
    input: InBuffer<'a>,
    done: bool,
}

impl<'a> FrameReader<'a> {
    fn new(f: &'a [u8]) -> FrameReader<'a> {
        let mut d = DCtx::create();
        let _ = d.set_parameter(zstd_safe::DParameter::WindowLogMax(MAX_WINDOW_LOG));
        FrameReader {
            d,
            input: InBuffer::around(f),
            done: false,
        }
    }
}

impl Read for FrameReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while !self.done && !buf.is_empty() {
            let mut out = OutBuffer::around(&mut buf[..]);
            let r = self
                .d
                .decompress_stream(&mut out, &mut self.input)
                .map_err(|code| io::Error::other(zstd_safe::get_error_name(code)))?;
            let n = out.pos();
            if r == 0 {
                self.done = true;
            }
            if n > 0 {
                return Ok(n);
            }
            if self.input.pos() == self.input.src.len() {
                return Err(io::Error::other("truncated frame"));
            }
        }
        Ok(0)
    }
}

/// Finds the settings with which this build's libzstd re-makes the frame
/// `f` (exactly one frame's bytes) of `plain` plain bytes. Each candidate
/// compresses the frame's plain text, decoded again as it goes, and stops
/// at its first byte that differs from `f`; so memory stays a few blocks.
pub fn find_settings(f: &[u8], plain: u64) -> Result<Settings, Refusal> {
    let h = header(f)?;
    if h.dict {
        return Err(Refusal::NoSettings(
            "a frame made with a dictionary".to_owned(),
        ));
    }
    let pledged = h.content_size.is_some();
    let first = [3, 19, 1, 9, 6, 12, 15, 10, 11];
    let levels: Vec<i32> = first
        .into_iter()
        .chain((1..=22).filter(|l| !first.contains(l)))
        .collect();
    let mut tried = 0;
    for long in [false, true] {
        if long && h.window_log != 27 {
            continue;
        }
        for workers in [0u8, 1] {
            for &level in &levels {
                let s = Settings {
                    level,
                    checksum: h.checksum,
                    pledged,
                    long,
                    workers,
                };
                tried += 1;
                let mut cmp = Compare { want: f, at: 0 };
                if s.encode(plain, &mut FrameReader::new(f), &mut cmp).is_ok() && cmp.at == f.len()
                {
                    return Ok(s);
                }
            }
        }
    }
    Err(Refusal::NoSettings(format!(
        "none of {tried} settings of libzstd {} re-makes it (another version or encoder made it)",
        version_text(lib_version())
    )))
}

/// `1.5.4` for 10504.
pub fn version_text(v: u32) -> String {
    format!("{}.{}.{}", v / 10000, v / 100 % 100, v % 100)
}

/// Reads the plain text of a zstd file (every frame, skippable ones
/// skipped) from `R`, with windows bounded at 2^[`MAX_WINDOW_LOG`]: for
/// unpacking a `.tar.zst` whose bytes are hostile.
pub struct Decoder<R> {
    inner: R,
    d: DCtx<'static>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    in_frame: bool,
}

impl<R: Read> Decoder<R> {
    /// A decoder of what `inner` gives.
    pub fn new(inner: R) -> Decoder<R> {
        let mut d = DCtx::create();
        let _ = d.set_parameter(zstd_safe::DParameter::WindowLogMax(MAX_WINDOW_LOG));
        Decoder {
            inner,
            d,
            buf: vec![0u8; 1 << 17],
            start: 0,
            end: 0,
            eof: false,
            in_frame: false,
        }
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            if self.start == self.end && !self.eof {
                self.end = crate::read_full(&mut self.inner, &mut self.buf)?;
                self.start = 0;
                self.eof = self.end == 0;
            }
            if self.start == self.end && self.eof {
                if self.in_frame {
                    return Err(io::Error::other("the zstd data is truncated"));
                }
                return Ok(0);
            }
            let mut input = InBuffer::around(&self.buf[self.start..self.end]);
            let mut o = OutBuffer::around(&mut out[..]);
            let r = self
                .d
                .decompress_stream(&mut o, &mut input)
                .map_err(|code| io::Error::other(zstd_safe::get_error_name(code)))?;
            self.start += input.pos();
            self.in_frame = r != 0;
            if o.pos() > 0 {
                return Ok(o.pos());
            }
        }
    }
}
