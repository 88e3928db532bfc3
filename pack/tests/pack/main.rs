//! Integration tests of the pack crate, with git as the oracle.
#![allow(clippy::unwrap_used)]

mod git;
mod packs;
mod write;
