#![no_main]
//! Fuzz target: see `trees_harness::deflate_recipe`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trees_harness::deflate_recipe(data));
