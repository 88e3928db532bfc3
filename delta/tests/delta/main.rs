//! Integration tests of the delta crate: every delta applies back to its target.

mod matcher;
mod patch;
