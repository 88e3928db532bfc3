#![no_main]
//! Fuzz target: see `trees_harness::split_pieces`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trees_harness::split_pieces(data));
