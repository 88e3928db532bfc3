//! `silo du`.

use super::cli::{add, new_silo, silo_ok, testdata_files};

#[test]
fn du_json_counts_parts_and_matches_du() {
    let (_tmp, dir) = new_silo();
    add(&dir, &testdata_files());
    let v: serde_json::Value = serde_json::from_slice(&silo_ok(&[&"du", &dir, &"--json"])).unwrap();
    let objects = v["objects"]["disk_bytes"].as_u64().unwrap();
    let all = v["all"]["disk_bytes"].as_u64().unwrap();
    assert!(
        objects > 300_000,
        "objects/ holds the gzipped example: {objects}"
    );
    assert!(all >= objects + v["pack"]["disk_bytes"].as_u64().unwrap());
    assert_eq!(
        v["objects"]["files"].as_u64(),
        Some(testdata_files().len() as u64)
    );
    // `du -s -B1` counts the same blocks.
    let out = std::process::Command::new("du")
        .args(["-s", "-B1"])
        .arg(&dir)
        .output()
        .unwrap();
    let du: u64 = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(du, all);
}
