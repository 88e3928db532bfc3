//! Integration tests of the delta crate: every delta applies back to its target.

#![allow(clippy::unwrap_used)]

mod matcher;
mod patch;
