//! Streams re-made from their plain text and recipe, exactly: real
//! encoders (where the model should need almost no corrections) and the
//! random encoder (where it needs many: the escape path, tested).

use trees_deflate::recreate::{analyse, recreate};

/// Analyses, re-makes and compares; returns the recipe's size.
pub fn recipe_size(stream: &[u8]) -> usize {
    let a = analyse(stream, 1 << 26).expect("the stream analyses");
    assert_eq!(a.len, stream.len());
    let again = recreate(&a.recipe, &a.plain, stream.len()).expect("the recipe re-makes it");
    assert!(
        again == stream,
        "re-made {} bytes differ from the {} of the stream",
        again.len(),
        stream.len()
    );
    a.recipe.len()
}

/// What a modelled encoder's recipe may cost: a few bytes of settings and
/// end-of-stream surprises, nothing that grows with the stream.
fn modelled(r: usize, stream: usize) -> bool {
    r <= 64 + stream / 1000
}

#[test]
fn zlib_rs_streams_are_re_made() {
    let plain = super::sample(500_000, 21);
    for level in 0..=9 {
        let z = super::streams::deflate_rs(&plain, level);
        let r = recipe_size(&z);
        eprintln!(
            "zlib-rs -{level}: {} bytes, recipe {r} ({:.3} %)",
            z.len(),
            100.0 * r as f64 / z.len() as f64
        );
        assert!(
            modelled(r, z.len()),
            "zlib-rs -{level}: a recipe of {r} bytes"
        );
    }
}

/// A program that writes a tar piece by piece gives zlib-ng its input in
/// pieces, and each call restarts a little of its state: at levels 5 and 6
/// a refill forgets the match looked ahead for (medium), which the recipe
/// says where it happens (a question asked where the model holds such a
/// match, most likely near a 512-byte boundary); at level 1 it inserts one
/// more position into the chains (quick), which the model does not know:
/// there it costs corrections. The other levels do not notice.
#[test]
fn zlib_rs_streams_written_in_pieces_are_re_made() {
    use std::io::Write;
    let plain = super::sample(300_000, 23);
    for level in 1..=9 {
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
        for piece in plain.chunks(512) {
            z.write_all(piece).expect("deflate writes to memory");
        }
        let z = z.finish().expect("deflate finishes");
        let r = recipe_size(&z);
        eprintln!(
            "zlib-rs -{level} in 512-byte writes: recipe {r} of {}",
            z.len()
        );
        if level == 1 {
            // 1.0-1.6 % today (an open gap, in docs/limits.md).
            assert!(r <= z.len() * 3 / 100, "zlib-rs -{level}: {r} bytes");
        } else {
            assert!(modelled(r, z.len()), "zlib-rs -{level}: {r} bytes");
        }
    }
}

#[test]
fn gnu_gzip_streams_are_re_made_with_tiny_recipes() {
    let plain = super::sample(500_000, 22);
    for level in 1..=9 {
        let gz = super::streams::gzip(&plain, level);
        let z = super::streams::gzip_body(&gz);
        let r = recipe_size(z);
        eprintln!(
            "gzip -{level}: {} bytes, recipe {r} ({:.3} %)",
            z.len(),
            100.0 * r as f64 / z.len() as f64
        );
        assert!(modelled(r, z.len()), "gzip -{level}: a recipe of {r} bytes");
    }
}

#[test]
fn hostile_recipes_are_errors_not_panics() {
    let plain = super::sample(20_000, 23);
    let z = super::streams::deflate_rs(&plain, 6);
    let a = analyse(&z, 1 << 26).unwrap();
    let mut s = 1u32;
    for i in 0..2000 {
        let mut r = a.recipe.clone();
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        let at = s as usize % r.len();
        r[at] ^= 1 << (i % 8);
        if i % 7 == 0 {
            r.truncate(at);
        }
        if let Ok(out) = recreate(&r, &a.plain, z.len() * 2) {
            assert!(out.len() <= z.len() * 2);
        }
    }
    assert!(recreate(&[9, 6, 8, 15], &plain, 100).is_err());
    assert!(recreate(&[1, 6], &plain, 100).is_err());
}

#[test]
fn chunked_recipes_carry_the_model_and_the_partial_byte() {
    use trees_deflate::recreate::{Carry, estimate, parse};
    use trees_deflate::write::Writer;
    let plain = super::sample(900_000, 24);
    for stream in [
        super::streams::deflate_rs(&plain, 9),
        super::streams::gzip_body(&super::streams::gzip(&plain, 6)).to_vec(),
    ] {
        let (blocks, text, tail, _) = parse(&stream, 1 << 26).unwrap();
        assert!(blocks.len() >= 4, "{} blocks", blocks.len());
        let params = estimate(&blocks, &text);
        // Chunks of 1, 2 and the rest of the blocks.
        let cuts = [0, 1, 3, blocks.len()];
        let mut enc = Carry::new(params);
        let (mut recipes, mut at) = (Vec::new(), 0usize);
        for w in cuts.windows(2) {
            let bs = &blocks[w[0]..w[1]];
            let n: usize = bs.iter().map(|b| b.plain_len() as usize).sum();
            let last = w[1] == blocks.len();
            recipes.push((
                enc.encode(bs, &text[at..at + n], last.then_some(tail)),
                at,
                n,
            ));
            at += n;
        }
        let mut dec = Carry::from_recipe(&recipes[0].0).unwrap();
        let (mut w, mut out, mut end) = (Writer::new(), Vec::new(), None);
        for (r, at, n) in &recipes {
            end = dec
                .decode(r, &text[*at..at + n], &mut w, &mut out, stream.len())
                .unwrap();
        }
        out.extend(w.finish(end.expect("the last chunk ends the stream")));
        assert!(out == stream, "chunked re-make differs");
        let total: usize = recipes.iter().map(|r| r.0.len()).sum();
        assert!(
            total <= 4 * 64 + stream.len() / 1000,
            "{total} bytes of recipes"
        );
    }
}

/// Runs `prog args` with `input` on stdin; its stdout. A missing program
/// fails the test by name (scripts/install-deps.sh installs it).
fn run(prog: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{prog} is needed (scripts/install-deps.sh installs it): {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(out.status.success(), "{prog} {args:?} failed");
    out.stdout
}

/// node's zlib: Chromium's fork in node's own builds, the system's zlib in
/// Debian's; either is modelled.
#[test]
fn node_streams_are_re_made_with_tiny_recipes() {
    let plain = super::sample(400_000, 25);
    for level in [1, 6, 9] {
        let script = format!(
            "const z = require('zlib'); const b = require('fs').readFileSync(0); \
             process.stdout.write(z.deflateRawSync(b, {{level: {level}}}))"
        );
        let z = run("node", &["-e", &script], &plain);
        let r = recipe_size(&z);
        eprintln!("node -{level}: {} bytes, recipe {r}", z.len());
        assert!(modelled(r, z.len()), "node -{level}: a recipe of {r} bytes");
    }
}

/// pigz compresses 128 KiB pieces on their own (each primed with the 32 KiB
/// before it, and ended by a sync flush): zlib's search, blocks of its own.
#[test]
fn pigz_streams_are_re_made() {
    let plain = super::sample(600_000, 26);
    for level in ["-6", "-9"] {
        let gz = run("pigz", &[level, "-n", "-c"], &plain);
        let r = recipe_size(super::streams::gzip_body(&gz));
        eprintln!("pigz {level}: {} bytes, recipe {r}", gz.len());
    }
}

/// libdeflate (`libdeflate-gzip`): match finders, parsers and Huffman codes
/// of its own, modelled at levels 1-9; its near-optimal parser (10-12) is
/// re-made through corrections.
#[test]
fn libdeflate_streams_are_re_made() {
    let plain = super::sample(400_000, 27);
    for level in 1..=12 {
        let gz = run("libdeflate-gzip", &[&format!("-{level}"), "-c"], &plain);
        let z = super::streams::gzip_body(&gz);
        let r = recipe_size(z);
        eprintln!("libdeflate -{level}: {} bytes, recipe {r}", z.len());
        if level <= 9 {
            assert!(modelled(r, z.len()), "libdeflate -{level}: {r} bytes");
        }
    }
}

/// miniz (miniz_oxide, flate2's default backend) at every level, whole
/// and streamed in 512-byte pieces (its parsers wait for a full lookahead,
/// so the pieces change nothing).
#[test]
fn miniz_streams_are_re_made() {
    use miniz_oxide::deflate::core::{CompressorOxide, create_comp_flags_from_zip_params};
    use miniz_oxide::deflate::stream::deflate;
    use miniz_oxide::{MZFlush, StreamResult};
    let plain = super::sample(300_000, 28);
    for level in 1..=10u8 {
        let whole = miniz_oxide::deflate::compress_to_vec(&plain, level);
        let r = recipe_size(&whole);
        eprintln!("miniz -{level}: {} bytes, recipe {r}", whole.len());
        assert!(modelled(r, whole.len()), "miniz -{level}: {r} bytes");
        let mut c = CompressorOxide::new(create_comp_flags_from_zip_params(level.into(), -15, 0));
        let (mut out, mut buf) = (Vec::new(), vec![0u8; 1 << 16]);
        let pieces = plain.chunks(512).count();
        for (i, piece) in plain.chunks(512).enumerate() {
            let flush = if i + 1 == pieces {
                MZFlush::Finish
            } else {
                MZFlush::None
            };
            let mut input = piece;
            loop {
                let StreamResult {
                    bytes_consumed,
                    bytes_written,
                    ..
                } = deflate(&mut c, input, &mut buf, flush);
                out.extend_from_slice(&buf[..bytes_written]);
                input = &input[bytes_consumed..];
                if input.is_empty() && (flush == MZFlush::None || bytes_written < buf.len()) {
                    break;
                }
            }
        }
        assert_eq!(
            out, whole,
            "miniz -{level}: the pieces make the same stream"
        );
    }
}

/// Go's `compress/gzip` at every level (level 1 is another encoder, with
/// a model of its own), through a program built here with the `go` of
/// scripts/install-deps.sh.
#[test]
fn go_streams_are_re_made() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let src = dir.path().join("gz.go");
    std::fs::write(
        &src,
        "package main\nimport (\"compress/gzip\"; \"io\"; \"os\"; \"strconv\")\n\
         func main() { l, _ := strconv.Atoi(os.Args[1]); w, _ := gzip.NewWriterLevel(os.Stdout, l); \
         io.Copy(w, os.Stdin); w.Close() }\n",
    )
    .expect("the program is written");
    let bin = dir.path().join("gz");
    let built = std::process::Command::new("go")
        .args(["build", "-o"])
        .arg(&bin)
        .arg(&src)
        .env("GOCACHE", dir.path().join("cache"))
        .env("GOPATH", dir.path().join("path"))
        .status()
        .unwrap_or_else(|e| panic!("go is needed (scripts/install-deps.sh installs it): {e}"));
    assert!(built.success(), "go build failed");
    let plain = super::sample(400_000, 29);
    for level in 1..=9 {
        let gz = run(
            bin.to_str().expect("a UTF-8 path"),
            &[&level.to_string()],
            &plain,
        );
        let z = super::streams::gzip_body(&gz);
        let r = recipe_size(z);
        eprintln!("go -{level}: {} bytes, recipe {r}", z.len());
        assert!(modelled(r, z.len()), "go -{level}: {r} bytes");
    }
}
