//! Crash points: deterministic fault injection for the crash-safety tests.
//!
//! Every durable step of a write (an fsync, a rename, an unlink) is a
//! numbered crash point. With `SILO_CRASH_AT=n` in the environment, the
//! process sends itself SIGKILL at the n-th point: no destructor runs, no
//! buffer is flushed, exactly as if the machine had died there. The tests
//! count the points of a normal run (logged at debug level as
//! `crash point N`) and kill runs at seeded-random points among them.
//! Without the variable a point costs one atomic increment.
//!
//! `SILO_PAUSE_AT=n,m,...` makes the process stop at those points instead:
//! it writes `paused at crash point N` on a line of its standard error and
//! waits for a line on its standard input (or its end). The concurrency
//! tests use it to read the silo at chosen instants of a repack or gc,
//! without sleeps.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

static COUNT: AtomicU64 = AtomicU64::new(0);

fn target() -> Option<u64> {
    static AT: OnceLock<Option<u64>> = OnceLock::new();
    *AT.get_or_init(|| std::env::var("SILO_CRASH_AT").ok()?.parse().ok())
}

fn pauses() -> &'static [u64] {
    static AT: OnceLock<Vec<u64>> = OnceLock::new();
    AT.get_or_init(|| {
        std::env::var("SILO_PAUSE_AT")
            .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
            .unwrap_or_default()
    })
}

/// One durable step has completed.
pub fn point(what: &str) {
    let n = COUNT.fetch_add(1, Ordering::SeqCst) + 1;
    tracing::debug!("crash point {n}: {what}");
    if pauses().contains(&n) {
        use std::io::{BufRead, Write};
        let mut err = std::io::stderr().lock();
        // A test hook: if the handshake fails, the run simply goes on.
        let _ = writeln!(err, "paused at crash point {n}: {what}");
        let _ = err.flush();
        drop(err);
        let _ = std::io::stdin().lock().read_line(&mut String::new());
    }
    if target() == Some(n) {
        // SAFETY: getpid and kill have no memory-safety preconditions;
        // SIGKILL ends the process here, as a power cut would.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}
