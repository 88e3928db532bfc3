//! Packs by family and the multi-pack-index: a nightly repack rewrites
//! only the packs of the families it adds to, within its write budget; the
//! multi-pack-index is the file git writes, and readers never depend on
//! it (stale, damaged or missing, every object still reads).

use std::collections::{BTreeMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::cli::{add, git, git_midx_verify, new_silo, silo_ok};
use super::crash::{run, verify_ok};
use super::gc::all_read_back;

/// `releases` related blobs of about 200 kB (a family: each release edits
/// a few bytes of the one before), unrelated to any other seed's. (The
/// nightly relates new blobs by sketches, which sample one chunk in
/// `fingerprints::SAMPLE`: much smaller blobs may find no relative.)
fn family(dir: &Path, name: &str, seed: u64, releases: usize) -> Vec<PathBuf> {
    let first = &trees_testdata::series(name, &trees_testdata::Options::small(seed))[0].tar;
    let mut data = first[..first.len().min(200_000)].to_vec();
    (0..releases)
        .map(|i| {
            let p = dir.join(format!("{name}-{i}"));
            let at = (i * 7_919) % (data.len() - 64);
            let edit = format!("{name} edit {i}");
            data[at..at + edit.len()].copy_from_slice(edit.as_bytes());
            data.extend_from_slice(format!("{name} release {i}\n").as_bytes());
            std::fs::write(&p, &data).unwrap();
            p
        })
        .collect()
}

/// Every file of `pack/` with its size, inode and modification time.
fn listing(dir: &Path) -> BTreeMap<String, (u64, u64, i64)> {
    std::fs::read_dir(dir.join("pack"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                (m.len(), m.ino(), m.mtime_nsec() + m.mtime() * 1_000_000_000),
            )
        })
        .collect()
}

/// The pack (`pack-<sha>`) that holds `id`, by `git show-index` of each idx.
fn pack_of(dir: &Path, id: &str) -> String {
    for (name, _) in listing(dir) {
        let Some(stem) = name.strip_suffix(".idx") else {
            continue;
        };
        let idx = std::fs::File::open(dir.join("pack").join(&name)).unwrap();
        let out = std::process::Command::new("git")
            .arg("show-index")
            .stdin(idx)
            .output()
            .expect("git is required by this test");
        if String::from_utf8_lossy(&out.stdout).contains(id) {
            return stem.to_owned();
        }
    }
    panic!("no pack holds {id}")
}

fn repack_json(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"repack", &dir, &"--json"];
    for a in extra {
        args.push(a);
    }
    serde_json::from_slice(&silo_ok(&args)).unwrap()
}

#[test]
fn a_nightly_rewrites_only_the_packs_of_the_families_it_adds_to() {
    let (tmp, dir) = new_silo();
    let a = family(tmp.path(), "alpha", 71, 5);
    let b = family(tmp.path(), "beta", 72, 4);
    let c = family(tmp.path(), "gamma", 73, 4);
    let mut ids = add(&dir, &a[..4]);
    ids.extend(add(&dir, &b));
    ids.extend(add(&dir, &c));
    let full = repack_json(&dir, &["--full"]);
    assert_eq!(full["packs_written"], 3, "a pack per family: {full}");
    let alpha = pack_of(&dir, &ids[0]);
    let before = listing(&dir);

    // The nightly: one new release of alpha.
    let new = add(&dir, &a[4..]);
    let loose: u64 = std::fs::read_dir(dir.join("objects"))
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .map(|f| f.unwrap().metadata().unwrap().len())
        .sum();
    let night = repack_json(&dir, &[]);
    assert_eq!(night["mode"], "incremental", "{night}");
    assert_eq!(night["packs_written"], 1, "{night}");
    assert_eq!(night["packs_removed"], 1, "{night}");
    assert_eq!(night["deltas"], 1, "the new release is a delta: {night}");
    let after = listing(&dir);
    // beta's and gamma's packs: the same files, untouched.
    for (name, meta) in &before {
        if name.starts_with(&alpha) || name == "multi-pack-index" {
            assert!(!after.contains_key(name) || name == "multi-pack-index");
        } else {
            assert_eq!(after.get(name), Some(meta), "{name} was touched");
        }
    }
    // What it wrote: alpha's pack again plus the delta, within the budget.
    let written: u64 = after
        .iter()
        .filter(|(n, m)| before.get(*n) != Some(m) && *n != "multi-pack-index")
        .map(|(_, m)| m.0)
        .sum();
    assert_eq!(night["bytes_written"].as_u64(), Some(written), "{night}");
    let fp: u64 = after
        .iter()
        .filter(|(n, m)| n.ends_with(".fp") && before.get(*n) != Some(m))
        .map(|(_, m)| m.0)
        .sum();
    assert!(
        written - fp <= 3 * loose,
        "wrote {written} for {loose} loose bytes"
    );
    assert_eq!(pack_of(&dir, &new[0]), pack_of(&dir, &ids[0]));
    git_midx_verify(tmp.path(), &dir);
    let files: Vec<PathBuf> = a[..4]
        .iter()
        .chain(&b)
        .chain(&c)
        .chain(&a[4..])
        .cloned()
        .collect();
    ids.extend(new);
    all_read_back(&dir, &files, &ids, None);
    // A night with nothing new changes nothing.
    let idle = repack_json(&dir, &[]);
    assert!(idle["pack"].is_null(), "{idle}");
    assert_eq!(listing(&dir), after);
}

#[test]
fn past_the_write_budget_a_new_release_starts_a_new_pack_of_its_family() {
    let (tmp, dir) = new_silo();
    let a = family(tmp.path(), "long", 74, 6);
    let mut ids = add(&dir, &a[..5]);
    repack_json(&dir, &["--full"]);
    let old = listing(&dir);
    ids.extend(add(&dir, &a[5..]));
    // A budget below the family's pack: the new release is stored whole,
    // in a new pack, and the family's old pack is kept as it is.
    let night = repack_json(&dir, &["--write-factor", "1"]);
    assert_eq!(night["packs_written"], 1, "{night}");
    assert_eq!(night["packs_removed"], 0, "{night}");
    assert_eq!(night["deltas"], 0, "{night}");
    let now = listing(&dir);
    for (name, meta) in old.iter().filter(|(n, _)| n.starts_with("pack-")) {
        assert_eq!(now.get(name), Some(meta), "{name} was touched");
    }
    all_read_back(&dir, &a, &ids, None);
    // The next release deltas against it, in its new pack; --write-factor
    // inf would have copied the old pack instead: check on a copy.
    let (_t2, d2) = new_silo();
    add(&d2, &a[..5]);
    repack_json(&d2, &["--full"]);
    add(&d2, &a[5..]);
    let inf = repack_json(&d2, &["--write-factor", "inf"]);
    assert_eq!(inf["packs_removed"], 1, "{inf}");
    assert_eq!(inf["deltas"], 1, "{inf}");
}

#[test]
fn the_multi_pack_index_is_what_git_writes_and_readers_do_without_it() {
    let (tmp, dir) = new_silo();
    let mut files = Vec::new();
    for (k, seed) in [81u64, 82, 83, 84].into_iter().enumerate() {
        files.extend(family(tmp.path(), &format!("f{k}"), seed, 3));
    }
    let ids = add(&dir, &files);
    repack_json(&dir, &["--full"]);
    let ours = std::fs::read(dir.join("pack/multi-pack-index")).unwrap();
    // git's, for the same packs.
    let repo = tmp.path().join("g.git");
    git(
        tmp.path(),
        &["init", "-q", "--bare", repo.to_str().unwrap()],
    );
    for (name, _) in listing(&dir) {
        if name.ends_with(".pack") || name.ends_with(".idx") {
            std::fs::copy(
                dir.join("pack").join(&name),
                repo.join("objects/pack").join(&name),
            )
            .unwrap();
        }
    }
    git(&repo, &["multi-pack-index", "write"]);
    let theirs = std::fs::read(repo.join("objects/pack/multi-pack-index")).unwrap();
    assert!(ours == theirs, "our multi-pack-index differs from git's");
    git_midx_verify(tmp.path(), &dir);
    // git reads every object through ours.
    std::fs::copy(
        dir.join("pack/multi-pack-index"),
        repo.join("objects/pack/multi-pack-index"),
    )
    .unwrap();
    let batch = std::process::Command::new("git")
        .current_dir(&repo)
        .args([
            "-c",
            "core.multiPackIndex=true",
            "cat-file",
            "--batch-check",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    let mut child = batch;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ids.join("\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches(" blob ").count(), ids.len(), "{text}");

    // Damaged: readers search every pack.
    let midx = dir.join("pack/multi-pack-index");
    let mut bad = ours.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x5a;
    std::fs::write(&midx, &bad).unwrap();
    all_read_back(&dir, &files, &ids, None);
    // Stale: it names a pack that is gone (an old one, kept from before a
    // nightly replaced it), and misses the new one.
    std::fs::write(&midx, &ours).unwrap();
    let more = family(tmp.path(), "f0", 81, 4);
    let mut all_ids = ids.clone();
    all_ids.extend(add(&dir, &more[3..]));
    repack_json(&dir, &[]);
    std::fs::write(&midx, &ours).unwrap();
    let mut all_files = files.clone();
    all_files.extend_from_slice(&more[3..]);
    all_read_back(&dir, &all_files, &all_ids, None);
    // Missing: the same.
    std::fs::remove_file(&midx).unwrap();
    all_read_back(&dir, &all_files, &all_ids, None);
    let du: serde_json::Value =
        serde_json::from_slice(&silo_ok(&[&"du", &dir, &"--json"])).unwrap();
    assert_eq!(du["multi_pack_index"], false, "{du}");
}

/// Kills a nightly repack and a gc at every one of their crash points: each
/// time, every object reads back, with the multi-pack-index as the crash
/// left it and without it, and the next run finishes the job.
#[test]
fn a_nightly_and_a_gc_killed_at_every_crash_point_lose_nothing() {
    let prepare = |tmp: &Path, dir: &Path| -> (Vec<PathBuf>, Vec<String>) {
        let a = family(tmp, "a", 91, 3);
        let b = family(tmp, "b", 92, 2);
        let mut files: Vec<PathBuf> = a[..2].iter().chain(&b).cloned().collect();
        let mut ids = add(dir, &files);
        repack_json(dir, &["--full"]);
        files.push(a[2].clone());
        ids.extend(add(dir, &a[2..]));
        (files, ids)
    };
    for cmd in ["repack", "gc"] {
        let args = |tmp: &Path, ids: &[String]| -> Vec<String> {
            if cmd == "repack" {
                return vec!["repack".into()];
            }
            let list = tmp.join("reach.txt");
            std::fs::write(&list, ids[1..].join("\n")).unwrap();
            vec![
                "gc".into(),
                "--reachable".into(),
                list.display().to_string(),
                "--grace".into(),
                "0".into(),
            ]
        };
        let (tmp, dir) = new_silo();
        let (_, ids) = prepare(tmp.path(), &dir);
        let a = args(tmp.path(), &ids);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let (_, points) = run(&a, &dir, 0);
        assert!(points >= 10, "only {points} crash points in {cmd}");
        for at in 1..=points {
            let (tmp, dir) = new_silo();
            let (files, ids) = prepare(tmp.path(), &dir);
            let reach: HashSet<String> = ids[if cmd == "gc" { 1 } else { 0 }..]
                .iter()
                .cloned()
                .collect();
            let a = args(tmp.path(), &ids);
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            let (killed, _) = run(&a, &dir, at);
            assert!(killed, "{cmd}: point {at} of {points} was not reached");
            all_read_back(&dir, &files, &ids, Some(&reach));
            let midx = dir.join("pack/multi-pack-index");
            if midx.exists() {
                std::fs::rename(&midx, tmp.path().join("midx")).unwrap();
                all_read_back(&dir, &files, &ids, Some(&reach));
                std::fs::rename(tmp.path().join("midx"), &midx).unwrap();
            }
            let (killed, _) = run(&a, &dir, 0);
            assert!(!killed);
            verify_ok(&dir);
            all_read_back(&dir, &files, &ids, Some(&reach));
        }
    }
}

/// A mirror after a nightly downloads what the nightly wrote (its new
/// pack and idx, and the listing) and drops the pack that it replaced.
#[test]
fn a_mirror_after_a_nightly_fetches_only_the_new_pack_and_drops_the_old() {
    let tmp = trees_oracle::tempdir().unwrap();
    let root = tmp.path().join("www");
    std::fs::create_dir(&root).unwrap();
    let dir = root.join("s.silo");
    silo_ok(&[&"init", &dir]);
    let a = family(tmp.path(), "alpha", 61, 5);
    let b = family(tmp.path(), "beta", 62, 3);
    let mut files: Vec<PathBuf> = a[..4].iter().chain(&b).cloned().collect();
    let mut ids = add(&dir, &files);
    repack_json(&dir, &["--full"]);
    let nginx = super::nginx::Nginx::serve(&root);
    let url = format!("http://127.0.0.1:{}/s.silo/", nginx.port);
    let copy = tmp.path().join("copy.silo");
    let mirror = |url: &str| -> serde_json::Value {
        serde_json::from_slice(&silo_ok(&[&"mirror", &url, &copy, &"--json"])).unwrap()
    };
    let first = mirror(&url);
    assert_eq!(first["packs"]["copied"], 2, "{first}");

    ids.extend(add(&dir, &a[4..]));
    files.push(a[4].clone());
    let night = repack_json(&dir, &[]);
    assert_eq!(night["packs_written"], 1, "{night}");
    let again = mirror(&url);
    assert_eq!(again["packs"]["copied"], 1, "{again}");
    assert_eq!(again["packs"]["present"], 1, "{again}");
    assert_eq!(again["packs_removed"], 1, "{again}");
    let listing_len = std::fs::metadata(dir.join("info/files.json"))
        .unwrap()
        .len();
    let got = again["received_bytes"].as_u64().unwrap();
    let wrote = night["bytes_written"].as_u64().unwrap();
    assert!(
        got <= wrote + listing_len,
        "mirrored {got} bytes after a nightly that wrote {wrote} (listing {listing_len})"
    );
    let packs = |d: &Path| -> Vec<String> {
        listing(d)
            .into_keys()
            .filter(|n| n.ends_with(".pack") || n.ends_with(".idx"))
            .collect()
    };
    assert_eq!(packs(&copy), packs(&dir));
    git_midx_verify(tmp.path(), &copy);
    all_read_back(&copy, &files, &ids, None);
}
