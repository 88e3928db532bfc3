//! `silo init`, `add` and `cat`.

use std::path::Path;

use super::cli::{add, git, new_silo, silo, silo_ok, testdata_files};

#[test]
fn add_ids_equal_git_hash_object_for_every_testdata_file() {
    let (tmp, dir) = new_silo();
    let files = testdata_files();
    assert!(files.len() >= 8, "testdata has {} files", files.len());
    let ids = add(&dir, &files);
    for (f, id) in files.iter().zip(&ids) {
        let want =
            String::from_utf8(git(tmp.path(), &["hash-object", f.to_str().unwrap()])).unwrap();
        assert_eq!(id, want.trim(), "id of {}", f.display());
        let loose = dir
            .join("objects")
            .join(&id[..2])
            .join(format!("{}.gz", &id[2..]));
        assert!(loose.is_file(), "{} missing", loose.display());
    }
}

#[test]
fn loose_objects_are_plain_gzip_of_the_content() {
    let (_tmp, dir) = new_silo();
    let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/files/hello.txt");
    let id = &add(&dir, std::slice::from_ref(&f))[0];
    let out = std::process::Command::new("gzip")
        .arg("-dc")
        .arg(
            dir.join("objects")
                .join(&id[..2])
                .join(format!("{}.gz", &id[2..])),
        )
        .output()
        .expect("gzip is required by this test");
    assert!(out.status.success());
    assert_eq!(out.stdout, std::fs::read(&f).unwrap());
}

#[test]
fn adding_again_writes_nothing() {
    let (_tmp, dir) = new_silo();
    let files = testdata_files();
    add(&dir, &files);
    let loose = dir.join("objects");
    let before: Vec<_> = walk(&loose);
    add(&dir, &files);
    assert_eq!(walk(&loose), before, "second add changed objects/");
    assert_eq!(
        std::fs::read_dir(dir.join("tmp")).unwrap().count(),
        0,
        "tmp/ is not empty"
    );
    // Packed objects are not added loose again either.
    silo_ok(&[&"repack", &dir]);
    add(&dir, &files);
    assert!(
        walk(&loose).iter().all(|(_, is_file)| !is_file),
        "objects re-added after repack"
    );
}

fn walk(d: &Path) -> Vec<(std::path::PathBuf, bool)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(d).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(walk(&p));
        } else {
            v.push((p, true));
        }
    }
    v.sort();
    v
}

#[test]
fn cat_reads_loose_and_packed_objects_by_id_and_prefix() {
    let (_tmp, dir) = new_silo();
    let files = testdata_files();
    let ids = add(&dir, &files);
    let check = |stage: &str| {
        for (f, id) in files.iter().zip(&ids) {
            let want = std::fs::read(f).unwrap();
            assert!(
                silo_ok(&[&"cat", &dir, id]) == want,
                "{stage}: cat {id} differs from {}",
                f.display()
            );
            assert!(
                silo_ok(&[&"cat", &dir, &&id[..10]]) == want,
                "{stage}: cat by prefix"
            );
        }
    };
    check("loose");
    silo_ok(&[&"repack", &dir]);
    let names: Vec<String> = dir
        .join("pack")
        .read_dir()
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    // A pack per family, each with its idx and sketches (.fp); the record
    // table (.split) of the example's .tar.gz; the multi-pack-index.
    let count = |ext: &str| names.iter().filter(|n| n.ends_with(ext)).count();
    assert!(count(".pack") > 1, "{names:?}");
    assert_eq!(count(".idx"), count(".pack"), "{names:?}");
    assert_eq!(count(".fp"), count(".pack"), "{names:?}");
    assert_eq!(count(".split"), 1, "{names:?}");
    assert!(names.contains(&"multi-pack-index".to_owned()), "{names:?}");
    check("packed");
}

#[test]
fn cat_refuses_unknown_short_and_ambiguous_ids() {
    let (_tmp, dir) = new_silo();
    add(&dir, &testdata_files());
    for (id, words) in [
        ("0000000000000000000000000000000000000000", "no object"),
        ("abc", "prefix of 4 to 40"),
        ("zzzz", "prefix of 4 to 40"),
    ] {
        let out = silo(&[&"cat", &dir, &id]);
        assert_eq!(out.status.code(), Some(2), "cat {id}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(words), "cat {id}: {err}");
    }
}

#[test]
fn commands_on_a_directory_that_is_not_a_silo_say_so() {
    let tmp = trees_oracle::tempdir().unwrap();
    let out = silo(&[&"cat", &tmp.path(), &"ce01"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a silo"));
}

#[test]
fn usage_errors_exit_2_and_help_documents_exit_codes() {
    assert_eq!(silo(&[&"frobnicate"]).status.code(), Some(2));
    let help = String::from_utf8(silo_ok(&[&"--help"])).unwrap();
    assert!(help.contains("Exit codes: 0"), "{help}");
}

/// `add` and `cat` stream: a 300 MiB file goes in and out of a process
/// whose address space is capped at 150 MiB.
#[test]
fn add_and_cat_stream_within_a_memory_bound() {
    let (tmp, dir) = new_silo();
    let big = tmp.path().join("big.bin");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(300 << 20).unwrap(); // sparse: reads as zeros
    drop(f);
    let bin = env!("CARGO_BIN_EXE_silo");
    let runner = std::env::var("TREES_RUNNER").unwrap_or_default();
    // qemu-user reserves gigabytes of address space for its guest: the cap
    // is only meaningful natively; under emulation the same commands run uncapped.
    let cap = if runner.is_empty() {
        "ulimit -v 153600 && exec "
    } else {
        eprintln!("under {runner}: address-space cap not applied");
        ""
    };
    let sh = |cmd: String| {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let added = sh(format!(
        "({cap}{runner} {bin} add {} {})",
        dir.display(),
        big.display()
    ));
    let id = added.split("  ").next().unwrap().to_string();
    let want = String::from_utf8(git(tmp.path(), &["hash-object", big.to_str().unwrap()])).unwrap();
    assert_eq!(id, want.trim());
    let back = sh(format!(
        "({cap}{runner} {bin} cat {} {id}) | git hash-object --stdin",
        dir.display()
    ));
    assert_eq!(back.trim(), id);
}

/// `silo cat --batch` prints exactly what `git cat-file --batch` prints for
/// the same ids, loose and packed, with a missing one among them.
#[test]
fn cat_batch_output_equals_git_cat_file_batch() {
    use std::io::Write;
    let (tmp, dir) = new_silo();
    let files = testdata_files();
    let ids = add(&dir, &files);
    let repo = tmp.path().join("g.git");
    git(
        tmp.path(),
        &["init", "-q", "--bare", repo.to_str().unwrap()],
    );
    for f in &files {
        git(
            tmp.path(),
            &[
                "--git-dir",
                repo.to_str().unwrap(),
                "hash-object",
                "-w",
                f.to_str().unwrap(),
            ],
        );
    }
    let mut input: String = ids.iter().rev().map(|i| format!("{i}\n")).collect();
    input.push_str("0123456789012345678901234567890123456789\n");
    let batch = |cmd: &mut std::process::Command| {
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        out.stdout
    };
    let want = batch(std::process::Command::new("git").args([
        "--git-dir",
        repo.to_str().unwrap(),
        "cat-file",
        "--batch",
    ]));
    for stage in ["loose", "packed"] {
        let got = batch(super::cli::silo_cmd().arg("cat").arg(&dir).arg("--batch"));
        assert!(
            got == want,
            "{stage}: silo cat --batch differs from git cat-file --batch"
        );
        silo_ok(&[&"repack", &dir]);
    }
}

/// One `Silo` (one set of open packs) reads on after another handle
/// repacked and then gc'd under it: an object whose loose copy went is
/// found in the new pack by the rescan after the miss, a prefix resolves
/// the same way, and a pack deleted by gc stays readable through its
/// mapping. Without the rescan the first read after the repack misses.
#[test]
fn one_reader_reads_on_across_repack_and_gc() {
    let tmp = trees_oracle::tempdir().unwrap();
    let dir = tmp.path().join("s.silo");
    let reader = trees_silo::Silo::init(&dir).unwrap();
    let writer = trees_silo::Silo::open(&dir).unwrap();
    let files = super::crash::small_blobs(tmp.path(), 6, 7);
    let ids: Vec<_> = files
        .iter()
        .map(|f| writer.add_file(f).unwrap().0)
        .collect();
    let read = |id| {
        let mut out = Vec::new();
        reader
            .read(id, &mut out)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        out
    };
    // The reader opens pack/ (empty) and reads everything loose.
    for (f, id) in files.iter().zip(&ids) {
        assert_eq!(read(id), std::fs::read(f).unwrap());
    }
    assert!(reader.packs().unwrap().is_empty());
    // Both wait for the lock: another test thread of this process may be
    // spawning a process at the moment the repack lets go of it, and the
    // child holds a copy of the lock's descriptor until it execs (long
    // enough under qemu for gc to find it busy once, in CI).
    let repack_opts = trees_silo::repack::Options {
        wait: true,
        ..Default::default()
    };
    trees_silo::repack::repack(&writer, &repack_opts, &trees_silo::NoProgress).unwrap();
    assert!(!writer.loose_path(&ids[0]).exists(), "the repack packed it");
    assert_eq!(read(&ids[0]), std::fs::read(&files[0]).unwrap());
    assert_eq!(reader.packs().unwrap().len(), 1, "the miss rescanned pack/");
    let prefix = &ids[1].to_string()[..8];
    assert_eq!(reader.resolve(prefix).unwrap(), ids[1]);
    // gc rewrites the pack without ids[5]: the reader still holds the old
    // one, mapped, and reads everything it had.
    let keep: std::collections::HashSet<_> = ids[..5].iter().copied().collect();
    let opts = trees_silo::gc::Options {
        grace: std::time::Duration::ZERO,
        wait: true,
        ..Default::default()
    };
    trees_silo::gc::gc(&writer, &keep, &opts, &trees_silo::NoProgress).unwrap();
    assert!(!writer.contains(&ids[5]).unwrap());
    for (f, id) in files.iter().zip(&ids).take(5) {
        assert_eq!(read(id), std::fs::read(f).unwrap());
    }
    // A new reader sees the new pack only.
    let fresh = trees_silo::Silo::open(&dir).unwrap();
    assert!(fresh.contains(&ids[4]).unwrap());
    assert!(matches!(
        fresh.resolve(&ids[5].to_string()),
        Err(trees_silo::store::ReadError::NotFound(_))
    ));
}
