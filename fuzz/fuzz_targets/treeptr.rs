#![no_main]
//! Fuzz target: see `trees_harness::treeptr`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trees_harness::treeptr(data));
