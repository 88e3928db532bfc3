#![no_main]
//! Fuzz target: see `trees_harness::hints_json`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trees_harness::hints_json(data));
