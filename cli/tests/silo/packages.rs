//! xz files, zstd files and `.deb`s stored split (contents + a general
//! recipe, formats 2-4) by repack, and read back byte for byte by every
//! reader: `cat`, `cat --batch`, `verify`, `cat URL`, `mirror`, after a
//! gc; git reads every object we keep; dpkg-deb reads the rebuilt `.deb`.

use std::path::{Path, PathBuf};
use std::process::Command;

use trees_split::table::Record;

use super::split::records;

use super::cli::{new_silo, silo, silo_ok, silo_stdin};

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

fn deb(dir: &Path, name: &str, z: &str, tar: &[u8]) -> PathBuf {
    let root = dir.join(format!("root-{name}"));
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(root.join("usr/share/demo")).unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        format!(
            "Package: demo\nVersion: 1.{name}\nArchitecture: all\n\
             Maintainer: Nobody <nobody@example.invalid>\nDescription: a test package\n"
        ),
    )
    .unwrap();
    std::fs::write(root.join("usr/share/demo/release.tar"), tar).unwrap();
    let out = dir.join(format!("{name}.deb"));
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Z", z, "--build"])
        .arg(&root)
        .arg(&out)
        .env("SOURCE_DATE_EPOCH", "1700000000"));
    out
}

/// Each download of the test, by name: two related releases as xz, zstd
/// and `.deb` (xz, zstd, gzip members), and two that stay whole.
fn downloads(dir: &Path) -> Vec<(String, PathBuf)> {
    let rel = super::split::releases(71, 2);
    let mut out = Vec::new();
    for (i, t) in rel.iter().enumerate() {
        let tar = dir.join(format!("r{i}.tar"));
        std::fs::write(&tar, t).unwrap();
        for (name, prog, args) in [
            ("xz", "xz", &["-6", "-T1"][..]),
            ("xz-mt", "xz", &["-9", "-T2"][..]),
            ("zst", "zstd", &["-q", "-19"][..]),
        ] {
            let p = dir.join(format!("r{i}.{name}"));
            std::fs::write(&p, run(Command::new(prog).args(args).arg("-c").arg(&tar))).unwrap();
            out.push((format!("r{i}.{name}"), p));
        }
        for z in ["xz", "zstd", "gzip"] {
            let name = format!("r{i}-{z}");
            out.push((name.clone(), deb(dir, &name, z, t)));
        }
    }
    // Blocks cut by the single-threaded encoder (not re-made yet), and a
    // zstd frame of raw blocks as another encoder writes: stored whole.
    let p = dir.join("cut.xz");
    let cut = run(Command::new("xz")
        .args(["-6", "-T1", "--block-size=64KiB", "-c"])
        .arg(dir.join("r0.tar")));
    std::fs::write(&p, cut).unwrap();
    out.push(("cut.xz".to_owned(), p));
    let data = &rel[1][..4000];
    let mut raw = trees_split::zstd::MAGIC.to_vec();
    raw.push(0x60);
    raw.extend_from_slice(&((data.len() - 256) as u16).to_le_bytes());
    raw.extend_from_slice(&((data.len() as u32) << 3 | 1).to_le_bytes()[..3]);
    raw.extend_from_slice(data);
    let p = dir.join("other-encoder.zst");
    std::fs::write(&p, raw).unwrap();
    out.push(("other-encoder.zst".to_owned(), p));
    out
}

#[test]
fn xz_zstd_and_deb_files_split_and_read_back_through_every_reader() {
    use super::nginx::Nginx;
    let (tmp, _) = new_silo();
    let root = tmp.path().join("www");
    std::fs::create_dir(&root).unwrap();
    let dir = root.join("s.silo");
    silo_ok(&[&"init", &dir]);
    let files = downloads(tmp.path());
    let ids: Vec<String> = files
        .iter()
        .map(|(_, f)| {
            let out = String::from_utf8(silo_ok(&[&"add", &dir, f])).unwrap();
            out.split_whitespace().next().unwrap().to_owned()
        })
        .collect();
    let report: serde_json::Value =
        serde_json::from_slice(&silo_ok(&[&"repack", &dir, &"--json"])).unwrap();
    let split = &report["split"];
    let by = &split["by_format"];
    assert_eq!(by["xz"], 4, "{split}");
    assert_eq!(by["zstd"], 2, "{split}");
    assert_eq!(by["ar"], 6, "{split}");
    assert_eq!(split["not_remade"], 2, "{split}");
    let reasons = split["reasons"].to_string();
    assert!(reasons.contains("libzstd 1.5.4"), "{reasons}");
    let recs = records(&dir);
    assert_eq!(recs.len(), 12);
    // A .deb's members are contents of their own: data.tar is the same
    // blob whether its member was xz, zstd or gzip.
    let deb0: Vec<&Record> = recs.iter().filter(|r| r.format == 4).collect();
    assert!(deb0.iter().all(|r| !r.contents.is_empty()));
    let mut datas: Vec<_> = deb0.iter().map(|r| *r.contents.last().unwrap()).collect();
    datas.sort();
    datas.dedup();
    assert_eq!(datas.len(), 2, "one data.tar per release");

    // cat, cat --batch, verify.
    let mut batch_in = String::new();
    let mut batch_want = Vec::new();
    for ((name, f), id) in files.iter().zip(&ids) {
        let want = std::fs::read(f).unwrap();
        assert!(silo_ok(&[&"cat", &dir, id]) == want, "{name}: cat");
        batch_in.push_str(&format!("{id}\n"));
        batch_want.extend(format!("{id} blob {}\n", want.len()).as_bytes());
        batch_want.extend(&want);
        batch_want.push(b'\n');
    }
    let out = silo_stdin(&[&"cat", &dir, &"--batch"], batch_in.as_bytes());
    assert!(out.status.success());
    assert!(out.stdout == batch_want, "cat --batch");
    silo_ok(&[&"verify", &dir]);

    // dpkg-deb reads what silo cat rebuilds.
    let i = files.iter().position(|f| f.0 == "r1-zstd").unwrap();
    let rebuilt = tmp.path().join("rebuilt.deb");
    std::fs::write(&rebuilt, silo_ok(&[&"cat", &dir, &ids[i]])).unwrap();
    let info =
        String::from_utf8(run(Command::new("dpkg-deb").arg("--info").arg(&rebuilt))).unwrap();
    assert!(info.contains("Version: 1.r1-zstd"), "{info}");
    let list = String::from_utf8(run(Command::new("dpkg-deb")
        .arg("--contents")
        .arg(&rebuilt)))
    .unwrap();
    assert!(list.contains("./usr/share/demo/release.tar"), "{list}");

    // git reads every object we keep.
    super::cli::git_reads_every_pack(tmp.path(), &dir);

    // Over HTTP, and mirrored (every record rebuilt before it is let in).
    let nginx = Nginx::serve(&root);
    let url = nginx.url("s.silo/");
    let cache = tmp.path().join("cache");
    for name in ["r0-xz", "r1.zst", "r0.xz-mt"] {
        let i = files.iter().position(|f| f.0 == name).unwrap();
        let want = std::fs::read(&files[i].1).unwrap();
        assert!(
            silo_ok(&[&"cat", &url, &ids[i], &"--cache", &cache]) == want,
            "{name} over HTTP"
        );
    }
    let copy = tmp.path().join("copy.silo");
    silo_ok(&[&"mirror", &url, &copy]);
    assert_eq!(records(&copy).len(), 12, "the table is mirrored");
    let i = files.iter().position(|f| f.0 == "r1-gzip").unwrap();
    assert!(silo_ok(&[&"cat", &copy, &ids[i]]) == std::fs::read(&files[i].1).unwrap());

    // gc with only the .debs live: they still read back, the rest goes.
    let live: String = files
        .iter()
        .zip(&ids)
        .filter(|(f, _)| f.1.extension().is_some_and(|e| e == "deb"))
        .map(|(_, id)| format!("{id}\n"))
        .collect();
    let out = silo_stdin(
        &[&"gc", &dir, &"--reachable", &"-", &"--grace", &"0"],
        live.as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for ((name, f), id) in files.iter().zip(&ids) {
        let got = silo(&[&"cat", &dir, id]);
        if f.extension().is_some_and(|e| e == "deb") {
            assert!(got.stdout == std::fs::read(f).unwrap(), "{name} after gc");
        } else {
            assert!(!got.status.success(), "{name} is gone after gc");
        }
    }
    silo_ok(&[&"verify", &dir]);
}

#[test]
fn the_committed_container_fixture_reads_back_exactly() {
    let (_tmp, dir) = committed_fixture("split-fixture-containers", 2, &[2, 3, 4], 7);
    silo_ok(&[&"verify", &dir]);
}

/// A silo of the committed fixture `testdata/NAME/pack`, checked: its one
/// record table of version `version`, its records of `formats`, and each
/// of the `files` files its `expected.txt` names read back by `silo cat`
/// with that size and SHA-256. The temporary directory and the silo's.
pub fn committed_fixture(
    name: &str,
    version: u8,
    formats: &[u8],
    files: usize,
) -> (trees_oracle::TempDir, PathBuf) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(name);
    let (tmp, dir) = new_silo();
    for e in std::fs::read_dir(fixture.join("pack")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join("pack").join(p.file_name().unwrap())).unwrap();
    }
    let table = super::split::the_one_table(&dir);
    assert_eq!(std::fs::read(&table).unwrap()[7], version, "table version");
    let mut found: Vec<u8> = records(&dir).iter().map(|r| r.format).collect();
    found.sort();
    found.dedup();
    assert_eq!(found, formats, "record formats");
    let expected = std::fs::read_to_string(fixture.join("expected.txt")).unwrap();
    let mut n = 0;
    for line in expected.lines().filter(|l| !l.starts_with('#')) {
        let mut w = line.split_whitespace();
        let (id, size, sha256, name) = (
            w.next().unwrap(),
            w.next().unwrap(),
            w.next().unwrap(),
            w.next().unwrap(),
        );
        let bytes = silo_ok(&[&"cat", &dir, &id]);
        assert_eq!(bytes.len().to_string(), size, "{name}");
        let mut sum = Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("sha256sum is required by this test");
        use std::io::Write;
        sum.stdin.take().unwrap().write_all(&bytes).unwrap();
        let out = sum.wait_with_output().unwrap();
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with(sha256),
            "{name}: sha256"
        );
        n += 1;
    }
    assert_eq!(n, files, "the fixture names {files} files");
    (tmp, dir)
}

#[test]
fn split_names_the_containers_to_split_and_the_others_stay_whole_saying_why() {
    let (tmp, dir) = new_silo();
    let rel = super::split::releases(72, 3);
    let xz: Vec<PathBuf> = rel
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let tar = tmp.path().join(format!("r{i}.tar"));
            std::fs::write(&tar, t).unwrap();
            let xz = tmp.path().join(format!("r{i}.tar.xz"));
            std::fs::write(
                &xz,
                run(Command::new("xz").args(["-6", "-T1", "-c"]).arg(&tar)),
            )
            .unwrap();
            xz
        })
        .collect();
    silo_ok(&[&"add", &dir, &xz[0], &xz[1]]);
    let report: serde_json::Value = serde_json::from_slice(&silo_ok(&[
        &"repack", &dir, &"--split", &"gzip,ar", &"--json",
    ]))
    .unwrap();
    let split = &report["split"];
    assert_eq!(split["split"], 0, "{split}");
    assert!(
        split["reasons"]
            .to_string()
            .contains("not asked to split (--split)"),
        "{split}"
    );
    assert!(records(&dir).is_empty());
    let out = silo(&[&"repack", &dir, &"--split", &"rar"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown container is a usage error"
    );
    // A full repack reads the packed ones again: all three split now.
    silo_ok(&[&"add", &dir, &xz[2]]);
    let report: serde_json::Value =
        serde_json::from_slice(&silo_ok(&[&"repack", &dir, &"--full", &"--json"])).unwrap();
    assert_eq!(report["split"]["by_format"]["xz"], 3, "{}", report["split"]);
}

#[test]
fn real_debs_split_check_and_read_back() {
    let debs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/debs");
    let files: Vec<PathBuf> = [
        "hello_2.10-3_amd64.deb",
        "sensible-utils_0.0.17+nmu1_all.deb",
    ]
    .iter()
    .map(|n| debs.join(n))
    .collect();
    let out = silo_ok(&[&"split-check", &files[0], &files[1], &"--json"]);
    for line in String::from_utf8(out).unwrap().lines() {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(r["split"], true, "{r}");
        assert_eq!(r["format"], "ar", "{r}");
        assert_eq!(r["contents"], 2, "control.tar and data.tar: {r}");
    }
    let (_tmp, dir) = new_silo();
    let ids = super::cli::add_each(&dir, &files);
    let report: serde_json::Value =
        serde_json::from_slice(&silo_ok(&[&"repack", &dir, &"--json"])).unwrap();
    // Two unrelated packages: splitting would not make the silo smaller.
    assert_eq!(report["split"]["not_smaller"], 2, "{}", report["split"]);
    for (f, id) in files.iter().zip(&ids) {
        assert!(silo_ok(&[&"cat", &dir, id]) == std::fs::read(f).unwrap());
    }
}
