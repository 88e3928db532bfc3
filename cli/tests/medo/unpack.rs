//! Hostile tars: nothing may be written outside the destination.
//!
//! Each case stores a tar made header by header, expands it, and checks
//! that medo exits 2 naming the treeptr, the blob and the member, and that
//! the sentinel path the member aims at does not exist.

use std::path::{Path, PathBuf};

use super::cli::{Fixture, RawTar, medo_fails, medo_ok};

/// Expands a treeptr of `tar` into `tmp/dest`; asserts it is refused,
/// naming `member` and `why`, and that `sentinel` was not created.
fn refused(f: &Fixture, tar: Vec<u8>, member: &str, why: &str, sentinel: &Path) -> String {
    let (t, id) = f.treeptr("evil.treeptr", &tar, "tar");
    let dest = f.path("dest");
    let e = medo_fails(2, &[&"expand", &t, &dest]);
    assert!(e.contains("evil.treeptr") && e.contains(&id), "{e}");
    assert!(e.contains(&format!("member {member:?} is refused")), "{e}");
    assert!(e.contains(why), "{e}");
    assert!(
        std::fs::symlink_metadata(sentinel).is_err(),
        "{} was created",
        sentinel.display()
    );
    e
}

#[test]
fn parent_dir_members_are_refused() {
    let f = Fixture::new();
    for name in ["../sentinel", "ok/../../sentinel", "./../sentinel"] {
        let tar = RawTar::new()
            .file("fine.txt", b"ok")
            .file(name, b"pwned")
            .finish();
        refused(&f, tar, name, "`..`", &f.path("sentinel"));
        // The whole tar is checked first: not even the good member is written.
        assert!(!f.path("dest").exists());
    }
}

#[test]
fn absolute_members_are_refused() {
    let f = Fixture::new();
    let sentinel = f.path("abs-sentinel");
    let name = sentinel.to_str().unwrap().to_owned();
    let tar = RawTar::new().file(&name, b"pwned").finish();
    refused(&f, tar, &name, "absolute", &sentinel);
    let tar = RawTar::new()
        .symlink("l", "/")
        .hardlink(&name, "l")
        .finish();
    refused(&f, tar, &name, "absolute", &sentinel);
}

#[test]
fn members_under_a_symlink_are_refused_wherever_it_points() {
    let f = Fixture::new();
    let outside = f.path("outside");
    std::fs::create_dir(&outside).unwrap();
    let abs = outside.to_str().unwrap();
    for (target, sentinel) in [
        (abs, outside.join("sentinel")),
        ("..", f.path("sentinel")),
        ("../outside", outside.join("sentinel")),
        // Even a link that stays inside: the rule is simple and checkable.
        (".", f.path("dest/sentinel")),
    ] {
        let _ = std::fs::remove_dir_all(f.path("dest"));
        let tar = RawTar::new()
            .symlink("link", target)
            .file("link/sentinel", b"pwned")
            .finish();
        refused(&f, tar, "link/sentinel", "symlink", &sentinel);
        // A directory entry through the link, then a file under it.
        let _ = std::fs::remove_dir_all(f.path("dest"));
        let tar = RawTar::new()
            .symlink("link", target)
            .dir("link/")
            .file("link/sentinel", b"pwned")
            .finish();
        refused(&f, tar, "link/", "symlink", &sentinel);
    }
}

#[test]
fn a_symlink_already_in_the_destination_is_never_written_through() {
    let f = Fixture::new();
    let outside = f.path("outside");
    std::fs::create_dir(&outside).unwrap();
    let dest = f.path("dest");
    std::fs::create_dir(&dest).unwrap();
    std::os::unix::fs::symlink(&outside, dest.join("pre")).unwrap();
    let tar = RawTar::new().file("pre/sentinel", b"pwned").finish();
    refused(
        &f,
        tar,
        "pre/sentinel",
        "through the symlink",
        &outside.join("sentinel"),
    );

    // A file member whose own place is a symlink replaces the link; the
    // file the link pointed at keeps its content.
    let victim = f.path("victim");
    std::fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, dest.join("name")).unwrap();
    let tar = RawTar::new()
        .symlink("link2", victim.to_str().unwrap())
        .file("link2", b"replaced")
        .file("name", b"replaced too")
        .finish();
    let (t, _) = f.treeptr("t.treeptr", &tar, "tar");
    medo_ok(&[&"expand", &t, &dest]);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    for n in ["link2", "name"] {
        let m = std::fs::symlink_metadata(dest.join(n)).unwrap();
        assert!(m.is_file(), "{n} should now be a file");
    }
}

#[test]
fn device_nodes_fifos_and_hard_links_out_are_refused() {
    let f = Fixture::new();
    let s: PathBuf = f.path("dest/dev");
    for (ty, why) in [
        (tar::EntryType::Char, "device node"),
        (tar::EntryType::Block, "device node"),
        (tar::EntryType::Fifo, "fifo"),
    ] {
        let tar = RawTar::new().special("dev", ty).finish();
        refused(&f, tar, "dev", why, &s);
    }
    let passwd = f.path("passwd");
    std::fs::write(&passwd, "root:x:0:0").unwrap();
    let tar = RawTar::new()
        .hardlink("dev", passwd.to_str().unwrap())
        .finish();
    refused(&f, tar, "dev", "absolute", &s);
    let tar = RawTar::new().hardlink("dev", "../passwd").finish();
    refused(&f, tar, "dev", "`..`", &s);
    let tar = RawTar::new()
        .hardlink("dev", "later")
        .file("later", b"x")
        .finish();
    refused(&f, tar, "dev", "not an earlier file", &s);
}

#[test]
fn hard_links_to_earlier_files_are_copies_inside() {
    let f = Fixture::new();
    let tar = RawTar::new()
        .dir("d")
        .file("d/a", b"shared")
        .hardlink("b", "d/a")
        .finish();
    let (t, _) = f.treeptr("t.treeptr", &tar, "tar");
    let dest = f.path("dest");
    medo_ok(&[&"expand", &t, &dest]);
    assert_eq!(std::fs::read(dest.join("b")).unwrap(), b"shared");
    medo_ok(&[&"verify", &t, &dest]);
}

#[test]
fn a_tar_that_is_not_a_tar_is_a_clear_error() {
    let f = Fixture::new();
    let mut tar = RawTar::new().file("a", b"x").finish();
    tar[148..156].copy_from_slice(b"0000000\0"); // a wrong header checksum
    let (t, _) = f.treeptr("t.treeptr", &tar, "tar");
    let e = medo_fails(2, &[&"expand", &t, &f.path("dest")]);
    assert!(
        e.contains("t.treeptr") && e.contains("not a valid tar"),
        "{e}"
    );
    let (t, _) = f.treeptr("z.treeptr", b"not gzip", "tgz");
    let e = medo_fails(2, &[&"expand", &t, &f.path("dest")]);
    assert!(
        e.contains("z.treeptr") && e.contains("not a valid tgz"),
        "{e}"
    );
}

#[test]
fn mtimes_are_kept_and_an_absurd_one_is_dropped_without_failing() {
    let f = Fixture::new();
    let tar = RawTar::new()
        .mtime(1_000_000_000)
        .file("a", b"a")
        .mtime(u64::MAX >> 1)
        .file("b", b"b")
        .finish();
    let (t, _) = f.treeptr("t.treeptr", &tar, "tar");
    let dest = f.path("dest");
    medo_ok(&[&"expand", &t, &dest]);
    let mtime = |n: &str| std::fs::metadata(dest.join(n)).unwrap().modified().unwrap();
    let epoch = std::time::SystemTime::UNIX_EPOCH;
    assert_eq!(
        mtime("a"),
        epoch + std::time::Duration::from_secs(1_000_000_000)
    );
    assert_eq!(std::fs::read(dest.join("b")).unwrap(), b"b");
    medo_ok(&[&"verify", &t, &dest]);
}
