#![no_main]
//! Fuzz target: see `trees_harness::deflate_stream`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trees_harness::deflate_stream(data));
