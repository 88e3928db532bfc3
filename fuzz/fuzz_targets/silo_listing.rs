#![no_main]
//! Fuzz target: see `trees_harness::silo_listing`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trees_harness::silo_listing(data));
