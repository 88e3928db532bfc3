//! Every input kept under `testdata/fuzz/<target>/` (crashes the fuzzers
//! found, once fixed, and seeds) runs through its harness again.

use std::path::Path;

#[test]
fn every_kept_input_runs_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/fuzz");
    let mut ran = 0;
    for (name, harness) in trees_harness::TARGETS {
        let dir = root.join(name);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{}: no inputs kept", dir.display());
        for f in files {
            let data = std::fs::read(&f).expect("read");
            // A panic names the input: the harness's message plus this path.
            eprintln!("replaying {}", f.display());
            harness(&data);
            ran += 1;
        }
    }
    assert!(ran >= trees_harness::TARGETS.len());
}
