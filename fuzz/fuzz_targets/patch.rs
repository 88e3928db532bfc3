#![no_main]
//! Fuzz target: see `trees_harness::patch`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trees_harness::patch(data));
