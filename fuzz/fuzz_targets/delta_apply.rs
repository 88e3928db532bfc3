#![no_main]
//! Fuzz target: see `trees_harness::delta_apply`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trees_harness::delta_apply(data));
