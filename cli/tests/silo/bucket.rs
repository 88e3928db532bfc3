//! Silos in a bucket (`s3://`), against a real S3 server (moto, see
//! `tests/common/moto.rs`); the tests that make sense for a directory too
//! run the same body on one (`_dir`): URLs are never paths, the lock object, two
//! repacks at once, adds and readers during a repack, a gc whose lock ran
//! out, SIGKILL at every crash point of repack and gc, and a proxy that
//! drops connections, answers 503 SlowDown and cuts bodies short.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::cli::{silo, silo_cmd, silo_ok, silo_stdin};
use super::crash::{run, small_blobs};
use super::moto;

/// Where a test's silo lives: the tests that make sense for both stores
/// run one body on each.
#[derive(Debug, Clone, Copy)]
enum Store {
    Dir,
    Bucket,
}

/// A new bucket silo holding `n` small related blobs, added loose.
fn setup(n: usize, seed: u64) -> (trees_oracle::TempDir, String, Vec<PathBuf>, Vec<String>) {
    setup_in(Store::Bucket, n, seed)
}

/// A new silo in `store` holding `n` small related blobs, added loose.
fn setup_in(
    store: Store,
    n: usize,
    seed: u64,
) -> (trees_oracle::TempDir, String, Vec<PathBuf>, Vec<String>) {
    let tmp = trees_oracle::tempdir().unwrap();
    let url = match store {
        Store::Bucket => moto::silo_url(),
        Store::Dir => tmp.path().join("s.silo").to_string_lossy().into_owned(),
    };
    silo_ok(&[&"init", &url]);
    let files = small_blobs(tmp.path(), n, seed);
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"add", &url];
    args.extend(files.iter().map(|f| f as &dyn AsRef<std::ffi::OsStr>));
    let out = String::from_utf8(silo_ok(&args)).unwrap();
    let ids = out
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect();
    (tmp, url, files, ids)
}

/// Every `ids[i]` reads back from `url` as `files[i]`, through
/// `silo cat --batch` (authenticated range GETs, no replica).
fn read_back(url: &str, files: &[PathBuf], ids: &[String]) {
    let input: String = ids.iter().map(|i| format!("{i}\n")).collect();
    let out = silo_stdin(&[&"cat", &url, &"--batch"], input.as_bytes());
    let mut want = Vec::new();
    for (f, id) in files.iter().zip(ids) {
        let data = std::fs::read(f).unwrap();
        want.extend_from_slice(format!("{id} blob {}\n", data.len()).as_bytes());
        want.extend_from_slice(&data);
        want.push(b'\n');
    }
    assert!(
        out.status.success() && out.stdout == want,
        "cat --batch of {url} ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn verify(url: &str) {
    let out = silo(&[&"verify", &url]);
    assert!(
        out.status.success(),
        "verify {url}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_url_is_never_a_path() {
    let tmp = trees_oracle::tempdir().unwrap();
    for (arg, says) in [
        ("gs://bucket/deps.silo", "gs:// is not a kind of silo"),
        ("s3://Not_A_Bucket/x", "is not a silo URL"),
        ("s3://bucket/../x", "is not a silo URL"),
    ] {
        let out = silo_cmd()
            .current_dir(tmp.path())
            .args(["init", arg])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{arg}: {err}");
        assert!(err.contains(says), "{arg}: {err}");
    }
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "a folder was made for a URL"
    );
    // A prefix with no silo is said to be none, and nothing is made.
    let url = moto::silo_url();
    let out = silo(&[&"verify", &url]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a silo"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn repack_gc_and_mirror_on_a_bucket_and_git_reads_the_packs() {
    let (tmp, url, files, ids) = setup(12, 7);
    read_back(&url, &files, &ids);
    let full: serde_json::Value =
        serde_json::from_slice(&silo_ok(&[&"repack", &url, &"--json"])).unwrap();
    assert!(
        full["transfer"]["uploaded_bytes"].as_u64().unwrap() > 0,
        "{full}"
    );
    verify(&url);
    read_back(&url, &files, &ids);
    // An incremental repack downloads the new loose objects and listing,
    // not the packs (the replica has them).
    let more = small_blobs(&tmp.path().join("more"), 0, 1);
    assert!(more.is_empty());
    std::fs::create_dir(tmp.path().join("new")).unwrap();
    let new = tmp.path().join("new").join("n");
    std::fs::write(&new, b"one more object\n").unwrap();
    silo_ok(&[&"add", &url, &new]);
    let inc: serde_json::Value =
        serde_json::from_slice(&silo_ok(&[&"repack", &url, &"--json"])).unwrap();
    let pack_bytes = full["transfer"]["uploaded_bytes"].as_u64().unwrap();
    let down = inc["transfer"]["downloaded_bytes"].as_u64().unwrap();
    assert!(
        down < pack_bytes,
        "incremental repack downloaded {down} bytes: more than the pack, {pack_bytes}"
    );
    // Mirror into a directory: git reads what we wrote to the bucket.
    let dir = tmp.path().join("mirror.silo");
    silo_ok(&[&"mirror", &url, &dir]);
    for idx in std::fs::read_dir(dir.join("pack")).unwrap() {
        let p = idx.unwrap().path();
        if p.extension().is_some_and(|e| e == "idx") {
            let out = Command::new("git")
                .args(["verify-pack", "-v"])
                .arg(&p)
                .output()
                .expect("git is required by this test");
            assert!(out.status.success(), "git verify-pack {}", p.display());
        }
    }
    // Bucket to bucket, and the bucket read as a public one over plain
    // HTTP (S3 answers range requests): the same objects.
    let url2 = moto::silo_url();
    silo_ok(&[&"mirror", &url, &url2]);
    verify(&url2);
    read_back(&url2, &files, &ids);
    if !moto::is_s3s() {
        // s3s-fs has no bucket policies: every request is signed.
        moto::make_public(&url);
        let public = format!(
            "{}/{}/",
            moto::moto().endpoint,
            url.trim_start_matches("s3://")
        );
        read_back(&public, &files, &ids);
    }
    // gc with an empty reachable set: first it retires, a later gc deletes.
    let none = tmp.path().join("none.txt");
    std::fs::write(&none, "").unwrap();
    let gc = |grace: &str| -> serde_json::Value {
        serde_json::from_slice(&silo_ok(&[
            &"gc",
            &url,
            &"--reachable",
            &none,
            &"--grace",
            &grace,
            &"--json",
        ]))
        .unwrap()
    };
    // The first deletes the loose objects the repacks retired, and
    // retires every pack (nothing is reachable).
    let first = gc("0");
    assert!(first["packs_rewritten"].as_u64().unwrap() > 0, "{first}");
    let second = gc("1h");
    assert_eq!(
        second["retired_deleted"].as_u64(),
        Some(0),
        "{second}: deleted an hour early"
    );
    let third = gc("0");
    assert!(third["retired_deleted"].as_u64().unwrap() >= 4, "{third}");
    verify(&url);
}

/// Starts `silo ARGS` paused at crash point `at` (`SILO_PAUSE_AT`); returns
/// the child once it says it is paused.
fn paused(args: &[&str], at: u64) -> std::process::Child {
    let mut child = silo_cmd()
        .args(args)
        .env("SILO_PAUSE_AT", at.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let mut lines = BufReader::new(err).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.contains("paused at crash point") => break,
            Some(Ok(_)) => {}
            _ => panic!("{args:?} ended before crash point {at}"),
        }
    }
    std::thread::spawn(move || for _ in lines {});
    child
}

fn resume(mut child: std::process::Child) {
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "the paused command failed: {status}");
}

#[test]
fn while_a_repack_holds_the_lock_a_second_refuses_adds_land_and_readers_read() {
    lock_adds_readers(Store::Bucket);
}

#[test]
fn while_a_repack_holds_the_lock_a_second_refuses_adds_land_and_readers_read_dir() {
    lock_adds_readers(Store::Dir);
}

fn lock_adds_readers(store: Store) {
    let (tmp, url, files, ids) = setup_in(store, 10, 11);
    // Point 1 of a bucket repack: the lock object was just made.
    let first = paused(&["repack", &url, "--full"], 1);
    let second = silo(&[&"repack", &url]);
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        !second.status.success() && err.contains("is held by"),
        "{err}"
    );
    // Three processes add while the repack is under way.
    let mut adders = Vec::new();
    let mut added = Vec::new();
    for k in 0..3 {
        let f = tmp.path().join(format!("added-{k}"));
        std::fs::write(&f, format!("added during the repack by process {k}\n")).unwrap();
        adders.push(
            silo_cmd()
                .args(["add", &url])
                .arg(&f)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        added.push(f);
    }
    let added_ids: Vec<String> = adders
        .into_iter()
        .map(|a| {
            let out = a.wait_with_output().unwrap();
            assert!(out.status.success());
            String::from_utf8(out.stdout).unwrap()[..40].to_owned()
        })
        .collect();
    read_back(&url, &files, &ids);
    resume(first);
    verify(&url);
    read_back(&url, &files, &ids);
    read_back(&url, &added, &added_ids);
    // And the next repack packs them.
    silo_ok(&[&"repack", &url]);
    read_back(&url, &added, &added_ids);
}

#[test]
fn readers_during_every_step_of_a_repack_and_a_gc_find_every_object() {
    readers_at_every_step(Store::Bucket);
}

#[test]
fn readers_during_every_step_of_a_repack_and_a_gc_find_every_object_dir() {
    readers_at_every_step(Store::Dir);
}

fn readers_at_every_step(store: Store) {
    // Every crash point of a full repack, then of a gc that keeps
    // everything, each on a fresh bucket: the command pauses there while
    // `cat --batch` reads every object.
    let (_t, url, _, _) = setup_in(store, 8, 13);
    let (_, points) = run(&["repack", "--full"], Path::new(&url), 0);
    for at in 1..=points {
        let (_t, url, files, ids) = setup_in(store, 8, 13);
        let child = paused(&["repack", &url, "--full"], at);
        read_back(&url, &files, &ids);
        resume(child);
    }
    let gc_args = |url: &str, all: &Path| -> Vec<String> {
        [
            "gc",
            url,
            "--reachable",
            &all.to_string_lossy(),
            "--grace",
            "0",
        ]
        .map(String::from)
        .to_vec()
    };
    let (t, url, _, ids) = setup_in(store, 8, 13);
    silo_ok(&[&"repack", &url]);
    let all = t.path().join("all.txt");
    std::fs::write(&all, ids.join("\n")).unwrap();
    let mut counted = gc_args(&url, &all);
    counted.remove(1);
    let counted: Vec<&str> = counted.iter().map(String::as_str).collect();
    let (_, gc_points) = run(&counted, Path::new(&url), 0);
    for at in 1..=gc_points {
        let (t, url, files, ids) = setup_in(store, 8, 13);
        silo_ok(&[&"repack", &url]);
        let all = t.path().join("all.txt");
        std::fs::write(&all, ids.join("\n")).unwrap();
        let args = gc_args(&url, &all);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let child = paused(&args, at);
        read_back(&url, &files, &ids);
        resume(child);
    }
}

#[test]
fn a_gc_whose_lock_expired_stops_before_deleting_and_a_stale_lock_is_taken_over() {
    let (tmp, url, files, ids) = setup(6, 17);
    silo_ok(&[&"repack", &url]);
    let none = tmp.path().join("none.txt");
    std::fs::write(&none, "").unwrap();
    // A time to live of 0: the lock is expired as soon as it is taken.
    let out = silo_cmd()
        .args(["gc", &url, "--reachable"])
        .arg(&none)
        .args(["--grace", "0"])
        .env("TREES_S3_LOCK_TTL", "0")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("lock expired"),
        "{err}"
    );
    verify(&url);
    read_back(&url, &files, &ids);
    // A repack killed right after taking its (short-lived) lock leaves it
    // behind; the next one takes it over once it is stale.
    let killed = silo_cmd()
        .args(["repack", &url])
        .env("SILO_CRASH_AT", "1")
        .env("TREES_S3_LOCK_TTL", "0")
        .output()
        .unwrap();
    assert!(killed.status.code().is_none(), "not killed at point 1");
    let next = silo_cmd()
        .args(["repack", &url, "--full"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&next.stderr);
    assert!(
        next.status.success() && err.contains("took over the stale lock"),
        "{err}"
    );
    verify(&url);
    read_back(&url, &files, &ids);
}

#[test]
fn repack_and_gc_killed_at_every_crash_point_lose_nothing() {
    killed_at_every_point(Store::Bucket);
}

#[test]
fn repack_and_gc_killed_at_every_crash_point_lose_nothing_dir() {
    killed_at_every_point(Store::Dir);
}

fn killed_at_every_point(store: Store) {
    let mut kills = 0;
    let mut per_command = Vec::new();
    // In a bucket, 32 objects give a full repack and a gc 50 crash points
    // or more (every put, retirement, sweep deletion and listing swap is
    // one, beside the replica's renames).
    let n = match store {
        Store::Bucket => 32,
        Store::Dir => 8,
    };
    for (cmd, seed) in [("full", 21u64), ("incremental", 22), ("gc", 23)] {
        let before = kills;
        let half = n / 2;
        let prepare = |url: &str, tmp: &Path| -> Vec<String> {
            match cmd {
                "full" => vec!["repack".into(), "--full".into()],
                "incremental" => {
                    silo_ok(&[&"repack", &url]);
                    let f = tmp.join("late");
                    std::fs::write(&f, b"a late object\n").unwrap();
                    silo_ok(&[&"add", &url, &f]);
                    vec!["repack".into()]
                }
                _ => {
                    silo_ok(&[&"repack", &url]);
                    let half = tmp.join("half.txt");
                    vec![
                        "gc".into(),
                        "--reachable".into(),
                        half.to_string_lossy().into_owned(),
                        "--grace".into(),
                        "0".into(),
                    ]
                }
            }
        };
        let (tmp, url, _, ids) = setup_in(store, n, seed);
        std::fs::write(tmp.path().join("half.txt"), ids[..half].join("\n")).unwrap();
        let args = prepare(&url, tmp.path());
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let (_, points) = run(&a, Path::new(&url), 0);
        // 50 seeded points of a full repack and of a gc in a bucket (all
        // if fewer), 15 of an incremental one; in a directory (whose every
        // fsync is a point, and which tests/silo/crash.rs covers with 60
        // seeded ones per command) a seeded third of them.
        let sampled = super::crash::sample(points, seed);
        let at_points: Vec<u64> = match (store, cmd) {
            (Store::Bucket, "incremental") => sampled.into_iter().step_by(4).collect(),
            (Store::Bucket, _) => {
                assert!(points >= 50, "only {points} crash points in {cmd}");
                sampled.into_iter().take(50).collect()
            }
            (Store::Dir, _) => sampled.into_iter().step_by(3).collect(),
        };
        for at in at_points {
            let (tmp, url, files, ids) = setup_in(store, n, seed);
            std::fs::write(tmp.path().join("half.txt"), ids[..half].join("\n")).unwrap();
            let args = prepare(&url, tmp.path());
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            let (killed, _) = run(&a, Path::new(&url), at);
            assert!(killed, "{cmd}: point {at} of {points} was not reached");
            kills += 1;
            let keep = if cmd == "gc" { half } else { n };
            verify(&url);
            read_back(&url, &files[..keep], &ids[..keep]);
            // The killed run's lock names a process of this host that is
            // gone: the next run takes it over at once.
            let mut again = silo_cmd();
            again.arg(a[0]).arg(&url).args(&a[1..]);
            let out = again.output().unwrap();
            assert!(
                out.status.success(),
                "{cmd} after a kill at {at}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            verify(&url);
            read_back(&url, &files[..keep], &ids[..keep]);
        }
        per_command.push(format!("{cmd}: {} of {points} points", kills - before));
    }
    eprintln!("{store:?}: killed at {}", per_command.join(", "));
}

#[test]
fn through_a_proxy_that_drops_slows_and_cuts_every_command_finishes_or_says_why() {
    use super::proxy::{FaultProxy, Faults};
    let (tmp, url, files, ids) = setup(6, 29);
    let m = moto::moto();
    let proxy = FaultProxy::start(
        m.addr,
        31,
        Faults {
            drop: 0.05,
            slow_down: 0.05,
            cut: 0.05,
        },
    );
    let env = moto::env_for(&proxy.url(), m);
    let faulty = |args: &[&str]| {
        let out = silo_cmd().args(args).envs(env.clone()).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        // Finished, or failed with a message; never a panic or a signal.
        assert!(
            out.status.success()
                || (matches!(out.status.code(), Some(1 | 2)) && err.contains("silo: error")),
            "{args:?}: {}: {err}",
            out.status
        );
        out.status.success()
    };
    let mut kept_files = files.clone();
    let mut kept_ids = ids.clone();
    for round in 0..6 {
        let f = tmp.path().join(format!("r{round}"));
        std::fs::write(&f, format!("added through a bad network, round {round}\n")).unwrap();
        let out = silo_cmd()
            .args(["add", &url])
            .arg(&f)
            .envs(env.clone())
            .output()
            .unwrap();
        if out.status.success() {
            kept_ids.push(String::from_utf8_lossy(&out.stdout)[..40].to_owned());
            kept_files.push(f);
        }
        faulty(&["repack", &url]);
        faulty(&["repack", &url, "--full"]);
        faulty(&["cat", &url, &ids[round % ids.len()]]);
    }
    let (ok, dropped, slowed, cut) = proxy.counts();
    assert!(
        dropped + slowed + cut > 0,
        "no fault was injected ({ok} requests)"
    );
    // Straight to the server: the silo verifies and nothing added is lost.
    verify(&url);
    read_back(&url, &kept_files, &kept_ids);
    silo_ok(&[&"repack", &url]);
    verify(&url);
    read_back(&url, &kept_files, &kept_ids);
}
