//! Running `medo`, `silo` and `git` from tests, and the fixtures they share.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A binary of this package, run through `$TREES_RUNNER` when set.
fn cmd(bin: &str) -> Command {
    super::runner::command(bin)
}

fn run(bin: &str, args: &[&dyn AsRef<OsStr>]) -> Output {
    cmd(bin)
        .args(args.iter().map(|a| a.as_ref()))
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"))
}

fn ok(what: &str, out: Output, args: &[&dyn AsRef<OsStr>]) -> String {
    assert!(
        out.status.success(),
        "{what} {:?} failed ({}): {}",
        args.iter()
            .map(|a| a.as_ref().to_owned())
            .collect::<Vec<_>>(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `medo ARGS`; returns its output whatever its status.
pub fn medo(args: &[&dyn AsRef<OsStr>]) -> Output {
    run(env!("CARGO_BIN_EXE_medo"), args)
}

/// Runs `medo ARGS` and asserts success; returns stdout.
pub fn medo_ok(args: &[&dyn AsRef<OsStr>]) -> String {
    ok("medo", medo(args), args)
}

/// Runs `medo ARGS`, asserts it exits with `code`; returns stderr.
pub fn medo_fails(code: i32, args: &[&dyn AsRef<OsStr>]) -> String {
    let out = medo(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "medo {:?}: stdout {} stderr {stderr}",
        args.iter()
            .map(|a| a.as_ref().to_owned())
            .collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

/// Runs `silo ARGS` and asserts success; returns stdout.
pub fn silo_ok(args: &[&dyn AsRef<OsStr>]) -> String {
    ok("silo", run(env!("CARGO_BIN_EXE_silo"), args), args)
}

/// Runs git in `dir`, asserting success; returns stdout. Fails, naming
/// git, if git is not installed.
pub fn git(dir: &Path, args: &[&str]) -> String {
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
    String::from_utf8(out.stdout).unwrap()
}

/// A temporary directory with a silo `s.silo` and a medo directory `m`
/// whose SILO.json names it.
pub struct Fixture {
    /// Removed when dropped.
    pub tmp: trees_oracle::TempDir,
    /// `tmp/s.silo`
    pub silo: PathBuf,
    /// `tmp/m`
    pub medo: PathBuf,
}

impl Fixture {
    pub fn new() -> Fixture {
        let tmp = trees_oracle::tempdir().unwrap();
        let silo = tmp.path().join("s.silo");
        silo_ok(&[&"init", &silo]);
        let medo = tmp.path().join("m");
        std::fs::create_dir(&medo).unwrap();
        std::fs::write(
            medo.join("SILO.json"),
            r#"{"silos": [{"path": "../s.silo"}]}"#,
        )
        .unwrap();
        Fixture { tmp, silo, medo }
    }

    /// `tmp/<rel>`
    pub fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    /// Stores `bytes` in the silo with `silo add`; returns the id.
    pub fn store(&self, bytes: &[u8]) -> String {
        let f = self.tmp.path().join("blob.tmp");
        std::fs::write(&f, bytes).unwrap();
        let out = silo_ok(&[&"add", &self.silo, &f]);
        std::fs::remove_file(&f).unwrap();
        out.split_whitespace().next().unwrap().to_owned()
    }

    /// Stores `bytes` and writes `m/<name>` naming them with this format.
    pub fn treeptr(&self, name: &str, bytes: &[u8], format: &str) -> (PathBuf, String) {
        let id = self.store(bytes);
        let p = self.medo.join(name);
        write_treeptr(&p, &id, bytes.len() as u64, format);
        (p, id)
    }
}

/// Writes a treeptr by hand.
pub fn write_treeptr(path: &Path, id: &str, size: u64, format: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        path,
        format!(
            r#"{{"blob": "{id}", "size": {size}, "format": "{format}",
                "provenance": {{"url": "https://example.org/x.tar"}}}}"#
        ),
    )
    .unwrap();
}

/// A tar written header by header, names and link targets copied in as
/// bytes: the `tar` crate's own setters refuse the hostile names these
/// tests need.
pub struct RawTar {
    b: tar::Builder<Vec<u8>>,
    mtime: u64,
}

impl RawTar {
    pub fn new() -> Self {
        RawTar {
            b: tar::Builder::new(Vec::new()),
            mtime: 0,
        }
    }

    /// The mtime of the members that follow.
    pub fn mtime(mut self, mtime: u64) -> Self {
        self.mtime = mtime;
        self
    }

    fn entry(
        mut self,
        name: &[u8],
        ty: tar::EntryType,
        link: &[u8],
        data: &[u8],
        mode: u32,
    ) -> Self {
        let mut h = tar::Header::new_gnu();
        let old = h.as_old_mut();
        old.name[..name.len()].copy_from_slice(name);
        old.linkname[..link.len()].copy_from_slice(link);
        h.set_entry_type(ty);
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_mtime(self.mtime);
        h.set_cksum();
        self.b.append(&h, data).unwrap();
        self
    }

    pub fn file(self, name: &str, data: &[u8]) -> Self {
        self.entry(name.as_bytes(), tar::EntryType::Regular, b"", data, 0o644)
    }

    pub fn dir(self, name: &str) -> Self {
        self.entry(name.as_bytes(), tar::EntryType::Directory, b"", b"", 0o755)
    }

    pub fn symlink(self, name: &str, target: &str) -> Self {
        let t = target.as_bytes();
        self.entry(name.as_bytes(), tar::EntryType::Symlink, t, b"", 0o777)
    }

    pub fn hardlink(self, name: &str, target: &str) -> Self {
        let t = target.as_bytes();
        self.entry(name.as_bytes(), tar::EntryType::Link, t, b"", 0o644)
    }

    pub fn special(self, name: &str, ty: tar::EntryType) -> Self {
        self.entry(name.as_bytes(), ty, b"", b"", 0o644)
    }

    /// The tar, with its two zero blocks at the end.
    pub fn finish(self) -> Vec<u8> {
        self.b.into_inner().unwrap()
    }
}

/// Every path under `root` (not following symlinks) with its mtime and
/// inode: what must not change when nothing is written.
pub fn snapshot(root: &Path) -> Vec<(PathBuf, std::time::SystemTime, u64)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p.clone());
            }
            out.push((p, m.modified().unwrap(), m.ino()));
        }
    }
    out.sort();
    out
}
