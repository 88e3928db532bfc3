#![no_main]
//! Fuzz target: see `trees_harness::multi_index`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trees_harness::multi_index(data));
