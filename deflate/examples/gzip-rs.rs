//! gzip through flate2 on zlib-rs, as cargo (since 1.88) and other Rust
//! programs write it: stdin to stdout at a level (cargo packages at 9).
//!
//! usage: cargo run --release -p trees-deflate --example gzip-rs -- LEVEL < IN > OUT.gz

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
    gz.write_all(&input)?;
    std::io::stdout().write_all(&gz.finish()?)
}
