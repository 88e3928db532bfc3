//! `derived/deltas/`: client deltas of have/want hints, applied by the
//! stock tools they are made for (git, xdelta3, zstd) and by `silo apply`;
//! damaged files are refused; verify and gc know them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::cli::{add, git, new_silo, silo, silo_ok};
use super::gc::releases;

/// Runs a stock tool, failing the test with its name if it is missing.
fn tool(name: &str, args: &[&dyn AsRef<std::ffi::OsStr>], stdin: Option<&Path>) -> Vec<u8> {
    let mut c = Command::new(name);
    c.args(args.iter().map(|a| a.as_ref()));
    if let Some(p) = stdin {
        c.stdin(std::fs::File::open(p).unwrap());
    } else {
        c.stdin(Stdio::null());
    }
    let out = c.output().unwrap_or_else(|e| {
        panic!("{name} is required by this test (scripts/install-deps.sh installs it): {e}")
    });
    assert!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

struct Fixture {
    _tmp: trees_oracle::TempDir,
    root: PathBuf,
    dir: PathBuf,
    files: Vec<PathBuf>,
    ids: Vec<String>,
}

/// A silo of a small release series (and a stranger), repacked with a
/// hint from release 0 to release 1 and one from 1 to 2.
fn fixture(seed: u64) -> (Fixture, serde_json::Value) {
    let (tmp, dir) = new_silo();
    let files = releases(tmp.path(), seed, 3);
    let ids = add(&dir, &files);
    let hints = tmp.path().join("HINTS.json");
    std::fs::write(
        &hints,
        format!(
            r#"{{"hints": [{{"have": "{}", "want": "{}"}}, {{"have": "{}", "want": "{}"}}]}}"#,
            ids[0], ids[1], ids[1], ids[2]
        ),
    )
    .unwrap();
    let out = silo_ok(&[&"repack", &dir, &"--hints", &hints, &"--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let root = tmp.path().to_owned();
    (
        Fixture {
            _tmp: tmp,
            root,
            dir,
            files,
            ids,
        },
        v,
    )
}

fn deltas(f: &Fixture) -> PathBuf {
    f.dir.join("derived/deltas")
}

fn stem(f: &Fixture, have: usize, want: usize) -> String {
    format!("{}..{}", f.ids[have], f.ids[want])
}

#[test]
fn every_format_rebuilds_want_with_the_tool_it_is_made_for() {
    let (f, v) = fixture(51);
    let derived = v["derived"].as_array().unwrap();
    assert_eq!(derived.len(), 2);
    assert!(derived.iter().all(|d| d["status"] == "new"), "{v}");
    let (have, want) = (&f.files[0], &f.files[1]);
    let want_bytes = std::fs::read(want).unwrap();
    let stem = stem(&f, 0, 1);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(deltas(&f).join(format!("{stem}.json"))).unwrap())
            .unwrap();
    let listed = manifest["files"].as_array().unwrap();
    assert_eq!(listed.len(), 5, "{manifest}");
    let sizes: Vec<u64> = listed.iter().map(|e| e["size"].as_u64().unwrap()).collect();
    assert!(
        sizes.windows(2).all(|w| w[0] <= w[1]),
        "not smallest first: {sizes:?}"
    );
    for e in listed {
        let path = deltas(&f).join(e["file"].as_str().unwrap());
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            e["size"].as_u64().unwrap()
        );
        assert!(
            e["size"].as_u64().unwrap() < want_bytes.len() as u64 / 4,
            "{e} is not much of a delta"
        );
        // Ours reads every format.
        let out = f.root.join("out");
        let _ = std::fs::remove_file(&out);
        silo_ok(&[&"apply", have, &path, &"-o", &out]);
        assert!(std::fs::read(&out).unwrap() == want_bytes, "silo apply {e}");
    }

    // The stock tools read theirs.
    let out = f.root.join("stock-out");
    tool(
        "xdelta3",
        &[
            &"-d",
            &"-f",
            &"-s",
            have,
            &deltas(&f).join(format!("{stem}.vcdiff")),
            &out,
        ],
        None,
    );
    assert!(std::fs::read(&out).unwrap() == want_bytes, "xdelta3 -d");
    let patch_from = format!("--patch-from={}", have.display());
    tool(
        "zstd",
        &[
            &"-q",
            &"-d",
            &"-f",
            &"--long=31",
            &patch_from,
            &deltas(&f).join(format!("{stem}.patch.zst")),
            &"-o",
            &out,
        ],
        None,
    );
    assert!(
        std::fs::read(&out).unwrap() == want_bytes,
        "zstd -d --patch-from"
    );
    let repo = f.root.join("repo.git");
    git(&f.root, &["init", "-q", "--bare", repo.to_str().unwrap()]);
    git(&repo, &["hash-object", "-w", have.to_str().unwrap()]);
    let out = Command::new("git")
        .current_dir(&repo)
        .args(["index-pack", "--fix-thin", "--stdin"])
        .stdin(std::fs::File::open(deltas(&f).join(format!("{stem}.pack"))).unwrap())
        .output()
        .expect("git is required by this test");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        git(&repo, &["cat-file", "blob", &f.ids[1]]) == want_bytes,
        "git index-pack --fix-thin"
    );
    git(&repo, &["fsck", "--full", "--strict"]);

    // The next repack keeps them; verify applies all ten.
    let again = silo_ok(&[
        &"repack",
        &f.dir,
        &"--hints",
        &f.root.join("HINTS.json"),
        &"--json",
    ]);
    let again: serde_json::Value = serde_json::from_slice(&again).unwrap();
    assert!(
        again["derived"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["status"] == "kept")
    );
    let report = silo_ok(&[&"verify", &f.dir, &"--json"]);
    let report: serde_json::Value = serde_json::from_slice(&report).unwrap();
    assert_eq!(report["derived_files"], 10, "{report}");
    assert_eq!(report["problems"].as_array().unwrap().len(), 0, "{report}");
}

/// Copies a derived file (read-only in the silo) under its own name into
/// `dir`, damaged by `damage`.
fn damaged(src: &Path, dir: &Path, damage: impl Fn(&mut Vec<u8>)) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let dest = dir.join(src.file_name().unwrap());
    let mut bytes = std::fs::read(src).unwrap();
    damage(&mut bytes);
    let _ = std::fs::remove_file(&dest);
    std::fs::write(&dest, bytes).unwrap();
    dest
}

#[test]
fn damaged_files_and_wrong_bases_are_refused_and_write_nothing() {
    let (f, _) = fixture(52);
    let stem = stem(&f, 0, 1);
    let out = f.root.join("never");
    for ext in ["pack", "vcdiff", "patch.zst", "patch.lzma", "delta.xz"] {
        let src = deltas(&f).join(format!("{stem}.{ext}"));
        let len = std::fs::metadata(&src).unwrap().len() as usize;
        let cases: Vec<(String, PathBuf)> = vec![
            (
                "middle byte flipped".into(),
                damaged(&src, &f.root.join("flip"), |b| {
                    let m = b.len() / 2;
                    b[m] ^= 0x5a;
                }),
            ),
            (
                "truncated".into(),
                damaged(&src, &f.root.join("cut"), |b| b.truncate(len - 3)),
            ),
            (
                "last byte flipped".into(),
                damaged(&src, &f.root.join("last"), |b| {
                    let m = b.len() - 1;
                    b[m] ^= 1;
                }),
            ),
        ];
        for (what, bad) in cases {
            let r = silo(&[&"apply", &f.files[0], &bad, &"-o", &out]);
            let err = String::from_utf8_lossy(&r.stderr);
            assert_eq!(r.status.code(), Some(1), "{ext} {what}: {err}");
            assert!(
                err.contains(&stem),
                "{ext} {what}: the message names the file: {err}"
            );
            assert!(!out.exists(), "{ext} {what}: wrote output");
        }
        // The right file against the wrong base.
        let r = silo(&[&"apply", &f.files[2], &src, &"-o", &out]);
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(1), "{ext} wrong have: {err}");
        assert!(
            err.contains("applies to") && err.contains(&f.ids[0]),
            "{err}"
        );
        assert!(!out.exists());
    }
    // A file that is not a derived file name: a usage error.
    let r = silo(&[&"apply", &f.files[0], &f.files[1]]);
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("not a derived file name"));
}

#[test]
fn verify_names_a_damaged_derived_file() {
    let (f, _) = fixture(53);
    let victim = deltas(&f).join(format!("{}.patch.lzma", stem(&f, 1, 2)));
    let mut bytes = std::fs::read(&victim).unwrap();
    let m = bytes.len() / 2;
    bytes[m] ^= 0xff;
    std::fs::remove_file(&victim).unwrap();
    std::fs::write(&victim, bytes).unwrap();
    let r = silo(&[&"verify", &f.dir]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(err.contains(victim.to_str().unwrap()), "{err}");
    // A stray file is named too.
    std::fs::write(deltas(&f).join("notes.txt"), b"hi").unwrap();
    let err = String::from_utf8_lossy(&silo(&[&"verify", &f.dir]).stderr).into_owned();
    assert!(err.contains("notes.txt: not a derived file name"), "{err}");
}

#[test]
fn gc_removes_the_files_of_pairs_with_an_unreachable_blob() {
    let (f, _) = fixture(54);
    // Release 0 goes: the pair 0..1 goes with it, 1..2 stays.
    let reach = f.root.join("reachable.txt");
    std::fs::write(
        &reach,
        format!("{}\n{}\n{}\n", f.ids[1], f.ids[2], f.ids[3]),
    )
    .unwrap();
    let plan = silo_ok(&[
        &"gc",
        &f.dir,
        &"--reachable",
        &reach,
        &"--grace",
        &"0",
        &"--dry-run",
        &"--json",
    ]);
    let plan: serde_json::Value = serde_json::from_slice(&plan).unwrap();
    assert_eq!(
        plan["plan"]["delete_derived"].as_array().unwrap().len(),
        6,
        "{plan}"
    );
    assert!(
        deltas(&f).join(format!("{}.json", stem(&f, 0, 1))).exists(),
        "dry run deleted"
    );
    silo_ok(&[&"gc", &f.dir, &"--reachable", &reach, &"--grace", &"0"]);
    let left: Vec<String> = std::fs::read_dir(deltas(&f))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 6, "{left:?}");
    assert!(
        left.iter().all(|n| n.starts_with(&stem(&f, 1, 2))),
        "{left:?}"
    );
    silo_ok(&[&"verify", &f.dir]);
}

#[test]
fn a_hint_naming_a_blob_the_silo_lacks_costs_nothing_else() {
    let (tmp, dir) = new_silo();
    let files = releases(tmp.path(), 55, 2);
    let ids = add(&dir, &files);
    let hints = tmp.path().join("HINTS.json");
    let absent = "0123456789abcdef0123456789abcdef01234567";
    std::fs::write(
        &hints,
        format!(
            r#"{{"hints": [{{"have": "{absent}", "want": "{}"}}, {{"related": ["{absent}", "{}"]}}]}}"#,
            ids[0], ids[1]
        ),
    )
    .unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&silo_ok(&[&"repack", &dir, &"--hints", &hints, &"--json"]))
            .unwrap();
    assert_eq!(v["derived"][0]["status"], "missing", "{v}");
    assert!(v["derived"][0]["what"].as_str().unwrap().contains(absent));
    for (id, file) in ids.iter().zip(&files) {
        assert!(silo_ok(&[&"cat", &dir, id]) == std::fs::read(file).unwrap());
    }
    silo_ok(&[&"verify", &dir]);
}

#[test]
fn related_hints_join_the_candidate_bases() {
    // Two blobs that share only their first 3 KiB of 64 KiB: below the
    // relate floor (1/16), so content alone does not pair them.
    let (tmp, dir) = new_silo();
    let a = trees_testdata::random_bytes(56, 64 << 10);
    let mut b = a[..3 << 10].to_vec();
    b.extend_from_slice(&trees_testdata::random_bytes(57, 61 << 10));
    let files = [tmp.path().join("a"), tmp.path().join("b")];
    std::fs::write(&files[0], &a).unwrap();
    std::fs::write(&files[1], &b).unwrap();
    let ids = add(&dir, &files);
    let plan = |extra: &[&dyn AsRef<std::ffi::OsStr>]| -> serde_json::Value {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
            vec![&"repack", &dir, &"--dry-run", &"--json"];
        args.extend_from_slice(extra);
        serde_json::from_slice(&silo_ok(&args)).unwrap()
    };
    let bases = |v: &serde_json::Value| -> usize {
        v["plan"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| !e["base"].is_null())
            .count()
    };
    assert_eq!(bases(&plan(&[])), 0);
    let hints = tmp.path().join("HINTS.json");
    std::fs::write(
        &hints,
        format!(
            r#"{{"hints": [{{"related": ["{}", "{}"]}}]}}"#,
            ids[0], ids[1]
        ),
    )
    .unwrap();
    assert_eq!(bases(&plan(&[&"--hints", &hints])), 1);
    // A medo directory's HINTS.json counts the same.
    let medo = tmp.path().join("medo");
    std::fs::create_dir_all(medo.join("sub")).unwrap();
    std::fs::copy(&hints, medo.join("sub/HINTS.json")).unwrap();
    assert_eq!(bases(&plan(&[&"--medo", &medo])), 1);
}
