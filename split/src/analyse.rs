//! Splitting a gzip file X into its content T and its recipe R.
//!
//! Each member's header is parsed ([`crate::gzip`]); its deflate stream is
//! fed to preflate-rs's chunked analyser a slice at a time. Each call
//! decodes whole deflate blocks only, up to [`Limits::chunk`] bytes of
//! plain text: the chunk's plain text goes to T, its corrections and
//! lengths to R, and the analyser keeps only a 32 KiB window. Memory is
//! therefore bounded by the chunk limit and the compressed bytes of the
//! blocks being decoded ([`Limits::feed`]), not by X's size.
//!
//! The analyser's own round-trip check is off: the caller rebuilds X from
//! T and R with [`crate::rebuild`] and compares ids before it relies on
//! the split, which also checks our framing.

pub mod redeflate;

use std::io::{self, Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};

use preflate_rs::{ExitCode, PreflateConfig, PreflateStreamProcessor};

use crate::gzip::{self, HeaderError};
use crate::recipe::{Chunk, FORMAT_TREES_DEFLATE, MAX_CHUNK, MAX_TAIL, Member, Recipe};

/// How much an analysis may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Plain bytes per chunk (preflate-rs's `plain_text_limit`). At least
    /// one deflate block must fit: zlib's hold up to about 8.4 MB.
    pub chunk: usize,
    /// Compressed bytes buffered to find whole blocks.
    pub feed: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            chunk: 16 << 20,
            feed: 32 << 20,
        }
    }
}

impl Limits {
    /// Limits for a process allowed `memory` bytes: an analysis holds
    /// about twice a chunk plus the feed, kept under an eighth of it.
    pub fn for_memory(memory: u64) -> Limits {
        let eighth = usize::try_from(memory / 8).unwrap_or(usize::MAX);
        let chunk = (eighth / 3).clamp(9 << 20, 16 << 20);
        Limits {
            chunk: chunk.min(MAX_CHUNK as usize),
            feed: 2 * chunk,
        }
    }
}

/// Why a file is stored whole instead of split. Each is counted by repack.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not a gzip file (or a damaged or truncated one).
    #[error("not gzip: {0}")]
    NotGzip(String),
    /// preflate-rs cannot re-make a deflate stream (an encoder it does not
    /// model, or a stream it rejects).
    #[error("preflate failed: {0}")]
    Preflate(String),
    /// A block or header too large for the limits.
    #[error("over the memory bound: {0}")]
    OverMemory(String),
}

/// Why a split failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is fine, but is stored whole.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Reading X or writing T failed.
    #[error("cannot read the gzip file or write its content")]
    Io(#[from] io::Error),
}

/// Compressed bytes of X, read on demand, from `start` on.
pub(crate) struct Input<'a> {
    r: &'a mut dyn Read,
    pub(crate) buf: Vec<u8>,
    pub(crate) start: usize,
    pub(crate) eof: bool,
}

impl Input<'_> {
    /// Makes at least `n` bytes available from `start` (fewer at EOF).
    pub(crate) fn want(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.start > (8 << 20) && self.start * 2 > self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        while self.buf.len() - self.start < n && !self.eof {
            let need = n - (self.buf.len() - self.start);
            let old = self.buf.len();
            let step = need.max(64 << 10);
            self.buf.resize(old + step, 0);
            let got = crate::read_full(self.r, &mut self.buf[old..])?;
            self.buf.truncate(old + got);
            if got == 0 {
                self.eof = true;
            }
        }
        let end = (self.start + n).min(self.buf.len());
        Ok(&self.buf[self.start..end])
    }

    fn at_end(&mut self) -> io::Result<bool> {
        Ok(self.want(1)?.is_empty())
    }
}

/// Splits the gzip file read from `x`: writes its content T to `content`
/// and returns its recipe R, in the format new splits use
/// ([`FORMAT_TREES_DEFLATE`]). A refusal may come after part of T was
/// written; the caller discards it.
pub fn split(x: &mut dyn Read, content: &mut dyn Write, limits: Limits) -> Result<Recipe, Error> {
    split_as(x, content, limits, FORMAT_TREES_DEFLATE)
}

/// [`split`] in a given recipe format: [`FORMAT_TREES_DEFLATE`], or
/// [`crate::recipe::FORMAT_PREFLATE_0_7_6`] (which refuses streams preflate-rs cannot
/// model; kept to make format-1 recipes for tests and comparisons).
pub fn split_as(
    x: &mut dyn Read,
    content: &mut dyn Write,
    limits: Limits,
    format: u8,
) -> Result<Recipe, Error> {
    let mut input = Input {
        r: x,
        buf: Vec::new(),
        start: 0,
        eof: false,
    };
    let mut members = Vec::new();
    loop {
        if input.at_end()? {
            break;
        }
        let head = input.want(gzip::MAX_HEADER)?;
        let header = match gzip::parse(head) {
            Ok(h) => head[..h.len].to_vec(),
            Err(e) if members.is_empty() => {
                let why = match e {
                    HeaderError::Short => "truncated header".to_owned(),
                    HeaderError::NotGzip(w) => w.to_owned(),
                };
                return Err(Refusal::NotGzip(why).into());
            }
            // Bytes after the last member that are not a member: kept as the tail.
            Err(_) => break,
        };
        input.start += header.len();
        let chunks = if format == FORMAT_TREES_DEFLATE {
            redeflate::chunks(&mut input, content, limits, &mut None)?
        } else {
            deflate_chunks(&mut input, content, limits)?
        };
        let trailer = input.want(gzip::TRAILER_LEN)?;
        let trailer: [u8; 8] = trailer
            .try_into()
            .map_err(|_| Refusal::NotGzip("truncated trailer".to_owned()))?;
        input.start += gzip::TRAILER_LEN;
        members.push(Member {
            header,
            chunks,
            trailer,
        });
    }
    let tail = input.want(MAX_TAIL + 1)?.to_vec();
    if tail.len() > MAX_TAIL {
        return Err(Refusal::NotGzip("more than 64 KiB after the last member".to_owned()).into());
    }
    if members.is_empty() {
        return Err(Refusal::NotGzip("empty file".to_owned()).into());
    }
    Ok(Recipe {
        format,
        members,
        tail,
    })
}

/// Analyses a raw deflate stream that must fill `data` exactly (a zip
/// member's data), in recipe format 5: its text goes to `content`, its
/// chunks come back; `Ok(None)` if it is not such a stream (damaged,
/// over the limits, or followed by other bytes). A refusal may come after
/// part of the text was written; the caller discards it.
pub(crate) fn raw_deflate(
    data: &[u8],
    content: &mut dyn Write,
    limits: Limits,
    hint: &mut Option<trees_deflate::model::Params>,
) -> io::Result<Option<Vec<Chunk>>> {
    let mut r = data;
    let mut input = Input {
        r: &mut r,
        buf: Vec::new(),
        start: 0,
        eof: false,
    };
    // The whole stream is `data`: no more is ever read ahead than it (a
    // zip member of 3 KB must not zero the 18 MB a gzip file may read).
    let limits = Limits {
        feed: limits.feed.min(data.len().saturating_add(1)),
        ..limits
    };
    match redeflate::chunks(&mut input, content, limits, hint) {
        Ok(chunks) if input.start == data.len() => Ok(Some(chunks)),
        Ok(_) | Err(Error::Refused(_)) => Ok(None),
        Err(Error::Io(e)) => Err(e),
    }
}

/// Analyses one member's deflate stream, from `input.start` to its end.
fn deflate_chunks(
    input: &mut Input<'_>,
    content: &mut dyn Write,
    limits: Limits,
) -> Result<Vec<Chunk>, Error> {
    let config = PreflateConfig {
        plain_text_limit: limits.chunk,
        verify_compression: false,
        ..PreflateConfig::default()
    };
    let mut p = PreflateStreamProcessor::new(&config);
    let mut chunks = Vec::new();
    let step = (1 << 20).min(limits.feed);
    let mut feed = step;
    while !p.is_done() {
        let n = input.want(feed)?.len();
        let whole_rest = input.eof && n < feed;
        let avail = &input.buf[input.start..input.start + n];
        let r = match catch_unwind(AssertUnwindSafe(|| p.decompress(avail))) {
            Err(panic) => {
                let why = format!("preflate-rs panicked: {}", panic_text(&panic));
                return Err(Refusal::Preflate(why).into());
            }
            Ok(Ok(r)) if r.compressed_size > 0 => Some(r),
            // No whole block in the slice yet: read further.
            Ok(Ok(_)) => None,
            Ok(Err(e)) if e.exit_code() == ExitCode::ShortRead => None,
            Ok(Err(e)) => return Err(refusal(&e).into()),
        };
        let Some(r) = r else {
            if whole_rest {
                return Err(Refusal::NotGzip("truncated deflate stream".to_owned()).into());
            }
            if feed >= limits.feed {
                let why = format!(
                    "a deflate block longer than {} compressed bytes",
                    limits.feed
                );
                return Err(Refusal::OverMemory(why).into());
            }
            feed = (feed * 2).min(limits.feed);
            continue;
        };
        let text = p.plain_text().text();
        content.write_all(text)?;
        chunks.push(Chunk {
            plain_len: text.len() as u64,
            deflate_len: r.compressed_size as u64,
            corrections: r.corrections,
        });
        input.start += r.compressed_size;
        p.shrink_to_dictionary();
        feed = step;
    }
    Ok(chunks)
}

fn refusal(e: &preflate_rs::PreflateError) -> Refusal {
    // Its message ends with source locations, a line each: keep the first.
    let message = e.message();
    let first = message.lines().next().unwrap_or_default();
    match e.exit_code() {
        ExitCode::PlainTextLimit => Refusal::OverMemory(format!(
            "a deflate block holds more plain text than a chunk may: {first}"
        )),
        code => Refusal::Preflate(format!("{code:?}: {first}")),
    }
}

/// The message of a caught panic.
pub(crate) fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}
