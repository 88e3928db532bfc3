//! Running the real `git`, the oracle of these tests.
//!
//! Every command runs against an explicit `--git-dir` (or none) with the
//! user's and the system's configuration switched off, so that neither the
//! repository the tests are built in nor anyone's `~/.gitconfig` changes
//! what git does. A missing git fails the test: it is never skipped.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Variables that would point git at another repository than the one we name.
const REPO_VARS: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
];

/// Panics with a clear message unless a `git` binary runs.
fn require_git() {
    static VERSION: OnceLock<Result<String, String>> = OnceLock::new();
    let v = VERSION.get_or_init(|| match Command::new("git").arg("--version").output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
        Ok(o) => Err(format!(
            "`git --version` failed: {}",
            String::from_utf8_lossy(&o.stderr)
        )),
        Err(e) => Err(format!("cannot run `git`: {e}")),
    });
    if let Err(e) = v {
        panic!("these tests need the real git as their oracle, and it is missing: {e}");
    }
}

/// A `git` command with a clean environment, run in `cwd`.
pub fn command(cwd: &Path) -> Command {
    require_git();
    let mut c = Command::new("git");
    c.current_dir(cwd)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CEILING_DIRECTORIES", cwd)
        .env("LC_ALL", "C");
    for v in REPO_VARS {
        c.env_remove(v);
    }
    c
}

/// Runs `c` with `stdin` fed to it (on a thread, so a chatty git cannot
/// deadlock us), asserts that it succeeded and returns its stdout and stderr.
pub fn run(mut c: Command, stdin: &[u8]) -> (Vec<u8>, String) {
    let what = format!("{c:?}");
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let mut input = child.stdin.take().expect("stdin was piped");
    let out = std::thread::scope(|s| {
        s.spawn(move || {
            // git may exit early on an error; its stderr then says why.
            let _ = input.write_all(stdin);
        });
        child.wait_with_output().unwrap()
    });
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{stderr}",
        out.status
    );
    (out.stdout, stderr)
}

/// A bare repository in `parent/name`; returns its path.
pub fn init_bare(parent: &Path, name: &str) -> PathBuf {
    let mut c = command(parent);
    c.args(["init", "--quiet", "--bare", "--object-format=sha1", name]);
    run(c, b"");
    parent.join(name)
}

/// `git --git-dir=<repo> <args>` run in `repo`, fed `stdin`: its stdout.
pub fn in_repo(repo: &Path, args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut c = command(repo);
    c.arg("--git-dir").arg(repo).args(args);
    run(c, stdin).0
}

/// Like [`in_repo`], returning stdout and stderr as text.
pub fn in_repo_text(repo: &Path, args: &[&str], stdin: &[u8]) -> (String, String) {
    let mut c = command(repo);
    c.arg("--git-dir").arg(repo).args(args);
    let (out, err) = run(c, stdin);
    (String::from_utf8(out).expect("git printed text"), err)
}

/// `git index-pack -o <out> <pack>` in `repo`: the idx git writes for our
/// pack, and the pack checksum it prints.
pub fn index_pack(repo: &Path, pack: &Path, out: &Path) -> (Vec<u8>, String) {
    let mut c = command(repo);
    c.arg("--git-dir")
        .arg(repo)
        .arg("index-pack")
        .arg("-o")
        .arg(out)
        .arg(pack);
    let (stdout, _) = run(c, b"");
    let printed = String::from_utf8(stdout).expect("git printed text");
    (std::fs::read(out).unwrap(), printed.trim().to_owned())
}

/// The objects `git cat-file --batch` returns for `ids`, in order: kind and content.
pub fn cat_file_batch(repo: &Path, ids: &[String]) -> Vec<(String, String, Vec<u8>)> {
    let input: String = ids.iter().map(|id| format!("{id}\n")).collect();
    let out = in_repo(repo, &["cat-file", "--batch"], input.as_bytes());
    let mut rest = out.as_slice();
    let mut objects = Vec::with_capacity(ids.len());
    for id in ids {
        // "<id> <kind> <size>\n<content>\n", or "<id> missing\n"
        let nl = rest
            .iter()
            .position(|&b| b == b'\n')
            .expect("a header line");
        let header = std::str::from_utf8(&rest[..nl]).unwrap().to_owned();
        let fields: Vec<&str> = header.split(' ').collect();
        assert!(
            fields.len() == 3 && fields[0] == id,
            "cat-file said {header:?} for {id}"
        );
        let size: usize = fields[2].parse().unwrap();
        let content = rest[nl + 1..nl + 1 + size].to_vec();
        assert_eq!(
            rest[nl + 1 + size],
            b'\n',
            "cat-file output of {id} ends with a newline"
        );
        objects.push((fields[0].to_owned(), fields[1].to_owned(), content));
        rest = &rest[nl + 2 + size..];
    }
    assert!(rest.is_empty(), "cat-file printed more than was asked");
    objects
}

/// `git fsck --full --strict --no-dangling` in `repo` exits 0 and says nothing of errors.
pub fn fsck(repo: &Path) {
    let (out, err) = in_repo_text(repo, &["fsck", "--full", "--strict", "--no-dangling"], b"");
    let all = format!("{out}{err}");
    assert!(
        !all.to_lowercase().contains("error"),
        "git fsck complained:\n{all}"
    );
    assert!(
        !all.contains("missing"),
        "git fsck found missing objects:\n{all}"
    );
}

/// What `git verify-pack -v` says of a pack.
#[derive(Debug)]
pub struct VerifyPack {
    /// Depth (0 for whole objects) and base id of each object, by id.
    pub objects: BTreeMap<String, (usize, Option<String>)>,
    /// The "chain length = N: K objects" lines: K by N.
    pub chains: BTreeMap<usize, usize>,
    /// The "non delta: K objects" line.
    pub non_delta: usize,
}

/// Runs `git verify-pack -v <idx>` in `repo`: asserts that it passes, and
/// parses what it lists.
pub fn verify_pack(repo: &Path, idx: &Path) -> VerifyPack {
    let (out, _) = in_repo_text(repo, &["verify-pack", "-v", idx.to_str().unwrap()], b"");
    let pack = idx.with_extension("pack");
    assert!(
        out.ends_with(&format!("{}: ok\n", pack.display())),
        "verify-pack:\n{out}"
    );
    let mut v = VerifyPack {
        objects: BTreeMap::new(),
        chains: BTreeMap::new(),
        non_delta: 0,
    };
    let count = |s: &str| s.split(' ').next().unwrap().parse::<usize>().unwrap();
    for line in out.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f[0].len() == 40 {
            // <id> <kind> <size> <size in pack> <offset> [<depth> <base id>]
            let chain = match f.len() {
                5 => (0, None),
                7 => (f[5].parse().unwrap(), Some(f[6].to_owned())),
                _ => panic!("unexpected verify-pack line {line:?}"),
            };
            assert!(
                v.objects.insert(f[0].to_owned(), chain).is_none(),
                "{line} twice"
            );
        } else if let Some(rest) = line.strip_prefix("chain length = ") {
            let (depth, n) = rest.split_once(": ").unwrap();
            v.chains.insert(depth.parse().unwrap(), count(n));
        } else if let Some(n) = line.strip_prefix("non delta: ") {
            v.non_delta = count(n);
        }
    }
    v
}
