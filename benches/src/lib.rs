//! Benchmarks of trees: criterion benches of each stage live in `benches/`;
//! this library is empty and exists so that cargo has a target to build.
