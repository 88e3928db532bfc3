//! SHA-1 with collision detection, as git: the SHAttered blocks are refused.

use std::path::Path;

use trees_pack::id::{self, HashError, Kind};

fn prefix() -> Vec<u8> {
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/shattered/shattered-1-prefix.bin");
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The hash of pack trailers and idx checksums sees the attack, and says so.
/// (A build whose SHA-1 had no detection would hash it quietly.)
#[test]
fn shattered_blocks_are_refused_with_a_message() {
    let e = id::sha1(&[&prefix()]).unwrap_err();
    assert!(matches!(e, HashError::Collision));
    assert!(e.to_string().contains("collision attack"), "{e}");
    // Fed in pieces, the same.
    let p = prefix();
    assert!(matches!(
        id::sha1(&[&p[..100], &p[100..]]),
        Err(HashError::Collision)
    ));
    // The blocks without their prefix are innocent bytes.
    assert!(id::sha1(&[&p[192..]]).is_ok());
}

/// An object id hashes `blob <size>\0` first, so the SHAttered blocks
/// inside a blob meet another SHA-1 state than the one they were made for:
/// no collision exists there, and git stores such a blob too. An attack on
/// blob ids would have to be computed with the header in its prefix, and
/// that is the attack the detection above refuses.
#[test]
fn a_blob_holding_the_blocks_hashes_as_in_git() {
    let id = id::hash_object(Kind::Blob, &prefix()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut c = super::git::command(tmp.path());
    c.args(["hash-object", "--stdin"]);
    let (out, _) = super::git::run(c, &prefix());
    assert_eq!(id.to_string(), String::from_utf8(out).unwrap().trim());
}
