#![no_main]
//! Fuzz target: see `trees_harness::split_zip`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trees_harness::split_zip(data));
