//! Integration tests of the pack crate, with git as the oracle.
#![allow(clippy::unwrap_used)]

mod git;
mod gix;
mod hostile;
mod large;
mod multi_index;
mod packs;
mod read_git;
mod sha1dc;
mod write;
