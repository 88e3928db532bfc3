#![no_main]
//! Fuzz target: see `trees_harness::silo_fp`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trees_harness::silo_fp(data));
