//! Streams made by real encoders read and write back exactly.

use std::io::Write;
use std::process::{Command, Stdio};

use super::write::round_trip;

/// A raw deflate stream made by zlib-rs (flate2) at `level`.
pub fn deflate_rs(plain: &[u8], level: u32) -> Vec<u8> {
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
    z.write_all(plain).unwrap();
    z.finish().unwrap()
}

#[test]
fn zlib_rs_every_level() {
    let plain = super::sample(300_000, 7);
    for level in 0..=9 {
        let z = deflate_rs(&plain, level);
        assert_eq!(round_trip(&z), plain, "level {level}");
    }
}

#[test]
fn zlib_rs_flushes_make_empty_stored_blocks() {
    let plain = super::sample(50_000, 8);
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
    for piece in plain.chunks(7_000) {
        z.write_all(piece).unwrap();
        z.flush().unwrap(); // a sync flush: an empty stored block
    }
    let z = z.finish().unwrap();
    assert_eq!(round_trip(&z), plain);
}

/// The raw deflate stream inside a one-member gzip file with no name.
pub fn gzip_body(gz: &[u8]) -> &[u8] {
    assert_eq!(&gz[..4], &[0x1f, 0x8b, 8, 0], "a plain gzip header");
    &gz[10..gz.len() - 8]
}

/// GNU gzip's output for `plain` at `level`.
pub fn gzip(plain: &[u8], level: u32) -> Vec<u8> {
    let mut child = Command::new("gzip")
        .args([format!("-{level}").as_str(), "-n", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip is installed (scripts/install-deps.sh)");
    let mut stdin = child.stdin.take().unwrap();
    let input = plain.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(out.status.success());
    out.stdout
}

#[test]
fn gnu_gzip_every_level() {
    let plain = super::sample(400_000, 9);
    for level in 1..=9 {
        assert_eq!(
            round_trip(gzip_body(&gzip(&plain, level))),
            plain,
            "gzip -{level}"
        );
    }
}

#[test]
fn empty_and_tiny_streams() {
    for plain in [&b""[..], b"a", b"ab", b"abc", b"aaaaaaaaaaaaaaaaaaaaaaaaa"] {
        for level in [0, 1, 6, 9] {
            assert_eq!(round_trip(&deflate_rs(plain, level)), plain);
        }
    }
}

/// How many of a stream's dynamic headers [`trees_deflate::trees::header`]
/// predicts exactly, and how many there are.
fn headers_predicted(stream: &[u8]) -> (usize, usize) {
    let (blocks, _, _) = super::write::parse_all(stream).unwrap();
    let mut hit = 0;
    let mut all = 0;
    for b in &blocks {
        if let trees_deflate::stream::Kind::Dynamic(h) = &b.kind {
            all += 1;
            hit += usize::from(trees_deflate::trees::header(&b.tokens) == *h);
        }
    }
    (hit, all)
}

#[test]
fn zlib_family_headers_are_predicted() {
    let plain = super::sample(600_000, 11);
    // zlib-rs's level 1 sends fixed blocks only (zlib-ng's deflate_quick).
    for level in [2, 4, 6, 9] {
        let (hit, all) = headers_predicted(&deflate_rs(&plain, level));
        eprintln!("zlib-rs -{level}: {hit} of {all} headers predicted");
        assert!(
            all > 1 && hit == all,
            "zlib-rs -{level}: {hit} of {all} headers predicted"
        );
    }
}
