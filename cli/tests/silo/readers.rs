//! Readers while repack and gc run: no reader may ever report a present
//! object as missing, nor give wrong bytes.
//!
//! Each test builds a silo of 320 blobs (160 packed, 160 loose) and runs a
//! writer (`silo repack`, `silo repack --full`, `silo gc`) that pauses at
//! chosen crash points (`SILO_PAUSE_AT`, see `silo/src/crash.rs`): before
//! its new pack is installed, between the pack and its idx, after the
//! install, between the removals of loose objects and of old packs. At
//! every pause the test reads every object through one long-running
//! `silo cat --batch` (started before the writer, so it holds the packs of
//! the silo as it was) and a few through fresh `silo cat` processes, while
//! another thread runs `silo cat` per object over and over until the
//! writer exits. The readers log where they found each object
//! (`SILO_LOG=trees_silo::store=debug`), which proves that the reads
//! overlapped the writer: the same batch process found objects loose and
//! in the new pack, or fresh processes found them in the old pack and in
//! its replacement.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::cli::silo_cmd;
use super::crash::small_blobs;

const LOG: &str = "trees_silo::store=debug,trees_silo::packs=debug";

struct Fixture {
    _tmp: trees_oracle::TempDir,
    dir: PathBuf,
    /// id -> content, of every blob.
    blobs: HashMap<String, Vec<u8>>,
    /// Ids in the order they were added.
    ids: Vec<String>,
}

/// 320 related blobs of 30 kB: the first 160 packed by a full repack, the
/// other 160 loose. The same seed gives the same silo, byte for byte.
fn fixture(seed: u64) -> Fixture {
    let tmp = trees_oracle::tempdir().unwrap();
    let dir = tmp.path().join("s.silo");
    let silo = trees_silo::Silo::init(&dir).unwrap();
    let files = small_blobs(tmp.path(), 320, seed);
    let mut ids = Vec::new();
    let mut blobs = HashMap::new();
    for (i, f) in files.iter().enumerate() {
        if i == 160 {
            let opts = trees_silo::repack::Options {
                full: true,
                ..trees_silo::repack::Options::default()
            };
            trees_silo::repack::repack(&silo, &opts, &trees_silo::NoProgress).unwrap();
        }
        let id = silo.add_file(f).unwrap().0.to_string();
        blobs.insert(id.clone(), std::fs::read(f).unwrap());
        ids.push(id);
    }
    assert!(
        pack_names(&dir).len() > 1 && dir.join("pack/multi-pack-index").is_file(),
        "the fixture has a pack per family and a multi-pack-index: {:?}",
        pack_names(&dir)
    );
    Fixture {
        _tmp: tmp,
        dir,
        blobs,
        ids,
    }
}

fn pack_names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir.join("pack"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".pack").map(str::to_owned)
        })
        .collect()
}

/// The crash points of `silo ARGS` on a fresh copy of the fixture, with
/// what each one is.
fn crash_points(seed: u64, args: &dyn Fn(&Fixture) -> Vec<String>) -> Vec<(u64, String)> {
    let f = fixture(seed);
    let out = silo_cmd()
        .args(args(&f))
        .env("SILO_LOG", "trees_silo=debug")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| {
            let rest = &l[l.find("crash point ")? + "crash point ".len()..];
            let (n, what) = rest.split_once(": ")?;
            Some((n.parse().ok()?, what.to_owned()))
        })
        .collect()
}

/// The points to pause at: the first and the last, every rename and
/// directory fsync (the install and its edges), and a seeded few of the
/// removals between them.
fn pause_points(points: &[(u64, String)], seed: u64) -> Vec<u64> {
    let mut at = BTreeSet::new();
    let mut removals = Vec::new();
    for (n, what) in points {
        if what.contains("renamed") || what.contains("synced") {
            at.insert(*n);
        } else {
            removals.push(*n);
        }
    }
    let mut rng = trees_testdata::Rng::new(seed);
    for _ in 0..6.min(removals.len()) {
        at.insert(removals[rng.below(removals.len() as u64) as usize]);
    }
    at.extend(points.first().map(|p| p.0));
    at.extend(points.last().map(|p| p.0));
    // Keep the run short: at most 24 pauses, spread over the run.
    let all: Vec<u64> = at.into_iter().collect();
    let step = all.len().div_ceil(24).max(1);
    let mut keep: Vec<u64> = all.iter().copied().step_by(step).collect();
    if let Some(&last) = all.last()
        && keep.last() != Some(&last)
    {
        keep.push(last);
    }
    keep
}

/// Where a reader's log says it found objects: `loose`, or a pack's name.
fn holders(log: &str) -> HashMap<String, BTreeSet<String>> {
    let mut out: HashMap<String, BTreeSet<String>> = HashMap::new();
    for l in log.lines() {
        let Some(rest) = l.split("found ").nth(1) else {
            continue;
        };
        let Some((id, place)) = rest.split_once(' ') else {
            continue;
        };
        let place = if place == "loose" {
            "loose".to_owned()
        } else {
            Path::new(place.trim_start_matches("in "))
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        out.entry(place).or_default().insert(id.to_owned());
    }
    out
}

/// A long-running `silo cat --batch`.
struct Batch {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// Drains the log as it comes (a full pipe would stop the child).
    log: std::thread::JoinHandle<String>,
}

impl Batch {
    fn start(dir: &Path) -> Batch {
        let mut child = silo_cmd()
            .arg("cat")
            .arg(dir)
            .arg("--batch")
            .env("SILO_LOG", LOG)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut stderr = child.stderr.take().unwrap();
        let log = std::thread::spawn(move || {
            let mut log = String::new();
            stderr.read_to_string(&mut log).unwrap();
            log
        });
        Batch {
            child,
            stdin,
            stdout,
            log,
        }
    }

    /// Asks for every id of `ids` and checks each answer; returns the
    /// problems (misses, wrong bytes).
    fn round(&mut self, ids: &[String], blobs: &HashMap<String, Vec<u8>>) -> Vec<String> {
        // 41 bytes an id: all of them fit in the pipe, so writing them
        // first cannot block while the child's output waits to be read.
        let input: String = ids.iter().map(|i| format!("{i}\n")).collect();
        self.stdin.write_all(input.as_bytes()).unwrap();
        self.stdin.flush().unwrap();
        let mut problems = Vec::new();
        for id in ids {
            let mut header = String::new();
            self.stdout.read_line(&mut header).unwrap();
            let header = header.trim_end();
            if header == format!("{id} missing") {
                problems.push(format!("cat --batch: {id} missing"));
                continue;
            }
            let size: usize = header
                .strip_prefix(&format!("{id} blob "))
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("cat --batch: unexpected header {header:?} for {id}"));
            let mut data = vec![0u8; size + 1];
            self.stdout.read_exact(&mut data).unwrap();
            if data[..size] != blobs[id][..] || data[size] != b'\n' {
                problems.push(format!("cat --batch: {id} read back wrong"));
            }
        }
        problems
    }

    /// Ends the batch; returns its log.
    fn finish(mut self) -> String {
        drop(self.stdin);
        let mut rest = Vec::new();
        self.stdout.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty(), "cat --batch printed more than was asked");
        let log = self.log.join().unwrap();
        assert!(self.child.wait().unwrap().success(), "cat --batch: {log}");
        log
    }
}

/// `silo cat DIR ID` in a new process: its problem, if any, and its log.
fn cat_one(dir: &Path, id: &str, want: &[u8]) -> (Option<String>, String) {
    let out = silo_cmd()
        .arg("cat")
        .arg(dir)
        .arg(id)
        .env("SILO_LOG", LOG)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    let problem = if !out.status.success() {
        Some(format!("cat {id}: {}", log.trim()))
    } else if out.stdout != want {
        Some(format!("cat {id}: wrong bytes"))
    } else {
        None
    };
    (problem, log)
}

/// What the readers saw during one writer's run.
struct Seen {
    /// Where the long-running batch found objects.
    batch: HashMap<String, BTreeSet<String>>,
    /// Where fresh `silo cat` processes found objects.
    fresh: HashMap<String, BTreeSet<String>>,
    /// Reads done, all kinds.
    reads: usize,
    /// Packs before and after the writer ran.
    before: BTreeSet<String>,
    after: BTreeSet<String>,
    /// Times the batch rescanned `pack/` after a miss.
    batch_rescans: usize,
}

/// Runs the writer `args` on a fixture while readers read `readable`
/// (every id, or gc's reachable ones) and asserts that they all read
/// every object right, every time.
fn read_while(
    seed: u64,
    args: &dyn Fn(&Fixture) -> Vec<String>,
    readable: &dyn Fn(&Fixture) -> Vec<String>,
) -> Seen {
    let points = crash_points(seed, args);
    assert!(
        points.len() >= 5,
        "only {} crash points: {points:?}",
        points.len()
    );
    let pauses = pause_points(&points, seed);
    let f = fixture(seed);
    let ids = readable(&f);
    assert!(ids.len() >= 250, "{} readable objects", ids.len());
    let before = pack_names(&f.dir);

    // The batch opens the packs of the silo as it is now.
    let mut batch = Batch::start(&f.dir);
    let mut problems = batch.round(&ids, &f.blobs);
    let mut reads = ids.len();
    assert!(problems.is_empty(), "at rest: {problems:?}");

    // Per-object readers, over and over until the writer is done.
    let done = Arc::new(AtomicBool::new(false));
    let free = {
        let (done, dir, ids) = (Arc::clone(&done), f.dir.clone(), ids.clone());
        let blobs: HashMap<String, Vec<u8>> = ids
            .iter()
            .map(|i| (i.clone(), f.blobs[i].clone()))
            .collect();
        std::thread::spawn(move || {
            let mut problems = Vec::new();
            let mut n = 0;
            while !done.load(Ordering::SeqCst) || n < 10 {
                let id = &ids[(n * 37) % ids.len()];
                problems.extend(cat_one(&dir, id, &blobs[id]).0);
                n += 1;
            }
            (problems, n)
        })
    };

    let list: Vec<String> = pauses.iter().map(u64::to_string).collect();
    let mut writer = silo_cmd()
        .args(args(&f))
        .env("SILO_PAUSE_AT", list.join(","))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut to_writer = writer.stdin.take().unwrap();
    let from_writer = BufReader::new(writer.stderr.take().unwrap());
    let mut fresh_log = String::new();
    let mut paused = 0;
    let mut writer_log = String::new();
    for line in from_writer.lines() {
        let line = line.unwrap();
        if !line.starts_with("paused at crash point") {
            writer_log.push_str(&line);
            writer_log.push('\n');
            continue;
        }
        // The writer is stopped here: read everything, then let it go on.
        problems.extend(
            batch
                .round(&ids, &f.blobs)
                .into_iter()
                .map(|p| format!("{line}: {p}")),
        );
        reads += ids.len();
        for k in 0..4 {
            let id = &ids[(paused * 4 + k) * 13 % ids.len()];
            let (p, log) = cat_one(&f.dir, id, &f.blobs[id]);
            problems.extend(p.map(|p| format!("{line}: {p}")));
            fresh_log.push_str(&log);
            reads += 1;
        }
        paused += 1;
        writeln!(to_writer).unwrap();
    }
    let status = writer.wait().unwrap();
    assert!(
        status.success(),
        "{args:?} failed: {writer_log}",
        args = args(&f)
    );
    done.store(true, Ordering::SeqCst);
    let (free_problems, free_reads) = free.join().unwrap();
    problems.extend(free_problems);
    reads += free_reads;
    problems.extend(batch.round(&ids, &f.blobs));
    reads += ids.len();
    let batch_log = batch.finish();
    assert!(
        problems.is_empty(),
        "{} of {reads} reads failed while {:?} ran: {problems:#?}",
        problems.len(),
        args(&f)
    );
    assert_eq!(
        paused,
        pauses.len(),
        "the writer did not stop at every pause point"
    );
    Seen {
        batch: holders(&batch_log),
        fresh: holders(&fresh_log),
        reads,
        before,
        after: pack_names(&f.dir),
        batch_rescans: batch_log.matches("rescanned pack/").count(),
    }
}

fn all_ids(f: &Fixture) -> Vec<String> {
    f.ids.clone()
}

/// The writer's new packs (one per family): in `after`, not in `before`.
fn new_packs(seen: &Seen) -> BTreeSet<String> {
    let new: BTreeSet<String> = seen.after.difference(&seen.before).cloned().collect();
    assert!(
        !new.is_empty(),
        "no new pack: {:?} -> {:?}",
        seen.before,
        seen.after
    );
    new
}

/// The packs the writer removed.
fn old_packs(seen: &Seen) -> BTreeSet<String> {
    let old: BTreeSet<String> = seen.before.difference(&seen.after).cloned().collect();
    assert!(
        !old.is_empty(),
        "no pack replaced: {:?} -> {:?}",
        seen.before,
        seen.after
    );
    old
}

/// Objects the log `holders` found in any of `packs`.
fn found_in(holders: &HashMap<String, BTreeSet<String>>, packs: &BTreeSet<String>) -> usize {
    packs
        .iter()
        .map(|p| holders.get(p).map_or(0, BTreeSet::len))
        .sum()
}

/// The batch started before the repack found objects loose and then in
/// the packs that replaced them: its reads overlapped the repack, and it
/// found the new packs by rescanning after a miss (or through the new
/// multi-pack-index).
fn assert_batch_overlapped(seen: &Seen) {
    let new = new_packs(seen);
    let loose = seen.batch.get("loose").map_or(0, BTreeSet::len);
    let in_new = found_in(&seen.batch, &new);
    assert!(
        loose > 0 && in_new > 0,
        "the batch found {loose} objects loose and {in_new} in the new packs {new:?}: {:?}",
        seen.batch.keys()
    );
    assert!(seen.batch_rescans > 0, "the batch never rescanned pack/");
}

#[test]
fn readers_never_miss_during_an_incremental_repack() {
    let args = |f: &Fixture| vec!["repack".to_owned(), f.dir.display().to_string()];
    let seen = read_while(61, &args, &all_ids);
    assert_batch_overlapped(&seen);
    assert!(seen.reads > 320 * 5, "{} reads", seen.reads);
}

#[test]
fn readers_never_miss_during_a_full_repack() {
    let args = |f: &Fixture| {
        vec![
            "repack".to_owned(),
            f.dir.display().to_string(),
            "--full".to_owned(),
        ]
    };
    let seen = read_while(62, &args, &all_ids);
    assert_batch_overlapped(&seen);
    // The old packs went too; fresh readers found objects in them before.
    let old = old_packs(&seen);
    assert!(
        found_in(&seen.fresh, &old) > 0,
        "no fresh read from the old packs: {:?}",
        seen.fresh.keys()
    );
}

#[test]
fn readers_never_miss_during_gc() {
    // Every fifth blob is unreachable: gc rewrites the pack without its
    // unreachable objects and deletes the unreachable loose ones.
    let reachable = |f: &Fixture| -> Vec<String> {
        f.ids
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 5 != 0)
            .map(|(_, id)| id.clone())
            .collect()
    };
    let args = move |f: &Fixture| {
        let list = f.dir.with_file_name("reachable.txt");
        let text: String = reachable(f).iter().map(|i| format!("{i}\n")).collect();
        std::fs::write(&list, text).unwrap();
        vec![
            "gc".to_owned(),
            f.dir.display().to_string(),
            "--reachable".to_owned(),
            list.display().to_string(),
            "--grace".to_owned(),
            "0".to_owned(),
        ]
    };
    let seen = read_while(63, &args, &reachable);
    let new = new_packs(&seen);
    let old = old_packs(&seen);
    // Fresh readers found objects in the old packs and then in the new ones.
    assert!(
        found_in(&seen.fresh, &old) > 0 && found_in(&seen.fresh, &new) > 0,
        "fresh reads found objects in {:?}",
        seen.fresh.keys()
    );
    // The batch kept reading the old packs through their mappings after gc
    // deleted them: nothing they held went missing.
    assert!(found_in(&seen.batch, &old) > 0);
}
