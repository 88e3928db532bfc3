//! The whole round trip as a user runs it: `medo add` three releases,
//! `silo repack`, `medo reachable` after one treeptr is removed,
//! `silo gc --grace 0`: the removed blob is gone, `silo du` shows the bytes
//! freed, and `medo expand` of the others reproduces their trees exactly.
//! One test body, two stores: a directory and a bucket (moto's S3 server).

use std::path::Path;
use std::process::{Command, Output};

fn run(bin: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    super::runner::command(bin)
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .unwrap()
}

fn ok(bin: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<u8> {
    let out = run(bin, args);
    assert!(
        out.status.success(),
        "{bin} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Bytes of the silo's files (`du --json`), which any freed object lowers
/// (disk blocks of 4 KiB may hide a small delta).
fn file_bytes(silo: &str, dir: &str) -> u64 {
    let v: serde_json::Value =
        serde_json::from_slice(&ok(silo, &[&"du", &dir, &"--json"])).unwrap();
    v["all"]["apparent_bytes"].as_u64().unwrap()
}

#[test]
fn add_repack_reachable_gc_expand_in_a_directory() {
    let tmp = trees_oracle::tempdir().unwrap();
    let store = tmp.path().join("deps.silo");
    round_trip(
        &tmp,
        &store.to_string_lossy(),
        r#"{"silos": [{"path": "../deps.silo"}]}"#,
    );
}

#[test]
fn add_repack_reachable_gc_expand_in_a_bucket() {
    let tmp = trees_oracle::tempdir().unwrap();
    let store = super::moto::silo_url();
    round_trip(
        &tmp,
        &store,
        &format!(r#"{{"silos": [{{"s3": "{store}"}}]}}"#),
    );
}

fn round_trip(tmp: &trees_oracle::TempDir, store: &str, silo_json: &str) {
    let (medo, silo) = (env!("CARGO_BIN_EXE_medo"), env!("CARGO_BIN_EXE_silo"));
    ok(silo, &[&"init", &store]);
    let m = tmp.path().join("source.medo");
    std::fs::create_dir(&m).unwrap();
    std::fs::write(m.join("SILO.json"), silo_json).unwrap();

    // Three releases as directories, from the committed example tars.
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/example");
    let mut trees = Vec::new();
    let mut ids = Vec::new();
    for v in ["1.0.0", "1.1.0", "1.2.0"] {
        let dir = tmp.path().join(format!("src-{v}"));
        std::fs::create_dir(&dir).unwrap();
        let file = std::fs::File::open(example.join(format!("demo-{v}.tar"))).unwrap();
        tar::Archive::new(file).unpack(&dir).unwrap();
        let ptr = m.join(format!("demo-{v}.treeptr"));
        let url = format!("https://example.org/demo-{v}.tgz");
        let out = String::from_utf8(ok(
            medo,
            &[&"add", &"--silo", &store, &dir, &ptr, &"--url", &url],
        ))
        .unwrap();
        ids.push(out.split_whitespace().next().unwrap().to_string());
        trees.push((dir, ptr));
    }
    ok(silo, &[&"repack", &store]);

    // Release 1.0.0 is dropped from the medo directory.
    std::fs::remove_file(&trees[0].1).unwrap();
    let reachable = ok(medo, &[&"reachable", &m]);
    let live: Vec<&str> = std::str::from_utf8(&reachable).unwrap().lines().collect();
    let mut want = vec![ids[1].as_str(), ids[2].as_str()];
    want.sort_unstable();
    assert_eq!(live, want);
    let list = tmp.path().join("reachable.txt");
    std::fs::write(&list, &reachable).unwrap();

    let before = file_bytes(silo, store);
    let report: serde_json::Value = serde_json::from_slice(&ok(
        silo,
        &[
            &"gc",
            &store,
            &"--reachable",
            &list,
            &"--grace",
            &"0",
            &"--json",
        ],
    ))
    .unwrap();
    let after = file_bytes(silo, store);
    assert!(
        after < before,
        "gc freed nothing: {before} -> {after}: {report}"
    );
    assert_eq!(report["packs_rewritten"].as_u64(), Some(1), "{report}");
    assert_eq!(
        run(silo, &[&"cat", &store, &ids[0]]).status.code(),
        Some(2),
        "the dropped blob is still there"
    );
    ok(silo, &[&"verify", &store]);

    // The others expand to exactly the trees they came from.
    for (dir, ptr) in &trees[1..] {
        let dest = tmp.path().join(format!(
            "out-{}",
            ptr.file_stem().unwrap().to_string_lossy()
        ));
        ok(medo, &[&"expand", ptr, &dest]);
        let diff = Command::new("diff")
            .arg("-r")
            .arg(dir)
            .arg(&dest)
            .output()
            .expect("diff is required by this test");
        assert!(
            diff.status.success(),
            "expanded tree differs: {}",
            String::from_utf8_lossy(&diff.stdout)
        );
        ok(medo, &[&"verify", ptr, &dest]);
    }
}
