//! gzip through flate2 on zlib-rs, as cargo (since 1.88) and other Rust
//! programs write it: stdin to stdout at a level (cargo packages at 9).
//!
//! usage: cargo run --release -p trees-deflate --example gzip-rs -- LEVEL [WRITE] < IN > OUT.gz
//!
//! WRITE: the input is given to the encoder in writes of this many bytes
//! (default: one write), as a program writing a tar piece by piece does;
//! zlib-ng's parsers restart some state at each call.

use std::io::{Read, Write};

fn main() -> std::io::Result<()> {
    let level: u32 = std::env::args()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .filter(|l| *l <= 9)
        .unwrap_or(6);
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input)?;
    let mut gz = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::new(level));
    let write = std::env::args()
        .nth(2)
        .and_then(|w| w.parse().ok())
        .filter(|&w: &usize| w > 0)
        .unwrap_or(input.len().max(1));
    for piece in input.chunks(write) {
        gz.write_all(piece)?;
    }
    std::io::stdout().write_all(&gz.finish()?)
}
