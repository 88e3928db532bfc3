//! Writes seed inputs for every fuzz target into `DIR/<target>/`: small
//! valid inputs the fuzzers start from (and that the replay test runs).
//!
//! usage: cargo run -p trees-harness --example seeds -- DIR

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

use trees_pack::data::write::{Base, Entry};
use trees_pack::id::{Kind, hash_object};
use trees_pack::{data, delta, index};

fn put(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let d = dir.join(target);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join(name), bytes).unwrap();
}

/// An xz stream (preset 6, CRC64), a zstd frame (level 3) and an ar
/// archive holding both, of `t`.
fn container_seeds(t: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let xz = {
        let settings = trees_split::xz::Settings {
            check: 4,
            preset: 6,
            extreme: false,
            dict: 8 << 20,
            block_size: 0,
        };
        let mut s = settings.encoder(1).unwrap();
        let mut out = Vec::new();
        trees_split::xz::encode(&mut s, &mut &t[..], &mut out).unwrap();
        out
    };
    let zst = {
        let settings = trees_split::zstd::Settings {
            level: 3,
            checksum: true,
            pledged: true,
            long: false,
            workers: 0,
        };
        let mut out = Vec::new();
        settings
            .encode(t.len() as u64, &mut &t[..], &mut out)
            .unwrap();
        out
    };
    let mut ar = b"!<arch>\n".to_vec();
    for (name, data) in [
        ("debian-binary", &b"2.0\n"[..]),
        ("control.tar.zst", &zst),
        ("data.tar.xz", &xz),
    ] {
        ar.extend(
            format!(
                "{name:<16}{:<12}0     0     100644  {:<10}`\n",
                0,
                data.len()
            )
            .bytes(),
        );
        ar.extend_from_slice(data);
        if data.len() % 2 == 1 {
            ar.push(b'\n');
        }
    }
    vec![
        ("xz", xz),
        ("zst", zst),
        ("deb", ar),
        ("zip", stored_zip(t)),
    ]
}

/// A zip of one stored member `t` and its directory, whose framing a
/// recipe keeps derived (tag 6 pieces).
fn stored_zip(t: &[u8]) -> Vec<u8> {
    let len = (t.len() as u32).to_le_bytes();
    let fields = [
        &[0x21, 0x43, 0x65, 0x57, 0xef, 0xbe, 0xad, 0xde][..],
        &len,
        &len,
    ]
    .concat();
    let mut x = [
        &b"PK\x03\x04\x0a\0\0\0\0\0"[..],
        &fields,
        &[5, 0, 0, 0],
        b"a.txt",
        t,
    ]
    .concat();
    let dir_at = (x.len() as u32).to_le_bytes();
    x.extend([&b"PK\x01\x02\x1e\x03\x0a\0\0\0\0\0"[..], &fields].concat());
    x.extend_from_slice(&[5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xa4, 0x81, 0, 0, 0, 0]);
    x.extend_from_slice(b"a.txt");
    x.extend_from_slice(b"PK\x05\x06\0\0\0\0\x01\0\x01\0\x33\0\0\0");
    x.extend_from_slice(&dir_at);
    x.extend_from_slice(&[0, 0]);
    x
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: seeds DIR");
    let dir = Path::new(&dir);

    // delta_apply: cut byte, base, delta.
    let base = b"the quick brown fox jumps over the lazy dog\n".repeat(4);
    let mut target = base.clone();
    target.splice(50..60, b"NEW BYTES!".iter().copied());
    let d = trees_delta::diff(&base, &target).unwrap();
    let cut = (base.len() * 255 / (base.len() + d.len())) as u8;
    let mut seed = vec![cut];
    seed.extend_from_slice(&base);
    seed.extend_from_slice(&d);
    put(dir, "delta_apply", "copy-insert", &seed);

    // pack and idx: a whole object, an OFS_DELTA and a REF_DELTA on it.
    let (bid, tid) = (
        hash_object(Kind::Blob, &base).unwrap(),
        hash_object(Kind::Blob, &target).unwrap(),
    );
    let mut w = data::Writer::new(Vec::new(), 2).unwrap();
    w.write(&Entry::whole(bid, Kind::Blob, &base, 6)).unwrap();
    w.write(&Entry::delta(tid, Base::Ofs(bid), &d, 6)).unwrap();
    let mut out = w.finish().unwrap();
    put(dir, "pack", "whole-and-ofs", &out.out);
    let mut idx = Vec::new();
    index::write(&mut out.entries, &out.checksum, &mut idx).unwrap();
    put(dir, "idx", "two-objects", &idx);
    let file = index::File::from_bytes(Path::new("seed.idx"), idx.clone()).unwrap();
    let name = format!("pack-{}.idx", out.checksum);
    let mut midx = Vec::new();
    trees_pack::multi_index::write(
        &[trees_pack::multi_index::Pack {
            name: &name,
            index: &file,
        }],
        &mut midx,
    )
    .unwrap();
    put(dir, "multi_index", "one-pack", &midx);
    // The harness names entry i [i; 20]: a REF_DELTA on entry 0.
    let mut w = data::Writer::new(Vec::new(), 2).unwrap();
    w.write(&Entry::whole(bid, Kind::Blob, &base, 6)).unwrap();
    w.write(&Entry::delta(tid, Base::Ref([0u8; 20].into()), &d, 6))
        .unwrap();
    put(dir, "pack", "whole-and-ref", &w.finish().unwrap().out);
    let mut empty = delta::Encoder::new(0, 0).finish().unwrap();
    empty.insert(0, 0);
    put(dir, "delta_apply", "empty", &empty);

    // JSON files.
    let id = bid.to_string();
    put(
        dir,
        "treeptr",
        "plain",
        format!(
            r#"{{"blob": "{id}", "size": {}, "format": "tar"}}"#,
            base.len()
        )
        .as_bytes(),
    );
    put(
        dir,
        "silo_json",
        "path-and-url",
        br#"{"silos": [{"path": "../deps.silo"}, {"url": "https://example.invalid/silo/"}]}"#,
    );
    put(
        dir,
        "silo_listing",
        "pack-loose-derived",
        format!(
            r#"{{"version": 1, "packs": [{{"name": "pack-{id}", "pack": 1000, "idx": 1100}}],
  "loose": [{{"id": "{tid}", "size": 30}}],
  "derived": [{{"name": "{id}..{tid}.patch.zst", "size": 12}}, {{"name": "{id}..{tid}.json", "size": 200}}]}}"#
        )
        .as_bytes(),
    );
    // silo_fp: the sketch file of a pack of the two blobs above.
    let params = trees_delta::chunk::Params::default();
    let big = trees_testdata::random_bytes(5, 200_000);
    let fps = [
        (bid, trees_delta::fingerprint(&big, &params)),
        (tid, trees_delta::fingerprint(&target, &params)),
    ];
    let pairs: Vec<_> = fps.iter().map(|(i, f)| (*i, f)).collect();
    put(
        dir,
        "silo_fp",
        "two-objects",
        &trees_silo::repack::fingerprints::encode(
            &params,
            &pairs,
            &trees_silo::families::Shape {
                count: trees_silo::families::Count {
                    families: 1,
                    lone: 0,
                },
                depth: [(bid, 0), (tid, 1)].into_iter().collect(),
            },
        ),
    );
    put(
        dir,
        "hints_json",
        "pair-and-related",
        format!(r#"{{"hints": [{{"have": "{id}", "want": "{tid}"}}, {{"related": ["{id}", "x.treeptr"]}}]}}"#)
            .as_bytes(),
    );

    // tar_unpack: a small tree.
    let mut tree = BTreeMap::new();
    tree.insert("README".to_string(), b"hello\n".to_vec());
    tree.insert(
        "src/main.c".to_string(),
        b"int main(void) { return 0; }\n".to_vec(),
    );
    put(
        dir,
        "tar_unpack",
        "small-tree",
        &trees_testdata::tar_of("demo-1.0", &tree),
    );

    // patch: one per format, against the harness's fixed base.
    let have: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut want = have.clone();
    want.splice(100..100, b"inserted".iter().copied());
    use trees_delta::patch::{lzma, vcdiff, xz, zstd};
    let hd = trees_delta::diff(&have, &want).unwrap();
    for (b, name, p) in [
        (0u8, "lzma", lzma::encode(&have, &want).unwrap()),
        (1, "zstd", zstd::encode(&have, &want, 3).unwrap()),
        (2, "xz", xz::encode(&hd).unwrap()),
        (3, "vcdiff", vcdiff::encode(&have, &want).unwrap()),
    ] {
        let mut seed = vec![b];
        seed.extend_from_slice(&p);
        put(dir, "patch", name, &seed);
    }

    // split_*: the content of trees_harness::split_content, gzipped by
    // GNU gzip -6 and split: its recipe, its table, its chunk's corrections.
    let t = trees_harness::split_content();
    let mut gz = std::process::Command::new("gzip")
        .args(["-6", "-n", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the split seeds need gzip");
    {
        use std::io::Write;
        gz.stdin.take().unwrap().write_all(t).unwrap();
    }
    let x = gz.wait_with_output().unwrap().stdout;
    let mut content = Vec::new();
    let recipe =
        trees_split::analyse::split(&mut &x[..], &mut content, Default::default()).unwrap();
    assert_eq!(content, t);
    put(dir, "split_recipe", "gzip-6", &recipe.encode());
    // split_container and split_pieces: an xz, a zstd file and an ar
    // archive of the same content, made here by liblzma and libzstd.
    for (name, x) in container_seeds(t) {
        let mut contents = trees_split::container::InMemory::default();
        let r = trees_split::container::split(&x, &mut contents, 256 << 20).unwrap();
        put(dir, "split_container", name, &x);
        put(dir, "split_pieces", name, &r.encode());
    }
    // split_rebuild feeds preflate-rs (format 1) corrections to the worker.
    let mut content = Vec::new();
    let format1 = trees_split::analyse::split_as(
        &mut &x[..],
        &mut content,
        Default::default(),
        trees_split::recipe::FORMAT_PREFLATE_0_7_6,
    )
    .unwrap();
    let chunk = &format1.members[0].chunks[0];
    // deflate_stream and deflate_recipe: the member's raw deflate stream
    // and its trees-deflate recipe (format 5's first chunk).
    put(dir, "deflate_stream", "gzip-6", &x[10..x.len() - 8]);
    put(
        dir,
        "deflate_recipe",
        "gzip-6",
        &recipe.members[0].chunks[0].corrections,
    );
    // The same corrections read under every other model and parser
    // (zlib-ng's quick, fast and medium, libdeflate's fastest, greedy,
    // lazy and lazy2, miniz's fast and normal, Go's greedy and lazy), for the
    // fuzzer to start each from.
    for (model, level) in [
        (2u8, 1u8),
        (2, 2),
        (2, 6),
        (5, 1),
        (5, 3),
        (5, 6),
        (5, 9),
        (6, 1),
        (6, 4),
        (6, 10),
        (7, 2),
        (7, 6),
        (7, 9),
    ] {
        let mut r = recipe.members[0].chunks[0].corrections.clone();
        if r.len() >= 2 {
            (r[0], r[1]) = (model, level);
        }
        put(dir, "deflate_recipe", &format!("model{model}-{level}"), &r);
    }
    let mut seed = (chunk.deflate_len as u32).to_le_bytes().to_vec();
    seed.extend_from_slice(&chunk.corrections);
    put(dir, "split_rebuild", "gzip-6", &seed);
    let id = |n: u8| trees_pack::ObjectId::from([n; 20]);
    let recs = [
        trees_split::table::Record {
            x: id(1),
            contents: vec![id(2)],
            recipe: id(3),
            size: x.len() as u64,
            format: 1,
        },
        trees_split::table::Record {
            x: id(9),
            contents: vec![id(2)],
            recipe: id(4),
            size: 77,
            format: 1,
        },
    ];
    put(
        dir,
        "split_table",
        "two-records",
        &trees_split::table::Table::encode(&id(0xee), &recs, &[][..]),
    );
    // Version 3: parts by their place in the fuzz harness's idx of the
    // 256 ids [n; 20].
    let ids: Vec<trees_pack::ObjectId> = (0..=255u8).map(id).collect();
    let zip = trees_split::table::Record {
        x: id(7),
        contents: vec![id(2), id(4), id(5), id(4)],
        recipe: id(3),
        size: 900,
        format: 6,
    };
    put(
        dir,
        "split_table",
        "places",
        &trees_split::table::Table::encode(&id(0xee), &[zip], &ids[..]),
    );
}
