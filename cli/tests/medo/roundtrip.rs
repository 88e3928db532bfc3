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

/// Asserts that `diff -r` finds no difference between `a` and `b`.
fn same_tree(a: &Path, b: &Path, what: &str) {
    let diff = Command::new("diff")
        .arg("-r")
        .arg(a)
        .arg(b)
        .output()
        .expect("diff is required by this test");
    assert!(
        diff.status.success(),
        "{what}: the tree differs: {}",
        String::from_utf8_lossy(&diff.stdout)
    );
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
        same_tree(dir, &dest, "expanded");
        ok(medo, &[&"verify", ptr, &dest]);
    }
}

/// Starts `silo ARGS` stopped at crash point `at` (`SILO_PAUSE_AT`);
/// returns it once it says so, or `None` if it ended before.
fn paused(silo: &str, args: &[&str], at: u64) -> Option<std::process::Child> {
    use std::io::BufRead;
    let mut child = super::runner::command(silo)
        .args(args)
        .env("SILO_PAUSE_AT", at.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let found = lines.any(|l| l.is_ok_and(|l| l.contains("paused at crash point")));
    std::thread::spawn(move || for _ in lines {});
    if found {
        Some(child)
    } else {
        assert!(child.wait().unwrap().success());
        None
    }
}

/// `medo expand` through a SILO.json `s3` entry at every crash point of a
/// full repack and then of a gc of the bucket: every tree comes out exact.
#[test]
fn expand_from_a_bucket_at_every_step_of_a_repack_and_a_gc() {
    use std::io::Write;
    let (medo, silo) = (env!("CARGO_BIN_EXE_medo"), env!("CARGO_BIN_EXE_silo"));
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/example");
    // One bucket and medo directory per step; returns the trees added.
    let fixture = |tmp: &Path| -> (String, Vec<(std::path::PathBuf, std::path::PathBuf)>) {
        let store = super::moto::silo_url();
        ok(silo, &[&"init", &store]);
        let m = tmp.join("m.medo");
        std::fs::create_dir_all(&m).unwrap();
        std::fs::write(
            m.join("SILO.json"),
            format!(r#"{{"silos": [{{"s3": "{store}"}}]}}"#),
        )
        .unwrap();
        let mut trees = Vec::new();
        for v in ["1.0.0", "1.1.0"] {
            let dir = tmp.join(format!("src-{v}"));
            std::fs::create_dir_all(&dir).unwrap();
            let file = std::fs::File::open(example.join(format!("demo-{v}.tar"))).unwrap();
            tar::Archive::new(file).unpack(&dir).unwrap();
            let ptr = m.join(format!("demo-{v}.treeptr"));
            ok(medo, &[&"add", &"--silo", &store, &dir, &ptr]);
            trees.push((dir, ptr));
        }
        (store, trees)
    };
    let expand_all = |tmp: &Path, trees: &[(std::path::PathBuf, std::path::PathBuf)], at: u64| {
        for (k, (dir, ptr)) in trees.iter().enumerate() {
            let dest = tmp.join(format!("out-{at}-{k}"));
            ok(medo, &[&"expand", ptr, &dest]);
            same_tree(dir, &dest, &format!("expanded at point {at}"));
        }
    };
    for command in ["repack", "gc"] {
        let mut at = 1;
        loop {
            let tmp = trees_oracle::tempdir().unwrap();
            let (store, trees) = fixture(tmp.path());
            let mut args = vec![command.to_owned(), store.clone()];
            if command == "gc" {
                ok(silo, &[&"repack", &store]);
                let live = tmp.path().join("live.txt");
                std::fs::write(&live, ok(medo, &[&"reachable", &tmp.path().join("m.medo")]))
                    .unwrap();
                args.extend([
                    "--reachable".into(),
                    live.to_string_lossy().into_owned(),
                    "--grace".into(),
                    "0".into(),
                ]);
            } else {
                args.push("--full".into());
            }
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            let Some(mut child) = paused(silo, &a, at) else {
                assert!(at > 3, "{command} has only {} crash points", at - 1);
                break;
            };
            expand_all(tmp.path(), &trees, at);
            child.stdin.take().unwrap().write_all(b"\n").unwrap();
            assert!(
                child.wait().unwrap().success(),
                "{command} paused at {at} failed"
            );
            expand_all(tmp.path(), &trees, at + 1000);
            at += 1;
        }
    }
}
