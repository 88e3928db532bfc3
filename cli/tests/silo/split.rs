//! gzip files stored split (content T + recipe R, a record X = gzip(T, R)
//! in the pack's table): made by real producers, read back byte for byte
//! by every reader, with git reading T and R from our pack.

#![allow(clippy::cmp_owned)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use trees_split::recipe::Recipe;
use trees_split::table::{Record, Table};

use super::cli::{git, new_silo, silo, silo_ok, silo_stdin};

/// Runs `prog args` with `input` on stdin; returns stdout. Fails naming
/// the program if it is not installed.
fn pipe(prog: &str, args: &[&str], input: &[u8], dir: Option<&Path>) -> Vec<u8> {
    let mut c = Command::new(prog);
    c.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(d) = dir {
        c.current_dir(d);
    }
    let mut child = c
        .spawn()
        .unwrap_or_else(|e| panic!("{prog} is required by this test and could not be run: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let w = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    w.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "{prog} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn gzip(level: &str, data: &[u8]) -> Vec<u8> {
    pipe("gzip", &[level, "-c", "-n"], data, None)
}

/// Related releases (a family): their contents relate, so splits pay.
pub fn releases(seed: u64, n: usize) -> Vec<Vec<u8>> {
    let o = trees_testdata::Options {
        releases: n,
        ..trees_testdata::Options::small(seed)
    };
    trees_testdata::series("gz", &o)
        .into_iter()
        .map(|r| r.tar)
        .collect()
}

/// The gzip files of acceptance point 1, by name.
pub fn producers(dir: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let rel = releases(61, 8);
    let mut v = vec![
        ("gzip-1", gzip("-1", &rel[0])),
        ("gzip-6", gzip("-6", &rel[1])),
        ("gzip-9", gzip("-9", &rel[2])),
        (
            "python-gzip",
            pipe(
                "python3",
                &[
                    "-c",
                    "import gzip,sys; sys.stdout.buffer.write(gzip.compress(sys.stdin.buffer.read()))",
                ],
                &rel[3],
                None,
            ),
        ),
    ];
    // git archive of a tree that holds a release.
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    std::fs::write(repo.join("release.tar"), &rel[4]).unwrap();
    std::fs::write(repo.join("README"), "a tree archived by git\n").unwrap();
    git(&repo, &["add", "."]);
    git(
        &repo,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
            "commit",
            "-q",
            "-m",
            "r",
        ],
    );
    v.push((
        "git-archive",
        git(&repo, &["archive", "--format=tar.gz", "HEAD"]),
    ));
    // Two members.
    let half = rel[5].len() / 2;
    let mut multi = gzip("-6", &rel[5][..half]);
    multi.extend(gzip("-6", &rel[5][half..]));
    v.push(("multi-member", multi));
    // Every optional header field, around GNU gzip's deflate stream.
    let plain = gzip("-9", &rel[6]);
    let mut h = vec![0x1f, 0x8b, 8, 0x1e, 1, 2, 3, 4, 2, 3];
    h.extend([6, 0, b'x', b'y', 2, 0, 7, 7]);
    h.extend(b"release.tar\0a comment\0");
    h.extend([0xab, 0xcd]);
    h.extend(&plain[10..]);
    v.push(("header-fields", h));
    v.push(("empty", gzip("-9", b"")));
    let mut cut = gzip("-9", &rel[7]);
    cut.truncate(cut.len() * 2 / 3);
    v.push(("truncated", cut));
    let mut tail = gzip("-9", &rel[7]);
    tail.extend(b"trailing garbage\n".repeat(3));
    v.push(("trailing-garbage", tail));
    v
}

fn write_all(dir: &Path, cases: &[(&str, Vec<u8>)]) -> Vec<PathBuf> {
    cases
        .iter()
        .map(|(name, bytes)| {
            let p = dir.join(format!("{name}.tar.gz"));
            std::fs::write(&p, bytes).unwrap();
            p
        })
        .collect()
}

/// The idx beside the record table `table`, which names its parts.
pub fn idx_of(table: &Path) -> trees_pack::index::File {
    trees_pack::index::File::open(&table.with_extension("idx")).unwrap()
}

/// Every record of every table of the silo `dir`.
pub fn records(dir: &Path) -> Vec<Record> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir.join("pack")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|e| e == "split") {
            out.extend_from_slice(
                Table::parse(&std::fs::read(&p).unwrap(), &idx_of(&p))
                    .unwrap()
                    .records(),
            );
        }
    }
    out
}

/// The one record table of a silo whose split objects are one family; a
/// second table fails here on every machine, not by directory order.
pub(crate) fn the_one_table(dir: &Path) -> PathBuf {
    let tables: Vec<PathBuf> = std::fs::read_dir(dir.join("pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "split"))
        .collect();
    assert_eq!(tables.len(), 1, "one family, one table: {tables:?}");
    tables.into_iter().next().unwrap()
}

#[test]
fn every_producer_reads_back_exactly_through_every_reader_and_git_reads_t_and_r() {
    let (tmp, dir) = new_silo();
    let cases = producers(tmp.path());
    let files = write_all(tmp.path(), &cases);
    let ids = super::cli::add_each(&dir, &files);
    let report: serde_json::Value =
        serde_json::from_slice(&silo_ok(&[&"repack", &dir, &"--json"])).unwrap();
    let split = &report["split"];
    // Made by zlib-like encoders and related to each other: split. The
    // empty one relates to nothing; the truncated one is not whole gzip.
    assert!(split["split"].as_u64().unwrap() >= 7, "{split}");
    assert!(split["not_gzip"].as_u64().unwrap() >= 1, "{split}");
    let recs = records(&dir);
    let by_x = |id: &str| recs.iter().find(|r| r.x.to_string() == id);
    for name in [
        "gzip-1",
        "gzip-6",
        "gzip-9",
        "python-gzip",
        "git-archive",
        "multi-member",
        "header-fields",
        "trailing-garbage",
    ] {
        let i = cases.iter().position(|c| c.0 == name).unwrap();
        assert!(
            by_x(&ids[i]).is_some(),
            "{name} was not stored split: {split}"
        );
    }
    let t = cases.iter().position(|c| c.0 == "truncated").unwrap();
    assert!(by_x(&ids[t]).is_none(), "a truncated gzip is stored whole");

    // silo cat, by id and by prefix; cat --batch of them all at once.
    let mut batch_in = String::new();
    let mut batch_want = Vec::new();
    for ((f, id), (name, bytes)) in files.iter().zip(&ids).zip(&cases) {
        assert!(&silo_ok(&[&"cat", &dir, id]) == bytes, "{name}: cat");
        assert!(
            &silo_ok(&[&"cat", &dir, &&id[..12]]) == bytes,
            "{name}: cat by prefix"
        );
        batch_in.push_str(&format!("{id}\n"));
        batch_want.extend(format!("{id} blob {}\n", bytes.len()).as_bytes());
        batch_want.extend(bytes);
        batch_want.push(b'\n');
        assert_eq!(std::fs::read(f).unwrap(), *bytes);
    }
    let out = silo_stdin(&[&"cat", &dir, &"--batch"], batch_in.as_bytes());
    assert!(out.status.success());
    assert!(out.stdout == batch_want, "cat --batch");
    let v = String::from_utf8(silo_ok(&[&"verify", &dir])).unwrap();
    assert!(
        v.contains(&format!("; {} gzip files stored split)", recs.len())),
        "{v}"
    );

    // git: index-pack writes our idx; cat-file gives T and R, from which
    // X is rebuilt exactly.
    let bare = super::cli::git_reads_every_pack(tmp.path(), &dir);
    for r in &recs {
        let t = git(&bare, &["cat-file", "blob", &r.first_content().to_string()]);
        let recipe = git(&bare, &["cat-file", "blob", &r.recipe.to_string()]);
        let recipe = Recipe::decode(&recipe).unwrap();
        let mut x = Vec::new();
        trees_split::rebuild::rebuild(&recipe, &mut &t[..], &mut x).unwrap();
        let i = ids.iter().position(|id| *id == r.x.to_string()).unwrap();
        assert!(
            x == cases[i].1,
            "{}: rebuilt from git's T and R",
            cases[i].0
        );
    }
}

#[test]
fn a_record_of_an_unknown_format_is_refused_naming_it() {
    let (tmp, dir) = new_silo();
    let rel = releases(62, 3);
    let files: Vec<PathBuf> = rel
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let p = tmp.path().join(format!("r{i}.tar.gz"));
            std::fs::write(&p, gzip("-9", t)).unwrap();
            silo_ok(&[&"add", &dir, &p]);
            p
        })
        .collect();
    silo_ok(&[&"repack", &dir]);
    let table = the_one_table(&dir);
    let t = Table::parse(&std::fs::read(&table).unwrap(), &idx_of(&table)).unwrap();
    let mut recs = t.records().to_vec();
    assert!(!recs.is_empty());
    recs[0].format = 9;
    let x = recs[0].x.to_string();
    let mut perms = std::fs::metadata(&table).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&table, perms).unwrap();
    std::fs::write(&table, Table::encode(t.pack(), &recs, &idx_of(&table))).unwrap();
    let out = silo(&[&"cat", &dir, &x]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("recipe format 9"), "{err}");
    assert!(err.contains(&x) && err.contains(".split"), "{err}");
    let out = silo(&[&"verify", &dir]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("recipe format 9"));
    // The other records still read.
    let other = recs[1].x.to_string();
    let f = files
        .iter()
        .find(|f| {
            let out = String::from_utf8(silo_ok(&[&"add", &dir, f])).unwrap();
            out.starts_with(&other)
        })
        .unwrap();
    assert!(silo_ok(&[&"cat", &dir, &other]) == std::fs::read(f).unwrap());
    // A record naming a content the pack lacks: an error naming the pack,
    // the table, X and the missing id.
    let gone = trees_pack::ObjectId::from([0x5a; 20]);
    recs[1].contents = vec![gone];
    std::fs::write(&table, Table::encode(t.pack(), &recs, &idx_of(&table))).unwrap();
    let out = silo(&[&"cat", &dir, &other]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        other.as_str(),
        &gone.to_string(),
        ".split",
        ".pack",
        "content",
    ] {
        assert!(err.contains(want), "{want} in {err}");
    }
}

/// The committed fixtures: packs written by the first build that split
/// gzip files (preflate-rs 0.7.6, recipe format 1), by the first whose
/// gzip recipes are trees-deflate's (format 5), and by the first with its
/// models of zlib-ng 1-6, libdeflate, miniz and Go (format 5). Every later build must
/// read them back exactly; an upgrade that cannot fails here, not in a
/// user's silo.
#[test]
fn the_committed_split_fixtures_read_back_exactly() {
    for (name, files) in [
        ("split-fixture", 3),
        ("split-fixture-deflate", 4),
        ("split-fixture-models", 6),
    ] {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata")
            .join(name);
        let (_tmp, dir) = new_silo();
        let mut tables = 0;
        for e in std::fs::read_dir(fixture.join("pack")).unwrap() {
            let p = e.unwrap().path();
            tables += usize::from(p.extension().is_some_and(|e| e == "split"));
            std::fs::copy(&p, dir.join("pack").join(p.file_name().unwrap())).unwrap();
        }
        assert_eq!(tables, 1, "{name} has one record table");
        let expected = std::fs::read_to_string(fixture.join("expected.txt")).unwrap();
        let mut n = 0;
        for line in expected.lines().filter(|l| !l.starts_with('#')) {
            let mut w = line.split_whitespace();
            let (id, size, sha256) = (w.next().unwrap(), w.next().unwrap(), w.next().unwrap());
            let bytes = silo_ok(&[&"cat", &dir, &id]);
            assert_eq!(bytes.len().to_string(), size, "{name}: {id}");
            let sum = pipe("sha256sum", &[], &bytes, None);
            assert!(
                String::from_utf8_lossy(&sum).starts_with(sha256),
                "{name}: {id}: sha256"
            );
            n += 1;
        }
        assert_eq!(n, files, "{name} names {n} objects");
        assert_eq!(
            records(&dir).len(),
            files,
            "{name}: its objects are stored split"
        );
        let v = String::from_utf8(silo_ok(&[&"verify", &dir])).unwrap();
        assert!(
            v.contains(&format!(
                "; {files} gzip files stored split), 0 derived files: ok"
            )),
            "{name}: {v}"
        );
    }
}

#[test]
fn incremental_repack_splits_new_releases_against_packed_ones_and_gc_keeps_a_live_t() {
    let (tmp, dir) = new_silo();
    let rel = releases(63, 5);
    let gz: Vec<PathBuf> = rel
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let p = tmp.path().join(format!("r{i}.tar.gz"));
            std::fs::write(&p, gzip("-6", t)).unwrap();
            p
        })
        .collect();
    let id_of = |f: &Path| -> String {
        let out = String::from_utf8(silo_ok(&[&"add", &dir, &f])).unwrap();
        out.split_whitespace().next().unwrap().to_owned()
    };
    let ids: Vec<String> = gz[..3].iter().map(|f| id_of(f)).collect();
    silo_ok(&[&"repack", &dir]);
    let ids2: Vec<String> = gz[3..].iter().map(|f| id_of(f)).collect();
    let report: serde_json::Value =
        serde_json::from_slice(&silo_ok(&[&"repack", &dir, &"--json"])).unwrap();
    assert_eq!(report["mode"], "incremental");
    assert_eq!(report["split"]["split"], 2, "{}", report["split"]);
    let all: Vec<String> = ids.iter().chain(&ids2).cloned().collect();
    for (f, id) in gz.iter().zip(&all) {
        assert!(silo_ok(&[&"cat", &dir, id]) == std::fs::read(f).unwrap());
    }
    assert_eq!(records(&dir).len(), 5);
    // The tar of release 0 added on its own: T live by itself.
    let tar0 = tmp.path().join("r0.tar");
    std::fs::write(&tar0, &rel[0]).unwrap();
    let t0 = id_of(&tar0);
    // Keep only the tar of release 0 and the gzip of release 4.
    let reach = tmp.path().join("reach.txt");
    std::fs::write(&reach, format!("{t0}\n{}\n", all[4])).unwrap();
    silo_ok(&[&"gc", &dir, &"--reachable", &reach, &"--grace", &"0"]);
    let recs = records(&dir);
    assert_eq!(recs.len(), 1, "only the live X keeps its record");
    assert_eq!(recs[0].x.to_string(), all[4]);
    assert!(silo_ok(&[&"cat", &dir, &t0]) == rel[0], "T kept on its own");
    assert!(silo_ok(&[&"cat", &dir, &all[4]]) == std::fs::read(&gz[4]).unwrap());
    assert_eq!(silo(&[&"cat", &dir, &all[0]]).status.code(), Some(2));
    let v = String::from_utf8(silo_ok(&[&"verify", &dir])).unwrap();
    assert!(v.contains("; 1 gzip files stored split)"), "{v}");
}

/// A silo of `n` gzip releases, loose; their files and ids.
fn gz_silo(n: usize, seed: u64) -> (trees_oracle::TempDir, PathBuf, Vec<PathBuf>, Vec<String>) {
    let (tmp, dir) = new_silo();
    let silo = trees_silo::Silo::open(&dir).unwrap();
    let mut files = Vec::new();
    let mut ids = Vec::new();
    for (i, t) in releases(seed, n).iter().enumerate() {
        let p = tmp.path().join(format!("r{i}.tar.gz"));
        std::fs::write(&p, gzip(if i % 2 == 0 { "-9" } else { "-6" }, t)).unwrap();
        ids.push(silo.add_file(&p).unwrap().0.to_string());
        files.push(p);
    }
    (tmp, dir, files, ids)
}

/// At most 15 of `sample`'s points: each costs two repacks and two
/// verifies that rebuild every split object.
fn some_points(points: u64, seed: u64) -> Vec<u64> {
    let mut at = super::crash::sample(points, seed);
    let step = at.len().div_ceil(15).max(1);
    at = at.into_iter().step_by(step).collect();
    at
}

#[test]
fn a_splitting_repack_killed_anywhere_loses_nothing() {
    use super::crash::{run, verify_ok};
    use super::gc::all_read_back;
    let (_t, dir, _, _) = gz_silo(8, 64);
    let (killed, points) = run(&["repack"], &dir, 0);
    assert!(!killed);
    assert!(points >= 10, "only {points} crash points");
    assert_eq!(records(&dir).len(), 8, "every release is split");
    for k in some_points(points, 65) {
        let (tmp, dir, files, ids) = gz_silo(8, 64);
        let (killed, _) = run(&["repack"], &dir, k);
        assert!(killed, "point {k} of {points} was not reached");
        verify_ok(&dir);
        all_read_back(&dir, &files, &ids, None);
        silo_ok(&[&"repack", &dir]);
        verify_ok(&dir);
        all_read_back(&dir, &files, &ids, None);
        assert_eq!(records(&dir).len(), 8);
        drop(tmp);
    }
}

#[test]
fn a_gc_that_drops_a_split_x_but_keeps_its_t_killed_anywhere_loses_nothing() {
    use super::crash::{run, verify_ok};
    use super::gc::all_read_back;
    let prepare = || {
        let (tmp, dir, mut files, mut ids) = gz_silo(6, 66);
        silo_ok(&[&"repack", &dir]);
        // Release 0's tar, live on its own: gc drops X0's record, keeps T0.
        let tar0 = tmp.path().join("r0.tar");
        std::fs::write(&tar0, releases(66, 6).swap_remove(0)).unwrap();
        let silo = trees_silo::Silo::open(&dir).unwrap();
        ids.push(silo.add_file(&tar0).unwrap().0.to_string());
        files.push(tar0);
        let reach: std::collections::HashSet<String> = ids.iter().skip(2).cloned().collect();
        let list = tmp.path().join("reachable.txt");
        std::fs::write(
            &list,
            reach.iter().map(|i| format!("{i}\n")).collect::<String>(),
        )
        .unwrap();
        (tmp, dir, files, ids, reach, list)
    };
    let (_t, dir, _, _, _, list) = prepare();
    let l = list.to_str().unwrap().to_string();
    let args = ["gc", "--reachable", l.as_str(), "--grace", "0"];
    let (killed, points) = run(&args, &dir, 0);
    assert!(!killed);
    assert!(points >= 5, "only {points} crash points");
    assert_eq!(records(&dir).len(), 4, "X0 and X1 dropped");
    for k in some_points(points, 67) {
        let (tmp, dir, files, ids, reach, list) = prepare();
        let l = list.to_str().unwrap().to_string();
        let args = ["gc", "--reachable", l.as_str(), "--grace", "0"];
        let (killed, _) = run(&args, &dir, k);
        assert!(killed, "point {k} of {points} was not reached");
        verify_ok(&dir);
        all_read_back(&dir, &files, &ids, Some(&reach));
        silo_ok(&[&"gc", &dir, &"--reachable", &list, &"--grace", &"0"]);
        verify_ok(&dir);
        all_read_back(&dir, &files, &ids, Some(&reach));
        assert_eq!(records(&dir).len(), 4);
        drop(tmp);
    }
}

/// A silo of split gzip releases served by nginx: `silo cat URL` (by id,
/// prefix and batch) and `silo mirror` give every byte; a table that names
/// another pack, or a record whose rebuild is not X, is refused by both.
#[test]
fn served_split_objects_read_and_mirror_exactly_and_bad_tables_are_refused() {
    use super::nginx::Nginx;
    let tmp = trees_oracle::tempdir().unwrap();
    let root = tmp.path().join("www");
    std::fs::create_dir(&root).unwrap();
    let dir = root.join("s.silo");
    silo_ok(&[&"init", &dir]);
    let mut files = Vec::new();
    let mut ids = Vec::new();
    for (i, t) in releases(68, 4).iter().enumerate() {
        let p = tmp.path().join(format!("r{i}.tar.gz"));
        std::fs::write(&p, gzip("-9", t)).unwrap();
        let out = String::from_utf8(silo_ok(&[&"add", &dir, &p])).unwrap();
        ids.push(out.split_whitespace().next().unwrap().to_owned());
        files.push(p);
    }
    silo_ok(&[&"repack", &dir]);
    assert_eq!(records(&dir).len(), 4);
    let listing = std::fs::read_to_string(dir.join("info/files.json")).unwrap();
    assert!(listing.contains("\"split\":"), "{listing}");
    let nginx = Nginx::serve(&root);
    let url = nginx.url("s.silo/");
    let cache = tmp.path().join("cache");
    for (f, id) in files.iter().zip(&ids) {
        let want = std::fs::read(f).unwrap();
        assert!(silo_ok(&[&"cat", &url, id, &"--cache", &cache]) == want);
        assert!(silo_ok(&[&"cat", &url, &&id[..10], &"--cache", &cache]) == want);
    }
    let batch = silo_stdin(
        &[&"cat", &url, &"--batch", &"--cache", &cache],
        format!("{}\n{}\n", ids[0], ids[3]).as_bytes(),
    );
    assert!(batch.status.success());
    let mut want = format!(
        "{} blob {}\n",
        ids[0],
        std::fs::metadata(&files[0]).unwrap().len()
    )
    .into_bytes();
    want.extend(std::fs::read(&files[0]).unwrap());
    want.push(b'\n');
    assert!(batch.stdout.starts_with(&want), "cat --batch over HTTP");

    let copy = tmp.path().join("copy.silo");
    silo_ok(&[&"mirror", &url, &copy]);
    assert_eq!(records(&copy).len(), 4, "the table is mirrored");
    let v = String::from_utf8(silo_ok(&[&"verify", &copy])).unwrap();
    assert!(v.contains("; 4 gzip files stored split)"), "{v}");
    for (f, id) in files.iter().zip(&ids) {
        assert!(silo_ok(&[&"cat", &copy, id]) == std::fs::read(f).unwrap());
    }

    // A hostile table: its first record's X swapped for another id. It
    // parses (checksum recomputed), but the rebuild is not that X.
    let table = the_one_table(&dir);
    let t = Table::parse(&std::fs::read(&table).unwrap(), &idx_of(&table)).unwrap();
    let mut recs = t.records().to_vec();
    let liar = recs[0].x;
    recs[0].contents = recs[1].contents.clone();
    let mut perms = std::fs::metadata(&table).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&table, perms).unwrap();
    std::fs::write(&table, Table::encode(t.pack(), &recs, &idx_of(&table))).unwrap();
    let out = silo(&[
        &"cat",
        &url,
        &liar.to_string(),
        &"--cache",
        &tmp.path().join("cache2"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&liar.to_string()), "{err}");
    assert!(
        out.stdout.is_empty(),
        "nothing of a wrong rebuild is written"
    );
    let copy2 = tmp.path().join("copy2.silo");
    let out = silo(&[&"mirror", &url, &copy2]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !copy2.join("pack").read_dir().unwrap().any(|e| e
            .unwrap()
            .path()
            .extension()
            .is_some_and(|x| x == "idx")),
        "a pack whose table does not rebuild is not let in"
    );
}

/// preflate-rs loops without end on some hostile corrections; the worker's
/// CPU cap ends such a loop, and the reader gets an error naming the
/// signal, not a hang. (The address-space cap is not tested: qemu-user,
/// which runs the aarch64 suite, ignores it.)
#[test]
fn a_worker_that_loops_is_ended_by_its_cpu_cap() {
    use trees_split::recipe::{Chunk, FORMAT_PREFLATE_0_7_6, Member};
    use trees_split::worker::{SPIN_ENV, Worker};
    let recipe = Recipe {
        format: FORMAT_PREFLATE_0_7_6,
        members: vec![Member {
            header: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3],
            chunks: vec![Chunk {
                plain_len: 5,
                deflate_len: 7,
                corrections: vec![0; 8],
            }],
            trailer: [0; 8],
        }],
        tail: Vec::new(),
    };
    let worker = Worker::locate()
        .unwrap()
        .with_cpu(1)
        .with_env(SPIN_ENV, "1");
    let start = std::time::Instant::now();
    let mut out = Vec::new();
    let got = worker.rebuild(
        &recipe.encode(),
        5,
        &mut |w: &mut dyn Write| w.write_all(b"hello"),
        &mut out,
    );
    let err = got.expect_err("a spinning worker fails");
    let msg = err.to_string();
    assert!(msg.contains("signal"), "{msg}");
    assert!(
        start.elapsed() < std::time::Duration::from_secs(60),
        "ended by the cap"
    );
}
