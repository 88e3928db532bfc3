#![no_main]
//! Fuzz target: see `trees_harness::idx`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trees_harness::idx(data));
