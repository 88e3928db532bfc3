//! `silo verify` and `silo cat` on damaged silos: they name the file and
//! the object, exit non-zero, and never panic.

use std::path::{Path, PathBuf};
use std::process::Output;

use super::cli::{add, new_silo, silo, silo_ok, testdata_files};

fn assert_names(out: &Output, code: i32, words: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "exit code; stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    for w in words {
        assert!(err.contains(w), "stderr does not name {w:?}: {err}");
    }
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

fn packed_silo() -> (
    trees_oracle::TempDir,
    PathBuf,
    Vec<String>,
    PathBuf,
    PathBuf,
) {
    let (tmp, dir) = new_silo();
    let ids = add(&dir, &testdata_files());
    silo_ok(&[&"repack", &dir]);
    // A pack per family: the damage goes into the largest.
    let idx = std::fs::read_dir(dir.join("pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "idx"))
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .expect("the repack wrote a pack");
    (tmp, dir, ids, idx.with_extension("pack"), idx)
}

#[test]
fn a_healthy_silo_verifies() {
    let (_tmp, dir) = new_silo();
    add(&dir, &testdata_files());
    assert!(
        String::from_utf8(silo_ok(&[&"verify", &dir]))
            .unwrap()
            .contains("ok")
    );
    silo_ok(&[&"repack", &dir]);
    let v: serde_json::Value =
        serde_json::from_slice(&silo_ok(&[&"verify", &dir, &"--json"])).unwrap();
    // Each split .tar.gz is packed as its content and its recipe.
    let files = testdata_files();
    let gz = files
        .iter()
        .filter(|f| f.to_string_lossy().ends_with(".gz"))
        .count() as u64;
    assert_eq!(v["packed_objects"].as_u64(), Some(files.len() as u64 + gz));
    assert_eq!(v["split_objects"].as_u64(), Some(gz));
    assert_eq!(v["problems"].as_array().unwrap().len(), 0);
}

#[test]
fn corrupt_loose_object_is_named_by_verify_and_cat() {
    let (_tmp, dir) = new_silo();
    let files = testdata_files();
    let ids = add(&dir, &files);
    // Replace one object's content by the gzip of other content.
    let victim = &ids[files.iter().position(|f| f.ends_with("hello.txt")).unwrap()];
    let path = dir
        .join("objects")
        .join(&victim[..2])
        .join(format!("{}.gz", &victim[2..]));
    let other = dir
        .join("objects")
        .join(&ids[0][..2])
        .join(format!("{}.gz", &ids[0][2..]));
    std::fs::copy(&other, &path).unwrap();
    assert_names(&silo(&[&"verify", &dir]), 1, &[&file_name(&path), victim]);
    assert_names(
        &silo(&[&"cat", &dir, victim]),
        2,
        &[&file_name(&path), victim],
    );
    // Garbage instead of gzip.
    std::fs::write(&path, b"not gzip at all").unwrap();
    assert_names(&silo(&[&"verify", &dir]), 1, &[&file_name(&path), victim]);
    assert_names(
        &silo(&[&"cat", &dir, victim]),
        2,
        &[&file_name(&path), victim],
    );
}

#[test]
fn truncated_pack_is_named_by_verify_and_cat() {
    let (tmp, dir, ids, pack, _idx) = packed_silo();
    tmp.holds_damaged_packs();
    let bytes = std::fs::read(&pack).unwrap();
    std::fs::write(&pack, &bytes[..bytes.len() / 2]).unwrap();
    let out = silo(&[&"verify", &dir]);
    assert_names(&out, 1, &[&file_name(&pack)]);
    // Some object lost its bytes: cat names it and the pack.
    let mut named = false;
    for id in &ids {
        let out = silo(&[&"cat", &dir, id]);
        if !out.status.success() {
            assert_names(&out, 2, &[&file_name(&pack)]);
            named = true;
        }
    }
    assert!(named, "no object was unreadable after truncating the pack");
}

#[test]
fn flipped_idx_byte_is_named_by_verify() {
    let (tmp, dir, ids, _pack, idx) = packed_silo();
    tmp.holds_damaged_packs();
    let good = std::fs::read(&idx).unwrap();
    // One byte in each region: fan-out, ids, CRCs, offsets, pack checksum
    // (the last fan-out entry is the number of objects).
    let n = u32::from_be_bytes(good[1028..1032].try_into().unwrap()) as usize;
    let regions = [
        8 + 4 * 200,
        1032 + 20 * (n / 2) + 3,
        1032 + 20 * n + 4 * (n / 2),
        1032 + 24 * n + 1,
        good.len() - 30,
    ];
    for at in regions {
        let mut bad = good.clone();
        bad[at] ^= 0x40;
        std::fs::write(&idx, &bad).unwrap();
        let out = silo(&[&"verify", &dir]);
        assert_names(&out, 1, &[&file_name(&idx).replace(".idx", "")]);
        // Reading every object: right content or an error, never wrong bytes.
        for (id, f) in ids.iter().zip(testdata_files()) {
            let out = silo(&[&"cat", &dir, id]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!err.contains("panicked"), "{err}");
            if out.status.success() {
                assert!(
                    out.stdout == std::fs::read(&f).unwrap(),
                    "flip at {at}: wrong content for {id}"
                );
            } else {
                assert_eq!(out.status.code(), Some(2));
            }
        }
    }
}

/// A silo whose one pack holds 16 MiB of zeros and a delta of 8 KiB that
/// copies them 2,048 times: a 32 GiB object (its id is made up). Returns
/// the temporary directory, the silo and the pack's file name.
fn delta_bomb() -> (trees_oracle::TempDir, PathBuf, String) {
    use trees_pack::data::write::{Base, Entry};
    use trees_pack::id::{Kind, hash_object};
    let (tmp, dir) = new_silo();
    let base = vec![0u8; 0xff_ffff];
    let base_id = hash_object(Kind::Blob, &base).unwrap();
    let copies: u64 = 2048;
    let mut d = Vec::new();
    for mut v in [base.len() as u64, copies * 0xff_ffff] {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            d.push(if v > 0 { b | 0x80 } else { b });
            if v == 0 {
                break;
            }
        }
    }
    for _ in 0..copies {
        d.extend_from_slice(&[0xf0, 0xff, 0xff, 0xff]); // copy 0xffffff bytes from offset 0
    }
    let bomb_id = hash_object(Kind::Blob, b"not the real id").unwrap();
    let mut w = trees_pack::data::Writer::new(Vec::new(), 2).unwrap();
    w.write(&Entry::whole(base_id, Kind::Blob, &base, 1))
        .unwrap();
    w.write(&Entry::delta(bomb_id, Base::Ofs(base_id), &d, 1))
        .unwrap();
    let mut out = w.finish().unwrap();
    let name = format!("pack-{}", out.checksum);
    std::fs::write(dir.join("pack").join(format!("{name}.pack")), &out.out).unwrap();
    let idx = std::fs::File::create(dir.join("pack").join(format!("{name}.idx"))).unwrap();
    trees_pack::index::write(&mut out.entries, &out.checksum, idx).unwrap();
    (tmp, dir, name)
}

/// A delta that rebuilds 32 GiB from 8 KiB: with a limit, verify names it
/// without rebuilding it (streamed, as objects past an eighth of --memory
/// are, the limit stops it at once); under an address-space cap of 512 MiB,
/// no limit, and a --memory so large that it is rebuilt in memory,
/// allocating it fails cleanly instead of aborting.
#[test]
fn a_delta_bomb_is_refused_within_a_memory_bound() {
    let (tmp, dir, name) = delta_bomb();
    tmp.holds_damaged_packs();
    let out = silo(&[&"verify", &dir, &"--max-object-size", &"1073741824"]);
    assert_names(&out, 1, &[&name, "more than the limit"]);

    let runner = std::env::var("TREES_RUNNER").unwrap_or_default();
    if !runner.is_empty() {
        // qemu-user reserves gigabytes of address space for its guest.
        eprintln!("under {runner}: the ulimit -v half of this test runs natively only");
        return;
    }
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v 524288 && exec {} verify --memory 512G {}",
            env!("CARGO_BIN_EXE_silo"),
            dir.display()
        ))
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert_names(&out, 1, &[&name, "cannot allocate"]);
}
