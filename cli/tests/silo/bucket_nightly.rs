//! A nightly repack and a gc on a bucket from an empty cache (a fresh CI
//! runner): they download the idx and fingerprint files, the new loose
//! objects and the packs they copy or rewrite, and not one byte of any
//! other pack, which their replica holds hollow (`trees_remote::s3`).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::cli::{silo_cmd, silo_ok, silo_stdin};
use super::moto;

/// `silo ARGS --json` with the cache `cache`, which must succeed.
fn json_with_cache(args: &[&dyn AsRef<OsStr>], cache: &Path) -> serde_json::Value {
    let out = silo_cmd()
        .args(args.iter().map(|a| a.as_ref()))
        .arg("--json")
        .env("TREES_CACHE", cache)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run the silo binary");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The replica of `url` under `cache`.
fn replica(cache: &Path, url: &str) -> PathBuf {
    let (bucket, prefix) = url.trim_start_matches("s3://").split_once('/').unwrap();
    cache.join("s3").join(bucket).join(prefix)
}

/// The packs of `url` (name -> bytes), through a mirror into `dir`.
fn packs(url: &str, dir: &Path) -> Vec<(String, u64)> {
    silo_ok(&[&"mirror", &url, &dir]);
    let mut out: Vec<(String, u64)> = std::fs::read_dir(dir.join("pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pack"))
        .map(|p| {
            let len = std::fs::metadata(&p).unwrap().len();
            (p.file_name().unwrap().to_string_lossy().into_owned(), len)
        })
        .collect();
    out.sort();
    out
}

fn add(url: &str, files: &[PathBuf]) -> Vec<String> {
    let mut args: Vec<&dyn AsRef<OsStr>> = vec![&"add", &url];
    args.extend(files.iter().map(|f| f as &dyn AsRef<OsStr>));
    String::from_utf8(silo_ok(&args))
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect()
}

#[test]
fn a_nightly_and_a_gc_on_an_empty_cache_fetch_only_the_packs_they_rewrite() {
    let tmp = trees_oracle::tempdir().unwrap();
    let url = moto::silo_url();
    silo_ok(&[&"init", &url]);
    // Family A (two releases, a third comes tonight), family B (four, much
    // larger in all), one lone blob.
    let write = |name: &str, bytes: &[u8]| {
        let p = tmp.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let a = trees_testdata::series("a", &trees_testdata::Options::small(31));
    let b = trees_testdata::series("b", &trees_testdata::Options::small(32));
    let mut files: Vec<PathBuf> = a[..2]
        .iter()
        .chain(&b)
        .map(|r| write(&r.file_name, &r.tar))
        .collect();
    files.push(write("lone", &trees_testdata::random_bytes(33, 20_000)));
    let mut ids = add(&url, &files);
    silo_ok(&[&"repack", &url]);
    let before = packs(&url, &tmp.path().join("m0"));
    assert!(before.len() >= 3, "a pack per family: {before:?}");

    // Tonight: A's third release, on an empty cache.
    let tonight = write(&format!("tonight-{}", a[2].file_name), &a[2].tar);
    ids.extend(add(&url, std::slice::from_ref(&tonight)));
    files.push(tonight);
    let cache = tmp.path().join("cache1");
    let night = json_with_cache(&[&"repack", &url], &cache);
    let after = packs(&url, &tmp.path().join("m1"));
    let kept: Vec<&(String, u64)> = before.iter().filter(|p| after.contains(p)).collect();
    let copied: Vec<&(String, u64)> = before.iter().filter(|p| !after.contains(p)).collect();
    assert_eq!(copied.len(), 1, "A's pack alone is copied: {night}");
    let hollow = replica(&cache, &url).join("hollow");
    for (name, _) in &kept {
        assert!(
            hollow.join(name).exists(),
            "{name}, of a family the night did not touch, was downloaded: {night}"
        );
    }
    // Of packs, it downloaded A's alone, whole; the rest is the listing,
    // idx, sketch and table files and the new loose object.
    let kinds = &night["transfer"]["downloaded_by_kind"];
    assert_eq!(kinds["pack"].as_u64(), Some(copied[0].1), "{night}");
    let down = night["transfer"]["downloaded_bytes"].as_u64().unwrap();
    let sum: u64 = kinds
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(sum, down, "{night}");
    // Its silo size counts the hollow packs at their length.
    let packed: u64 = after.iter().map(|p| p.1).sum();
    assert!(night["after_bytes"].as_u64().unwrap() >= packed, "{night}");

    // gc without one of B's releases, on another empty cache: B's pack is
    // rewritten, and A's new pack is never downloaded.
    let b_first = &ids[2];
    let reachable: String = ids
        .iter()
        .filter(|i| *i != b_first)
        .map(|i| format!("{i}\n"))
        .collect();
    let list = write("reachable.txt", reachable.as_bytes());
    let cache = tmp.path().join("cache2");
    let gc = json_with_cache(
        &[&"gc", &url, &"--reachable", &list, &"--grace", &"0"],
        &cache,
    );
    assert_eq!(gc["packs_rewritten"].as_u64(), Some(1), "{gc}");
    let b_pack = before
        .iter()
        .filter(|p| kept.contains(p))
        .map(|p| p.1)
        .max()
        .unwrap();
    assert_eq!(
        gc["transfer"]["downloaded_by_kind"]["pack"].as_u64(),
        Some(b_pack),
        "gc downloads B's pack alone: {gc}"
    );
    let a_new: Vec<&(String, u64)> = after.iter().filter(|p| !before.contains(p)).collect();
    assert_eq!(a_new.len(), 1);
    assert!(
        replica(&cache, &url)
            .join("hollow")
            .join(&a_new[0].0)
            .exists(),
        "gc downloaded A's pack, which holds nothing unreachable: {gc}"
    );

    // Everything still reads, through the range readers and through a
    // verify of a whole replica; git reads every pack.
    let keep: Vec<(&PathBuf, &String)> = files
        .iter()
        .zip(&ids)
        .filter(|(_, i)| *i != b_first)
        .collect();
    let input: String = keep.iter().map(|(_, i)| format!("{i}\n")).collect();
    let out = silo_stdin(&[&"cat", &url, &"--batch"], input.as_bytes());
    let mut want = Vec::new();
    for (f, id) in &keep {
        let data = std::fs::read(f).unwrap();
        want.extend_from_slice(format!("{id} blob {}\n", data.len()).as_bytes());
        want.extend_from_slice(&data);
        want.push(b'\n');
    }
    assert!(out.status.success() && out.stdout == want, "cat --batch");
    silo_ok(&[&"verify", &url]);
    let m2 = tmp.path().join("m2");
    packs(&url, &m2);
    super::cli::git_midx_verify(tmp.path(), &m2);
    // The replicas' hollow packs are not packs for the temporary
    // directory's own check of every pack it holds.
    for c in ["cache1", "cache2"] {
        std::fs::remove_dir_all(tmp.path().join(c)).unwrap();
    }
}
