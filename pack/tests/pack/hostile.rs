//! Hostile packs and idx files: cut short, bit-flipped, or hand-built to
//! lie. Reading them must fail with an error that names the file (or, for
//! `verify`, report problems), never panic, never allocate what a header
//! merely claims, and never return content other than the object's own.

use std::path::Path;

use trees_pack::bundle::{self, MAX_CHAIN};
use trees_pack::data::entry::{self, encode_distance, encode_type_size};
use trees_pack::data::write::{Base, Entry, compress};
use trees_pack::{Bundle, Kind, ObjectId, Problem, data, delta, index};
use trees_testdata::random_bytes;

use crate::packs::{Link, Plan, Written, blob_id, chain, name, raw, save};

/// Writes `bytes` to `path` as a new file: truncating the old one in place
/// would make ext4 flush it to disk on close (`auto_da_alloc`), thousands
/// of times in a loop.
fn rewrite(path: &Path, bytes: &[u8]) {
    let _ = std::fs::remove_file(path);
    std::fs::write(path, bytes).unwrap();
}

/// A small pack with whole objects, OFS and REF deltas, and the empty blob.
pub(crate) fn small_plan() -> Plan {
    let mut plan = Plan::default();
    let text: Vec<u8> = (0..12)
        .flat_map(|i| format!("line {i} of a small text\n").into_bytes())
        .collect();
    let t0 = plan.whole(text.clone());
    let mut t1 = text.clone();
    t1.splice(40..40, b"an inserted line\n".iter().copied());
    let t1 = plan.diff(t0, Link::Ofs, t1);
    let mut t2 = plan.objects[1].data.clone();
    t2.truncate(200);
    t2.extend_from_slice(b"a new ending\n");
    plan.diff(t1, Link::Ref, t2);
    plan.whole(random_bytes(5, 100));
    plan.whole(Vec::new());
    plan
}

/// Asserts that an error's message names the file `file` (or one of `files`).
fn names_file(e: &dyn std::error::Error, files: &[&Path]) {
    let msg = chain(e);
    assert!(
        files.iter().any(|f| msg.contains(&name(f))),
        "error does not name {files:?}: {msg}"
    );
}

/// Asserts that `verify` found something, and that every problem names a file.
fn problems_name_files(problems: &[Problem], files: &[&Path]) {
    assert!(!problems.is_empty(), "verify found nothing wrong");
    for p in problems {
        let msg = p.to_string();
        assert!(
            files.iter().any(|f| msg.contains(&name(f))),
            "problem names no file: {msg}"
        );
    }
}

/// Reads every planned object: each read fails naming a file, finds
/// nothing, or returns exactly the planned content.
fn reads_are_right_or_fail(bundle: &Bundle, plan: &Plan, files: &[&Path], what: &str) {
    for o in &plan.objects {
        match bundle.read(&o.id) {
            Ok(Some(obj)) => assert!(
                obj.kind == Kind::Blob && *obj.data == o.data,
                "{what}: {} reads back as other content",
                o.id
            ),
            Ok(None) => {}
            Err(e) => names_file(&e, files),
        }
        if let Ok(Some(offset)) = bundle.find(&o.id)
            && let Err(e) = bundle.depth_at(offset)
        {
            names_file(&e, files);
        }
    }
}

#[test]
fn pack_cut_at_every_length_is_refused_naming_it() {
    let plan = small_plan();
    let orig = tempfile::tempdir().unwrap();
    let w = plan.write(orig.path());
    let full = std::fs::read(&w.pack).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (pack, idx, idx_for_cut) = (
        dir.path().join("cut.pack"),
        dir.path().join("cut.idx"),
        dir.path().join("for-cut.idx"),
    );
    std::fs::copy(&w.idx, &idx).unwrap();
    for len in 0..full.len() {
        rewrite(&pack, &full[..len]);
        // With the pack's own idx, the trailer no longer matches: refused at open.
        match Bundle::open(&idx) {
            Ok(_) => panic!("a pack cut to {len} bytes was opened"),
            Err(e) => names_file(&e, &[&pack, &idx]),
        }
        if let Err(e) = data::File::open(&pack) {
            names_file(&e, &[&pack]);
        }
        if len < data::HEADER_LEN + data::TRAILER_LEN {
            continue;
        }
        // With an idx that takes the cut pack's last 20 bytes for its
        // checksum, open succeeds and every read meets the cut.
        let trailer = ObjectId::try_from(&full[len - 20..len]).unwrap();
        let mut entries = w.entries.clone();
        let mut idx_bytes = Vec::new();
        index::write(&mut entries, &trailer, &mut idx_bytes).unwrap();
        rewrite(&idx_for_cut, &idx_bytes);
        let bundle = Bundle::open_pair(&idx_for_cut, &pack).unwrap();
        let files = [pack.as_path(), idx_for_cut.as_path()];
        reads_are_right_or_fail(&bundle, &plan, &files, &format!("cut to {len}"));
        problems_name_files(&bundle.verify(&mut |_| {}), &files);
    }
}

#[test]
fn idx_with_any_byte_flipped_never_reads_wrong_content() {
    let plan = small_plan();
    let dir = tempfile::tempdir().unwrap();
    let w = plan.write(dir.path());
    let good = std::fs::read(&w.idx).unwrap();
    let (pack, idx) = (dir.path().join("flip.pack"), dir.path().join("flip.idx"));
    std::fs::copy(&w.pack, &pack).unwrap();
    let files = [pack.as_path(), idx.as_path()];
    for at in 0..good.len() {
        // One bit, the top bit (large-offset flag of offset words), all bits.
        for mask in [0x01u8, 0x80, 0xff] {
            let mut bad = good.clone();
            bad[at] ^= mask;
            rewrite(&idx, &bad);
            let bundle = match Bundle::open(&idx) {
                Ok(b) => b,
                Err(e) => {
                    names_file(&e, &files);
                    continue;
                }
            };
            let what = format!("byte {at} ^ {mask:#04x}");
            reads_are_right_or_fail(&bundle, &plan, &files, &what);
            problems_name_files(&bundle.verify(&mut |_| {}), &files);
        }
    }
}

/// The small pack, written in `dir`, with an idx (checksums all fine) that
/// sends the first id to the second entry; returns the idx's entries.
pub(crate) fn idx_lying_about_the_first_entry(dir: &Path) -> (Written, Vec<index::Entry>) {
    let w = small_plan().write(dir);
    let mut entries = w.entries.clone();
    entries[0].offset = entries[1].offset;
    index::write(
        &mut entries,
        &w.checksum,
        std::fs::File::create(&w.idx).unwrap(),
    )
    .unwrap();
    (w, entries)
}

/// A whole entry of "hello\n" whose header claims 2^60 bytes.
pub(crate) fn huge_whole() -> Entry {
    let hello = b"hello\n";
    Entry {
        id: blob_id(hello),
        base: Base::None(Kind::Blob),
        size: 1 << 60,
        compressed: compress(hello, 6),
    }
}

/// A delta of honest size that announces a 2^60-byte result: base size 6
/// (0x06); result 2^60 (8 bytes 0x80, then 0x10); insert "x".
pub(crate) const HUGE_DELTA: [u8; 12] = [
    0x06, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, 0x01, b'x',
];

/// REF_DELTA cycles: a needs b, b needs a; c needs itself. Any delta will
/// do: "a\n" from a 2-byte base.
pub(crate) fn cycle() -> ([ObjectId; 3], Vec<Entry>) {
    let mut enc = delta::Encoder::new(2, 2);
    enc.insert(b"a\n");
    let d = enc.finish().unwrap();
    let (a, b, c) = (blob_id(b"a\n"), blob_id(b"b\n"), blob_id(b"c\n"));
    let entries = vec![
        Entry::delta(a, Base::Ref(b), &d, 6),
        Entry::delta(b, Base::Ref(a), &d, 6),
        Entry::delta(c, Base::Ref(c), &d, 6),
    ];
    ([a, b, c], entries)
}

/// A thin pack's one entry: a REF_DELTA whose base (returned) is not in it.
pub(crate) fn thin() -> (Entry, ObjectId) {
    let mut enc = delta::Encoder::new(6, 2);
    enc.insert(b"x\n");
    let missing = blob_id(b"base!\n");
    let e = Entry::delta(
        blob_id(b"x\n"),
        Base::Ref(missing),
        &enc.finish().unwrap(),
        6,
    );
    (e, missing)
}

#[test]
fn entry_announcing_2_pow_60_bytes_is_refused_without_allocating_them() {
    // Had the reader reserved what the header claims, the process would
    // have aborted on the failed allocation; it must fail gracefully instead.
    let whole = huge_whole();
    let base_id = blob_id(b"base!\n");
    let huge = HUGE_DELTA;
    let mut w = data::Writer::new(Vec::new(), 3).unwrap();
    w.write(&whole).unwrap();
    w.write(&Entry::whole(base_id, Kind::Blob, b"base!\n", 6))
        .unwrap();
    let huge_id = blob_id(b"huge");
    w.write(&Entry::delta(huge_id, Base::Ofs(base_id), &huge, 6))
        .unwrap();
    let out = w.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let written = save(dir.path(), &out.out, out.entries, out.checksum);
    let bundle = Bundle::open(&written.idx).unwrap();
    let files = [written.pack.as_path()];

    let e = bundle.read(&whole.id).unwrap_err();
    names_file(&e, &files);
    assert!(
        chain(&e).contains(&(1u64 << 60).to_string()),
        "{}",
        chain(&e)
    );
    let e = bundle.read(&huge_id).unwrap_err();
    names_file(&e, &files);
    assert!(
        matches!(
            e,
            bundle::Error::Delta {
                source: delta::apply::Error::ResultTooLarge { size, .. },
                ..
            } if size == 1 << 60
        ),
        "{e:?}"
    );
    assert_eq!(*bundle.read(&base_id).unwrap().unwrap().data, b"base!\n");
    let problems = bundle.verify(&mut |_| {});
    assert_eq!(problems.len(), 2, "{problems:?}");
    problems_name_files(&problems, &files);
}

#[test]
fn entry_size_overflowing_64_bits_is_refused() {
    // Type 3 (blob), size nibble 0xf, then ten continuation groups: 4 + 70 bits.
    let mut bytes = vec![0x80 | (3 << 4) | 0x0f];
    bytes.extend_from_slice(&[0xff; 9]);
    bytes.push(0x7f);
    bytes.extend_from_slice(&compress(b"x", 6));
    let id = blob_id(b"x");
    let (pack, entries, checksum) = raw(&[(id, bytes)]);
    let dir = tempfile::tempdir().unwrap();
    let w = save(dir.path(), &pack, entries, checksum);
    let bundle = Bundle::open(&w.idx).unwrap();
    let e = bundle.read(&id).unwrap_err();
    names_file(&e, &[&w.pack]);
    assert!(
        matches!(
            e,
            bundle::Error::Pack(data::file::Error::Header {
                source: entry::Error::SizeOverflow,
                ..
            })
        ),
        "{e:?}"
    );
    problems_name_files(&bundle.verify(&mut |_| {}), &[&w.pack]);
}

#[test]
fn ref_delta_cycle_is_refused_as_chain_too_deep() {
    let ([a, b, c], entries) = cycle();
    let mut w = data::Writer::new(Vec::new(), 3).unwrap();
    for e in &entries {
        w.write(e).unwrap();
    }
    let out = w.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let written = save(dir.path(), &out.out, out.entries, out.checksum);
    let bundle = Bundle::open(&written.idx).unwrap();
    for id in [a, b, c] {
        let e = bundle.read(&id).unwrap_err();
        assert!(
            matches!(e, bundle::Error::ChainTooDeep { .. }),
            "{id}: {e:?}"
        );
        names_file(&e, &[&written.pack]);
        assert!(chain(&e).contains(&MAX_CHAIN.to_string()), "{}", chain(&e));
        let offset = bundle.find(&id).unwrap().unwrap();
        let e = bundle.depth_at(offset).unwrap_err();
        assert!(
            matches!(e, bundle::Error::ChainTooDeep { .. }),
            "{id}: {e:?}"
        );
        names_file(&e, &[&written.pack]);
    }
    let problems = bundle.verify(&mut |_| {});
    assert_eq!(problems.len(), 3, "{problems:?}");
    problems_name_files(&problems, &[&written.pack]);
}

/// A raw OFS_DELTA entry whose base reference is `distance_bytes`.
pub(crate) fn ofs_entry(distance_bytes: &[u8]) -> Vec<u8> {
    let mut enc = delta::Encoder::new(6, 2);
    enc.insert(b"x\n");
    let d = enc.finish().unwrap();
    let mut bytes = Vec::new();
    encode_type_size(6, d.len() as u64, &mut bytes);
    bytes.extend_from_slice(distance_bytes);
    bytes.extend_from_slice(&compress(&d, 6));
    bytes
}

#[test]
fn ofs_delta_reaching_before_the_pack_is_refused() {
    let whole = b"base!\n";
    let mut first = Vec::new();
    encode_type_size(Kind::Blob.code(), whole.len() as u64, &mut first);
    first.extend_from_slice(&compress(whole, 6));
    let second_at = (data::HEADER_LEN + first.len()) as u64;
    let distance = |d: u64| {
        let mut v = Vec::new();
        encode_distance(d, &mut v);
        v
    };
    let cases = [
        // One byte before the start of the file.
        ("before the file", distance(second_at + 1)),
        // Into the 12-byte pack header, where no entry can be.
        ("into the header", distance(second_at - 5)),
        // Ten continuation groups: the distance overflows 64 bits.
        ("overflowing", [&[0xffu8; 10][..], &[0x7f]].concat()),
        // Zero: an entry cannot be its own base.
        ("zero", distance(0)),
    ];
    for (what, dist) in cases {
        let id = blob_id(what.as_bytes());
        let (pack, entries, checksum) =
            raw(&[(blob_id(whole), first.clone()), (id, ofs_entry(&dist))]);
        let dir = tempfile::tempdir().unwrap();
        let w = save(dir.path(), &pack, entries, checksum);
        let bundle = Bundle::open(&w.idx).unwrap();
        let e = bundle.read(&id).unwrap_err();
        names_file(&e, &[&w.pack]);
        if what != "into the header" {
            assert!(
                matches!(
                    e,
                    bundle::Error::Pack(data::file::Error::Header {
                        source: entry::Error::BadDistance { .. },
                        offset,
                        ..
                    }) if offset == second_at
                ),
                "{what}: {e:?}"
            );
        }
        let offset = bundle.find(&id).unwrap().unwrap();
        names_file(&bundle.depth_at(offset).unwrap_err(), &[&w.pack]);
        let problems = bundle.verify(&mut |_| {});
        assert_eq!(problems.len(), 1, "{what}: {problems:?}");
        problems_name_files(&problems, &[&w.pack]);
    }
}

#[test]
fn ref_delta_to_a_base_outside_the_pack_is_refused() {
    // A thin pack: the base is named by id but not included.
    let (entry, missing) = thin();
    let id = entry.id;
    let mut w = data::Writer::new(Vec::new(), 1).unwrap();
    w.write(&entry).unwrap();
    let out = w.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let written = save(dir.path(), &out.out, out.entries, out.checksum);
    let bundle = Bundle::open(&written.idx).unwrap();
    let e = bundle.read(&id).unwrap_err();
    assert!(
        matches!(e, bundle::Error::BaseMissing { base, .. } if base == missing),
        "{e:?}"
    );
    names_file(&e, &[&written.pack]);
    names_file(
        &bundle.depth_at(data::HEADER_LEN as u64).unwrap_err(),
        &[&written.pack],
    );
    problems_name_files(&bundle.verify(&mut |_| {}), &[&written.pack]);
}

#[test]
fn idx_pointing_an_id_at_another_entry_is_caught_by_verify() {
    // A well-formed idx (valid checksum) that lies: the first object's
    // offset is the second's. Reads trust the idx, as git's do; verify
    // rehashes every object and must catch the lie.
    let dir = tempfile::tempdir().unwrap();
    let (w, entries) = idx_lying_about_the_first_entry(dir.path());
    let bundle = Bundle::open(&w.idx).unwrap();
    let problems = bundle.verify(&mut |_| {});
    assert!(
        problems
            .iter()
            .any(|p| p.id == Some(entries[0].id) && p.message.contains("hashes to")),
        "{problems:?}"
    );
    problems_name_files(&problems, &[&w.pack]);
}

/// An honest chain one longer than [`MAX_CHAIN`] is refused at its end,
/// naming the pack; the entry at depth `MAX_CHAIN` still reads.
#[test]
fn chain_deeper_than_the_limit_is_refused() {
    let n = MAX_CHAIN + 2; // depths 0..=MAX_CHAIN+1
    let mut objects: Vec<Vec<u8>> = Vec::with_capacity(n);
    let mut w = data::Writer::new(Vec::new(), n as u32).unwrap();
    let mut prev: Option<trees_pack::ObjectId> = None;
    for i in 0..n {
        let content = format!("object {i}\n").into_bytes();
        let id = blob_id(&content);
        match prev {
            None => w.write(&Entry::whole(id, Kind::Blob, &content, 1)).unwrap(),
            Some(base) => {
                let base_len = objects[i - 1].len() as u64;
                let mut enc = delta::Encoder::new(base_len, content.len() as u64);
                enc.insert(&content);
                w.write(&Entry::delta(
                    id,
                    Base::Ofs(base),
                    &enc.finish().unwrap(),
                    1,
                ))
                .unwrap()
            }
        };
        objects.push(content);
        prev = Some(id);
    }
    let out = w.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let written = save(dir.path(), &out.out, out.entries, out.checksum);
    // Fresh bundles: a cached base would shorten the walk.
    let deep = blob_id(&objects[MAX_CHAIN + 1]);
    let e = Bundle::open(&written.idx).unwrap().read(&deep).unwrap_err();
    assert!(matches!(e, bundle::Error::ChainTooDeep { .. }), "{e:?}");
    names_file(&e, &[&written.pack]);
    let ok = blob_id(&objects[MAX_CHAIN]);
    let bundle = Bundle::open(&written.idx).unwrap();
    assert_eq!(*bundle.read(&ok).unwrap().unwrap().data, objects[MAX_CHAIN]);
}
