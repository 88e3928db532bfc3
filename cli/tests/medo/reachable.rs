//! `medo reachable`: the live set, sorted and deduplicated.

use super::cli::{Fixture, medo_fails, medo_ok, write_treeptr};

#[test]
fn ids_are_printed_sorted_and_once_across_directories() {
    let f = Fixture::new();
    let ids = [
        "ffffffffffffffffffffffffffffffffffffffff",
        "0000000000000000000000000000000000000001",
        "8888888888888888888888888888888888888888",
    ];
    write_treeptr(&f.medo.join("z.treeptr"), ids[0], 1, "tar");
    write_treeptr(&f.medo.join("deep/er/a.treeptr"), ids[1], 1, "tar");
    write_treeptr(&f.medo.join("dup.treeptr"), ids[0], 1, "tar");
    let other = f.path("other.medo");
    write_treeptr(&other.join("x.treeptr"), ids[2], 1, "tar");
    write_treeptr(&other.join("y.treeptr"), ids[1], 1, "tar");
    let out = medo_ok(&[&"reachable", &f.medo, &other]);
    let mut want = ids.to_vec();
    want.sort();
    assert_eq!(out.lines().collect::<Vec<_>>(), want);
}

#[test]
fn a_bad_treeptr_fails_naming_it_and_prints_nothing() {
    let f = Fixture::new();
    write_treeptr(
        &f.medo.join("a.treeptr"),
        "0000000000000000000000000000000000000001",
        1,
        "tar",
    );
    std::fs::write(f.medo.join("b.treeptr"), r#"{"blob": "0000", "size": 1}"#).unwrap();
    let out = super::cli::medo(&[&"reachable", &f.medo]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("b.treeptr"), "{e}");
    let e = medo_fails(2, &[&"reachable", &f.path("nope")]);
    assert!(e.contains("nope"), "{e}");
}
