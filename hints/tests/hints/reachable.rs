//! The reachable set: every treeptr under the directories, sorted, deduplicated.

use trees_hints::reachable::{reachable, treeptrs};

use super::{IDS, chain, put, treeptr_json};

#[test]
fn ids_are_sorted_and_deduplicated_across_directories_and_depths() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    put(root, "a.medo/z.treeptr", &treeptr_json(IDS[1]));
    put(root, "a.medo/deep/er/y.treeptr", &treeptr_json(IDS[0]));
    put(root, "a.medo/x.treeptr", &treeptr_json(IDS[1]));
    put(root, "b.medo/w.treeptr", &treeptr_json(IDS[2]));
    put(root, "b.medo/w.treeptr.orig", "not json, not a treeptr");
    put(root, "b.medo/README", "not a treeptr");
    put(
        root,
        "b.medo/.git/x.treeptr",
        "git's own files are not read",
    );

    let ids = reachable(&[
        root.join("a.medo"),
        root.join("b.medo"),
        root.join("a.medo"),
    ])
    .unwrap();
    let mut want: Vec<_> = IDS
        .iter()
        .map(|h| trees_pack::id::parse_hex(h).unwrap())
        .collect();
    want.sort();
    assert_eq!(ids, want);

    let files = treeptrs(&root.join("a.medo")).unwrap();
    let rel: Vec<_> = files
        .iter()
        .map(|p| p.strip_prefix(root).unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        rel,
        [
            "a.medo/deep/er/y.treeptr",
            "a.medo/x.treeptr",
            "a.medo/z.treeptr"
        ]
    );
    // A single treeptr file is its own list.
    let one = root.join("b.medo/w.treeptr");
    assert_eq!(treeptrs(&one).unwrap(), [one]);
}

#[test]
fn a_bad_treeptr_fails_the_whole_walk_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    put(root, "m/a.treeptr", &treeptr_json(IDS[0]));
    put(root, "m/sub/b.treeptr", r#"{"blob": "nothex", "size": 1}"#);
    let msg = chain(&reachable(&[root.join("m")]).unwrap_err());
    assert!(msg.contains("m/sub/b.treeptr"), "{msg}");

    let msg = chain(&reachable(&[root.join("missing")]).unwrap_err());
    assert!(msg.contains("missing"), "{msg}");
}
