//! Crash points: deterministic fault injection for the crash-safety tests.
//!
//! Every durable step of a write (an fsync, a rename, an unlink) is a
//! numbered crash point. With `SILO_CRASH_AT=n` in the environment, the
//! process sends itself SIGKILL at the n-th point: no destructor runs, no
//! buffer is flushed, exactly as if the machine had died there. The tests
//! count the points of a normal run (logged at debug level as
//! `crash point N`) and kill runs at seeded-random points among them.
//! Without the variable a point costs one atomic increment.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

static COUNT: AtomicU64 = AtomicU64::new(0);

fn target() -> Option<u64> {
    static AT: OnceLock<Option<u64>> = OnceLock::new();
    *AT.get_or_init(|| std::env::var("SILO_CRASH_AT").ok()?.parse().ok())
}

/// One durable step has completed.
pub(crate) fn point(what: &str) {
    let n = COUNT.fetch_add(1, Ordering::SeqCst) + 1;
    tracing::debug!("crash point {n}: {what}");
    if target() == Some(n) {
        // SAFETY: getpid and kill have no memory-safety preconditions;
        // SIGKILL ends the process here, as a power cut would.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}
