//! Packs git writes, read by us: packs `git pack-objects` makes at its most
//! aggressive (window 250, depth 50) from related releases, in both delta
//! encodings, and the small git-written pack committed under
//! `testdata/git-packs` (made by `testdata/git-packs/make.sh`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use trees_pack::data::Type;
use trees_pack::id::hash_object;
use trees_pack::{Bundle, Kind, ObjectId, index};
use trees_testdata::{Options, Release, series};

use crate::git;
use crate::packs::blob_id;

/// Stores `releases` as blobs in a fresh repository under `dir` and packs
/// them with git at window 250, depth 50; OFS_DELTA entries if `ofs`,
/// REF_DELTA otherwise. Returns the pack's idx.
fn pack_with_git(dir: &Path, releases: &[Release], ofs: bool) -> PathBuf {
    let repo = git::init_bare(dir, "repo.git");
    let tars = dir.join("tars");
    std::fs::create_dir(&tars).unwrap();
    let mut paths = String::new();
    for r in releases {
        let path = tars.join(&r.file_name);
        std::fs::write(&path, &r.tar).unwrap();
        paths.push_str(&format!("{}\n", path.display()));
    }
    let (ids, _) = git::in_repo_text(
        &repo,
        &["hash-object", "-w", "--stdin-paths"],
        paths.as_bytes(),
    );
    // "<id> <file name>": git hashes the name to sort releases of a series together.
    let list: String = ids
        .lines()
        .zip(releases)
        .map(|(id, r)| {
            assert_eq!(id, blob_id(&r.tar).to_string(), "git and we agree on ids");
            format!("{id} {}\n", r.file_name)
        })
        .collect();
    let prefix = dir.join("git");
    let mut args = vec!["pack-objects", "--window=250", "--depth=50", "-q"];
    if ofs {
        args.push("--delta-base-offset");
    }
    args.push(prefix.to_str().unwrap());
    let (checksum, _) = git::in_repo_text(&repo, &args, list.as_bytes());
    dir.join(format!("git-{}.idx", checksum.trim()))
}

/// Reads every release back from the pack of `idx` and checks what git made.
fn check_git_pack(idx: &Path, releases: &[Release], ofs: bool) {
    let bundle = Bundle::open(idx).unwrap();
    assert_eq!(bundle.index.count() as usize, releases.len());
    let mut max_depth = 0;
    let (mut ofs_deltas, mut ref_deltas) = (0, 0);
    for r in releases {
        let id = blob_id(&r.tar);
        let obj = bundle.read(&id).unwrap().expect("git packed every release");
        assert_eq!(obj.kind, Kind::Blob);
        assert!(*obj.data == r.tar, "{} reads back different", r.file_name);
        let offset = bundle.find(&id).unwrap().unwrap();
        max_depth = max_depth.max(bundle.depth_at(offset).unwrap());
        // Streamed through its chain (bases in temporary files), it is the same.
        let tmp = trees_oracle::tempdir().unwrap();
        let mut streamed = Vec::new();
        let (kind, n) = bundle.stream_at(offset, &mut streamed, tmp.path()).unwrap();
        assert_eq!((kind, n), (Kind::Blob, r.tar.len() as u64));
        assert!(streamed == r.tar, "{} streams back different", r.file_name);
        assert_eq!(bundle.object_size_at(offset).unwrap(), r.tar.len() as u64);
        assert_eq!(bundle.hash_streamed(offset, tmp.path()).unwrap(), id);
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            0,
            "temporary bases removed"
        );
        match bundle.pack.header(offset).unwrap().kind {
            Type::OfsDelta { .. } => ofs_deltas += 1,
            Type::RefDelta { .. } => ref_deltas += 1,
            Type::Whole(_) => {}
        }
    }
    assert!(max_depth > 1, "git made real chains (deepest: {max_depth})");
    if ofs {
        assert!(
            ofs_deltas > 0 && ref_deltas == 0,
            "{ofs_deltas} OFS, {ref_deltas} REF deltas"
        );
    } else {
        assert!(
            ref_deltas > 0 && ofs_deltas == 0,
            "{ofs_deltas} OFS, {ref_deltas} REF deltas"
        );
    }
    let problems = bundle.verify(&mut |_| {});
    assert!(
        problems.is_empty(),
        "our verify complains of git's pack: {problems:?}"
    );
    // Every object streamed (limit 0), the checksum and CRCs by reads.
    let tmp = trees_oracle::tempdir().unwrap();
    let problems = bundle.verify_with(&mut |_| {}, Some((0, tmp.path())));
    assert!(problems.is_empty(), "streaming verify: {problems:?}");
}

/// Two small series and one of bigger releases, for git to deltify.
fn releases() -> Vec<Release> {
    let mut all = series("alpha", &Options::small(1));
    all.extend(series("beta", &Options::small(2)));
    all.extend(series("gamma", &Options::medium(3, 6)));
    all
}

#[test]
fn gits_ofs_delta_pack_at_window_250_depth_50_reads_back() {
    let dir = trees_oracle::tempdir().unwrap();
    let releases = releases();
    let idx = pack_with_git(dir.path(), &releases, true);
    check_git_pack(&idx, &releases, true);
}

#[test]
fn gits_ref_delta_pack_at_window_250_depth_50_reads_back() {
    let dir = trees_oracle::tempdir().unwrap();
    let releases = releases();
    let idx = pack_with_git(dir.path(), &releases, false);
    check_git_pack(&idx, &releases, false);
}

/// The committed pack: its releases (as `make.sh` says), and how git packed them.
fn fixture() -> (PathBuf, Vec<Release>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/git-packs");
    let idxs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "idx"))
        .collect();
    assert_eq!(idxs.len(), 1, "one committed git pack in {}", dir.display());
    let mut o = Options::small(9);
    o.releases = 4;
    (idxs[0].clone(), series("fixture", &o))
}

#[test]
fn committed_git_pack_reads_back_and_our_idx_of_it_equals_gits() {
    let (idx_path, releases) = fixture();
    let bundle = Bundle::open(&idx_path).unwrap();
    let stem = idx_path.file_stem().unwrap().to_str().unwrap();
    assert_eq!(
        stem,
        format!("pack-{}", bundle.pack.checksum()),
        "named by its checksum"
    );
    let problems = bundle.verify(&mut |_| {});
    assert!(
        problems.is_empty(),
        "our verify complains of git's pack: {problems:?}"
    );

    // Every object rehashes to its id; together they are the generator's releases.
    let mut entries = Vec::new();
    let mut max_depth = 0;
    for i in 0..bundle.index.count() {
        let e = bundle.index.entry(i).unwrap();
        let obj = bundle.read_at(e.offset).unwrap();
        assert_eq!(
            hash_object(obj.kind, &obj.data).unwrap(),
            e.id,
            "object at {}",
            e.offset
        );
        max_depth = max_depth.max(bundle.depth_at(e.offset).unwrap());
        entries.push(e);
    }
    assert!(
        max_depth > 1,
        "git made a real chain (deepest: {max_depth})"
    );
    let ids: BTreeSet<ObjectId> = entries.iter().map(|e| e.id).collect();
    let expected: BTreeSet<ObjectId> = releases.iter().map(|r| blob_id(&r.tar)).collect();
    assert!(
        ids == expected,
        "the fixture is not series(\"fixture\", small(9), 4 releases): rerun make.sh"
    );

    // Each CRC32 in git's idx is that of the entry's bytes in the pack.
    let mut by_offset = entries.clone();
    by_offset.sort_by_key(|e| e.offset);
    let ends = by_offset
        .iter()
        .skip(1)
        .map(|e| e.offset)
        .chain([bundle.pack.entries_end()]);
    for (e, end) in by_offset.iter().zip(ends) {
        let raw = bundle.pack.bytes(e.offset, end).unwrap();
        assert_eq!(
            crc32fast::hash(raw),
            e.crc32,
            "CRC32 of the entry at {}",
            e.offset
        );
    }

    // And our idx writer, given git's entries, writes git's idx byte for byte.
    let mut ours = Vec::new();
    index::write(&mut by_offset, &bundle.pack.checksum(), &mut ours).unwrap();
    assert!(
        ours == std::fs::read(&idx_path).unwrap(),
        "our idx of git's pack differs from git's"
    );
}
