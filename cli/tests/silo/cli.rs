//! Running `silo` and `git` from tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `silo` binary, run through `$TREES_RUNNER` when set.
pub fn silo_cmd() -> Command {
    super::runner::command(env!("CARGO_BIN_EXE_silo"))
}

/// Runs `silo ARGS`; returns its output whatever its status.
pub fn silo(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    silo_cmd()
        .args(args.iter().map(|a| a.as_ref()))
        .stdin(Stdio::null())
        .output()
        .expect("cannot run the silo binary")
}

/// Runs `silo ARGS` with `input` on stdin; returns its output.
pub fn silo_stdin(args: &[&dyn AsRef<std::ffi::OsStr>], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = silo_cmd()
        .args(args.iter().map(|a| a.as_ref()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run the silo binary");
    let mut stdin = child.stdin.take().expect("piped");
    let input = input.to_vec();
    // Written from a thread: the child may fill stdout before it reads all.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("cannot wait for silo");
    writer
        .join()
        .expect("writer thread")
        .expect("cannot write stdin");
    out
}

/// Runs `silo ARGS` and asserts success; returns stdout.
pub fn silo_ok(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<u8> {
    let out = silo(args);
    assert!(
        out.status.success(),
        "silo {:?} failed ({}): {}",
        args.iter()
            .map(|a| a.as_ref().to_owned())
            .collect::<Vec<_>>(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs git in `dir`, asserting success; returns stdout. Fails, naming
/// git, if git is not installed.
pub fn git(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("git is required by this test and could not be run: {e}"));
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `git multi-pack-index verify` of the silo `dir`'s multi-pack-index
/// (which must be there if it has two packs or more, and not be there
/// otherwise), from a scratch repository in `scratch`.
pub fn git_midx_verify(scratch: &Path, dir: &Path) {
    let packs = std::fs::read_dir(dir.join("pack"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "idx")
        })
        .count();
    if packs < 2 {
        assert!(
            !dir.join("pack/multi-pack-index").exists(),
            "{} has {packs} pack and a multi-pack-index",
            dir.display()
        );
        return;
    }
    assert!(
        dir.join("pack/multi-pack-index").is_file(),
        "{} has no multi-pack-index",
        dir.display()
    );
    let repo = scratch.join("midx-check.git");
    if !repo.exists() {
        git(scratch, &["init", "-q", "--bare", repo.to_str().unwrap()]);
    }
    let object_dir = format!("--object-dir={}", dir.display());
    git(&repo, &["multi-pack-index", &object_dir, "verify"]);
}

/// git reads every pack of the silo `dir`: each copied into a new bare
/// repository under `scratch` (in no particular order: a pack per
/// family), indexed by `git index-pack`, which must write our idx byte for
/// byte, then `git fsck --full`. Returns the repository.
pub fn git_reads_every_pack(scratch: &Path, dir: &Path) -> PathBuf {
    let bare = scratch.join("g.git");
    std::fs::create_dir(&bare).unwrap();
    git(&bare, &["init", "-q", "--bare"]);
    let packs: Vec<PathBuf> = std::fs::read_dir(dir.join("pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pack"))
        .collect();
    assert!(!packs.is_empty(), "{} has no pack", dir.display());
    for pack in &packs {
        let theirs = bare.join("objects/pack").join(pack.file_name().unwrap());
        std::fs::copy(pack, &theirs).unwrap();
        git(&bare, &["index-pack", theirs.to_str().unwrap()]);
        assert!(
            std::fs::read(theirs.with_extension("idx")).unwrap()
                == std::fs::read(pack.with_extension("idx")).unwrap(),
            "git index-pack writes the same idx for {pack:?}"
        );
    }
    git(&bare, &["fsck", "--full", "--no-dangling"]);
    bare
}

/// `silo add DIR F` for each of `files`, one command each: their ids.
pub fn add_each(dir: &Path, files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .map(|f| {
            let out = String::from_utf8(silo_ok(&[&"add", &dir, f])).unwrap();
            out.split_whitespace().next().unwrap().to_owned()
        })
        .collect()
}

/// A new silo in a temporary directory.
pub fn new_silo() -> (trees_oracle::TempDir, PathBuf) {
    let tmp = trees_oracle::tempdir().unwrap();
    let dir = tmp.path().join("s.silo");
    silo_ok(&[&"init", &dir]);
    (tmp, dir)
}

/// Every committed file of `testdata/files` and `testdata/example`.
pub fn testdata_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata");
    let mut v = Vec::new();
    for d in ["files", "example"] {
        for e in std::fs::read_dir(root.join(d)).unwrap() {
            v.push(e.unwrap().path());
        }
    }
    v.sort();
    v
}

/// `silo add DIR FILES...`, returning the ids it printed, in order.
pub fn add(dir: &Path, files: &[PathBuf]) -> Vec<String> {
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"add", &dir];
    for f in files {
        args.push(f);
    }
    let out = String::from_utf8(silo_ok(&args)).unwrap();
    out.lines()
        .map(|l| l.split("  ").next().unwrap().to_string())
        .collect()
}
