//! Zip archives (wheels, jars) stored as their members: three releases of
//! a package as wheels made by Python's `zipfile`, added, repacked, and
//! read back byte for byte by `silo cat`, `--batch` and `verify`; git
//! reads every pack, `unzip -t` accepts what `silo cat` gives, and an
//! unchanged member is one blob across the releases.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::cli::{new_silo, silo_ok, silo_stdin};
use super::split::records;

/// A wheel-like zip of release `r`: most files the same from release to
/// release, one file edited, one added per release.
pub fn wheel(dir: &Path, r: usize) -> PathBuf {
    let src = dir.join(format!("src{r}"));
    let rel = trees_testdata::series("w", &trees_testdata::Options::small(41));
    std::fs::create_dir_all(src.join("pkg")).unwrap();
    for (i, chunk) in rel[0].tar.chunks(6_000).take(12).enumerate() {
        std::fs::write(src.join(format!("pkg/m{i:02}.py")), chunk).unwrap();
    }
    std::fs::write(src.join("pkg/version.py"), format!("VERSION = {r}\n")).unwrap();
    std::fs::write(src.join("pkg/core.py"), &rel[r % rel.len()].tar[..40_000]).unwrap();
    std::fs::write(
        src.join(format!("pkg/new{r}.py")),
        format!("# added in {r}\n"),
    )
    .unwrap();
    // A small file edited each release: too few chunks for a sketch to
    // find its predecessor; its name finds it.
    let mut small = trees_testdata::random_bytes(43, 3_000);
    small.extend_from_slice(format!("\nEDITED_IN = {r}\n").as_bytes());
    std::fs::write(src.join("pkg/small.py"), small).unwrap();
    let out = dir.join(format!("pkg-1.{r}-py3-none-any.whl"));
    let script = r#"
import os, sys, zipfile
root = sys.argv[1]
with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as z:
    for d, _, fs in sorted(os.walk(root)):
        for f in sorted(fs):
            p = os.path.join(d, f)
            z.write(p, os.path.relpath(p, root))
"#;
    let st = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&src)
        .arg(&out)
        .status()
        .expect("python3 is required by this test");
    assert!(st.success());
    out
}

#[test]
fn wheels_are_stored_as_their_members_and_read_back_exactly() {
    let (tmp, dir) = new_silo();
    let files: Vec<PathBuf> = (0..3).map(|r| wheel(tmp.path(), r)).collect();
    let ids = super::cli::add_each(&dir, &files);
    let report: serde_json::Value =
        serde_json::from_slice(&silo_ok(&[&"repack", &dir, &"--json"])).unwrap();
    let split = &report["split"];
    assert_eq!(split["by_format"]["zip"], 3, "{split}");
    // core.py and small.py of releases 1 and 2 are deltas of release 0's
    // and 1's.
    assert!(report["deltas"].as_u64().unwrap() >= 4, "{report}");
    let recs = records(&dir);
    assert_eq!(recs.len(), 3);
    assert!(recs.iter().all(|r| r.format == 6));
    // The twelve unchanged modules are the same blobs in every release.
    let first: std::collections::HashSet<_> = recs[0].contents.iter().collect();
    for r in &recs[1..] {
        let shared = r.contents.iter().filter(|c| first.contains(c)).count();
        assert!(shared >= 12, "only {shared} members shared");
    }
    let mut batch_in = String::new();
    let mut want = Vec::new();
    for (f, id) in files.iter().zip(&ids) {
        let bytes = std::fs::read(f).unwrap();
        let got = silo_ok(&[&"cat", &dir, id]);
        assert!(got == bytes, "{}: cat", f.display());
        let again = tmp.path().join("again.zip");
        std::fs::write(&again, &got).unwrap();
        let t = Command::new("unzip")
            .arg("-tq")
            .arg(&again)
            .output()
            .expect("unzip is required by this test");
        assert!(
            t.status.success(),
            "unzip -t: {}",
            String::from_utf8_lossy(&t.stdout)
        );
        batch_in.push_str(&format!("{id}\n"));
        want.extend(format!("{id} blob {}\n", bytes.len()).as_bytes());
        want.extend(&bytes);
        want.push(b'\n');
    }
    let out = silo_stdin(&[&"cat", &dir, &"--batch"], batch_in.as_bytes());
    assert!(out.status.success() && out.stdout == want, "cat --batch");
    let v = String::from_utf8(silo_ok(&[&"verify", &dir])).unwrap();
    // (verify says "gzip files" of every split file: docs/limits.md)
    assert!(v.contains("; 3 gzip files stored split)"), "{v}");
    super::cli::git_reads_every_pack(tmp.path(), &dir);
}

/// `unzip -p ZIP NAME`: a member's text, by the zip oracle.
pub fn unzip_p(zip: &Path, name: &str) -> Vec<u8> {
    let out = Command::new("unzip")
        .arg("-p")
        .arg(zip)
        .arg(name)
        .output()
        .expect("unzip is required by this test");
    assert!(out.status.success(), "unzip -p {name}");
    out.stdout
}

/// A silo at `www/s.silo` under a new temporary directory (for nginx to
/// serve `www`), and three wheels beside it, not yet added.
fn served_wheels() -> (trees_oracle::TempDir, PathBuf, PathBuf, Vec<PathBuf>) {
    let tmp = trees_oracle::tempdir().unwrap();
    let root = tmp.path().join("www");
    let dir = root.join("s.silo");
    std::fs::create_dir(&root).unwrap();
    silo_ok(&[&"init", &dir]);
    let files: Vec<PathBuf> = (0..3).map(|r| wheel(tmp.path(), r)).collect();
    (tmp, root, dir, files)
}

#[test]
fn one_member_is_read_by_path_from_a_split_zip_a_tar_and_over_http() {
    let (tmp, root, dir, files) = served_wheels();
    // A .tar.gz of the same tree as the last wheel, and a plain tar.
    let tree = tmp.path().join("src2");
    let tgz = tmp.path().join("pkg-1.2.tar.gz");
    let tar = tmp.path().join("pkg-1.2.tar");
    for (f, flag) in [(&tgz, "-czf"), (&tar, "-cf")] {
        let st = Command::new("tar")
            .arg(flag)
            .arg(f)
            .arg("-C")
            .arg(&tree)
            .arg(".")
            .status()
            .unwrap();
        assert!(st.success());
    }
    let mut all = files.clone();
    all.extend([tgz.clone(), tar.clone()]);
    let ids = super::cli::add_each(&dir, &all);
    let (zip_id, tgz_id, tar_id) = (&ids[2], &ids[3], &ids[4]);
    let path = "pkg/core.py";
    let want = unzip_p(&files[2], path);
    // Loose, the zip is read whole.
    assert_eq!(silo_ok(&[&"cat", &dir, &format!("{zip_id}:{path}")]), want);
    silo_ok(&[&"repack", &dir]);
    assert_eq!(records(&dir).iter().filter(|r| r.format == 6).count(), 3);
    // Every member by path, and the listing, against unzip.
    let listed: serde_json::Value =
        serde_json::from_slice(&silo_ok(&[&"ls", &dir, zip_id, &"--json"])).unwrap();
    let listed = listed.as_array().unwrap();
    assert!(listed.len() >= 16, "{listed:?}");
    for m in listed {
        let name = m["path"].as_str().unwrap();
        assert_eq!(m["kind"], "file", "{m}");
        let text = unzip_p(&files[2], name);
        let got = silo_ok(&[&"cat", &dir, &format!("{zip_id}:{name}")]);
        assert!(got == text, "{name}: silo cat differs from unzip -p");
        assert_eq!(m["size"].as_u64(), Some(text.len() as u64), "{name}");
        let blob = trees_pack::id::hash_object(trees_pack::id::Kind::Blob, &text).unwrap();
        assert_eq!(m["id"].as_str(), Some(blob.to_string().as_str()), "{name}");
    }
    // The same member from the tar.gz (stored split: its tar is read) and
    // the tar, `./` or not; the listing of a tar agrees with the zip's.
    for id in [tgz_id, tar_id] {
        for p in [path.to_owned(), format!("./{path}")] {
            assert!(
                silo_ok(&[&"cat", &dir, &format!("{id}:{p}")]) == want,
                "{id}:{p}"
            );
        }
        let l: serde_json::Value =
            serde_json::from_slice(&silo_ok(&[&"ls", &dir, id, &"--json"])).unwrap();
        let core = l
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["path"] == path)
            .unwrap();
        let zip_core = listed.iter().find(|m| m["path"] == path).unwrap();
        assert_eq!(core["id"], zip_core["id"]);
    }
    // A missing member and a directory are errors that name them.
    let out = super::cli::silo(&[&"cat", &dir, &format!("{zip_id}:pkg/nothing.py")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no member \"pkg/nothing.py\""), "{err}");
    // --batch takes ID:PATH lines, named by the member's own blob id.
    let line = format!("{zip_id}:{path}\n{zip_id}:nope\n");
    let out = silo_stdin(&[&"cat", &dir, &"--batch"], line.as_bytes());
    let blob = trees_pack::id::hash_object(trees_pack::id::Kind::Blob, &want).unwrap();
    let mut expect = format!("{blob} blob {}\n", want.len()).into_bytes();
    expect.extend(&want);
    expect.extend(format!("\n{zip_id}:nope missing\n").as_bytes());
    assert!(
        out.stdout == expect,
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Over HTTP: the member, and far fewer bytes than the zip.
    silo_ok(&[&"update-server-info", &dir]);
    let nginx = super::nginx::Nginx::serve(&root);
    let url = nginx.url("s.silo/");
    let cache = tmp.path().join("cache");
    let spec = format!("{zip_id}:{path}");
    let args: Vec<&dyn AsRef<std::ffi::OsStr>> =
        vec![&"cat", &url, &spec, &"--cache", &cache, &"--stats"];
    for round in 0..2 {
        let out = super::cli::silo(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout == want, "over HTTP, round {round}");
        let stats = String::from_utf8_lossy(&out.stderr);
        let stats: serde_json::Value = serde_json::from_str(
            stats
                .lines()
                .rfind(|l| l.starts_with('{'))
                .expect("a --stats line"),
        )
        .unwrap();
        if round == 1 {
            // idx and record tables cached: the listing, then the recipe
            // and the member's delta chain, each entry a range; a fraction
            // of the zip.
            let got = stats["received_bytes"].as_u64().unwrap();
            let listing = std::fs::metadata(dir.join("info/files.json"))
                .unwrap()
                .len();
            let zip_len = std::fs::metadata(&files[2]).unwrap().len();
            assert!(
                got - listing < zip_len / 3,
                "{got} bytes for one member of {zip_len}, listing {listing}: {stats}"
            );
            // The listing, then the recipe's and the member's delta chains,
            // a range an entry: each at most the three releases long.
            let requests = stats["requests"].as_u64().unwrap();
            assert!(
                requests <= 7,
                "{requests} requests with the idx cached: {stats}"
            );
        }
    }
    let l = super::cli::silo(&[&"ls", &url, zip_id, &"--cache", &cache]);
    assert!(l.status.success());
    assert!(String::from_utf8_lossy(&l.stdout).contains(path));
}

#[test]
fn a_nightly_wheel_finds_its_packed_predecessors_members_by_name() {
    let (tmp, dir) = new_silo();
    let first = wheel(tmp.path(), 0);
    super::cli::add_each(&dir, &[first]);
    silo_ok(&[&"repack", &dir]);
    for r in 1..3 {
        let next = wheel(tmp.path(), r);
        let id = super::cli::add_each(&dir, std::slice::from_ref(&next));
        let night: serde_json::Value =
            serde_json::from_slice(&silo_ok(&[&"repack", &dir, &"--json"])).unwrap();
        assert_eq!(night["mode"], "incremental", "{night}");
        // core.py and small.py changed: each a delta of the packed
        // release's member of the same name (small.py, 3 KB, shares too
        // few chunks for its sketch to find it).
        assert!(night["deltas"].as_u64().unwrap() >= 2, "night {r}: {night}");
        assert!(silo_ok(&[&"cat", &dir, &id[0]]) == std::fs::read(&next).unwrap());
    }
    super::cli::git_reads_every_pack(tmp.path(), &dir);
}

/// Every zip of `files` (ids `ids`) reads back from `dir` whole, and its
/// `member` by path as `unzip -p` gives it.
fn reads_back(dir: &Path, files: &[PathBuf], ids: &[String], member: &str) {
    for (f, id) in files.iter().zip(ids) {
        let whole = silo_ok(&[&"cat", &dir, id]);
        assert!(
            whole == std::fs::read(f).unwrap(),
            "{}: {id}",
            dir.display()
        );
        let spec = format!("{id}:{member}");
        assert!(
            silo_ok(&[&"cat", &dir, &spec]) == unzip_p(f, member),
            "{spec}"
        );
    }
}

#[test]
fn split_zips_survive_a_gc_and_a_mirror_member_by_member() {
    let (tmp, root, dir, files) = served_wheels();
    let ids = super::cli::add_each(&dir, &files);
    silo_ok(&[&"repack", &dir]);
    // Release 0 goes; its members shared with 1 and 2 must stay.
    let reach = tmp.path().join("reachable.txt");
    std::fs::write(&reach, format!("{}\n{}\n", ids[1], ids[2])).unwrap();
    silo_ok(&[&"gc", &dir, &"--reachable", &reach, &"--grace", &"0"]);
    assert_eq!(
        super::cli::silo(&[&"cat", &dir, &ids[0]]).status.code(),
        Some(2)
    );
    reads_back(&dir, &files[1..], &ids[1..], "pkg/m00.py");
    silo_ok(&[&"verify", &dir]);
    super::cli::git_reads_every_pack(tmp.path(), &dir);
    // A mirror of it reads the same, member by member.
    silo_ok(&[&"update-server-info", &dir]);
    let nginx = super::nginx::Nginx::serve(&root);
    let copy = tmp.path().join("copy.silo");
    let cache = tmp.path().join("cache");
    silo_ok(&[&"mirror", &nginx.url("s.silo/"), &copy, &"--cache", &cache]);
    reads_back(&copy, &files[1..], &ids[1..], "pkg/core.py");
    silo_ok(&[&"verify", &copy]);
}

#[test]
fn max_depth_bounds_the_chains_of_zip_recipes_too() {
    let (tmp, _) = new_silo();
    let files: Vec<PathBuf> = (0..4).map(|r| wheel(tmp.path(), r)).collect();
    // The recipes are made when the zips are split, from loose objects:
    // a silo each.
    for (limit, want_recipe_deltas) in [(0u64, false), (1, true)] {
        let dir = tmp.path().join(format!("d{limit}.silo"));
        silo_ok(&[&"init", &dir]);
        super::cli::add_each(&dir, &files);
        let report: serde_json::Value = serde_json::from_slice(&silo_ok(&[
            &"repack",
            &dir,
            &"--full",
            &"--max-depth",
            &limit.to_string(),
            &"--json",
        ]))
        .unwrap();
        assert!(report["max_depth"].as_u64().unwrap() <= limit, "{report}");
        // Every recipe's chain, as git sees the pack, is within the limit.
        let recipes: Vec<String> = records(&dir).iter().map(|r| r.recipe.to_string()).collect();
        let mut deltas = 0;
        for pack in std::fs::read_dir(dir.join("pack")).unwrap() {
            let p = pack.unwrap().path();
            if p.extension().is_some_and(|e| e == "idx") {
                let out = super::cli::git(&dir, &["verify-pack", "-v", p.to_str().unwrap()]);
                for line in String::from_utf8(out).unwrap().lines() {
                    let f: Vec<&str> = line.split_whitespace().collect();
                    if f.len() == 7 && recipes.iter().any(|r| r == f[0]) {
                        assert!(f[5].parse::<u64>().unwrap() <= limit, "{line}");
                        deltas += 1;
                    }
                }
            }
        }
        assert_eq!(
            deltas > 0,
            want_recipe_deltas,
            "limit {limit}: {deltas} recipe deltas"
        );
    }
}

#[test]
fn the_committed_zip_fixture_reads_back_exactly() {
    let (_tmp, dir) = super::packages::committed_fixture("split-fixture-zips", 3, &[6], 4);
    // Every recipe is laid out by column.
    for r in records(&dir) {
        let recipe = silo_ok(&[&"cat", &dir, &r.recipe.to_string()]);
        assert_eq!(recipe[..4], *b"TRCQ", "the recipe of {}", r.x);
    }
    // The members of one, listed from its recipe.
    let ls = String::from_utf8(silo_ok(&[&"ls", &dir, &"3bc5f7bb26e6"])).unwrap();
    assert!(ls.contains("logs/task-03.txt"), "{ls}");
    silo_ok(&[&"verify", &dir]);
}
