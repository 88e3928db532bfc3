//! The multi-pack-index against git 2.47: packs made by `git pack-objects`
//! with objects in several of them, `git multi-pack-index write` for the
//! bytes, `git multi-pack-index verify` and `git cat-file` for what we
//! write, and hostile copies (cut short, bit-flipped) for our reader.
//!
//! Large offsets need a pack of more than 2 GiB; they are tested by the
//! bytes, without git, in `trees_pack::multi_index::file`'s unit tests.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use trees_pack::multi_index::{self, File, Pack, write};
use trees_pack::{ObjectId, index};
use trees_testdata::random_bytes;

use crate::git;
use crate::packs::{blob_id, chain, sha1};

/// A bare repository whose objects are in several packs and nowhere else.
struct Repo {
    _dir: trees_oracle::TempDir,
    repo: PathBuf,
    /// The blobs, by id.
    blobs: Vec<(ObjectId, Vec<u8>)>,
    /// Each pack's idx name and the mtime given to its `.pack`, in the
    /// order the packs were made.
    packs: Vec<(String, SystemTime)>,
}

impl Repo {
    fn pack_dir(&self) -> PathBuf {
        self.repo.join("objects/pack")
    }

    fn midx_path(&self) -> PathBuf {
        self.pack_dir().join("multi-pack-index")
    }

    /// `git multi-pack-index write <args>` from scratch (an existing
    /// multi-pack-index would make git treat its objects as oldest): the bytes.
    fn git_write(&self, args: &[&str]) -> Vec<u8> {
        let _ = std::fs::remove_file(self.midx_path());
        let mut all = vec!["multi-pack-index", "write"];
        all.extend_from_slice(args);
        git::in_repo(&self.repo, &all, b"");
        std::fs::read(self.midx_path()).unwrap()
    }

    /// Our multi-pack-index of every pack, the packs of `first` first (in
    /// that order), then the others newest first, as git chooses copies.
    fn our_write(&self, first: &[&str]) -> (Vec<u8>, ObjectId) {
        let mut order: Vec<&(String, SystemTime)> = self.packs.iter().collect();
        order.sort_by_key(|(name, mtime)| {
            let rank = first.iter().position(|f| f == name).unwrap_or(first.len());
            (rank, std::cmp::Reverse(*mtime))
        });
        let idx: Vec<index::File> = order
            .iter()
            .map(|(name, _)| index::File::open(&self.pack_dir().join(name)).unwrap())
            .collect();
        let packs: Vec<Pack<'_>> = order
            .iter()
            .zip(&idx)
            .map(|((name, _), index)| Pack { name, index })
            .collect();
        let mut out = Vec::new();
        let checksum = write(&packs, &mut out).unwrap();
        (out, checksum)
    }
}

/// `n` blobs of a few hundred bytes each, some of them related.
fn blobs(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let mut b = format!("blob {i} of the multi-pack-index tests\n").into_bytes();
            b.extend_from_slice(&random_bytes(i as u64 % 7, 200 + i * 13));
            b
        })
        .collect()
}

/// Packs `ids` with git into the repository's pack directory and gives the
/// `.pack` the mtime `secs` past 2020; returns the idx name.
fn pack(repo: &Path, ids: &[ObjectId], secs: u64) -> (String, SystemTime) {
    let list: String = ids.iter().map(|id| format!("{id}\n")).collect();
    let prefix = repo.join("objects/pack/pack");
    let (checksum, _) = git::in_repo_text(
        repo,
        &["pack-objects", "-q", prefix.to_str().unwrap()],
        list.as_bytes(),
    );
    let name = format!("pack-{}.idx", checksum.trim());
    let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_577_836_800 + secs);
    let pack = repo.join("objects/pack").join(&name).with_extension("pack");
    std::fs::File::options()
        .write(true)
        .open(&pack)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    (name, mtime)
}

/// Four packs: A (blobs 0-9, mtime 300), B (5-14, 100), C (12-19 and 0-1,
/// 200), D (7 alone, 400): objects in two and three packs, a pack of one.
/// The loose copies are pruned, so git can read the blobs only from packs.
fn four_packs() -> Repo {
    let dir = trees_oracle::tempdir().unwrap();
    let repo = git::init_bare(dir.path(), "repo.git");
    let data = blobs(20);
    let files = dir.path().join("blobs");
    std::fs::create_dir(&files).unwrap();
    let mut paths = String::new();
    for (i, b) in data.iter().enumerate() {
        let path = files.join(i.to_string());
        std::fs::write(&path, b).unwrap();
        paths.push_str(&format!("{}\n", path.display()));
    }
    git::in_repo(
        &repo,
        &["hash-object", "-w", "--stdin-paths"],
        paths.as_bytes(),
    );
    let blobs: Vec<(ObjectId, Vec<u8>)> = data.into_iter().map(|b| (blob_id(&b), b)).collect();
    let ids = |i: Vec<usize>| -> Vec<ObjectId> { i.into_iter().map(|i| blobs[i].0).collect() };
    let packs = vec![
        pack(&repo, &ids((0..10).collect()), 300),
        pack(&repo, &ids((5..15).collect()), 100),
        pack(&repo, &ids((12..20).chain(0..2).collect()), 200),
        pack(&repo, &ids(vec![7]), 400),
    ];
    git::in_repo(&repo, &["prune-packed"], b"");
    Repo {
        _dir: dir,
        repo,
        blobs,
        packs,
    }
}

#[test]
fn writes_what_git_writes_for_overlapping_packs() {
    let r = four_packs();
    let theirs = r.git_write(&[]);
    let (ours, checksum) = r.our_write(&[]);
    assert!(ours == theirs, "our multi-pack-index differs from git's");
    assert_eq!(ours[6], 4, "PNAM, OIDF, OIDL, OOFF and nothing else");
    assert_eq!(&ours[ours.len() - 20..], checksum.as_slice());
    // The order matters: oldest first chooses other copies.
    let (oldest_first, _) = r.our_write(&[&r.packs[1].0, &r.packs[2].0]);
    assert!(oldest_first != theirs, "the test has no choice to make");
}

#[test]
fn writes_what_git_writes_with_a_preferred_pack() {
    let r = four_packs();
    for (preferred, _) in &r.packs {
        let pack_name = preferred.replace(".idx", ".pack");
        let theirs = r.git_write(&[&format!("--preferred-pack={pack_name}")]);
        let (ours, _) = r.our_write(&[preferred]);
        assert!(ours == theirs, "preferring {preferred}: ours differs");
    }
}

#[test]
fn git_verifies_and_reads_through_ours() {
    let r = four_packs();
    let (ours, _) = r.our_write(&[]);
    let _ = std::fs::remove_file(r.midx_path());
    std::fs::write(r.midx_path(), &ours).unwrap();
    git::in_repo(&r.repo, &["multi-pack-index", "verify"], b"");
    // git reaches the packs a multi-pack-index lists only through it; its
    // trace says it loaded ours.
    let trace = r.repo.join("trace.json");
    let mut c = git::command(&r.repo);
    c.arg("--git-dir")
        .arg(&r.repo)
        .args(["cat-file", "--batch-check"])
        .env("GIT_TRACE2_EVENT", &trace);
    let input: String = r.blobs.iter().map(|(id, _)| format!("{id}\n")).collect();
    git::run(c, input.as_bytes());
    let events = std::fs::read_to_string(&trace).unwrap();
    let loaded = format!(
        "\"key\":\"load/num_objects\",\"value\":\"{}\"",
        r.blobs.len()
    );
    assert!(events.contains(&loaded), "git did not load ours:\n{events}");
    let ids: Vec<String> = r.blobs.iter().map(|(id, _)| id.to_string()).collect();
    let objects = git::cat_file_batch(&r.repo, &ids);
    for ((id, data), (got_id, kind, content)) in r.blobs.iter().zip(&objects) {
        assert_eq!(
            (got_id.as_str(), kind.as_str()),
            (id.to_string().as_str(), "blob")
        );
        assert!(content == data, "{id} reads back different through ours");
    }
}

/// Checks `midx` against the packs' own idx files: every object of every
/// pack is listed once, at the offset its pack's idx gives, in the pack
/// that `chosen` says should hold the copy.
fn agrees_with_the_idx_files(r: &Repo, midx: &File, chosen: &dyn Fn(&ObjectId) -> String) {
    midx.verify().unwrap();
    let names: Vec<&str> = midx.pack_names().iter().map(String::as_str).collect();
    let mut sorted: Vec<&str> = r.packs.iter().map(|(n, _)| n.as_str()).collect();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    let idx: Vec<index::File> = names
        .iter()
        .map(|n| index::File::open(&r.pack_dir().join(n)).unwrap())
        .collect();
    let mut all: Vec<ObjectId> = idx
        .iter()
        .flat_map(|f| (0..f.count()).map(|i| f.id(i)))
        .collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(midx.count() as usize, all.len());
    for (i, id) in all.iter().enumerate() {
        let e = midx.lookup(id).expect("every packed object is listed");
        assert_eq!(midx.entry(i as u32), Some(e));
        let f = &idx[e.pack as usize];
        let at = f.lookup(id).expect("in the pack the midx names");
        assert_eq!(f.offset(at).unwrap(), e.offset, "{id}");
        assert_eq!(names[e.pack as usize], chosen(id), "{id}");
    }
    assert_eq!(midx.entry(midx.count()), None);
    assert_eq!(midx.lookup(&ObjectId::null(gix_hash::Kind::Sha1)), None);
}

#[test]
fn reads_what_git_writes() {
    let r = four_packs();
    let theirs = r.git_write(&[]);
    let midx = File::open(&r.midx_path()).unwrap();
    assert_eq!(midx.checksum(), sha1(&theirs[..theirs.len() - 20]));
    // Newest copy: D (400) for blob 7, then A (300) for 0-9, C (200) for
    // 10-19 but 10 and 11 (B, 100).
    let newest = |id: &ObjectId| {
        let i = r.blobs.iter().position(|(b, _)| b == id).unwrap();
        let p = match i {
            7 => 3,
            0..10 => 0,
            10 | 11 => 1,
            _ => 2,
        };
        r.packs[p].0.clone()
    };
    agrees_with_the_idx_files(&r, &midx, &newest);
}

/// With `--bitmap` git adds RIDX and BTMP (and a .bitmap beside the file);
/// we skip those chunks and read the rest. A bitmap needs a commit.
#[test]
fn reads_what_git_writes_with_bitmap_chunks() {
    let r = four_packs();
    let (tree, _) = git::in_repo_text(
        &r.repo,
        &["mktree"],
        format!("100644 blob {}\tfile\n", r.blobs[3].0).as_bytes(),
    );
    let (commit, _) = git::in_repo_text(
        &r.repo,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit-tree",
            tree.trim(),
            "-m",
            "m",
        ],
        b"",
    );
    git::in_repo(
        &r.repo,
        &["update-ref", "refs/heads/main", commit.trim()],
        b"",
    );
    let mut packs = r.packs.clone();
    let (tree_id, commit_id) = (tree.trim().to_owned(), commit.trim().to_owned());
    let list = format!("{tree_id}\n{commit_id}\n");
    let (checksum, _) = git::in_repo_text(
        &r.repo,
        &[
            "pack-objects",
            "-q",
            r.pack_dir().join("pack").to_str().unwrap(),
        ],
        list.as_bytes(),
    );
    packs.push((format!("pack-{}.idx", checksum.trim()), SystemTime::now()));
    git::in_repo(&r.repo, &["prune-packed"], b"");
    let r = Repo { packs, ..r };
    let theirs = r.git_write(&["--bitmap"]);
    let midx = File::from_bytes(&r.midx_path(), theirs.clone()).unwrap();
    let ids: Vec<&[u8]> = (0..usize::from(theirs[6]))
        .map(|k| &theirs[12 + k * 12..16 + k * 12])
        .collect();
    assert_eq!(ids, [b"PNAM", b"OIDF", b"OIDL", b"OOFF", b"RIDX", b"BTMP"]);
    // Which copy git chose with a bitmap is its business; the offsets must agree.
    let chosen = |id: &ObjectId| {
        let e = midx.lookup(id).unwrap();
        midx.pack_names()[e.pack as usize].clone()
    };
    agrees_with_the_idx_files(&r, &midx, &chosen);
}

/// Adds a chunk `id` of `body` before the trailer of `midx`, with a new checksum.
fn add_chunk(midx: &[u8], id: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let n = usize::from(midx[6]);
    let table_end = 12 + (n + 1) * 12;
    let shift = |at: usize| u64::from_be_bytes(midx[at..at + 8].try_into().unwrap()) + 12;
    let mut out = midx[..12].to_vec();
    out[6] += 1;
    for k in 0..n {
        out.extend_from_slice(&midx[12 + k * 12..16 + k * 12]);
        out.extend_from_slice(&shift(16 + k * 12).to_be_bytes());
    }
    let end = shift(16 + n * 12);
    out.extend_from_slice(id);
    out.extend_from_slice(&end.to_be_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(end + body.len() as u64).to_be_bytes());
    out.extend_from_slice(&midx[table_end..midx.len() - 20]);
    out.extend_from_slice(body);
    let checksum = sha1(&out);
    out.extend_from_slice(checksum.as_slice());
    out
}

#[test]
fn skips_chunks_it_does_not_know() {
    let r = four_packs();
    let (ours, _) = r.our_write(&[]);
    let plain = File::from_bytes(Path::new("plain"), ours.clone()).unwrap();
    let more = add_chunk(&ours, b"XTRA", &[7; 12]);
    let midx = File::from_bytes(Path::new("more"), more).unwrap();
    midx.verify().unwrap();
    assert_eq!(midx.count(), plain.count());
    for i in 0..plain.count() {
        assert_eq!(midx.entry(i), plain.entry(i));
    }
}

#[test]
fn the_writer_refuses_bad_pack_lists() {
    let r = four_packs();
    let f = index::File::open(&r.pack_dir().join(&r.packs[0].0)).unwrap();
    let refused = |packs: &[Pack<'_>]| write(packs, Vec::new()).expect_err("refused");
    assert!(matches!(refused(&[]), multi_index::write::Error::NoPacks));
    let bad = Pack {
        name: "pack-1.idx",
        index: &f,
    };
    assert!(matches!(
        refused(&[bad]),
        multi_index::write::Error::BadName(_)
    ));
    let twice = Pack {
        name: &r.packs[0].0,
        index: &f,
    };
    assert!(matches!(
        refused(&[twice, twice]),
        multi_index::write::Error::DuplicatePack(_)
    ));
}

/// Opens `bytes`; if that works, reads every entry and looks up `ids`
/// (and the ids it lists): nothing may panic. Returns whether it opened
/// and verified.
fn survives(path: &Path, bytes: Vec<u8>, ids: &[ObjectId]) -> Result<(), String> {
    let midx = File::from_bytes(path, bytes).map_err(|e| chain(&e))?;
    for i in 0..midx.count() {
        let e = midx.entry(i).expect("below the count");
        assert!((e.pack as usize) < midx.pack_names().len());
        let _ = midx.lookup(&e.id);
    }
    for id in ids {
        let _ = midx.lookup(id);
    }
    midx.verify().map_err(|e| chain(&e))
}

#[test]
fn hostile_copies_fail_or_read_without_panic() {
    let r = four_packs();
    let good = r.git_write(&[]);
    let ids: Vec<ObjectId> = r.blobs.iter().map(|(id, _)| *id).collect();
    let path = Path::new("hostile/multi-pack-index");
    survives(path, good.clone(), &ids).unwrap();
    for len in 0..good.len() {
        let err = survives(path, good[..len].to_vec(), &ids).expect_err("cut short");
        assert!(err.contains("hostile/multi-pack-index"), "{err}");
    }
    let mut opened = 0;
    for at in 0..good.len() {
        for mask in [0x01, 0x80, 0xff] {
            let mut bad = good.clone();
            bad[at] ^= mask;
            if File::from_bytes(path, bad.clone()).is_ok() {
                opened += 1;
            }
            let err = survives(path, bad, &ids).expect_err("a flip is caught");
            assert!(err.contains("hostile/multi-pack-index"), "{err}");
        }
    }
    assert!(opened > 0, "some flips open and are caught by verify only");
}
