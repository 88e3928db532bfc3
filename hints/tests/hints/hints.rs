//! `HINTS.json`: names resolved relative to the hints file.

use trees_hints::hints::{Hint, Hints};
use trees_hints::treeptr::Treeptr;

use super::{IDS, chain, put, treeptr_json};

fn id(hex: &str) -> trees_hints::ObjectId {
    trees_pack::id::parse_hex(hex).unwrap()
}

#[test]
fn treeptr_paths_resolve_relative_to_the_hints_file_and_ids_pass_through() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    put(
        root,
        "source.medo/Python-3.10.4.treeptr",
        &treeptr_json(IDS[0]),
    );
    put(
        root,
        "source.medo/Python-3.10.5.treeptr",
        &treeptr_json(IDS[1]),
    );
    put(root, "derived.medo/debian/P.treeptr", &treeptr_json(IDS[2]));
    put(
        root,
        "HINTS.json",
        &format!(
            r#"{{ "hints": [
              {{ "have": "source.medo/Python-3.10.4.treeptr", "want": "source.medo/Python-3.10.5.treeptr" }},
              {{ "related": ["derived.medo/debian/P.treeptr", "{}"] }} ] }}"#,
            IDS[0]
        ),
    );
    // Run from elsewhere: the names are relative to the file, not the process.
    let h = Hints::read(&root.join("HINTS.json")).unwrap();
    assert_eq!(
        h.hints,
        [
            Hint::Delta {
                have: id(IDS[0]),
                want: id(IDS[1])
            },
            Hint::Related(vec![id(IDS[2]), id(IDS[0])]),
        ]
    );
    // The same, from a hints file in a subdirectory naming a sibling.
    put(
        root,
        "derived.medo/HINTS.json",
        r#"{"hints": [{"related": ["debian/P.treeptr", "../source.medo/Python-3.10.5.treeptr"]}]}"#,
    );
    let h = Hints::read(&root.join("derived.medo/HINTS.json")).unwrap();
    assert_eq!(h.hints, [Hint::Related(vec![id(IDS[2]), id(IDS[1])])]);
    assert_eq!(
        Treeptr::read(&root.join("derived.medo/debian/P.treeptr"))
            .unwrap()
            .blob,
        id(IDS[2])
    );
}

#[test]
fn a_missing_or_bad_treeptr_names_the_hints_file_the_field_and_the_treeptr() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    put(
        root,
        "bad.treeptr",
        r#"{"blob": "1234", "size": 1, "format": "tar", "provenance": {}}"#,
    );
    for (target, word) in [
        ("gone.treeptr", "No such file"),
        ("bad.treeptr", "\"blob\""),
    ] {
        put(
            root,
            "HINTS.json",
            &format!(
                r#"{{"hints": [{{"have": "{}", "want": "{target}"}}]}}"#,
                IDS[0]
            ),
        );
        let msg = chain(&Hints::read(&root.join("HINTS.json")).unwrap_err());
        assert!(
            msg.contains("HINTS.json: hints[0].want") && msg.contains(target) && msg.contains(word),
            "{msg}"
        );
    }
}

#[test]
fn a_missing_hints_file_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let msg = chain(&Hints::read(&tmp.path().join("HINTS.json")).unwrap_err());
    assert!(
        msg.contains("cannot read") && msg.contains("HINTS.json"),
        "{msg}"
    );
}
