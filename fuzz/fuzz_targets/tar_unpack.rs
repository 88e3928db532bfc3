#![no_main]
//! Fuzz target: see `trees_harness::tar_unpack`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trees_harness::tar_unpack(data));
