//! Packs we write, checked by git: `git index-pack` must write the same idx
//! byte for byte, `git verify-pack -v` must see the delta chains we planned,
//! and in a repository `git cat-file --batch` must return every object and
//! `git fsck --full` must find nothing wrong. Our own [`Bundle`] must agree.

use std::collections::BTreeMap;
use std::path::Path;

use trees_pack::{Bundle, Kind, ObjectId, delta};
use trees_testdata::{Options, random_bytes, series};

use crate::git;
use crate::packs::{Link, Plan, Written, name};

/// Runs every check of this module on a written plan.
pub fn check_with_git(plan: &Plan, w: &Written) {
    let dir = w.pack.parent().unwrap();
    let repo = git::init_bare(dir, "oracle.git");
    same_idx_as_index_pack(&repo, w);
    verify_pack_sees_our_chains(&repo, plan, w);
    cat_file_and_fsck(&repo, plan, w);
    bundle_reads_everything(plan, w);
}

/// (a) `git index-pack` of our pack writes our idx, byte for byte.
fn same_idx_as_index_pack(repo: &Path, w: &Written) {
    let out = w.pack.parent().unwrap().join("index-pack.idx");
    let (theirs, printed) = git::index_pack(repo, &w.pack, &out);
    assert_eq!(
        printed,
        w.checksum.to_string(),
        "index-pack names the pack by our checksum"
    );
    let ours = std::fs::read(&w.idx).unwrap();
    assert_eq!(ours.len(), theirs.len(), "idx lengths differ");
    if let Some(at) = ours.iter().zip(&theirs).position(|(a, b)| a != b) {
        panic!(
            "our idx differs from git index-pack's at byte {at} of {}",
            ours.len()
        );
    }
}

/// (b) `git verify-pack -v` passes and lists each object with the depth
/// and base we planned, and the chain-length histogram that follows.
fn verify_pack_sees_our_chains(repo: &Path, plan: &Plan, w: &Written) {
    let v = git::verify_pack(repo, &w.idx);
    assert_eq!(
        v.objects.len(),
        plan.objects.len(),
        "verify-pack lists every object once"
    );
    let mut expected_chains = BTreeMap::new();
    for o in &plan.objects {
        let want = (o.depth, o.base.map(|b| b.to_string()));
        assert_eq!(
            v.objects[&o.id.to_string()],
            want,
            "depth and base of {} per git",
            o.id
        );
        if o.depth > 0 {
            *expected_chains.entry(o.depth).or_insert(0) += 1;
        }
    }
    assert_eq!(v.chains, expected_chains, "chain lengths per git");
    let wholes = plan.objects.iter().filter(|o| o.depth == 0).count();
    assert_eq!(v.non_delta, wholes, "non-delta count per git");
}

/// (c) In a repository, git returns every object as we planned it, and fsck passes.
fn cat_file_and_fsck(repo: &Path, plan: &Plan, w: &Written) {
    let packs = repo.join("objects/pack");
    std::fs::copy(&w.pack, packs.join(name(&w.pack))).unwrap();
    std::fs::copy(&w.idx, packs.join(name(&w.idx))).unwrap();
    let ids: Vec<String> = plan.objects.iter().map(|o| o.id.to_string()).collect();
    let objects = git::cat_file_batch(repo, &ids);
    for (o, (_, kind, content)) in plan.objects.iter().zip(objects) {
        assert_eq!(kind, "blob");
        assert!(
            content == o.data,
            "git cat-file returns other content for {}",
            o.id
        );
    }
    git::fsck(repo);
}

/// Our own reader returns every object, sees the planned depths and
/// finds nothing to complain about.
fn bundle_reads_everything(plan: &Plan, w: &Written) {
    let bundle = Bundle::open(&w.idx).unwrap();
    assert_eq!(bundle.index.count() as usize, plan.objects.len());
    for o in &plan.objects {
        let obj = bundle
            .read(&o.id)
            .unwrap()
            .expect("every planned object is in the pack");
        assert_eq!(obj.kind, Kind::Blob);
        assert!(
            *obj.data == o.data,
            "our reader returns other content for {}",
            o.id
        );
        let offset = bundle.find(&o.id).unwrap().unwrap();
        assert_eq!(
            bundle.depth_at(offset).unwrap(),
            o.depth,
            "our depth of {}",
            o.id
        );
    }
    let problems = bundle.verify(&mut |_| {});
    assert!(problems.is_empty(), "our verify complains: {problems:?}");
}

#[test]
fn whole_ofs_and_ref_deltas_of_related_releases_match_git() {
    let a = series("written", &Options::small(11));
    let b = series("other", &Options::small(12));
    let mut plan = Plan::default();
    // One chain mixing both kinds: whole <- OFS <- REF <- OFS (depths 0 to 3).
    let a0 = plan.whole(a[0].tar.clone());
    let a1 = plan.diff(a0, Link::Ofs, a[1].tar.clone());
    let a2 = plan.diff(a1, Link::Ref, a[2].tar.clone());
    plan.diff(a2, Link::Ofs, a[3].tar.clone());
    // The newest release as the base, as git prefers, and a REF_DELTA
    // written *before* its base, which only REF_DELTA allows.
    let b3 = plan.whole(b[3].tar.clone());
    plan.diff(b3, Link::Ref, b[2].tar.clone());
    let n = plan.entries.len();
    plan.entries.swap(n - 2, n - 1);
    let b1 = plan.diff(b3, Link::Ofs, b[1].tar.clone());
    plan.diff(b1, Link::Ref, b[0].tar.clone());
    // Edges: the empty blob, and a delta against it (base size 0).
    let empty = plan.whole(Vec::new());
    let mut enc = delta::Encoder::new(0, 6);
    enc.insert(b"hello\n");
    plan.delta(
        empty,
        Link::Ofs,
        &enc.finish().unwrap(),
        b"hello\n".to_vec(),
    );

    let dir = trees_oracle::tempdir().unwrap();
    let w = plan.write(dir.path());
    check_with_git(&plan, &w);
}

#[test]
fn twenty_mib_blobs_whole_and_as_a_delta_match_git() {
    const LEN: usize = 20 << 20;
    let mut plan = Plan::default();
    let base = random_bytes(20, LEN);
    plan.whole(random_bytes(21, LEN));
    let base_id = plan.whole(base.clone());
    // The target: the base with 100 bytes replaced by 300 new ones after
    // 17 MB (so the first copy passes the 24-bit size limit and is split),
    // 4 KiB inserted later, and 10 bytes dropped near the end.
    let (ins1, ins2) = (random_bytes(22, 300), random_bytes(23, 4096));
    let mut target = base[..17_000_000].to_vec();
    target.extend_from_slice(&ins1);
    target.extend_from_slice(&base[17_000_100..19_000_000]);
    target.extend_from_slice(&ins2);
    target.extend_from_slice(&base[19_000_010..]);
    let mut enc = delta::Encoder::new(LEN as u64, target.len() as u64);
    enc.copy(0, 17_000_000).unwrap();
    enc.insert(&ins1);
    enc.copy(17_000_100, 2_000_000 - 100).unwrap();
    enc.insert(&ins2);
    enc.copy(19_000_010, LEN as u64 - 19_000_010).unwrap();
    let d = enc.finish().unwrap();
    assert!(
        d.len() < 5_000,
        "a delta of small edits is small ({} bytes)",
        d.len()
    );
    plan.delta(base_id, Link::Ofs, &d, target);

    let dir = trees_oracle::tempdir().unwrap();
    let w = plan.write(dir.path());
    check_with_git(&plan, &w);
}

#[test]
fn ten_thousand_small_blobs_match_git() {
    let mut plan = Plan::default();
    let mut prev: Option<(ObjectId, Vec<u8>)> = None;
    for i in 0..10_000u64 {
        // Every fourth blob is its predecessor plus a line: a small delta.
        if let (Some((base, base_data)), 1) = (&prev, i % 4) {
            let mut data = [base_data, &b"one more line\n"[..]].concat();
            data.extend_from_slice(&i.to_le_bytes());
            let mut enc = delta::Encoder::new(base_data.len() as u64, data.len() as u64);
            enc.copy(0, base_data.len() as u64).unwrap();
            enc.insert(&data[base_data.len()..]);
            let link = if i % 8 == 1 { Link::Ofs } else { Link::Ref };
            plan.delta(*base, link, &enc.finish().unwrap(), data);
            prev = None;
        } else {
            let mut data = format!("blob {i}\n").into_bytes();
            data.extend_from_slice(&random_bytes(i, (i % 200) as usize));
            prev = Some((plan.whole(data.clone()), data));
        }
    }
    let dir = trees_oracle::tempdir().unwrap();
    let w = plan.write(dir.path());
    assert_eq!(w.entries.len(), 10_000);
    check_with_git(&plan, &w);
}
