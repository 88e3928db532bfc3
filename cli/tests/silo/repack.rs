//! `silo repack`: a pack per family that git accepts, every object intact.

use std::path::Path;

use super::cli::{add, git, new_silo, silo_ok, testdata_files};

fn packs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "idx"))
        .collect();
    v.sort();
    v
}

/// `silo du --json`'s pack layout: packs, families, lone objects, and
/// whether the multi-pack-index is up to date.
fn layout(dir: &Path) -> (u64, u64, u64, bool) {
    let v: serde_json::Value = serde_json::from_slice(&silo_ok(&[&"du", &dir, &"--json"])).unwrap();
    (
        v["packs"].as_u64().unwrap(),
        v["families"].as_u64().unwrap(),
        v["lone_objects"].as_u64().unwrap(),
        v["multi_pack_index"].as_bool().unwrap(),
    )
}

#[test]
fn repack_makes_a_pack_per_family_that_git_accepts() {
    let (tmp, dir) = new_silo();
    let files = testdata_files();
    let ids = add(&dir, &files);
    let report: serde_json::Value =
        serde_json::from_slice(&silo_ok(&[&"repack", &dir, &"--json"])).unwrap();
    // Each split .tar.gz is stored as its content plus a recipe: one more object.
    let gz = files
        .iter()
        .filter(|f| f.to_string_lossy().ends_with(".gz"))
        .count() as u64;
    assert_eq!(report["split"]["split"].as_u64(), Some(gz), "{report}");
    assert_eq!(report["objects"].as_u64(), Some(files.len() as u64 + gz));
    assert!(
        report["deltas"].as_u64().unwrap() >= 3,
        "the four example releases delta: {report}"
    );
    assert!(report["after_bytes"].as_u64() < report["before_bytes"].as_u64());
    let idx = packs(&dir);
    // The example's three families (demo, widget, gadget) each in a pack
    // of its own; lone objects, if any, share one.
    let (n, families, lone, midx) = layout(&dir);
    assert_eq!(n, idx.len() as u64);
    assert_eq!(families, 3, "{:?}", layout(&dir));
    assert_eq!(n, families + u64::from(lone > 0), "{:?}", layout(&dir));
    assert!(midx, "the multi-pack-index names every pack");
    assert_eq!(report["packs_written"].as_u64(), Some(n), "{report}");
    super::cli::git_midx_verify(tmp.path(), &dir);
    assert!(
        !dir.join("objects")
            .read_dir()
            .unwrap()
            .any(|e| e.unwrap().path().is_dir())
    );
    let mut chained = false;
    for (k, idx) in idx.iter().enumerate() {
        let out = String::from_utf8(git(
            tmp.path(),
            &["verify-pack", "-v", idx.to_str().unwrap()],
        ))
        .unwrap();
        chained |= out.contains("chain length = 1");
        // git writes the same idx for our pack.
        let copy = tmp.path().join(format!("copy{k}.idx"));
        git(
            tmp.path(),
            &[
                "index-pack",
                "-o",
                copy.to_str().unwrap(),
                idx.with_extension("pack").to_str().unwrap(),
            ],
        );
        assert!(
            std::fs::read(&copy).unwrap() == std::fs::read(idx).unwrap(),
            "git's idx differs from ours"
        );
    }
    assert!(chained, "some family has deltas");
    for (f, id) in files.iter().zip(&ids) {
        assert!(
            silo_ok(&[&"cat", &dir, id]) == std::fs::read(f).unwrap(),
            "{}",
            f.display()
        );
    }
}

#[test]
fn repack_of_a_repacked_silo_writes_nothing_and_new_blobs_merge_in() {
    let (_tmp, dir) = new_silo();
    let files = testdata_files();
    let (first, rest) = files.split_at(4);
    add(&dir, first);
    silo_ok(&[&"repack", &dir]);
    let one = packs(&dir);
    let again: serde_json::Value =
        serde_json::from_slice(&silo_ok(&[&"repack", &dir, &"--json"])).unwrap();
    assert!(again["pack"].is_null(), "{again}");
    assert_eq!(packs(&dir), one);
    // New loose blobs go into the packs of their families (incremental);
    // --full lays out every pack anew.
    let ids = add(&dir, rest);
    let inc: serde_json::Value =
        serde_json::from_slice(&silo_ok(&[&"repack", &dir, &"--json"])).unwrap();
    assert_eq!(inc["mode"], "incremental", "{inc}");
    // Each split .tar.gz is stored as its content plus a recipe: one more
    // object. Related by sketches only, some of the new family may be
    // judged lone and kept whole (docs/limits.md, "Known limits").
    let gz = rest
        .iter()
        .filter(|f| f.to_string_lossy().ends_with(".gz"))
        .count() as u64;
    let split = inc["split"]["split"].as_u64().unwrap();
    assert_eq!(
        split + inc["split"]["not_smaller"].as_u64().unwrap(),
        gz,
        "{inc}"
    );
    assert!(split >= 1, "{inc}");
    assert_eq!(inc["new_objects"], rest.len() as u64 + split, "{inc}");
    assert_eq!(
        inc["reused_objects"].as_u64().unwrap() + inc["new_objects"].as_u64().unwrap(),
        inc["objects"].as_u64().unwrap()
    );
    assert!(std::fs::read_dir(dir.join("objects")).unwrap().count() == 0);
    for full in [false, true] {
        let mut stored_split = split;
        if full {
            // Every object planned again: the gzip files kept whole for
            // want of a relative now find their family.
            let v: serde_json::Value =
                serde_json::from_slice(&silo_ok(&[&"repack", &dir, &"--full", &"--json"])).unwrap();
            stored_split =
                v["split"]["split"].as_u64().unwrap() + v["split"]["carried"].as_u64().unwrap();
            assert!(stored_split >= split, "{v}");
        }
        let two = packs(&dir);
        if full {
            let (n, families, lone, midx) = layout(&dir);
            assert_eq!(n, families + u64::from(lone > 0));
            assert!(midx);
            assert_ne!(two, one);
        }
        assert!(!two.is_empty());
        for (f, id) in rest.iter().zip(&ids) {
            assert!(silo_ok(&[&"cat", &dir, id]) == std::fs::read(f).unwrap());
        }
        assert!(
            String::from_utf8(silo_ok(&[&"verify", &dir]))
                .unwrap()
                .contains(&format!(
                    "({} objects; {stored_split} gzip files stored split), 0 derived files: ok",
                    files.len() as u64 + stored_split
                ))
        );
        git_verify(&two);
    }
}

#[test]
fn a_held_lock_makes_a_second_repack_fail_clearly() {
    let (_tmp, dir) = new_silo();
    add(&dir, &testdata_files());
    let _held = trees_silo::lock::Lock::exclusive(dir.join("silo.lock"), false).unwrap();
    let out = super::cli::silo(&[&"repack", &dir]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("held by another repack"));
}

#[test]
fn max_depth_bounds_the_chains() {
    let (_tmp, dir) = new_silo();
    let tmp = trees_oracle::tempdir().unwrap();
    let mut o = trees_testdata::Options::small(11);
    o.releases = 8;
    let mut files = Vec::new();
    for r in trees_testdata::series("deep", &o) {
        let p = tmp.path().join(&r.file_name);
        std::fs::write(&p, &r.tar).unwrap();
        files.push(p);
    }
    add(&dir, &files);
    let report: serde_json::Value = serde_json::from_slice(&silo_ok(&[
        &"repack",
        &dir,
        &"--max-depth",
        &"2",
        &"--json",
    ]))
    .unwrap();
    assert!(report["max_depth"].as_u64().unwrap() <= 2, "{report}");
    assert!(report["deltas"].as_u64().unwrap() >= 4, "{report}");
}

/// Two release families and a stranger, added in a shuffled order: the
/// plan deltas each release against a release of its own family, and
/// stores the stranger whole; executing it gives a pack git accepts.
#[test]
fn the_engine_finds_each_family_whatever_the_order() {
    let (tmp, dir) = new_silo();
    let mut files = Vec::new();
    let mut family = std::collections::HashMap::new();
    for (name, seed) in [("alpha", 21), ("beta", 22)] {
        let mut o = trees_testdata::Options::small(seed);
        o.releases = 5;
        for r in trees_testdata::series(name, &o) {
            let p = tmp.path().join(&r.file_name);
            std::fs::write(&p, &r.tar).unwrap();
            files.push(p);
        }
    }
    let stranger = tmp.path().join("stranger.bin");
    std::fs::write(&stranger, trees_testdata::random_bytes(5, 200_000)).unwrap();
    files.push(stranger);
    // A fixed shuffle: interleave the families and put the stranger first.
    files.rotate_right(1);
    let (a, b): (Vec<_>, Vec<_>) = files
        .iter()
        .cloned()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    let files: Vec<_> = a.into_iter().chain(b).map(|(_, f)| f).collect();
    let ids = add(&dir, &files);
    for (f, id) in files.iter().zip(&ids) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        family.insert(id.clone(), name.split('-').next().unwrap().to_string());
    }

    let plan: serde_json::Value =
        serde_json::from_slice(&silo_ok(&[&"repack", &dir, &"--dry-run", &"--json"])).unwrap();
    assert!(
        dir.join("pack").read_dir().unwrap().next().is_none(),
        "--dry-run wrote a pack"
    );
    let entries = plan["plan"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), files.len());
    let mut written = std::collections::HashSet::new();
    let mut deltas = 0;
    for e in entries {
        let id = e["id"].as_str().unwrap();
        if let Some(base) = e["base"].as_str() {
            deltas += 1;
            assert_eq!(
                family[id], family[base],
                "{id} deltas against another family"
            );
            assert!(
                written.contains(base),
                "base {base} is planned after its delta {id}"
            );
            // relate's floor: a base shares at least 1/16 of the object.
            assert!(
                e["shared"].as_u64().unwrap() * 16 >= e["size"].as_u64().unwrap(),
                "{e}"
            );
        } else {
            assert!(e["depth"].as_u64() == Some(0));
        }
        written.insert(id.to_string());
    }
    assert_eq!(
        deltas, 8,
        "two families of five: eight deltas, two roots and the stranger whole"
    );
    let stranger_id = &ids[files
        .iter()
        .position(|f| f.ends_with("stranger.bin"))
        .unwrap()];
    assert!(
        entries
            .iter()
            .any(|e| e["id"] == stranger_id.as_str() && e["base"].is_null())
    );

    let report: serde_json::Value =
        serde_json::from_slice(&silo_ok(&[&"repack", &dir, &"--json"])).unwrap();
    assert_eq!(report["deltas"].as_u64(), Some(8), "{report}");
    git_verify(&packs(&dir));
    for (f, id) in files.iter().zip(&ids) {
        assert!(silo_ok(&[&"cat", &dir, id]) == std::fs::read(f).unwrap());
    }
}

#[test]
fn dry_run_prints_the_plan_for_people() {
    let (_tmp, dir) = new_silo();
    add(&dir, &testdata_files());
    let out = String::from_utf8(silo_ok(&[&"repack", &dir, &"--dry-run"])).unwrap();
    assert!(out.contains("(whole)") && out.contains("depth"), "{out}");
    assert_eq!(packs(&dir).len(), 0);
}

/// `git verify-pack -v`: each object's delta base, if any.
fn bases_in(idx: &Path) -> std::collections::HashMap<String, Option<String>> {
    let out = std::process::Command::new("git")
        .args(["verify-pack", "-v"])
        .arg(idx)
        .output()
        .expect("git must be installed (scripts/install-deps.sh)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 5 && f[0].len() == 40)
                .then(|| (f[0].to_owned(), f.get(6).map(|b| (*b).to_owned())))
        })
        .collect()
}

/// Runs `repack --dry-run --json`, then `repack --json`, and checks that
/// what the repack did is what the plan said: the same mode, every planned
/// entry in the new pack with its planned base, the packs copied gone and
/// the packs kept still there. Returns the plan.
fn plan_then_run(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"repack", &dir, &"--json"];
    for a in extra {
        args.push(a);
    }
    args.push(&"--dry-run");
    let before = packs(dir);
    let dry: serde_json::Value = serde_json::from_slice(&silo_ok(&args)).unwrap();
    assert_eq!(packs(dir), before, "a dry run changes nothing");
    let plan = dry["plan"].clone();
    args.pop();
    let did: serde_json::Value = serde_json::from_slice(&silo_ok(&args)).unwrap();
    assert_eq!(did["mode"], plan["mode"], "{did}\n{plan}");
    let entries = plan["entries"].as_array().unwrap();
    assert_eq!(
        did["new_objects"].as_u64(),
        Some(entries.len() as u64),
        "{did}"
    );
    assert_eq!(
        did["reused_objects"], plan["copied_objects"],
        "{did}\n{plan}"
    );
    let removed = plan["copied_packs"].as_array().unwrap().len()
        + plan["replaced_packs"].as_array().unwrap().len();
    assert_eq!(did["packs_removed"].as_u64(), Some(removed as u64), "{did}");
    assert_eq!(did["loose_removed"], plan["loose_removed"], "{did}");
    let planned_deltas = entries.iter().filter(|e| !e["base"].is_null()).count();
    assert_eq!(did["deltas"].as_u64(), Some(planned_deltas as u64), "{did}");
    assert_eq!(did["packs_written"], plan["new_packs"], "{did}\n{plan}");
    let mut bases = std::collections::HashMap::new();
    for p in did["new_packs"].as_array().unwrap() {
        bases.extend(bases_in(
            &Path::new(p.as_str().unwrap()).with_extension("idx"),
        ));
    }
    for e in entries {
        let id = e["id"].as_str().unwrap();
        let got = bases
            .get(id)
            .unwrap_or_else(|| panic!("{id} is not in the new pack"));
        assert_eq!(got.as_deref(), e["base"].as_str(), "the base of {id}");
    }
    for p in plan["kept_packs"].as_array().unwrap() {
        assert!(Path::new(p.as_str().unwrap()).is_file(), "kept {p}");
    }
    for p in plan["copied_packs"].as_array().unwrap() {
        let p = Path::new(p.as_str().unwrap());
        assert!(!p.exists(), "copied {} is gone", p.display());
        // Its objects are in the new pack, copied.
    }
    plan
}

#[test]
fn dry_run_prints_the_plan_that_the_repack_then_runs_full_and_incremental() {
    let (_tmp, dir) = new_silo();
    let tmp = trees_oracle::tempdir().unwrap();
    let mut o = trees_testdata::Options::small(33);
    o.releases = 8;
    let files = series_files(tmp.path(), &o);
    add(&dir, &files[..4]);
    // No pack yet: the first repack is full.
    let plan = plan_then_run(&dir, &[]);
    assert_eq!(plan["mode"], "full", "{plan}");
    assert_eq!(plan["entries"].as_array().unwrap().len(), 4);
    // New releases on a packed silo: the nightly, incremental plan.
    add(&dir, &files[4..7]);
    let text = String::from_utf8(silo_ok(&[&"repack", &dir, &"--dry-run"])).unwrap();
    assert!(text.contains("mode        incremental"), "{text}");
    let plan = plan_then_run(&dir, &[]);
    assert_eq!(plan["mode"], "incremental", "{plan}");
    let entries = plan["entries"].as_array().unwrap();
    assert_eq!(
        entries.len(),
        3,
        "only the new releases are planned: {plan}"
    );
    assert!(
        entries.iter().any(|e| e["base_packed"] == true),
        "a new release deltas against a packed one: {plan}"
    );
    // --full plans every object again.
    add(&dir, &files[7..]);
    let plan = plan_then_run(&dir, &["--full"]);
    assert_eq!(plan["mode"], "full", "{plan}");
    assert_eq!(plan["entries"].as_array().unwrap().len(), 8);
}

fn series_files(tmp: &Path, opts: &trees_testdata::Options) -> Vec<std::path::PathBuf> {
    trees_testdata::series("inc", opts)
        .into_iter()
        .map(|r| {
            let p = tmp.join(&r.file_name);
            std::fs::write(&p, &r.tar).unwrap();
            p
        })
        .collect()
}

fn git_verify(packs: &[std::path::PathBuf]) {
    let out = std::process::Command::new("git")
        .arg("verify-pack")
        .args(packs)
        .output()
        .expect("git must be installed (scripts/install-deps.sh)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn incremental_repack_deltas_new_releases_against_packed_ones_and_reuses_the_rest() {
    let (_tmp, dir) = new_silo();
    let tmp = trees_oracle::tempdir().unwrap();
    let mut o = trees_testdata::Options::small(21);
    o.releases = 6;
    let files = series_files(tmp.path(), &o);
    add(&dir, &files[..4]);
    silo_ok(&[&"repack", &dir]);
    let first = packs(&dir);
    let fp = first[0].with_extension("fp");
    assert!(fp.is_file(), "a repack writes the pack's fingerprint file");
    let ids = add(&dir, &files[4..]);
    let v: serde_json::Value =
        serde_json::from_slice(&silo_ok(&[&"repack", &dir, &"--json"])).unwrap();
    assert_eq!(v["mode"], "incremental", "{v}");
    assert_eq!(v["new_objects"], 2, "{v}");
    assert_eq!(v["reused_objects"], 4, "{v}");
    assert_eq!(v["deltas"], 2, "both new releases are deltas: {v}");
    // The pack holding their base was rolled up: still one pack, git reads it.
    let two = packs(&dir);
    assert_eq!(two.len(), 1);
    assert!(!fp.exists(), "the old pack's .fp went with it");
    assert!(two[0].with_extension("fp").is_file());
    git_verify(&two);
    for (f, id) in files[4..].iter().zip(&ids) {
        assert!(silo_ok(&[&"cat", &dir, id]) == std::fs::read(f).unwrap());
    }
    // Within a few percent of a full repack of the same blobs.
    let inc = std::fs::metadata(two[0].with_extension("pack"))
        .unwrap()
        .len();
    silo_ok(&[&"repack", &dir, &"--full"]);
    let full = std::fs::metadata(packs(&dir)[0].with_extension("pack"))
        .unwrap()
        .len();
    assert!(inc * 100 <= full * 105, "incremental {inc} vs full {full}");
}

#[test]
fn a_damaged_fingerprint_file_is_made_again_and_loses_nothing() {
    let (_tmp, dir) = new_silo();
    let tmp = trees_oracle::tempdir().unwrap();
    let files = series_files(tmp.path(), &trees_testdata::Options::small(22));
    add(&dir, &files[..3]);
    silo_ok(&[&"repack", &dir]);
    let fp = packs(&dir)[0].with_extension("fp");
    let mut bytes = std::fs::read(&fp).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::remove_file(&fp).unwrap();
    std::fs::write(&fp, &bytes).unwrap();
    add(&dir, &files[3..]);
    let v: serde_json::Value =
        serde_json::from_slice(&silo_ok(&[&"repack", &dir, &"--json"])).unwrap();
    assert_eq!(v["mode"], "incremental", "{v}");
    assert_eq!(v["deltas"], 1, "{v}");
    git_verify(&packs(&dir));
    assert!(
        String::from_utf8(silo_ok(&[&"verify", &dir]))
            .unwrap()
            .contains(&format!("({} objects), 0 derived files: ok", files.len()))
    );
}

#[test]
fn objects_past_the_memory_budget_are_spilled_and_still_packed_right() {
    // --memory 8M: objects over 1 MiB go through tmp/ files and windows.
    let (_tmp, dir) = new_silo();
    let tmp = trees_oracle::tempdir().unwrap();
    let files = series_files(tmp.path(), &trees_testdata::Options::medium(23, 3));
    assert!(std::fs::metadata(&files[0]).unwrap().len() > 1 << 20);
    let ids = add(&dir, &files[..2]);
    let v: serde_json::Value = serde_json::from_slice(&silo_ok(&[
        &"repack",
        &dir,
        &"--full",
        &"--memory",
        &"8M",
        &"--json",
    ]))
    .unwrap();
    assert_eq!(v["deltas"], 1, "{v}");
    let mut ids = ids;
    ids.extend(add(&dir, &files[2..]));
    let v: serde_json::Value =
        serde_json::from_slice(&silo_ok(&[&"repack", &dir, &"--memory", &"8M", &"--json"]))
            .unwrap();
    assert_eq!(v["deltas"], 1, "{v}");
    git_verify(&packs(&dir));
    // cat and verify stream them too (--memory 8M: past 1 MiB).
    let mut batch_in = String::new();
    let mut batch_want = Vec::new();
    for (f, id) in files.iter().zip(&ids) {
        let want = std::fs::read(f).unwrap();
        assert!(silo_ok(&[&"cat", &dir, id]) == want);
        assert!(silo_ok(&[&"cat", &dir, id, &"--memory", &"8M"]) == want);
        batch_in.push_str(&format!("{id}\n"));
        batch_want.extend_from_slice(format!("{id} blob {}\n", want.len()).as_bytes());
        batch_want.extend_from_slice(&want);
        batch_want.push(b'\n');
    }
    let out = super::cli::silo_stdin(
        &[&"cat", &dir, &"--batch", &"--memory", &"8M"],
        batch_in.as_bytes(),
    );
    assert!(out.status.success());
    assert!(
        out.stdout == batch_want,
        "cat --batch streams large objects"
    );
    let v = String::from_utf8(silo_ok(&[&"verify", &dir, &"--memory", &"8M"])).unwrap();
    assert!(v.contains("(3 objects), 0 derived files: ok"), "{v}");
    assert_eq!(
        std::fs::read_dir(dir.join("tmp")).unwrap().count(),
        0,
        "spill files are removed"
    );
    let bad = super::cli::silo(&[&"repack", &dir, &"--memory", &"lots"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("\"lots\": the unit must be"));
}
