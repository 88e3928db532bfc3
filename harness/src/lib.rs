//! Hostile-input harnesses: one function per reader of untrusted bytes,
//! called by the cargo-fuzz targets in `fuzz/` and by the replay test that
//! runs every input kept under `testdata/fuzz/<target>/`.
//!
//! A harness feeds its bytes to a reader and checks what a reader promises:
//! it never panics, never allocates past its bound, and whatever it accepts
//! is consistent (a delta's result has the announced size, an unpacked tar
//! writes nothing outside its destination). A broken promise panics, which
//! is what the fuzzer reports.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use trees_pack::{Bundle, ObjectId, data, delta, index};

/// A harness: takes any bytes, panics only on a broken promise.
pub type Harness = fn(&[u8]);

/// Every target, by name: the directory names under `testdata/fuzz/` and
/// the binaries of `fuzz/`.
pub const TARGETS: [(&str, Harness); 19] = [
    ("delta_apply", delta_apply),
    ("pack", pack),
    ("idx", idx),
    ("multi_index", multi_index),
    ("treeptr", treeptr),
    ("silo_json", silo_json),
    ("hints_json", hints_json),
    ("tar_unpack", tar_unpack),
    ("patch", patch),
    ("silo_listing", silo_listing),
    ("silo_fp", silo_fp),
    ("split_table", split_table),
    ("split_recipe", split_recipe),
    ("split_rebuild", split_rebuild),
    ("split_container", split_container),
    ("split_pieces", split_pieces),
    ("split_zip", split_zip),
    ("deflate_stream", deflate_stream),
    ("deflate_recipe", deflate_recipe),
];

/// Results past this are refused by every harness: a bound, so that a
/// hostile size costs nothing.
const LIMIT: u64 = 1 << 24;

/// The first byte splits the rest into a base and a delta.
pub fn delta_apply(data: &[u8]) {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let cut = (usize::from(cut) * rest.len() / 255).min(rest.len());
    let (base, d) = rest.split_at(cut);
    let mut out = Vec::new();
    if delta::apply::apply_with_limit(base, d, &mut out, LIMIT).is_ok() {
        let (_, size, _) = delta::header(d).expect("an applied delta has a header");
        assert_eq!(
            out.len() as u64,
            size,
            "result differs from the announced size"
        );
    }
}

/// A pack: its entries are walked from the first, an idx is made of the
/// offsets found (entry `i` gets the id `[i; 20]`, so REF_DELTAs can name
/// them), and every object is read through the bundle, then verified.
pub fn pack(data: &[u8]) {
    let path = Path::new("fuzz.pack");
    let Ok(pack) = data::File::from_bytes(path, data.to_vec()) else {
        return;
    };
    let mut entries = Vec::new();
    let mut at = data::HEADER_LEN as u64;
    while entries.len() < 64 && entries.len() < pack.count() as usize {
        let Ok(h) = pack.header(at) else { break };
        if h.size > LIMIT {
            break;
        }
        let Ok((_, end)) = pack.inflate(at, &h) else {
            break;
        };
        entries.push(index::Entry {
            id: ObjectId::from([entries.len() as u8; 20]),
            offset: at,
            crc32: 0,
        });
        at = end;
    }
    let mut idx = Vec::new();
    let checksum = pack.checksum();
    index::write(&mut entries, &checksum, &mut idx).expect("an idx of distinct ids");
    let index = index::File::from_bytes(Path::new("fuzz.idx"), idx).expect("our own idx");
    let mut bundle = Bundle::from_parts(index, pack);
    bundle.set_cache_budget(1 << 20);
    for e in &entries {
        if let Ok(obj) = bundle.read_at(e.offset) {
            assert!(obj.data.len() as u64 <= 1 << 36);
        }
    }
    let _ = bundle.verify(&mut |_| {});
}

/// An idx: parsed, every entry and lookup tried, the checksum checked.
pub fn idx(data: &[u8]) {
    let Ok(f) = index::File::from_bytes(Path::new("fuzz.idx"), data.to_vec()) else {
        return;
    };
    for i in 0..f.count().min(1024) {
        let id = f.id(i);
        let _ = f.offset(i);
        let _ = f.crc32(i);
        let _ = f.lookup(&id);
        let _ = f.lookup_prefix(&id.as_slice()[..2], 4, 8);
    }
    let _ = f.verify();
}

/// A multi-pack-index: opening fails, or every entry and lookup stays in
/// bounds.
pub fn multi_index(data: &[u8]) {
    use trees_pack::multi_index::File;
    let Ok(f) = File::from_bytes(Path::new("fuzz-multi-pack-index"), data.to_vec()) else {
        return;
    };
    let mut probes = vec![[0u8; 20], [0xff; 20]];
    if let Some(head) = data.get(..20).and_then(|h| <[u8; 20]>::try_from(h).ok()) {
        probes.push(head);
    }
    for p in &probes {
        let _ = f.lookup(&trees_pack::ObjectId::from_bytes_or_panic(p));
    }
    for i in 0..f.count().min(4096) {
        if let Some(e) = f.entry(i) {
            assert!(
                (e.pack as usize) < f.pack_names().len(),
                "pack-int-id out of range"
            );
            let _ = f.lookup(&e.id);
        }
    }
    assert!(f.entry(f.count()).is_none());
    let _ = f.verify();
}

/// A `*.treeptr`.
pub fn treeptr(data: &[u8]) {
    let _ = trees_hints::treeptr::Treeptr::parse(Path::new("fuzz/x.treeptr"), data);
}

/// A `SILO.json`.
pub fn silo_json(data: &[u8]) {
    let _ = trees_hints::silos::Silos::parse(Path::new("fuzz/SILO.json"), data);
}

/// A pack's sketch file (`pack/*.fp`): whatever it accepts is a sketch
/// (sampled chunks, in order, inside the object) and survives a round trip.
pub fn silo_fp(data: &[u8]) {
    use trees_silo::repack::fingerprints;
    let params = trees_delta::chunk::Params::default();
    // Version 3 names objects by their place in the pack's idx: offer as
    // many ids as the header counts (bounded, as the decoder bounds it).
    let count = data
        .get(24..28)
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    let ids: Vec<ObjectId> = (0..count.min(data.len() / 3) as u32)
        .map(|i| {
            let mut b = [0u8; 20];
            b[..4].copy_from_slice(&i.to_be_bytes());
            ObjectId::try_from(&b[..]).expect("20 bytes")
        })
        .collect();
    let Ok(map) = fingerprints::decode(data, &params, &ids) else {
        return;
    };
    for fp in map.sketches.values() {
        let mut end = 0;
        for c in &fp.chunks {
            assert!(c.offset >= end && c.hash.0.is_multiple_of(fingerprints::SAMPLE));
            end = c.offset + u64::from(c.len);
            assert!(end <= fp.size);
        }
    }
    let pairs: Vec<(ObjectId, &trees_delta::Fingerprint)> =
        map.sketches.iter().map(|(k, v)| (*k, v)).collect();
    // Version 1 has no shape: written again, it gets the empty one.
    let mut shape = map.shape.clone().unwrap_or_default();
    for id in map.sketches.keys() {
        shape.depth.entry(*id).or_insert(0);
    }
    let mut ids: Vec<ObjectId> = map.sketches.keys().copied().collect();
    ids.sort_unstable();
    let again = fingerprints::decode(
        &fingerprints::encode(&params, &pairs, &shape),
        &params,
        &ids,
    )
    .unwrap();
    assert_eq!(again.sketches, map.sketches);
    assert_eq!(again.shape, Some(shape));
}

/// A remote silo's `info/files.json`: whatever it accepts names only
/// files of the shapes a silo holds, so a mirror cannot be sent elsewhere.
pub fn silo_listing(data: &[u8]) {
    let Ok(l) = trees_silo::listing::Listing::parse(data, "fuzz/info/files.json") else {
        return;
    };
    for p in &l.packs {
        assert!(p.checksum().is_some(), "pack name {:?} accepted", p.name);
        assert!(
            !p.name.contains('/') && !p.name.contains(".."),
            "{:?}",
            p.name
        );
    }
    for d in &l.derived {
        assert!(
            !d.name.contains('/') && !d.name.starts_with('.'),
            "derived name {:?} accepted",
            d.name
        );
    }
}

/// A `HINTS.json` (treeptr names resolve under a directory that does not exist).
pub fn hints_json(data: &[u8]) {
    let _ = trees_hints::hints::Hints::parse(Path::new("/nonexistent-fuzz/HINTS.json"), data);
}

/// A tar, unpacked into a fresh directory: accepted or refused, nothing may
/// appear outside the destination.
pub fn tar_unpack(data: &[u8]) {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let blob = tmp.path().join("blob.tar");
    std::fs::write(&blob, data).expect("write the blob");
    let dest = tmp.path().join("dest");
    let file = std::fs::File::open(&blob).expect("open the blob");
    let _ = trees_medo::unpack::unpack(file, trees_medo::Format::Tar, &dest);
    for e in std::fs::read_dir(tmp.path()).expect("list") {
        let name = e.expect("entry").file_name();
        assert!(
            name == "blob.tar" || name == "dest",
            "unpacking wrote {name:?} outside its destination"
        );
    }
}

/// A client patch: the first byte picks the format, the base is fixed.
pub fn patch(data: &[u8]) {
    use trees_delta::patch::{lzma, vcdiff, xz, zstd};
    let Some((&which, p)) = data.split_first() else {
        return;
    };
    let have: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
    let r = match which % 4 {
        0 => lzma::decode(&have, p, LIMIT),
        1 => zstd::decode(&have, p, LIMIT),
        2 => xz::decode(&have, p, LIMIT),
        _ => vcdiff::decode(&have, p, LIMIT),
    };
    if let Ok(out) = r {
        assert!(out.len() as u64 <= LIMIT, "a decoder passed its limit");
    }
}

/// A record table (`pack/*.split`): parsed; what it accepts re-encodes to
/// a table that parses to the same records, each found by its id.
pub fn split_table(data: &[u8]) {
    use trees_split::table::Table;
    // A version 3 table names parts by their place in an idx of 256 ids.
    let ids: Vec<ObjectId> = (0..=255u8)
        .map(|n| ObjectId::try_from(&[n; 20][..]).expect("20 bytes"))
        .collect();
    let Ok(t) = Table::parse(data, &ids[..]) else {
        return;
    };
    for r in t.records() {
        assert_eq!(t.find(&r.x), Some(r), "a record is found by its id");
    }
    let again =
        Table::parse(&Table::encode(t.pack(), t.records(), &ids[..]), &ids[..]).expect("ours");
    assert_eq!(again.records(), t.records());
}

/// A recipe (R): decoded; what it accepts re-encodes to a recipe that
/// decodes the same, and its declared lengths do not overflow.
pub fn split_recipe(data: &[u8]) {
    use trees_split::recipe::Recipe;
    let Ok(r) = Recipe::decode(data) else {
        return;
    };
    assert_eq!(Recipe::decode(&r.encode()).as_ref(), Ok(&r));
    let _ = r.content_len().checked_add(r.rebuilt_len());
}

/// An xz file, a zstd file or an `ar` archive (`.deb`), as repack meets
/// them: split into contents and a general recipe with decoders bounded
/// at 256 MiB; what splits re-encodes, decodes the same, and rebuilds in
/// this process without a panic (the settings are found from the start of
/// each stream, so a crafted stream may rebuild to other bytes: repack
/// compares ids before it relies on a split, and so does every reader).
pub fn split_container(data: &[u8]) {
    use trees_split::any::AnyRecipe;
    use trees_split::container::{self, InMemory};
    let mut contents = InMemory::default();
    let Ok(r) = container::split(data, &mut contents, 256 << 20) else {
        return;
    };
    let any = AnyRecipe::decode(&r.encode()).expect("our own recipe");
    assert_eq!(any, AnyRecipe::Pieces(r));
    let joined = contents.0.concat();
    let mut out = Vec::new();
    if any.rebuild(&mut &joined[..], &mut out, 1 << 30).is_ok() {
        assert_eq!(out.len(), any.rebuilt_len() as usize, "the declared length");
    }
}

/// A zip archive's framing: what [`trees_split::zip::parse`] accepts has
/// its end record and every member's local header where it says, each
/// member's data inside the file and before the central directory, the
/// members sorted and not overlapping (what a zip bomb's do).
pub fn split_zip(data: &[u8]) {
    use trees_split::zip::{END_MAGIC, LOCAL_LEN, LOCAL_MAGIC, parse};
    let Ok(a) = parse(data) else {
        return;
    };
    assert!(a.directory_start + a.directory_len <= a.end_start);
    assert!(
        a.end_start + a.end_len <= data.len(),
        "the end record is in the file"
    );
    assert_eq!(data[a.end_start..a.end_start + 4], END_MAGIC);
    let mut free = 0;
    for m in &a.members {
        assert!(
            m.header_start >= free,
            "member {} overlaps the one before",
            m.entry
        );
        assert_eq!(data[m.header_start..m.header_start + 4], LOCAL_MAGIC);
        assert!(m.data_start >= m.header_start + LOCAL_LEN);
        assert!(
            m.data_end() <= a.directory_start,
            "member {} runs into the directory",
            m.entry
        );
        free = m.data_end();
    }
    // Every member decoded as `silo cat ID:PATH` does: within the limit,
    // whatever sizes it declares.
    let Ok(entries) = trees_split::zip::listing::of_zip(data) else {
        panic!("a zip that parses lists");
    };
    for e in &entries {
        if let trees_split::zip::listing::Data::Range { start, len } = e.data {
            let mut out = Vec::new();
            if trees_split::zip::listing::decode(e, &data[start..start + len], 1 << 20, &mut out)
                .is_ok()
            {
                assert!(out.len() <= 1 << 20);
            }
        }
    }
}

/// A general recipe (formats 2-4, 6): decoded; what it accepts re-encodes to
/// a recipe that decodes the same, and its lengths add up without overflow.
pub fn split_pieces(data: &[u8]) {
    use trees_split::pieces::Recipe;
    let Ok(r) = Recipe::decode(data) else {
        return;
    };
    assert_eq!(Recipe::decode(&r.encode()).as_ref(), Ok(&r));
    let _ = r.content_len().checked_add(r.rebuilt_len());
    // A zip's members listed from its recipe alone (`silo ls`, `cat
    // ID:PATH`): bounded by the limit, each member's data one piece.
    if let Ok(entries) = trees_split::zip::listing::of_recipe(&r, 1 << 20) {
        let data_pieces = r
            .pieces
            .iter()
            .filter(|p| !matches!(p, trees_split::pieces::Piece::Literal(_)))
            .count();
        for e in &entries {
            if let trees_split::zip::listing::Data::Content { index, .. } = e.data {
                assert!(
                    index < data_pieces,
                    "member {:?} names piece {index}",
                    e.name
                );
            }
        }
    }
}

/// A hostile deflate stream: parsed a block at a time (at most 1 MiB of
/// plain text per block); what parses writes back to the same bytes, and
/// what analyses is re-made exactly from its plain text and recipe.
pub fn deflate_stream(data: &[u8]) {
    use trees_deflate::recreate::{analyse, parse, recreate};
    let Ok((blocks, plain, tail, len)) = parse(data, 1 << 20) else {
        return;
    };
    let mut w = trees_deflate::write::Writer::new();
    let mut at = 0usize;
    for b in &blocks {
        w.block(b, &plain[at..]).expect("a parsed block writes");
        at += b.plain_len() as usize;
    }
    assert_eq!(
        w.finish(tail),
        data[..len],
        "parse then write gives the same bits"
    );
    let a = analyse(data, 1 << 20).expect("a stream that parses analyses");
    let again = recreate(&a.recipe, &a.plain, len).expect("its recipe re-makes it");
    assert_eq!(again, data[..len], "re-made exactly");
}

/// A hostile trees-deflate recipe with a valid plain text
/// ([`split_content`]): an error, or a stream within the bound; never a
/// panic, never more memory than the bound allows. The re-creator runs in
/// process: unlike preflate-rs, it must be safe on any recipe.
pub fn deflate_recipe(data: &[u8]) {
    let t = split_content();
    if let Ok(out) = trees_deflate::recreate::recreate(data, t, 1 << 20) {
        assert!(out.len() <= 1 << 20, "the bound holds");
    }
}

/// The content the `split_rebuild` target re-makes: 48 KiB of words, the
/// same on every run.
pub fn split_content() -> &'static [u8] {
    static T: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        const WORDS: [&str; 8] = [
            "deflate", "member", "header", "trailer", "chunk", "record", "recipe", "silo",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut t = Vec::with_capacity(48 << 10);
        while t.len() < 48 << 10 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t.extend_from_slice(WORDS[(x % 8) as usize].as_bytes());
            t.push(if x.is_multiple_of(11) { b'\n' } else { b' ' });
        }
        t.truncate(48 << 10);
        t
    })
}

/// Hostile corrections with a valid content: the first 4 bytes are the
/// deflate length the chunk claims (little-endian), the rest its
/// corrections. The rebuild runs in the worker (capped at 512 MiB and 5 s
/// of CPU, as every reader of stored recipes does): whatever preflate-rs
/// does with them (panic, error, endless loop), the caller gets an error
/// or exactly the declared length, and never hangs.
///
/// The worker is the `silo` binary: `$TREES_REBUILD_WORKER`, or
/// `target/<profile>/silo` (build it first: `cargo build -p trees-cli`).
pub fn split_rebuild(data: &[u8]) {
    use trees_split::recipe::{Chunk, FORMAT_PREFLATE_0_7_6, Member, Recipe};
    use trees_split::worker::Worker;
    // preflate-rs's corrections (format 1): the reader that may loop, so
    // the one that needs the worker's caps.
    let Some((len, corrections)) = data.split_first_chunk::<4>() else {
        return;
    };
    let t = split_content();
    let recipe = Recipe {
        format: FORMAT_PREFLATE_0_7_6,
        members: vec![Member {
            header: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3],
            chunks: vec![Chunk {
                plain_len: t.len() as u64,
                deflate_len: u64::from(u32::from_le_bytes(*len)),
                corrections: corrections.to_vec(),
            }],
            trailer: [0; 8],
        }],
        tail: Vec::new(),
    };
    let bytes = recipe.encode();
    if Recipe::decode(&bytes).is_err() {
        return;
    }
    let worker = Worker::locate()
        .expect("split_rebuild needs the silo binary as its worker: cargo build -p trees-cli, or set TREES_REBUILD_WORKER")
        .with_memory(512 << 20)
        .with_cpu(5);
    let mut out = Vec::new();
    let got = worker.rebuild(
        &bytes,
        t.len() as u64,
        &mut |w: &mut dyn std::io::Write| w.write_all(t),
        &mut out,
    );
    if got.is_ok() {
        assert_eq!(
            out.len() as u64,
            recipe.rebuilt_len(),
            "a rebuild gives exactly the declared length"
        );
    }
}
