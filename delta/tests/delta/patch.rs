//! Every patch format rebuilds `want` from `have`, refuses what it cannot
//! make with a message, and never returns wrong bytes for a damaged patch
//! that carries a check (zstd's checksum, xz's CRC64, our XXH3).

use trees_delta::patch::{Error, lzma, vcdiff, xz, zstd};
use trees_testdata::Rng;

fn random_bytes(rng: &mut Rng, n: usize) -> Vec<u8> {
    let mut v = vec![0; n];
    rng.fill(&mut v);
    v
}

/// A `have` and a `want` with edits, insertions and a moved block.
fn pair(seed: u64, len: usize) -> (Vec<u8>, Vec<u8>) {
    let mut rng = Rng::new(seed);
    let have = random_bytes(&mut rng, len);
    let mut want = have.clone();
    for _ in 0..8 {
        let at = rng.below(want.len() as u64) as usize;
        let n = (rng.below(64) as usize).min(want.len() - at);
        want[at..at + n].copy_from_slice(&random_bytes(&mut rng, n));
    }
    let at = rng.below(want.len() as u64) as usize;
    want.splice(at..at, random_bytes(&mut rng, 300));
    let moved: Vec<u8> = have[..len / 4].to_vec();
    want.extend_from_slice(&moved);
    (have, want)
}

type Decode = fn(&[u8], &[u8], u64) -> Result<Vec<u8>, Error>;

fn formats(have: &[u8], want: &[u8]) -> Vec<(&'static str, Vec<u8>, Decode)> {
    let delta = trees_delta::diff(have, want).unwrap();
    let mut all = vec![
        (
            "zstd",
            zstd::encode(have, want, 19).unwrap(),
            zstd::decode as Decode,
        ),
        ("lzma", lzma::encode(have, want).unwrap(), lzma::decode),
        ("xz", xz::encode(&delta).unwrap(), xz::decode),
    ];
    match vcdiff::encode(have, want) {
        Ok(p) => all.push(("vcdiff", p, vcdiff::decode)),
        Err(e) => {
            assert!(have.is_empty() || want.is_empty(), "vcdiff: {e}");
            assert!(matches!(e, Error::Unsupported { .. }), "vcdiff: {e}");
        }
    }
    all
}

#[test]
fn every_format_round_trips_and_is_small() {
    for (seed, len) in [(1, 0), (2, 1), (3, 100), (4, 200_000)] {
        let len: usize = len;
        let (have, want) = pair(seed, len);
        for (name, p, decode) in formats(&have, &want) {
            let out =
                decode(&have, &p, want.len() as u64).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(out == want, "{name}: wrong bytes for len {len}");
            if len == 200_000 {
                assert!(
                    p.len() < 4_000,
                    "{name}: {} bytes for a few small edits",
                    p.len()
                );
            }
        }
    }
}

#[test]
fn empty_have_and_empty_want() {
    for (have, want) in [
        (vec![], b"new".to_vec()),
        (b"old".to_vec(), vec![]),
        (vec![], vec![]),
    ] {
        for (name, p, decode) in formats(&have, &want) {
            assert_eq!(decode(&have, &p, 1 << 20).unwrap(), want, "{name}");
        }
    }
}

#[test]
fn output_past_the_limit_is_refused() {
    let (have, want) = pair(5, 50_000);
    for (name, p, decode) in formats(&have, &want) {
        match decode(&have, &p, want.len() as u64 - 1) {
            Err(Error::OutputTooLarge { .. }) => {}
            // The bindings decode first and we count after: any refusal will do.
            Err(Error::Corrupt { .. }) if name == "vcdiff" => {}
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn damaged_patches_never_give_wrong_bytes() {
    let (have, want) = pair(6, 30_000);
    for (name, p, decode) in formats(&have, &want) {
        if name == "vcdiff" {
            // VCDIFF as the bindings write it has no checksum: the caller's id
            // check (silo apply) is what catches a flipped byte there.
            continue;
        }
        for at in 0..p.len() {
            for mask in [0x01u8, 0x80] {
                let mut bad = p.clone();
                bad[at] ^= mask;
                if let Ok(out) = decode(&have, &bad, 1 << 20) {
                    assert!(
                        out == want,
                        "{name}: byte {at} ^ {mask:#x} gave wrong bytes"
                    );
                }
            }
        }
        for len in 0..p.len() {
            if let Ok(out) = decode(&have, &p[..len], 1 << 20) {
                panic!(
                    "{name}: truncated to {len} bytes still decoded ({} bytes)",
                    out.len()
                );
            }
        }
    }
}

#[test]
fn a_patch_for_another_have_is_refused_or_caught() {
    let (have, want) = pair(7, 20_000);
    let (other, _) = pair(8, 20_000);
    for (name, p, decode) in formats(&have, &want) {
        match decode(&other, &p, 1 << 20) {
            // Neither VCDIFF nor a git delta names its source: the bytes come
            // out wrong, and the caller's id check refuses them.
            Ok(out) if name == "vcdiff" || name == "xz" => assert!(out != want, "{name}"),
            Ok(_) => panic!("{name}: decoded against another have"),
            Err(_) => {}
        }
    }
}

#[test]
fn lzma_refuses_a_header_that_asks_for_more_memory() {
    let (have, want) = pair(9, 1000);
    let mut p = lzma::encode(&have, &want).unwrap();
    p[5..9].copy_from_slice(&u32::MAX.to_le_bytes());
    let e = lzma::decode(&have, &p, 1 << 20).unwrap_err();
    assert!(e.to_string().contains("dictionary"), "{e}");
    p[9..17].copy_from_slice(&(1u64 << 60).to_le_bytes());
    assert!(matches!(
        lzma::decode(&have, &p, 1 << 20),
        Err(Error::OutputTooLarge { .. })
    ));
}

#[test]
fn too_large_pairs_are_refused_with_the_limit() {
    // Zeroed vectors are mapped lazily: these cost address space, not memory.
    let half = |limit: u64| vec![0u8; (limit / 2 + 1) as usize];
    let big = half(vcdiff::MAX_INPUT);
    let e = vcdiff::encode(&big, &big).unwrap_err();
    assert!(
        matches!(e, Error::TooLarge { .. }) && e.to_string().contains("limit"),
        "{e}"
    );
    let big = half(zstd::MAX_INPUT);
    assert!(matches!(
        zstd::encode(&big, &big, 1),
        Err(Error::TooLarge { .. })
    ));
    let big = half(lzma::MAX_INPUT);
    assert!(matches!(
        lzma::encode(&big, &big),
        Err(Error::TooLarge { .. })
    ));
}

/// Found by `scripts/fuzz.sh` (testdata/fuzz/patch/oom-46a7…): a zstd frame
/// header asking for a 2 GiB window. It is refused for its window, before
/// the window is allocated.
#[test]
fn a_zstd_frame_asking_for_a_huge_window_is_refused_before_allocating_it() {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/fuzz/patch/oom-46a7ca97713c64729c7fa0b2a235d799703d8ec8");
    let data = std::fs::read(p).unwrap();
    let have = vec![0u8; 4096];
    let e = zstd::decode(&have, &data[1..], 1 << 24).unwrap_err();
    assert!(e.to_string().contains("memory"), "{e}");
}
