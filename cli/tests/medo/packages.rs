//! `.tar.xz`, `.tar.zst` and `.deb` blobs: `medo add` records their
//! format, `medo expand` unpacks them (a `.deb` as its data member, as
//! `dpkg-deb -x` does) whether they are loose or stored split, and a split
//! one from its content without re-making the compression.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::cli::{Fixture, RawTar, medo_ok};

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} is required by this test and could not be run: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A release's tar: 40 files, the eighth differing between releases.
fn release(v: usize) -> Vec<u8> {
    let mut tar = RawTar::new();
    for i in 0..40 {
        let release = if i == 7 { v } else { 0 };
        // Numbers that compress as source does, not to nothing: the
        // packages' data members are over the 1 KiB kept in a recipe.
        let words: String = (0..120u64)
            .map(|j| {
                format!(
                    "{:x} ",
                    (i as u64 * 7919 + j).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40
                )
            })
            .collect();
        let body = format!("release {release}, file {i}: {words}\n");
        tar = tar.file(&format!("src/f{i}.txt"), body.as_bytes());
    }
    tar.finish()
}

/// The downloads of release `v`: a `.tar.xz`, a `.tar.zst` and a `.deb`.
fn downloads(dir: &Path, v: usize) -> Vec<PathBuf> {
    let tar = dir.join(format!("r{v}.tar"));
    std::fs::write(&tar, release(v)).unwrap();
    let xz = dir.join(format!("r{v}.tar.xz"));
    std::fs::write(
        &xz,
        run(Command::new("xz").args(["-6", "-T1", "-c"]).arg(&tar)),
    )
    .unwrap();
    let zst = dir.join(format!("r{v}.tar.zst"));
    std::fs::write(
        &zst,
        run(Command::new("zstd").args(["-q", "-19", "-c"]).arg(&tar)),
    )
    .unwrap();
    let root = dir.join(format!("root{v}"));
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    run(Command::new("tar")
        .arg("-xf")
        .arg(&tar)
        .arg("-C")
        .arg(&root));
    std::fs::write(
        root.join("DEBIAN/control"),
        format!(
            "Package: demo\nVersion: 1.{v}\nArchitecture: all\n\
             Maintainer: Nobody <nobody@example.invalid>\nDescription: a test package\n"
        ),
    )
    .unwrap();
    let deb = dir.join(format!("demo_1.{v}_all.deb"));
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zxz", "--build"])
        .arg(&root)
        .arg(&deb)
        .env("SOURCE_DATE_EPOCH", "1700000000"));
    vec![xz, zst, deb]
}

fn expand(f: &Fixture, dest: &Path, worker: Option<&str>) {
    let mut cmd = super::runner::command(env!("CARGO_BIN_EXE_medo"));
    cmd.args(["expand", f.medo.to_str().unwrap(), dest.to_str().unwrap()]);
    if let Some(w) = worker {
        cmd.env("TREES_REBUILD_WORKER", w);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn check_trees(dest: &Path) {
    for v in 0..3 {
        for (name, top) in [
            (format!("r{v}.tar.xz"), "src"),
            (format!("r{v}.tar.zst"), "src"),
            (format!("demo_1.{v}_all.deb"), "src"),
        ] {
            let got = std::fs::read_to_string(dest.join(&name).join(top).join("f7.txt"))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                got.starts_with(&format!("release {v}, file 7: ")),
                "{name}: {got}"
            );
        }
    }
}

#[test]
fn tar_xz_tar_zst_and_deb_blobs_expand_loose_and_split_without_rebuilding() {
    let f = Fixture::new();
    for v in 0..3 {
        for file in downloads(f.tmp.path(), v) {
            let name = file.file_name().unwrap().to_str().unwrap().to_owned();
            let treeptr = f.medo.join(format!("{name}.treeptr"));
            medo_ok(&[&"add", &"--silo", &f.silo, &file, &treeptr]);
            let t: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&treeptr).unwrap()).unwrap();
            let want = if name.ends_with(".deb") {
                "deb"
            } else if name.ends_with(".xz") {
                "txz"
            } else {
                "tzst"
            };
            assert_eq!(t["format"], want, "{name}");
        }
    }
    // Loose: decompressed as they are read.
    let loose = f.path("loose");
    expand(&f, &loose, None);
    check_trees(&loose);

    let report = super::cli::silo_ok(&[&"repack", &f.silo, &"--json"]);
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let by = &report["split"]["by_format"];
    assert_eq!(
        (&by["xz"], &by["zstd"], &by["ar"]),
        (&3.into(), &3.into(), &3.into()),
        "{}",
        report["split"]
    );
    // Split: unpacked from the contents, with a worker that always fails.
    let split = f.path("split");
    expand(&f, &split, Some("/bin/false"));
    check_trees(&split);
    medo_ok(&[&"verify", &f.medo, &split]);
}
