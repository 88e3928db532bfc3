//! `silo repack`: one pack that git accepts, every object intact.

use std::path::Path;

use super::cli::{add, git, new_silo, silo_ok, testdata_files};

fn packs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().unwrap() == "idx")
        .collect();
    v.sort();
    v
}

#[test]
fn repack_makes_one_pack_that_git_accepts() {
    let (tmp, dir) = new_silo();
    let files = testdata_files();
    let ids = add(&dir, &files);
    let report: serde_json::Value =
        serde_json::from_slice(&silo_ok(&[&"repack", &dir, &"--json"])).unwrap();
    assert_eq!(report["objects"].as_u64(), Some(files.len() as u64));
    assert!(
        report["deltas"].as_u64().unwrap() >= 3,
        "the four example releases delta: {report}"
    );
    assert!(report["after_bytes"].as_u64() < report["before_bytes"].as_u64());
    let idx = packs(&dir);
    assert_eq!(idx.len(), 1);
    assert!(
        !dir.join("objects")
            .read_dir()
            .unwrap()
            .any(|e| e.unwrap().path().is_dir())
    );
    let out = String::from_utf8(git(
        tmp.path(),
        &["verify-pack", "-v", idx[0].to_str().unwrap()],
    ))
    .unwrap();
    assert!(out.contains("chain length = 1"), "{out}");
    // git writes the same idx for our pack.
    let copy = tmp.path().join("copy.idx");
    git(
        tmp.path(),
        &[
            "index-pack",
            "-o",
            copy.to_str().unwrap(),
            idx[0].with_extension("pack").to_str().unwrap(),
        ],
    );
    assert!(
        std::fs::read(&copy).unwrap() == std::fs::read(&idx[0]).unwrap(),
        "git's idx differs from ours"
    );
    for (f, id) in files.iter().zip(&ids) {
        assert!(
            silo_ok(&[&"cat", &dir, id]) == std::fs::read(f).unwrap(),
            "{}",
            f.display()
        );
    }
}

#[test]
fn repack_of_a_repacked_silo_writes_nothing_and_new_blobs_merge_in() {
    let (_tmp, dir) = new_silo();
    let files = testdata_files();
    let (first, rest) = files.split_at(4);
    add(&dir, first);
    silo_ok(&[&"repack", &dir]);
    let one = packs(&dir);
    let again: serde_json::Value =
        serde_json::from_slice(&silo_ok(&[&"repack", &dir, &"--json"])).unwrap();
    assert!(again["pack"].is_null(), "{again}");
    assert_eq!(packs(&dir), one);
    // New loose blobs and the old pack become one new pack.
    let ids = add(&dir, rest);
    silo_ok(&[&"repack", &dir]);
    let two = packs(&dir);
    assert_eq!(two.len(), 1);
    assert_ne!(two, one);
    for (f, id) in rest.iter().zip(&ids) {
        assert!(silo_ok(&[&"cat", &dir, id]) == std::fs::read(f).unwrap());
    }
    assert!(
        String::from_utf8(silo_ok(&[&"verify", &dir]))
            .unwrap()
            .contains(&format!("({} objects): ok", files.len()))
    );
}

#[test]
fn a_held_lock_makes_a_second_repack_fail_clearly() {
    let (_tmp, dir) = new_silo();
    add(&dir, &testdata_files());
    let _held = trees_silo::lock::Lock::exclusive(dir.join("silo.lock"), false).unwrap();
    let out = super::cli::silo(&[&"repack", &dir]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("held by another repack"));
}

#[test]
fn max_depth_bounds_the_chains() {
    let (_tmp, dir) = new_silo();
    let tmp = tempfile::tempdir().unwrap();
    let mut o = trees_testdata::Options::small(11);
    o.releases = 8;
    let mut files = Vec::new();
    for r in trees_testdata::series("deep", &o) {
        let p = tmp.path().join(&r.file_name);
        std::fs::write(&p, &r.tar).unwrap();
        files.push(p);
    }
    add(&dir, &files);
    let report: serde_json::Value = serde_json::from_slice(&silo_ok(&[
        &"repack",
        &dir,
        &"--max-depth",
        &"2",
        &"--json",
    ]))
    .unwrap();
    assert!(report["max_depth"].as_u64().unwrap() <= 2, "{report}");
    assert!(report["deltas"].as_u64().unwrap() >= 4, "{report}");
}
