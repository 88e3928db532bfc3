//! Crash safety and concurrency: repack and gc killed with SIGKILL at
//! seeded-random crash points (every fsync, rename and unlink is one; see
//! `silo/src/crash.rs`) leave a silo that verifies and from which every
//! blob (every reachable blob, for gc) reads back byte-identical.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::cli::{silo_cmd, silo_ok};
use super::gc::all_read_back;

/// Many small blobs: many crash points (one unlink each, at least).
pub fn small_blobs(dir: &Path, n: usize, seed: u64) -> Vec<PathBuf> {
    let rel = trees_testdata::series("c", &trees_testdata::Options::small(seed));
    (0..n)
        .map(|i| {
            let p = dir.join(format!("f{i:03}"));
            // 30 kB each: related (deltas), quick to add and repack 50 times.
            let mut data = rel[i % rel.len()].tar[..30_000].to_vec();
            data.extend_from_slice(format!("variant {i}\n").as_bytes());
            std::fs::write(&p, data).unwrap();
            p
        })
        .collect()
}

fn setup(n: usize, seed: u64) -> (trees_oracle::TempDir, PathBuf, Vec<PathBuf>, Vec<String>) {
    let tmp = trees_oracle::tempdir().unwrap();
    let dir = tmp.path().join("s.silo");
    let silo = trees_silo::Silo::init(&dir).unwrap();
    let files = small_blobs(tmp.path(), n, seed);
    let ids = files
        .iter()
        .map(|f| silo.add_file(f).unwrap().0.to_string())
        .collect();
    (tmp, dir, files, ids)
}

/// Runs `silo ARGS` with `SILO_CRASH_AT=at` (0: no crash) and returns
/// whether it was killed, and the number of crash points it logged.
pub fn run(args: &[&str], dir: &Path, at: u64) -> (bool, u64) {
    let out = silo_cmd()
        .args(args.iter().take(1))
        .arg(dir)
        .args(args.iter().skip(1))
        .env("SILO_CRASH_AT", at.to_string())
        .env("SILO_LOG", "trees_silo=debug")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let points = String::from_utf8_lossy(&out.stderr)
        .matches("crash point")
        .count() as u64;
    let killed = out.status.code().is_none();
    assert!(
        killed || out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (killed, points)
}

pub fn verify_ok(dir: &Path) {
    let report = trees_silo::verify::verify(
        &trees_silo::Silo::open(dir).unwrap(),
        &trees_silo::NoProgress,
    )
    .unwrap();
    assert!(
        report.ok(),
        "silo verify after a crash: {:?}",
        report.problems
    );
}

/// 60 distinct seeded-random points of `1..=points` (all of them if fewer).
pub fn sample(points: u64, seed: u64) -> Vec<u64> {
    let mut rng = trees_testdata::Rng::new(seed);
    let mut all: Vec<u64> = (1..=points).collect();
    // Fisher-Yates, then keep the first 60.
    for i in (1..all.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        all.swap(i, j);
    }
    all.truncate(60);
    all.sort_unstable();
    all
}

#[test]
fn repack_killed_anywhere_loses_nothing() {
    let (_t, dir, _f, _i) = setup(50, 41);
    let (killed, points) = run(&["repack"], &dir, 0);
    assert!(!killed);
    assert!(
        points >= 50,
        "only {points} crash points in a repack of 50 blobs"
    );
    let at = sample(points, 42);
    assert!(at.len() >= 50, "{} points sampled", at.len());
    for k in at {
        let (tmp, dir, files, ids) = setup(50, 41);
        let (killed, _) = run(&["repack"], &dir, k);
        assert!(killed, "point {k} of {points} was not reached");
        verify_ok(&dir);
        all_read_back(&dir, &files, &ids, None);
        // And the next repack finishes the job.
        silo_ok(&[&"repack", &dir]);
        verify_ok(&dir);
        all_read_back(&dir, &files, &ids, None);
        drop(tmp);
    }
}

#[test]
fn gc_killed_anywhere_loses_nothing_reachable() {
    // 200 blobs: the first 100 packed, the rest loose; every other one
    // reachable. gc then rewrites the pack without its 50 unreachable
    // objects and deletes 50 loose ones: more than 50 crash points.
    let prepare = || {
        let tmp = trees_oracle::tempdir().unwrap();
        let dir = tmp.path().join("s.silo");
        let silo = trees_silo::Silo::init(&dir).unwrap();
        let files = small_blobs(tmp.path(), 200, 43);
        let add = |fs: &[PathBuf]| -> Vec<String> {
            fs.iter()
                .map(|f| silo.add_file(f).unwrap().0.to_string())
                .collect()
        };
        let mut ids = add(&files[..100]);
        let opts = trees_silo::repack::Options::default();
        trees_silo::repack::repack(&silo, &opts, &trees_silo::NoProgress).unwrap();
        ids.extend(add(&files[100..]));
        let reach: std::collections::HashSet<String> = ids.iter().step_by(2).cloned().collect();
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
    assert!(
        points >= 50,
        "only {points} crash points in a gc of 100 unreachable blobs"
    );
    let at = sample(points, 44);
    assert!(at.len() >= 50, "{} points sampled", at.len());
    let mut runs = 0;
    for k in at {
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
        runs += 1;
        drop(tmp);
    }
    assert!(runs >= 50);
}

/// `silo add` in a loop while repack and then gc run: every blob added
/// reads back afterwards; gc's grace keeps the young ones it does not know.
#[test]
fn adds_during_repack_and_gc_are_kept() {
    let (tmp, dir, files, mut ids) = setup(40, 45);
    let xdir = tmp.path().join("extra");
    std::fs::create_dir(&xdir).unwrap();
    let silo = trees_silo::Silo::open(&dir).unwrap();
    let mut all_files = files.clone();
    let empty = tmp.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    for (n, cmd) in [
        vec!["repack".to_string()],
        vec![
            "gc".into(),
            "--reachable".into(),
            empty.to_str().unwrap().into(),
            "--grace".into(),
            "1h".into(),
        ],
    ]
    .into_iter()
    .enumerate()
    {
        let mut child = silo_cmd()
            .arg(&cmd[0])
            .arg(&dir)
            .args(&cmd[1..])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut i = 0;
        // Add until the child is done (and at least a few while it runs).
        while child.try_wait().unwrap().is_none() || i < 3 {
            let p = xdir.join(format!("add-{n}-{i}"));
            std::fs::write(&p, format!("added while {} ran: {i}\n", cmd[0]).repeat(50)).unwrap();
            ids.push(silo.add_file(&p).unwrap().0.to_string());
            all_files.push(p);
            i += 1;
        }
        let status = child.wait().unwrap();
        assert!(status.success(), "{}", cmd[0]);
    }
    verify_ok(&dir);
    all_read_back(&dir, &all_files, &ids, None);
}
