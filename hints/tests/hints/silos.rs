//! `SILO.json`: relative paths, the nearest parent, errors that name the file.

use std::path::PathBuf;

use trees_hints::silos::{Error, Location, Silos};

use super::{chain, put};

#[test]
fn relative_paths_are_relative_to_the_directory_of_the_silo_json() {
    let tmp = tempfile::tempdir().unwrap();
    put(
        tmp.path(),
        "repo/SILO.json",
        r#"{"silos": [{"path": "../deps.silo"}, {"url": "https://example.org/deps.silo/"}]}"#,
    );
    // Read from another working directory's point of view: the path in the
    // file is resolved against the file, not against the process.
    let s = Silos::read(&tmp.path().join("repo/SILO.json")).unwrap();
    let Location::Path(p) = &s.silos[0] else {
        panic!("{:?}", s.silos)
    };
    std::fs::create_dir(tmp.path().join("deps.silo")).unwrap();
    assert_eq!(
        p.canonicalize().unwrap(),
        tmp.path().join("deps.silo").canonicalize().unwrap()
    );
    assert_eq!(
        s.silos[1],
        Location::Url("https://example.org/deps.silo/".into())
    );
}

#[test]
fn a_directory_without_one_uses_the_nearest_parent_and_its_own_wins() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    put(&root, "SILO.json", r#"{"silos": [{"path": "top.silo"}]}"#);
    put(&root, "a/SILO.json", r#"{"silos": [{"path": "a.silo"}]}"#);
    std::fs::create_dir_all(root.join("a/b/c")).unwrap();
    std::fs::create_dir_all(root.join("z/y")).unwrap();

    let s = Silos::find(&root.join("a/b/c")).unwrap();
    assert_eq!(s.file, root.join("a/SILO.json"));
    assert_eq!(s.silos, [Location::Path(root.join("a/a.silo"))]);

    let s = Silos::find(&root.join("a")).unwrap();
    assert_eq!(s.file, root.join("a/SILO.json"));

    let s = Silos::find(&root.join("z/y")).unwrap();
    assert_eq!(s.silos, [Location::Path(root.join("top.silo"))]);

    // A treeptr's silos are those of its directory.
    let s = Silos::for_treeptr(&root.join("a/b/x.treeptr")).unwrap();
    assert_eq!(s.file, root.join("a/SILO.json"));
}

#[test]
fn a_broken_nearer_silo_json_is_an_error_not_a_reason_to_use_a_parents() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    put(&root, "SILO.json", r#"{"silos": [{"path": "top.silo"}]}"#);
    put(
        &root,
        "a/SILO.json",
        r#"{"silos": [{"path": "a.silo", "mirror": true}]}"#,
    );
    let e = Silos::find(&root.join("a")).unwrap_err();
    let msg = chain(&e);
    assert!(matches!(e, Error::Json { .. }), "{msg}");
    assert!(
        msg.contains(&format!("{}", root.join("a/SILO.json").display())),
        "{msg}"
    );
    assert!(msg.contains("mirror"), "{msg}");
}

#[test]
fn no_silo_json_anywhere_and_a_missing_directory_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let msg = chain(&Silos::find(&missing).unwrap_err());
    assert!(msg.contains("nope") && msg.contains("SILO.json"), "{msg}");
    // The temporary directory's parents (/tmp, /) have no SILO.json on a
    // sane machine; if one does, this part says so rather than fail oddly.
    let found: Vec<PathBuf> = tmp
        .path()
        .ancestors()
        .map(|d| d.join("SILO.json"))
        .filter(|p| p.exists())
        .collect();
    if found.is_empty() {
        let e = Silos::find(tmp.path()).unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{e}");
        assert!(e.to_string().contains("no SILO.json in"), "{e}");
    } else {
        eprintln!("skipped the not-found case: {found:?} exist");
    }
}
