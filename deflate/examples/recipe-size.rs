//! Recipe sizes and times on real gzip files (single-member): for each
//! file, its deflate stream is analysed, re-made and compared.
//!
//! usage: cargo run --release -p trees-deflate --example recipe-size -- FILE.gz...

use std::time::Instant;

/// The deflate stream of a one-member gzip file (RFC 1952 header skipped).
fn body(gz: &[u8]) -> Option<&[u8]> {
    if gz.len() < 18 || gz[..3] != [0x1f, 0x8b, 8] {
        return None;
    }
    let flags = gz[3];
    let mut at = 10;
    if flags & 4 != 0 {
        let n = usize::from(u16::from_le_bytes([*gz.get(at)?, *gz.get(at + 1)?]));
        at += 2 + n;
    }
    for bit in [8u8, 16] {
        if flags & bit != 0 {
            at += gz.get(at..)?.iter().position(|&b| b == 0)? + 1;
        }
    }
    if flags & 2 != 0 {
        at += 2;
    }
    gz.get(at..gz.len() - 8)
}

fn main() {
    println!(
        "| file | deflate bytes | plain bytes | model | recipe bytes | recipe % | analyse s | re-make s |"
    );
    println!("|---|---:|---:|---|---:|---:|---:|---:|");
    for path in std::env::args().skip(1) {
        let gz = std::fs::read(&path).expect("readable file");
        let Some(z) = body(&gz) else {
            eprintln!("{path}: not a gzip file");
            continue;
        };
        let t = Instant::now();
        let a = trees_deflate::recreate::analyse(z, 1 << 28).expect("a deflate stream");
        let analyse = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let again =
            trees_deflate::recreate::recreate(&a.recipe, &a.plain, z.len()).expect("re-made");
        let remake = t.elapsed().as_secs_f64();
        assert!(again[..] == z[..a.len], "{path}: re-made stream differs");
        let name = std::path::Path::new(&path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or(path.clone());
        println!(
            "| {name} | {} | {} | {:?} -{} | {} | {:.3} | {analyse:.2} | {remake:.2} |",
            a.len,
            a.plain.len(),
            a.params.flavour,
            a.params.level,
            a.recipe.len(),
            100.0 * a.recipe.len() as f64 / a.len as f64,
        );
    }
}
