//! A pack past 2 GiB, where idx v2 keeps offsets in its 64-bit table.
//!
//! One test, `pack_past_2gib`, so that slow machines (qemu) can skip it by
//! name. It writes about 2.25 GiB to a temporary directory and holds at
//! most one blob and its compressed copy (about 260 MiB) in memory.

use std::io::BufWriter;

use trees_pack::data::write::Entry;
use trees_pack::id::{Kind, hash_object};
use trees_pack::index::LARGE_OFFSET;
use trees_pack::{Bundle, data, index};
use trees_testdata::random_bytes;

use crate::git;

/// Incompressible blobs, so the pack is as big as their sum.
const BLOBS: u32 = 18;
/// 18 x 128 MiB = 2.25 GiB: the last two entries start past 2 GiB.
const BLOB_LEN: usize = 128 << 20;

#[test]
fn pack_past_2gib() {
    let dir = trees_oracle::tempdir().unwrap();
    let pack_path = dir.path().join("big.pack");
    let file = BufWriter::with_capacity(1 << 20, std::fs::File::create(&pack_path).unwrap());
    let mut w = data::Writer::new(file, BLOBS).unwrap();
    let mut ids = Vec::new();
    for i in 0..BLOBS {
        // One blob at a time: made, hashed, compressed (level 1: random
        // data does not shrink anyway), written and dropped.
        let blob = random_bytes(0x2_0000_0000 + u64::from(i), BLOB_LEN);
        let id = hash_object(Kind::Blob, &blob).unwrap();
        let entry = Entry::whole(id, Kind::Blob, &blob, 1);
        drop(blob);
        w.write(&entry).unwrap();
        ids.push(id);
    }
    let out = w.finish().unwrap();
    assert!(
        out.len > 9 << 28,
        "the pack is past 2.25 GiB ({} bytes)",
        out.len
    );
    let mut entries = out.entries;
    let large: Vec<u64> = entries
        .iter()
        .map(|e| e.offset)
        .filter(|&o| o >= LARGE_OFFSET)
        .collect();
    assert!(large.len() >= 2, "entries past 2 GiB: {large:?}");
    let idx_path = dir.path().join("big.idx");
    index::write(
        &mut entries,
        &out.checksum,
        std::fs::File::create(&idx_path).unwrap(),
    )
    .unwrap();
    let ours = std::fs::read(&idx_path).unwrap();
    let small = index::HEADER_LEN + entries.len() * 28 + 40;
    assert_eq!(
        ours.len(),
        small + 8 * large.len(),
        "one 64-bit slot per large offset"
    );

    // git writes the same idx for our pack.
    let repo = git::init_bare(dir.path(), "repo.git");
    let (theirs, printed) = git::index_pack(&repo, &pack_path, &dir.path().join("git.idx"));
    assert_eq!(printed, out.checksum.to_string());
    assert!(
        ours == theirs,
        "our idx of a pack past 2 GiB differs from git index-pack's"
    );

    // Our reader finds the large offsets and reads the last object back.
    let bundle = Bundle::open(&idx_path).unwrap();
    for e in &entries {
        assert_eq!(
            bundle.find(&e.id).unwrap(),
            Some(e.offset),
            "offset of {}",
            e.id
        );
    }
    let last = ids.last().unwrap();
    assert!(bundle.find(last).unwrap().unwrap() >= LARGE_OFFSET);
    let obj = bundle.read(last).unwrap().unwrap();
    assert_eq!(obj.data.len(), BLOB_LEN);
    assert_eq!(
        hash_object(obj.kind, &obj.data).unwrap(),
        *last,
        "the last blob reads back"
    );
}
