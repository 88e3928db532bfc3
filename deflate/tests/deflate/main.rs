//! trees-deflate against real encoders and a random encoder of its own.

#![allow(clippy::unwrap_used)]

mod random;
mod recreate;
mod streams;
mod write;

/// A deterministic text with the shape of source code: words from a
/// vocabulary, lines, some repeated paragraphs far apart, some bytes.
pub fn sample(len: usize, seed: u64) -> Vec<u8> {
    let words = [
        "fn", "let", "mut", "self", "return", "if", "else", "match", "struct", "impl", "pub",
        "use", "crate", "deflate", "block", "token", "Vec<u8>", "{", "}", "(", ")", ";", "=", "->",
        "0", "1", "258", "32768", "window", "hash", "chain", "lazy",
    ];
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut out = Vec::with_capacity(len + 64);
    while out.len() < len {
        let r = next();
        if r % 97 == 0 && out.len() > 5000 {
            // A paragraph again, from up to 40 KB back (past the window sometimes).
            let back = (next() as usize % 40_000).min(out.len() - 1) + 1;
            let n = (next() as usize % 2000).min(back);
            let from = out.len() - back;
            let copy = out[from..from + n].to_vec();
            out.extend_from_slice(&copy);
        } else if r % 53 == 0 {
            out.extend((0..(next() % 40)).map(|_| next() as u8));
        } else {
            out.extend_from_slice(words[(r >> 8) as usize % words.len()].as_bytes());
            out.push(if r % 11 == 0 { b'\n' } else { b' ' });
        }
    }
    out.truncate(len);
    out
}

/// zlib-rs's inflate (through flate2): an oracle that is not ours.
pub fn inflate(deflate: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(deflate)
        .read_to_end(&mut out)
        .expect("zlib-rs inflates the stream");
    out
}
