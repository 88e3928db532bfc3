use proptest::prelude::*;
use trees_delta::diff;
use trees_pack::delta::apply;

fn round_trip(base: &[u8], target: &[u8]) -> usize {
    let d = diff(base, target).expect("diff");
    let mut out = Vec::new();
    apply(base, &d, &mut out).expect("apply");
    assert!(
        out == target,
        "round trip differs for base {} / target {} bytes",
        base.len(),
        target.len()
    );
    d.len()
}

#[test]
fn edge_cases_round_trip() {
    let r = trees_testdata::random_bytes(1, 5000);
    let cases: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (vec![], vec![]),
        (vec![], b"x".to_vec()),
        (b"x".to_vec(), vec![]),
        (b"x".to_vec(), b"x".to_vec()),
        (vec![0; 100_000], vec![0; 100_001]),
        (r.clone(), r.clone()),
        (r.clone(), r[1..].to_vec()),
        (r[..16].to_vec(), r[..16].to_vec()),
        (r[..15].to_vec(), r[..15].to_vec()),
    ];
    for (b, t) in &cases {
        round_trip(b, t);
    }
}

#[test]
fn identical_large_blob_is_a_few_copies() {
    // 20 MiB: more than one copy instruction's 0xffffff bytes.
    let big = trees_testdata::random_bytes(2, 20 << 20);
    let n = round_trip(&big, &big);
    assert!(n < 64, "a 20 MiB identical target took {n} bytes of delta");
}

#[test]
fn small_edits_give_small_deltas() {
    let releases = trees_testdata::series("t", &trees_testdata::Options::small(5));
    for w in releases.windows(2) {
        let n = round_trip(&w[0].tar, &w[1].tar);
        assert!(
            n * 10 < w[1].tar.len(),
            "delta {n} bytes for a {} byte target",
            w[1].tar.len()
        );
    }
}

#[test]
fn diff_is_abandoned_past_max_size() {
    let a = trees_testdata::random_bytes(3, 10_000);
    let b = trees_testdata::random_bytes(4, 10_000);
    assert!(trees_delta::Index::new(&a).diff(&b, 500).unwrap().is_none());
}

fn edited(base: Vec<u8>, edits: Vec<(usize, usize, Vec<u8>)>) -> Vec<u8> {
    let mut t = base;
    for (at, del, ins) in edits {
        let at = at % (t.len() + 1);
        let end = (at + del).min(t.len());
        t.splice(at..end, ins);
    }
    t
}

proptest! {
    #[test]
    fn apply_of_diff_is_the_target(
        base in proptest::collection::vec(any::<u8>(), 0..4096),
        edits in proptest::collection::vec(
            (any::<usize>(), 0usize..64, proptest::collection::vec(any::<u8>(), 0..64)), 0..8),
    ) {
        let target = edited(base.clone(), edits);
        round_trip(&base, &target);
    }

    #[test]
    fn apply_of_diff_is_the_target_on_repetitive_data(
        base in proptest::collection::vec(0u8..3, 0..4096),
        target in proptest::collection::vec(0u8..3, 0..4096),
    ) {
        round_trip(&base, &target);
    }
}
