//! xz, zstd and `.deb` files made by the real tools (`xz`, Python's
//! `lzma`, `zstd`, `dpkg-deb`) split into contents and a recipe and
//! re-made byte for byte; a file no setting re-makes is refused by name.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use trees_split::any::AnyRecipe;
use trees_split::container::{self, InMemory, Refusal};

/// Text-like data that compresses as source does: words from a small
/// vocabulary in a seeded order, so every run makes the same bytes.
fn corpus(len: usize, seed: u64) -> Vec<u8> {
    let words = [
        "fn ", "let ", "mut ", "self", "return ", "match ", "{\n", "}\n", "(", ")", "; ",
        "struct ", "impl ", "pub ", "use ", "crate::", "io", "Result", "Vec<u8>", "0x7f", "\n    ",
    ];
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(words[(x % words.len() as u64) as usize].as_bytes());
        if x.is_multiple_of(97) {
            out.extend_from_slice(format!("{x:x}").as_bytes());
        }
    }
    out.truncate(len);
    out
}

fn tool(name: &str) {
    let ok = Command::new(name).arg("--version").output().is_ok();
    assert!(ok, "{name} is missing: scripts/install-deps.sh installs it");
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().expect("run the tool");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Compresses `data` with `cmd` reading a file (as users do), returns the bytes.
fn made_by(dir: &Path, data: &[u8], prog: &str, args: &[&str]) -> Vec<u8> {
    let input = dir.join("input");
    std::fs::write(&input, data).unwrap();
    run(Command::new(prog).args(args).arg("-c").arg(&input))
}

/// Splits `x`, checks the contents, rebuilds, compares. Returns the recipe.
fn round_trip(x: &[u8], want_contents: Option<&[&[u8]]>) -> AnyRecipe {
    let mut contents = InMemory::default();
    let recipe = container::split(x, &mut contents, 1 << 30).expect("split");
    if let Some(want) = want_contents {
        assert_eq!(contents.0.len(), want.len());
        for (got, want) in contents.0.iter().zip(want) {
            assert!(got == want, "a content differs");
        }
    }
    let bytes = recipe.encode();
    let any = AnyRecipe::decode(&bytes).expect("decode");
    assert_eq!(
        any.content_lens(),
        contents
            .0
            .iter()
            .map(|c| c.len() as u64)
            .collect::<Vec<_>>()
    );
    assert_eq!(any.rebuilt_len(), x.len() as u64);
    let joined: Vec<u8> = contents.0.concat();
    let mut out = Vec::new();
    any.rebuild(&mut &joined[..], &mut out, 1 << 30)
        .expect("rebuild");
    assert!(out == x, "rebuilt bytes differ");
    any
}

#[test]
fn xz_files_made_by_xz_and_python_are_re_made() {
    tool("xz");
    let dir = tempfile::tempdir().unwrap();
    let data = corpus(700_000, 1);
    let cases: &[&[&str]] = &[
        &["-0", "-T1"],
        &["-6", "-T1"],
        &["-9", "-T1"],
        &["-9e", "-T1"],
        &["-6", "-T0"],
        &["-6", "-T2", "--block-size=200KiB"],
        &["-6", "-T1", "--check=none"],
        &["-6", "-T1", "--check=crc32"],
        &["-6", "-T1", "--check=crc64"],
        &["-6", "-T1", "--check=sha256"],
    ];
    for args in cases {
        let x = made_by(dir.path(), &data, "xz", args);
        let r = round_trip(&x, Some(&[&data]));
        assert_eq!(r.format(), 2, "{args:?}");
    }
    // Blocks cut by the single-threaded encoder at --block-size (full
    // barriers, no sizes in the headers) are not re-made yet: refused by
    // name, so the file is stored whole.
    let x = made_by(
        dir.path(),
        &data,
        "xz",
        &["-6", "-T1", "--block-size=300KiB"],
    );
    let e = container::split(&x, &mut InMemory::default(), 1 << 30).unwrap_err();
    assert!(
        matches!(e, container::Error::Refused(Refusal::NotRemade(_))),
        "{e:?}"
    );
    // Two streams back to back, and stream padding after each.
    let a = made_by(dir.path(), &data[..300_000], "xz", &["-6", "-T1"]);
    let b = made_by(dir.path(), &data[300_000..], "xz", &["-3", "-T2"]);
    let mut x = a.clone();
    x.extend(&b);
    round_trip(&x, Some(&[&data]));
    let mut x = a;
    x.extend([0u8; 8]);
    x.extend(&b);
    x.extend([0u8; 4]);
    round_trip(&x, Some(&[&data]));
    // Python's lzma module (liblzma's easy encoder, preset 6).
    tool("python3");
    std::fs::write(dir.path().join("input"), &data).unwrap();
    let x = run(Command::new("python3").arg("-c").arg(
        "import lzma,sys; sys.stdout.buffer.write(lzma.compress(open(sys.argv[1],'rb').read()))",
    ).arg(dir.path().join("input")));
    round_trip(&x, Some(&[&data]));
}

#[test]
fn a_block_larger_than_the_probe_is_found_from_its_head() {
    tool("xz");
    let dir = tempfile::tempdir().unwrap();
    let data = corpus(6 << 20, 2);
    let x = made_by(dir.path(), &data, "xz", &["-1", "-T1"]);
    round_trip(&x, None);
}

#[test]
fn zstd_files_made_by_the_zstd_cli_are_re_made() {
    tool("zstd");
    let dir = tempfile::tempdir().unwrap();
    let data = corpus(700_000, 3);
    for args in [
        &["-1"][..],
        &["-3"],
        &["-19"],
        &["--long", "-3"],
        &["-T0", "-3"],
    ] {
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["-q", "-f"]);
        let x = made_by(dir.path(), &data, "zstd", &a);
        let r = round_trip(&x, Some(&[&data]));
        assert_eq!(r.format(), 3, "{args:?}");
    }
}

#[test]
fn a_frame_no_setting_re_makes_is_refused_by_name() {
    // A frame of raw blocks only, as another encoder may write: valid
    // zstd that libzstd never makes from this text.
    let data = corpus(1000, 4);
    let mut x = trees_split::zstd::MAGIC.to_vec();
    // Frame header: single segment, 2-byte content size.
    x.push(0x60);
    x.extend_from_slice(&((data.len() - 256) as u16).to_le_bytes());
    let bh = (data.len() as u32) << 3 | 1; // raw, last
    x.extend_from_slice(&bh.to_le_bytes()[..3]);
    x.extend_from_slice(&data);
    let mut contents = InMemory::default();
    match container::split(&x, &mut contents, 1 << 30) {
        Err(container::Error::Refused(Refusal::NotRemade(why))) => {
            assert!(why.contains("libzstd 1.5.4"), "{why}");
        }
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn a_frame_of_another_libzstd_is_stored_whole_with_the_reason() {
    let x = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/zst/libzstd-1.4.8-level-3.zst"),
    )
    .unwrap();
    match container::split(&x, &mut InMemory::default(), 1 << 30) {
        Err(container::Error::Refused(Refusal::NotRemade(why))) => {
            assert!(
                why.contains("none of 44 settings of libzstd 1.5.4"),
                "{why}"
            );
        }
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn the_linked_libzstd_is_the_pinned_one() {
    assert_eq!(
        trees_split::zstd::lib_version(),
        trees_split::zstd::LIB_VERSION
    );
}

fn deb(dir: &Path, compression: &str, data: &[u8]) -> Vec<u8> {
    let root = dir.join(format!("pkg-{compression}"));
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(root.join("usr/share/demo")).unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        "Package: demo\nVersion: 1.0\nArchitecture: all\nMaintainer: Nobody <nobody@example.invalid>\nDescription: a test package\n",
    )
    .unwrap();
    std::fs::write(root.join("usr/share/demo/data.txt"), data).unwrap();
    let out = dir.join(format!("demo-{compression}.deb"));
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Z", compression, "--build"])
        .arg(&root)
        .arg(&out)
        .env("SOURCE_DATE_EPOCH", "1700000000"));
    std::fs::read(out).unwrap()
}

#[test]
fn debs_built_by_dpkg_deb_are_re_made_member_by_member() {
    tool("dpkg-deb");
    let dir = tempfile::tempdir().unwrap();
    let data = corpus(400_000, 5);
    for z in ["xz", "zstd", "gzip", "none"] {
        let x = deb(dir.path(), z, &data);
        let r = round_trip(&x, None);
        assert_eq!(r.format(), 4, "{z}");
        let AnyRecipe::Pieces(p) = &r else {
            panic!("{z}: not a general recipe")
        };
        // data.tar is a content of its own (control.tar.* too when it is
        // over 1 KiB), re-made by its codec; with -Znone stored as it is.
        let stored = p
            .pieces
            .iter()
            .filter(|p| matches!(p, trees_split::pieces::Piece::Stored { .. }))
            .count();
        assert!(!p.contents.is_empty(), "{z}");
        assert_eq!(
            stored == p.contents.len(),
            z == "none",
            "{z}: {:?}",
            p.pieces
        );
    }
}

#[test]
fn an_xz_stream_that_declares_a_huge_dictionary_is_refused_by_the_memory_bound() {
    tool("xz");
    let dir = tempfile::tempdir().unwrap();
    let data = corpus(100_000, 6);
    let mut x = made_by(dir.path(), &data, "xz", &["-6", "-T1"]);
    // The first block header: its LZMA2 properties byte (dictionary) set to
    // 36 (1 GiB), its CRC32 made right again.
    let hsize = (usize::from(x[12]) + 1) * 4;
    let props = 12 + 4;
    assert_eq!(x[12 + 2], 0x21, "the LZMA2 filter id");
    x[props] = 36;
    let crc = crc32(&x[12..12 + hsize - 4]);
    x[12 + hsize - 4..12 + hsize].copy_from_slice(&crc.to_le_bytes());
    match container::split(&x, &mut InMemory::default(), 2 << 30) {
        Err(container::Error::Refused(Refusal::OverMemory(why))) => {
            assert!(why.contains("MiB"), "{why}")
        }
        other => panic!("not refused by the memory bound: {other:?}"),
    }
    // A recipe that asks for more encoder memory than allowed is refused
    // before any encoder is made.
    let ok = made_by(dir.path(), &data, "xz", &["-9", "-T1"]);
    let mut contents = InMemory::default();
    let r = container::split(&ok, &mut contents, 2 << 30).unwrap();
    let any = AnyRecipe::Pieces(r);
    let e = any
        .rebuild(&mut &contents.0.concat()[..], &mut Vec::new(), 100 << 20)
        .unwrap_err();
    assert!(e.to_string().contains("over the 100 MiB allowed"), "{e}");
}

fn crc32(b: &[u8]) -> u32 {
    let mut c = !0u32;
    for &x in b {
        c ^= u32::from(x);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xedb8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}
