//! `medo verify`: exit 1 naming the first difference and the treeptr.

use std::os::unix::fs::PermissionsExt;

use super::add::make_tree;
use super::cli::{Fixture, medo_fails, medo_ok};

#[test]
fn every_kind_of_difference_is_found_and_named() {
    let f = Fixture::new();
    let src = f.path("src");
    make_tree(&src);
    let t = f.medo.join("t.treeptr");
    medo_ok(&[&"add", &"--silo", &f.silo, &src, &t]);
    let dest = f.path("out");
    medo_ok(&[&"expand", &t, &dest]);
    let out = medo_ok(&[&"verify", &t, &dest]);
    assert!(out.starts_with("ok  "), "{out}");

    let p = |rel: &str| dest.join(rel);
    type Case = (&'static str, &'static str, fn(&std::path::Path));
    let cases: [Case; 7] = [
        ("a.txt", "other content", |d| {
            std::fs::write(d.join("a.txt"), "jello\n").unwrap()
        }),
        ("a.txt", "bytes", |d| {
            std::fs::write(d.join("a.txt"), "hello!\n").unwrap()
        }),
        ("a.txt", "missing", |d| {
            std::fs::remove_file(d.join("a.txt")).unwrap()
        }),
        ("extra", "not in the blob", |d| {
            std::fs::write(d.join("extra"), "").unwrap()
        }),
        ("sub/run.sh", "executable bit", |d| {
            let p = d.join("sub/run.sh");
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap()
        }),
        ("sub/link", "points to", |d| {
            std::fs::remove_file(d.join("sub/link")).unwrap();
            std::os::unix::fs::symlink("elsewhere", d.join("sub/link")).unwrap();
        }),
        ("sub/empty", "a file", |d| {
            std::fs::remove_dir(d.join("sub/empty")).unwrap();
            std::fs::write(d.join("sub/empty"), "").unwrap();
        }),
    ];
    for (path, what, break_it) in cases {
        break_it(&dest);
        let e = medo_fails(1, &[&"verify", &t, &dest]);
        assert!(
            e.contains(&format!("{}:", p(path).display())) && e.contains(what),
            "{path}: {e}"
        );
        assert!(e.contains("t.treeptr"), "{e}");
        // Repair: remove the odd file, expand again.
        let _ = std::fs::remove_file(dest.join("extra"));
        if std::fs::symlink_metadata(p("sub/empty")).is_ok_and(|m| m.is_file()) {
            std::fs::remove_file(p("sub/empty")).unwrap();
        }
        medo_ok(&[&"expand", &t, &dest]);
        medo_ok(&[&"verify", &t, &dest]);
    }
}

#[test]
fn a_missing_destination_is_a_difference_and_each_treeptr_of_a_directory_is_checked() {
    let f = Fixture::new();
    f.treeptr("a.treeptr", b"aaa", "file");
    f.treeptr("sub/b.treeptr", b"bbb", "file");
    let dest = f.path("out");
    let e = medo_fails(1, &[&"verify", &f.medo, &dest]);
    assert!(
        e.contains("a.treeptr") && e.contains("b.treeptr") && e.contains("missing"),
        "{e}"
    );
    medo_ok(&[&"expand", &f.medo, &dest]);
    let out = medo_ok(&[&"verify", &f.medo, &dest]);
    assert_eq!(out.lines().count(), 2, "{out}");
}
