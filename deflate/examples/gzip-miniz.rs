//! gzip through miniz_oxide, flate2's default backend (the gzip most Rust
//! programs write when they do not choose zlib-rs): stdin to stdout at a
//! level, 0-10.
//!
//! usage: cargo run --release -p trees-deflate --example gzip-miniz -- LEVEL < IN > OUT.gz

use std::io::{Read, Write};

fn main() -> std::io::Result<()> {
    let level: u8 = std::env::args()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .filter(|l| *l <= 10)
        .unwrap_or(6);
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input)?;
    let body = miniz_oxide::deflate::compress_to_vec(&input, level);
    let mut out = std::io::stdout().lock();
    // A gzip header with no name and no time, then the trailer.
    out.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255])?;
    out.write_all(&body)?;
    let mut crc = flate2::Crc::new();
    crc.update(&input);
    out.write_all(&crc.sum().to_le_bytes())?;
    out.write_all(&(input.len() as u32).to_le_bytes())
}
