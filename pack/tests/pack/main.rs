//! Integration tests of the pack crate, with git as the oracle.
