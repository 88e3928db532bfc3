//! `medo expand`: round trips, idempotence, and blobs that cannot be had.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use super::add::make_tree;
use super::cli::{Fixture, RawTar, medo_fails, medo_ok, snapshot, write_treeptr};

pub(super) fn diff_r(a: &std::path::Path, b: &std::path::Path) {
    let out = Command::new("diff")
        .arg("-r")
        .arg("--no-dereference")
        .arg(a)
        .arg(b)
        .output()
        .expect("diff is required by this test");
    assert!(
        out.status.success(),
        "diff -r {} {}: {}",
        a.display(),
        b.display(),
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn add_then_expand_gives_the_same_tree_with_symlinks_and_modes_kept() {
    let f = Fixture::new();
    let src = f.path("src");
    make_tree(&src);
    let t = f.medo.join("t.treeptr");
    medo_ok(&[&"add", &"--silo", &f.silo, &src, &t]);
    let dest = f.path("out");
    medo_ok(&[&"expand", &t, &dest]);
    diff_r(&src, &dest);
    let link = dest.join("sub/link");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        std::path::Path::new("../a.txt")
    );
    let mode = |p: &str| {
        std::fs::metadata(dest.join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("sub/run.sh"), 0o755);
    assert_eq!(mode("a.txt"), 0o644);
    assert!(dest.join("sub/empty").is_dir());
    medo_ok(&[&"verify", &t, &dest]);
}

#[test]
fn expanding_twice_leaves_identical_files_untouched_and_repairs_changed_ones() {
    let f = Fixture::new();
    let src = f.path("src");
    make_tree(&src);
    let t = f.medo.join("t.treeptr");
    medo_ok(&[&"add", &"--silo", &f.silo, &src, &t]);
    let dest = f.path("out");
    medo_ok(&[&"expand", &t, &dest]);
    // Give every file a recognisable mtime: a rewrite would reset it to
    // the tar's (0) and give it a new inode.
    let marked = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(777_777);
    for p in ["a.txt", "sub/run.sh"] {
        std::fs::File::options()
            .write(true)
            .open(dest.join(p))
            .unwrap()
            .set_modified(marked)
            .unwrap();
    }
    let before = snapshot(&dest);
    let out = medo_ok(&[&"expand", &t, &dest]);
    assert!(out.contains("(0 written, 6 unchanged)"), "{out}");
    assert_eq!(snapshot(&dest), before);

    // A changed file (same size, last byte differs) is rewritten, alone.
    let a = dest.join("a.txt");
    std::fs::write(&a, "hellO\n").unwrap();
    std::fs::File::options()
        .write(true)
        .open(dest.join("sub/run.sh"))
        .unwrap()
        .write_all(b"X")
        .unwrap();
    let out = medo_ok(&[&"expand", &t, &dest]);
    assert!(out.contains("(2 written, 4 unchanged)"), "{out}");
    diff_r(&src, &dest);
    let after = snapshot(&dest);
    let long = dest.join("n".repeat(150));
    let pick = |s: &[(std::path::PathBuf, std::time::SystemTime, u64)]| {
        s.iter().find(|e| e.0 == long).cloned().unwrap()
    };
    assert_eq!(pick(&after), pick(&before));
}

#[test]
fn a_directory_of_treeptrs_expands_each_at_its_relative_path_in_every_format() {
    let f = Fixture::new();
    let tar = RawTar::new().file("hello.txt", b"hi\n").finish();
    f.treeptr("sub/a.treeptr", &tar, "tar");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    f.treeptr("b.treeptr", &gz.finish().unwrap(), "tgz");
    f.treeptr("c.treeptr", b"just a file\n", "file");
    let dest = f.path("out");
    medo_ok(&[&"expand", &f.medo, &dest]);
    assert_eq!(
        std::fs::read(dest.join("sub/a/hello.txt")).unwrap(),
        b"hi\n"
    );
    assert_eq!(std::fs::read(dest.join("b/hello.txt")).unwrap(), b"hi\n");
    assert_eq!(std::fs::read(dest.join("c")).unwrap(), b"just a file\n");
    medo_ok(&[&"verify", &f.medo, &dest]);
    let again = medo_ok(&[&"expand", &f.medo, &dest]);
    assert_eq!(
        again.matches("(0 written, 1 unchanged)").count(),
        3,
        "{again}"
    );
}

#[test]
fn a_blob_no_silo_has_is_an_error_naming_the_treeptr_and_the_blob() {
    let f = Fixture::new();
    let t = f.medo.join("gone.treeptr");
    let id = "0123456789abcdef0123456789abcdef01234567";
    write_treeptr(&t, id, 10, "tar");
    let dest = f.path("out");
    let e = medo_fails(2, &[&"expand", &t, &dest]);
    assert!(e.contains("gone.treeptr") && e.contains(id), "{e}");
    assert!(e.contains("no such object"), "{e}");
    assert!(!dest.exists(), "nothing may be written for a missing blob");
}

#[test]
fn a_corrupt_loose_object_is_an_error_naming_its_file() {
    let f = Fixture::new();
    let tar = RawTar::new().file("x", b"the real content").finish();
    let (t, id) = f.treeptr("t.treeptr", &tar, "tar");
    // Replace the loose object with the gzip of other content.
    let loose = f
        .silo
        .join("objects")
        .join(&id[..2])
        .join(format!("{}.gz", &id[2..]));
    std::fs::remove_file(&loose).unwrap();
    let other = RawTar::new().file("x", b"the fake content").finish();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&other).unwrap();
    std::fs::write(&loose, gz.finish().unwrap()).unwrap();
    let dest = f.path("out");
    let e = medo_fails(2, &[&"expand", &t, &dest]);
    let loose_name = format!("s.silo/objects/{}/{}.gz", &id[..2], &id[2..]);
    assert!(
        e.contains("t.treeptr") && e.contains(&loose_name) && e.contains("corrupt"),
        "{e}"
    );
    assert!(!dest.join("x").exists());
}

#[test]
fn a_wrong_size_or_format_in_the_treeptr_is_an_error_naming_it() {
    let f = Fixture::new();
    let id = f.store(b"12345");
    let t = f.medo.join("t.treeptr");
    write_treeptr(&t, &id, 6, "file");
    let e = medo_fails(2, &[&"expand", &t, &f.path("out")]);
    assert!(
        e.contains("t.treeptr") && e.contains("\"size\" says 6"),
        "{e}"
    );
    write_treeptr(&t, &id, 5, "rar");
    let e = medo_fails(2, &[&"expand", &t, &f.path("out")]);
    assert!(e.contains("t.treeptr") && e.contains("\"rar\""), "{e}");
    std::fs::write(&t, r#"{"blob": "xyz"}"#).unwrap();
    let e = medo_fails(2, &[&"expand", &t, &f.path("out")]);
    assert!(e.contains("t.treeptr"), "{e}");
}

/// `medo ARGS` with its cache in `f` and no retries.
fn medo_env(f: &Fixture, args: &[&dyn AsRef<std::ffi::OsStr>]) -> std::process::Output {
    super::runner::command(env!("CARGO_BIN_EXE_medo"))
        .args(args.iter().map(|a| a.as_ref()))
        .env("TREES_CACHE", f.path("cache"))
        .env("TREES_HTTP_RETRIES", "0")
        .output()
        .unwrap()
}

#[test]
fn url_silos_are_read_over_http_and_unreachable_ones_skipped_with_a_note() {
    let f = Fixture::new();
    let (t, _) = f.treeptr("t.treeptr", b"content\n", "file");
    super::cli::silo_ok(&[&"repack", &f.silo]);
    let nginx = super::nginx::Nginx::serve(f.tmp.path());
    let proxy = super::nginx::Faulty::new(nginx.port, super::nginx::Fault::None);
    let served = proxy.url("s.silo/");
    let dead = "http://127.0.0.1:9/s.silo/";

    std::fs::write(
        f.medo.join("SILO.json"),
        format!(r#"{{"silos": [{{"url": "{served}"}}]}}"#),
    )
    .unwrap();
    let out = medo_env(&f, &[&"expand", &t, &f.path("out")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(f.path("out")).unwrap(), b"content\n");
    // It came from the pack, with a range request.
    let log = proxy.log();
    assert!(
        log.iter()
            .any(|r| r.uri.ends_with(".pack") && r.status == 206),
        "{log:?}"
    );

    std::fs::write(
        f.medo.join("SILO.json"),
        format!(r#"{{"silos": [{{"url": "{dead}"}}, {{"url": "{served}"}}]}}"#),
    )
    .unwrap();
    let out = medo_env(&f, &[&"expand", &t, &f.path("out2")]);
    assert!(out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains(dead), "{e}");
    assert_eq!(std::fs::read(f.path("out2")).unwrap(), b"content\n");

    std::fs::write(
        f.medo.join("SILO.json"),
        format!(r#"{{"silos": [{{"url": "{dead}"}}]}}"#),
    )
    .unwrap();
    let out = medo_env(&f, &[&"expand", &t, &f.path("out3")]);
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains(dead) && e.contains("SILO.json"), "{e}");
    assert!(!f.path("out3").exists());
}

/// A tgz that the silo stores split is expanded from its content (the tar
/// under the gzip) without re-making the gzip: with a rebuild worker that
/// always fails, expand still works, while a read of the gzip itself fails.
#[test]
fn a_split_tgz_is_expanded_from_its_content_without_rebuilding_the_gzip() {
    let f = Fixture::new();
    let mut ids = Vec::new();
    for v in 0..3 {
        let mut tar = RawTar::new();
        for i in 0..40 {
            // Only the first file differs between releases: they relate.
            let release = if i == 7 { v } else { 0 };
            let body = format!(
                "release {release}, file {i}: {}\n",
                "the same words again ".repeat(40)
            );
            tar = tar.file(&format!("src/f{i}.txt"), body.as_bytes());
        }
        let tar = tar.finish();
        // GNU gzip: preflate-rs models zlib (flate2's zlib-rs backend at
        // level 9 it does not: "no candidate found").
        let raw = f.path("r.tar");
        std::fs::write(&raw, &tar).unwrap();
        let gz = Command::new("gzip")
            .args(["-9", "-n", "-c", raw.to_str().unwrap()])
            .output()
            .expect("gzip is required by this test")
            .stdout;
        let (_, id) = f.treeptr(&format!("r{v}.treeptr"), &gz, "tgz");
        ids.push(id);
    }
    let report = super::cli::silo_ok(&[&"repack", &f.silo, &"--json"]);
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["split"]["split"], 3, "{}", report["split"]);
    let dest = f.path("out");
    // Through $TREES_RUNNER, as every test starts our binaries (qemu for aarch64).
    let out = super::runner::command(env!("CARGO_BIN_EXE_medo"))
        .args(["expand", f.medo.to_str().unwrap(), dest.to_str().unwrap()])
        .env("TREES_REBUILD_WORKER", "/bin/false")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = std::fs::read_to_string(dest.join("r2/src/f7.txt")).unwrap();
    assert!(got.starts_with("release 2, file 7: "), "{got}");
    let got = std::fs::read_to_string(dest.join("r1/src/f3.txt")).unwrap();
    assert!(got.starts_with("release 0, file 3: "), "{got}");
    // The gzip itself needs the worker.
    let out = super::runner::command(env!("CARGO_BIN_EXE_silo"))
        .args(["cat", f.silo.to_str().unwrap(), &ids[0]])
        .env("TREES_REBUILD_WORKER", "/bin/false")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rebuild worker failed"));
    // And with the real one, verify (which reads the exact gzip) agrees.
    medo_ok(&[&"verify", &f.medo, &dest]);
}
