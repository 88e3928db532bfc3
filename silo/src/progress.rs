//! How long operations report progress without knowing who is watching.

/// Receives progress of long operations. Libraries never print.
pub trait Progress: Sync {
    /// A stage starts; `total` units (bytes or objects, as `unit` says) are expected.
    fn stage(&self, _name: &str, _total: u64, _unit: Unit) {}
    /// `n` more units are done.
    fn advance(&self, _n: u64) {}
}

/// What a stage counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Bytes of content.
    Bytes,
    /// Objects.
    Objects,
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}
