#![no_main]
//! Fuzz target: see `trees_harness::pack`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trees_harness::pack(data));
