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
fn wheel(dir: &Path, r: usize) -> PathBuf {
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
