//! `*.treeptr`: written, read back, replaced whole.

use std::os::unix::fs::PermissionsExt;

use trees_hints::treeptr::{Provenance, Treeptr};

use super::IDS;

#[test]
fn write_then_read_gives_the_same_treeptr_and_leaves_no_temporary_file() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("x.treeptr");
    let mut t = Treeptr {
        blob: trees_pack::id::parse_hex(IDS[0]).unwrap(),
        size: 6,
        format: "tar".into(),
        provenance: Provenance {
            url: Some("https://example.org/x.tgz".into()),
            ..Provenance::default()
        },
    };
    t.write(&path).unwrap();
    assert_eq!(Treeptr::read(&path).unwrap(), t);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o644);

    t.size = 7;
    t.write(&path).unwrap();
    assert_eq!(Treeptr::read(&path).unwrap().size, 7);
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["x.treeptr"]);
}
