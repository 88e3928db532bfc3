//! Zip archives made by the real tools (Python's `zipfile`, Info-ZIP's
//! `zip`) split into their members' data and a recipe (format 6) and
//! re-made byte for byte; each deflated member is re-made by
//! trees-deflate, and odd archives (a self-extractor's stub, bytes after
//! the directory, zip64, data descriptors, a comment) keep every byte.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use trees_split::any::AnyRecipe;
use trees_split::container::{self, InMemory};
use trees_split::pieces::{FORMAT_ZIP, Piece};

/// Source-like text, seeded: `len` bytes.
fn text(len: usize, seed: u64) -> Vec<u8> {
    let words = [
        "def ", "return ", "self", "import ", "class ", ":\n", "    ", "(", ")", ", ", "None",
        "if ", "else", "for ", " in ", "yield ", "\"\"\"", "# ", "0x7f", "\n",
    ];
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(words[(x % words.len() as u64) as usize].as_bytes());
    }
    out.truncate(len);
    out
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("{cmd:?} cannot run ({e}): scripts/install-deps.sh installs it")
    });
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A tree of files: text of several sizes, a subdirectory, an empty file.
fn tree(dir: &Path, seed: u64) {
    std::fs::create_dir_all(dir.join("pkg/sub")).unwrap();
    std::fs::write(dir.join("pkg/__init__.py"), text(3_000, seed)).unwrap();
    std::fs::write(dir.join("pkg/core.py"), text(70_000, seed + 1)).unwrap();
    std::fs::write(dir.join("pkg/sub/util.py"), text(9_000, seed + 2)).unwrap();
    std::fs::write(dir.join("pkg/empty.txt"), b"").unwrap();
    std::fs::write(dir.join("pkg/tiny.txt"), b"x\n").unwrap();
}

/// Python's zipfile writes `tree` to `out` with `args` (a Python literal
/// of keyword arguments for `ZipFile`) and `how` per member.
fn python_zip(dir: &Path, out: &Path, args: &str, how: &str) {
    let script = format!(
        r#"
import os, sys, zipfile
root = sys.argv[1]
with zipfile.ZipFile(sys.argv[2], "w", {args}) as z:
    for d, _, fs in sorted(os.walk(root)):
        for f in sorted(fs):
            p = os.path.join(d, f)
            name = os.path.relpath(p, root)
            {how}
"#
    );
    run(Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(dir)
        .arg(out));
}

/// Splits `x`, rebuilds it from the encoded recipe and the contents, and
/// returns the recipe's pieces.
fn round_trip(x: &[u8]) -> Vec<Piece> {
    let mut contents = InMemory::default();
    let recipe = container::split(x, &mut contents, 1 << 30).expect("split");
    assert_eq!(recipe.format, FORMAT_ZIP);
    let any = AnyRecipe::decode(&recipe.encode()).expect("decode");
    assert_eq!(any.rebuilt_len(), x.len() as u64);
    let joined: Vec<u8> = contents.0.concat();
    let mut out = Vec::new();
    any.rebuild(&mut &joined[..], &mut out, 1 << 30)
        .expect("rebuild");
    assert!(out == x, "the rebuilt zip differs");
    recipe.pieces
}

fn deflated(pieces: &[Piece]) -> usize {
    pieces
        .iter()
        .filter(|p| matches!(p, Piece::Deflate { .. }))
        .count()
}

#[test]
fn zips_made_by_python_at_every_level_are_re_made_member_by_member() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    tree(&src, 3);
    let z = tmp.path().join("z.zip");
    for level in [1, 6, 9] {
        python_zip(
            &src,
            &z,
            &format!("compression=zipfile.ZIP_DEFLATED, compresslevel={level}"),
            "z.write(p, name)",
        );
        let pieces = round_trip(&std::fs::read(&z).unwrap());
        // Five members, deflated (Python deflates the empty file to 2 bytes).
        assert_eq!(deflated(&pieces), 5, "level {level}: {pieces:?}");
    }
    python_zip(
        &src,
        &z,
        "compression=zipfile.ZIP_STORED",
        "z.write(p, name)",
    );
    let pieces = round_trip(&std::fs::read(&z).unwrap());
    assert_eq!(deflated(&pieces), 0);
    // Streamed members (data descriptors), a comment, zip64 records.
    python_zip(
        &src,
        &z,
        "compression=zipfile.ZIP_DEFLATED",
        r#"
            with open(p, "rb") as src, z.open(name, "w", force_zip64=True) as dst:
                dst.write(src.read())
    z.comment = b"made for the tests"
"#,
    );
    let pieces = round_trip(&std::fs::read(&z).unwrap());
    assert_eq!(deflated(&pieces), 5);
}

#[test]
fn zips_made_by_info_zip_and_odd_framing_are_re_made() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    tree(&src, 7);
    for level in ["-0", "-1", "-6", "-9"] {
        let z = tmp.path().join(format!("z{level}.zip"));
        run(Command::new("zip")
            .current_dir(&src)
            .args(["-q", "-r", "-X", level])
            .arg(&z)
            .arg("pkg"));
        let x = std::fs::read(&z).unwrap();
        let pieces = round_trip(&x);
        assert_eq!(deflated(&pieces) > 0, level != "-0", "{level}: {pieces:?}");
        if level == "-9" {
            // A self-extractor's stub before it: its head is not a zip's,
            // so it is stored whole. Bytes after the end record are kept.
            let mut sfx = text(1_000, 9);
            sfx.extend_from_slice(&x);
            let mut contents = InMemory::default();
            assert!(container::split(&sfx, &mut contents, 1 << 30).is_err());
            let mut trailing = x.clone();
            trailing.extend_from_slice(b"signature block after the archive");
            round_trip(&trailing);
        }
    }
}

#[test]
fn a_member_of_another_method_or_a_lying_stream_is_kept_as_it_is() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    tree(&src, 11);
    let z = tmp.path().join("z.zip");
    python_zip(
        &src,
        &z,
        "compression=zipfile.ZIP_BZIP2",
        "z.write(p, name)",
    );
    let pieces = round_trip(&std::fs::read(&z).unwrap());
    assert_eq!(deflated(&pieces), 0, "bzip2 members are kept whole");
    assert!(pieces.iter().any(|p| matches!(p, Piece::Stored { .. })));
    // A truncated zip has no end record: stored whole.
    let x = std::fs::read(&z).unwrap();
    let mut contents = InMemory::default();
    assert!(container::split(&x[..x.len() / 2], &mut contents, 1 << 30).is_err());
}

#[test]
fn a_wheel_built_by_pip_and_a_jar_are_re_made() {
    let tmp = tempfile::tempdir().unwrap();
    let proj = tmp.path().join("proj");
    tree(&proj, 13);
    std::fs::write(
        proj.join("pyproject.toml"),
        "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n\
         [project]\nname = \"tinypkg\"\nversion = \"1.0\"\n\
         [tool.setuptools]\npackages = [\"pkg\", \"pkg.sub\"]\n",
    )
    .unwrap();
    let out = tmp.path().join("wheels");
    // As a project's CI builds it: pip, setuptools' backend, no network.
    run(Command::new("python3")
        .args([
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
        ])
        .arg(&out)
        .arg(&proj));
    let whl = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .expect("pip wheel wrote a wheel");
    let pieces = round_trip(&std::fs::read(&whl).unwrap());
    assert!(deflated(&pieces) >= 4, "{pieces:?}");

    // A jar: the JDK's `jar` where there is one (this machine kind has
    // it); else Info-ZIP's zip of the same tree with a manifest first,
    // which is what a jar is.
    let jar = tmp.path().join("t.jar");
    std::fs::create_dir_all(proj.join("META-INF")).unwrap();
    std::fs::write(
        proj.join("META-INF/MANIFEST.MF"),
        "Manifest-Version: 1.0\r\n\r\n",
    )
    .unwrap();
    if Command::new("jar").arg("--version").output().is_ok() {
        run(Command::new("jar")
            .arg("cf")
            .arg(&jar)
            .arg("-C")
            .arg(&proj)
            .arg("pkg"));
    } else {
        eprintln!("no `jar` on PATH: the jar is made by zip");
        run(Command::new("zip")
            .current_dir(&proj)
            .args(["-q", "-r", "-X"])
            .arg(&jar)
            .args(["META-INF/MANIFEST.MF", "pkg"]));
    }
    let pieces = round_trip(&std::fs::read(&jar).unwrap());
    assert!(deflated(&pieces) >= 4, "{pieces:?}");
}

#[test]
fn a_zip_of_70000_members_has_zip64_records_and_is_re_made() {
    let tmp = tempfile::tempdir().unwrap();
    let z = tmp.path().join("many.zip");
    // Stored members keep it quick: the count, not the codec, is tested.
    let script = r#"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_STORED) as z:
    for i in range(70000):
        z.writestr("m/%05d.txt" % i, b"member %d\n" % i)
    z.writestr(zipfile.ZipInfo("deflated.txt"), b"deflated " * 500, zipfile.ZIP_DEFLATED)
"#;
    run(Command::new("python3").arg("-c").arg(script).arg(&z));
    let x = std::fs::read(&z).unwrap();
    let archive = trees_split::zip::parse(&x).unwrap();
    assert!(
        archive.zip64,
        "more than 65,535 members need the zip64 end record"
    );
    assert_eq!(archive.members.len(), 70_001);
    let pieces = round_trip(&x);
    assert_eq!(deflated(&pieces), 1);
    // Listed from the recipe alone, as `silo ls` does.
    let mut contents = InMemory::default();
    let recipe = container::split(&x, &mut contents, 1 << 30).unwrap();
    let entries = trees_split::zip::listing::of_recipe(&recipe, 1 << 30).unwrap();
    assert_eq!(entries.len(), 70_001);
    let e = trees_split::zip::listing::find(&entries, "m/69999.txt").unwrap();
    let trees_split::zip::listing::Data::Content { index, .. } = e.data else {
        panic!("a member with data names its content");
    };
    assert_eq!(contents.0[index], b"member 69999\n");
}
