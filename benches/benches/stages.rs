//! Throughput of each stage on generated releases
//! (`trees_testdata::Options::medium`, about 3.5 MB a tar): chunking
//! (fingerprint), relating 20 releases by their chunks (fingerprint
//! index), base selection (spanning forest), delta search (block matcher,
//! and seeded by shared chunks), delta apply, entry compression, pack
//! write, idx lookup, and reading an object from the end of a chain of 20
//! deltas.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use trees_pack::data::write::{Base, Entry};
use trees_pack::id::{Kind, hash_object};
use trees_pack::{Bundle, data, index};

/// Releases in the chain of the read benchmark: deep enough that the
/// base cache matters.
const CHAIN: usize = 20;

fn stages(c: &mut Criterion) {
    let releases = trees_testdata::series("bench", &trees_testdata::Options::medium(1, CHAIN));
    let (base, target) = (&releases[0].tar, &releases[1].tar);
    let delta = trees_delta::diff(base, target).expect("diff");

    let mut g = c.benchmark_group("stages");
    g.sample_size(10);
    let params = trees_delta::chunk::Params::default();
    g.throughput(Throughput::Bytes(target.len() as u64));
    g.bench_function("fingerprint (tar-aware FastCDC + xxh3)", |b| {
        b.iter(|| trees_delta::fingerprint(black_box(target), &params))
    });
    let fps: Vec<_> = releases
        .iter()
        .map(|r| trees_delta::fingerprint(&r.tar, &params))
        .collect();
    let all: u64 = releases.iter().map(|r| r.tar.len() as u64).sum();
    g.throughput(Throughput::Bytes(all));
    g.bench_function("relate 20 releases (chunk index)", |b| {
        b.iter(|| trees_delta::relate::relate(black_box(&fps), &Default::default()))
    });
    let cands = trees_delta::relate::relate(&fps, &Default::default());
    let sizes: Vec<u64> = fps.iter().map(|f| f.size).collect();
    g.bench_function("base selection (spanning forest of 20)", |b| {
        b.iter(|| trees_delta::forest::choose(black_box(&cands), &sizes, Default::default(), 50))
    });
    g.throughput(Throughput::Bytes(target.len() as u64));
    let seeds = trees_delta::seeds(&fps[0], &fps[1]);
    g.bench_function("delta search (seeded by chunks)", |b| {
        b.iter(|| {
            trees_delta::Index::new(black_box(base)).diff_seeded(
                black_box(target),
                &seeds,
                usize::MAX,
            )
        })
    });
    g.bench_function("delta search (block matcher)", |b| {
        b.iter(|| trees_delta::diff(black_box(base), black_box(target)))
    });
    g.bench_function("delta apply", |b| {
        let mut out = Vec::new();
        b.iter(|| trees_pack::delta::apply(black_box(base), black_box(&delta), &mut out))
    });
    g.bench_function("entry compression (libdeflate 6)", |b| {
        b.iter(|| data::write::compress(black_box(target), 6))
    });

    // A pack of the whole series as one chain, newest last.
    let ids: Vec<_> = releases
        .iter()
        .map(|r| hash_object(Kind::Blob, &r.tar).expect("hash"))
        .collect();
    let mut entries = vec![Entry::whole(ids[0], Kind::Blob, &releases[0].tar, 6)];
    for i in 1..releases.len() {
        let d = trees_delta::diff(&releases[i - 1].tar, &releases[i].tar).expect("diff");
        entries.push(Entry::delta(ids[i], Base::Ofs(ids[i - 1]), &d, 6));
    }
    let raw: u64 = releases.iter().map(|r| r.tar.len() as u64).sum();
    g.throughput(Throughput::Bytes(raw));
    g.bench_function("pack write (pre-compressed entries)", |b| {
        b.iter(|| {
            let mut w = data::Writer::new(Vec::new(), entries.len() as u32).expect("header");
            for e in &entries {
                w.write(e).expect("entry");
            }
            w.finish().expect("trailer")
        })
    });

    let dir = tempfile_dir();
    let mut w = data::Writer::new(Vec::new(), entries.len() as u32).expect("header");
    for e in &entries {
        w.write(e).expect("entry");
    }
    let mut out = w.finish().expect("trailer");
    std::fs::write(dir.join("b.pack"), &out.out).expect("write pack");
    let idx = std::fs::File::create(dir.join("b.idx")).expect("create idx");
    index::write(&mut out.entries, &out.checksum, idx).expect("write idx");
    let lookup = Bundle::open(&dir.join("b.idx")).expect("open");
    g.throughput(Throughput::Elements(ids.len() as u64));
    g.bench_function("idx lookup (every id of the pack)", |b| {
        b.iter(|| {
            ids.iter()
                .filter(|id| lookup.index.lookup(black_box(id)).is_some())
                .count()
        })
    });
    g.throughput(Throughput::Bytes(releases[CHAIN - 1].tar.len() as u64));
    g.bench_function("read the end of a 20-delta chain (cold cache)", |b| {
        b.iter(|| {
            let bundle = Bundle::open(&dir.join("b.idx")).expect("open");
            bundle.read(&ids[CHAIN - 1]).expect("read")
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("trees-bench-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

criterion_group!(benches, stages);
criterion_main!(benches);
