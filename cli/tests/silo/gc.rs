//! `silo gc`: removes what is unreachable and old, never anything reachable.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::cli::{add, git, new_silo, silo, silo_ok};

/// Five releases of one family and a stranger, as files in `dir`.
pub fn releases(dir: &Path, seed: u64, n: usize) -> Vec<PathBuf> {
    let mut o = trees_testdata::Options::small(seed);
    o.releases = n;
    let mut files: Vec<PathBuf> = trees_testdata::series("gc", &o)
        .into_iter()
        .map(|r| {
            let p = dir.join(&r.file_name);
            std::fs::write(&p, &r.tar).unwrap();
            p
        })
        .collect();
    let s = dir.join("stranger.bin");
    std::fs::write(&s, trees_testdata::random_bytes(seed, 50_000)).unwrap();
    files.push(s);
    files
}

fn reachable_file(dir: &Path, ids: &[&String]) -> PathBuf {
    let p = dir.join("reachable.txt");
    std::fs::write(&p, ids.iter().map(|i| format!("{i}\n")).collect::<String>()).unwrap();
    p
}

fn du_bytes(dir: &Path) -> u64 {
    let v: serde_json::Value = serde_json::from_slice(&silo_ok(&[&"du", &dir, &"--json"])).unwrap();
    v["objects"]["disk_bytes"].as_u64().unwrap() + v["pack"]["disk_bytes"].as_u64().unwrap()
}

/// The base trap: the largest release is the whole root every other
/// release is a delta against; it becomes unreachable, and all the others
/// must survive gc byte-identical.
#[test]
fn reachable_deltas_of_an_unreachable_base_survive() {
    let (tmp, dir) = new_silo();
    let files = releases(tmp.path(), 31, 5);
    let ids = add(&dir, &files);
    silo_ok(&[&"repack", &dir]);
    // The root: the largest release (repack --root largest).
    let root = (0..files.len() - 1)
        .max_by_key(|&i| std::fs::metadata(&files[i]).unwrap().len())
        .unwrap();
    // The root and the stranger (50 kB of noise: its bytes are surely freed) go.
    let stranger = files.len() - 1;
    let gone = |i: usize| i == root || i == stranger;
    let keep: Vec<&String> = ids
        .iter()
        .enumerate()
        .filter(|&(i, _)| !gone(i))
        .map(|(_, id)| id)
        .collect();
    let reach = reachable_file(tmp.path(), &keep);
    let before = du_bytes(&dir);
    let plan = String::from_utf8(silo_ok(&[
        &"gc",
        &dir,
        &"--reachable",
        &reach,
        &"--grace",
        &"0",
        &"--dry-run",
    ]))
    .unwrap();
    assert!(plan.contains("would rewrite"), "{plan}");
    assert_eq!(du_bytes(&dir), before, "--dry-run changed the silo");
    let out = String::from_utf8(silo_ok(&[
        &"gc",
        &dir,
        &"--reachable",
        &reach,
        &"--grace",
        &"0",
    ]))
    .unwrap();
    assert!(out.contains("freed"), "{out}");
    assert!(du_bytes(&dir) < before);
    for (i, (f, id)) in files.iter().zip(&ids).enumerate() {
        let got = silo(&[&"cat", &dir, id]);
        if gone(i) {
            assert_eq!(
                got.status.code(),
                Some(2),
                "unreachable {} is still there",
                f.display()
            );
        } else {
            assert!(
                got.status.success() && got.stdout == std::fs::read(f).unwrap(),
                "{} lost",
                f.display()
            );
        }
    }
    silo_ok(&[&"verify", &dir]);
    let idx: Vec<_> = std::fs::read_dir(dir.join("pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "idx"))
        .collect();
    assert!(!idx.is_empty());
    for i in &idx {
        git(tmp.path(), &["verify-pack", i.to_str().unwrap()]);
    }
    super::cli::git_midx_verify(tmp.path(), &dir);
}

#[test]
fn grace_keeps_young_loose_objects_and_zero_grace_does_not() {
    let (tmp, dir) = new_silo();
    let files = releases(tmp.path(), 32, 2);
    let ids = add(&dir, &files);
    let reach = reachable_file(tmp.path(), &[&ids[0]]);
    let out = String::from_utf8(silo_ok(&[&"gc", &dir, &"--reachable", &reach])).unwrap();
    assert!(out.contains("kept 2 loose objects"), "{out}");
    for id in &ids {
        silo_ok(&[&"cat", &dir, id]);
    }
    let v: serde_json::Value = serde_json::from_slice(&silo_ok(&[
        &"gc",
        &dir,
        &"--reachable",
        &reach,
        &"--grace",
        &"0",
        &"--json",
    ]))
    .unwrap();
    assert_eq!(v["loose_deleted"].as_u64(), Some(2), "{v}");
    silo_ok(&[&"cat", &dir, &ids[0]]);
    assert_eq!(silo(&[&"cat", &dir, &ids[1]]).status.code(), Some(2));
}

#[test]
fn bad_reachable_sets_and_durations_are_refused_naming_them() {
    let (tmp, dir) = new_silo();
    let bad = tmp.path().join("bad.txt");
    std::fs::write(&bad, "not-an-id\n").unwrap();
    let out = silo(&[&"gc", &dir, &"--reachable", &bad, &"--grace", &"0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.txt, line 1"));
    let out = silo(&[&"gc", &dir, &"--reachable", &bad, &"--grace", &"2w"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a duration"));
}

/// Durations and sizes that are not: a usage error (exit 2) that quotes
/// the value, never a panic (a multi-byte character once split a slice).
#[test]
fn bad_grace_and_memory_values_exit_2_with_a_message() {
    let (tmp, dir) = new_silo();
    let reach = tmp.path().join("r.txt");
    std::fs::write(&reach, "").unwrap();
    let cases: [(&str, &str, &str); 7] = [
        ("--grace", "1é", "not a duration"),
        ("--grace", "", "not a duration"),
        ("--grace", "99999999999999999999d", "not a duration"),
        ("--grace", "999999999999999999d", "too long"),
        ("--memory", "1é", "the unit must be"),
        ("--memory", "é", "the unit must be"),
        ("--memory", "2 G", "not a size"),
    ];
    for (flag, value, says) in cases {
        let out = silo(&[
            &"gc",
            &dir,
            &"--reachable",
            &reach,
            &flag,
            &value,
            &"--dry-run",
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value:?}: {err}");
        assert!(
            err.contains(says) && err.contains(flag),
            "{flag} {value:?}: {err}"
        );
    }
    for value in ["1é", "", "0x10M"] {
        let out = silo(&[&"repack", &dir, &"--memory", &value]);
        assert_eq!(out.status.code(), Some(2), "repack --memory {value:?}");
    }
}

/// What every test of this module may check: all `ids` read back equal to `files`.
pub fn all_read_back(
    dir: &Path,
    files: &[PathBuf],
    ids: &[String],
    only: Option<&HashSet<String>>,
) {
    let silo = trees_silo::Silo::open(dir).unwrap();
    for (f, id) in files.iter().zip(ids) {
        if only.is_some_and(|o| !o.contains(id)) {
            continue;
        }
        let mut out = Vec::new();
        silo.read(&trees_pack::id::parse_hex(id).unwrap(), &mut out)
            .unwrap_or_else(|e| panic!("{id} ({}) lost: {e}", f.display()));
        assert!(out == std::fs::read(f).unwrap(), "{id} reads back wrong");
    }
}
