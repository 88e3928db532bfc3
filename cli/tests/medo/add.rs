//! `medo add`: deterministic tars, files as they are, treeptrs written.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::cli::{Fixture, git, medo_fails, medo_ok, silo_ok};

/// A small tree: a file, an executable in a subdirectory, a symlink, an
/// empty directory, and a name too long for a tar header.
pub fn make_tree(root: &Path) {
    std::fs::create_dir_all(root.join("sub/empty")).unwrap();
    std::fs::write(root.join("a.txt"), "hello\n").unwrap();
    std::fs::write(root.join("sub/run.sh"), "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(
        root.join("sub/run.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::os::unix::fs::symlink("../a.txt", root.join("sub/link")).unwrap();
    let long = "n".repeat(150);
    std::fs::write(root.join(&long), "long name\n").unwrap();
}

fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn a_directory_added_twice_gives_the_same_id_and_git_hash_object_agrees() {
    let f = Fixture::new();
    let src = f.path("src");
    make_tree(&src);
    let out = medo_ok(&[
        &"add",
        &"--silo",
        &f.silo,
        &src,
        &f.medo.join("a.treeptr"),
        &"--url",
        &"https://example.org/a.tgz",
    ]);
    let id = out.split_whitespace().next().unwrap().to_owned();

    // The same tree elsewhere, made later, with other mtimes: same bytes.
    let src2 = f.path("elsewhere/src2");
    make_tree(&src2);
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    std::fs::File::options()
        .write(true)
        .open(src2.join("a.txt"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let out2 = medo_ok(&[&"add", &"--silo", &f.silo, &src2, &f.medo.join("b.treeptr")]);
    assert_eq!(out2.split_whitespace().next().unwrap(), id);

    // git is the oracle of the id.
    let tar = f.path("a.tar");
    std::fs::write(&tar, silo_ok(&[&"cat", &f.silo, &id])).unwrap();
    let hashed = git(f.tmp.path(), &["hash-object", tar.to_str().unwrap()]);
    assert_eq!(hashed.trim(), id);

    // The treeptr says what the blob is.
    let t = read_json(&f.medo.join("a.treeptr"));
    assert_eq!(t["blob"], id.as_str());
    assert_eq!(t["format"], "tar");
    assert_eq!(t["size"], std::fs::metadata(&tar).unwrap().len());
    assert_eq!(t["provenance"]["url"], "https://example.org/a.tgz");
    let t2 = read_json(&f.medo.join("b.treeptr"));
    assert_eq!(t2["provenance"], serde_json::json!({}));

    // Every header is fixed: mtime 0, owners 0 and unnamed, modes kept.
    let mut ar = tar::Archive::new(std::fs::File::open(&tar).unwrap());
    let mut names = Vec::new();
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        let h = e.header();
        assert_eq!(h.mtime().unwrap(), 0);
        assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0));
        assert_eq!(h.username_bytes().unwrap_or_default(), b"");
        assert_eq!(h.groupname_bytes().unwrap_or_default(), b"");
        let name = e.path().unwrap().to_string_lossy().into_owned();
        if name == "sub/run.sh" {
            assert_eq!(h.mode().unwrap() & 0o777, 0o755);
        }
        if name == "sub/link" {
            assert!(h.entry_type().is_symlink());
            assert_eq!(e.link_name().unwrap().unwrap(), Path::new("../a.txt"));
        }
        names.push(name);
    }
    let long = "n".repeat(150);
    assert_eq!(
        names,
        ["a.txt", &long, "sub", "sub/empty", "sub/link", "sub/run.sh"]
    );
    // The temporary tar is gone from the silo's tmp/.
    assert_eq!(std::fs::read_dir(f.silo.join("tmp")).unwrap().count(), 0);
}

#[test]
fn files_are_stored_as_they_are_with_their_format_and_derived_provenance() {
    let f = Fixture::new();
    for (name, format) in [
        ("x.tgz", "tgz"),
        ("x.tar.gz", "tgz"),
        ("x.tar", "tar"),
        ("x.bin", "file"),
    ] {
        let src = f.path(name);
        std::fs::write(&src, format!("the content of {name}")).unwrap();
        let dest = f.medo.join(format!("{name}.treeptr"));
        let out = medo_ok(&[&"add", &"--silo", &f.silo, &src, &dest]);
        let id = out.split_whitespace().next().unwrap();
        assert_eq!(git(f.tmp.path(), &["hash-object", name]).trim(), id);
        let t = read_json(&dest);
        assert_eq!(t["format"], format, "{name}");
        assert_eq!(t["size"], std::fs::metadata(&src).unwrap().len());
    }
    // A derived blob names its base relative to its own treeptr.
    let src = f.path("derived.bin");
    std::fs::write(&src, "built").unwrap();
    let dest = f.medo.join("deb/derived.treeptr");
    std::fs::create_dir(f.medo.join("deb")).unwrap();
    medo_ok(&[
        &"add",
        &"--silo",
        &f.silo,
        &src,
        &dest,
        &"--base",
        &f.medo.join("x.tgz.treeptr"),
        &"--command",
        &"make install",
    ]);
    let t = read_json(&dest);
    assert_eq!(
        t["provenance"],
        serde_json::json!({"base": "../x.tgz.treeptr", "command": "make install"})
    );
}

#[test]
fn bad_arguments_are_refused_with_exit_2_and_write_no_treeptr() {
    let f = Fixture::new();
    let src = f.path("x.bin");
    std::fs::write(&src, "x").unwrap();
    // Not a .treeptr name: reachable (and so gc) would never see it.
    let e = medo_fails(
        2,
        &[&"add", &"--silo", &f.silo, &src, &f.medo.join("x.json")],
    );
    assert!(e.contains("x.json") && e.contains(".treeptr"), "{e}");
    // --url with --base, and --base without --command: usage errors.
    let dest = f.medo.join("x.treeptr");
    medo_fails(
        2,
        &[
            &"add", &"--silo", &f.silo, &src, &dest, &"--url", &"u", &"--base", &dest,
        ],
    );
    medo_fails(
        2,
        &[&"add", &"--silo", &f.silo, &src, &dest, &"--base", &dest],
    );
    // A base that is not a treeptr.
    let e = medo_fails(
        2,
        &[
            &"add",
            &"--silo",
            &f.silo,
            &src,
            &dest,
            &"--base",
            &src,
            &"--command",
            &"c",
        ],
    );
    assert!(e.contains("x.bin"), "{e}");
    // A missing source, a directory that is not a silo.
    let e = medo_fails(2, &[&"add", &"--silo", &f.silo, &f.path("nope"), &dest]);
    assert!(e.contains("nope"), "{e}");
    let e = medo_fails(2, &[&"add", &"--silo", &f.medo, &src, &dest]);
    assert!(e.contains("not a silo"), "{e}");
    assert!(!dest.exists());
}
