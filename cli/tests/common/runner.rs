//! The one place tests start this package's binaries.

use std::process::Command;

/// `bin`, run through `$TREES_RUNNER` (say `qemu-aarch64 -L ...`) when set,
/// so that the cross-built suite runs its binaries under emulation too.
pub fn command(bin: &str) -> Command {
    let mut c = bare(bin);
    // Pointed at the test binary's S3 server, once one is running.
    c.envs(super::moto::env());
    c
}

fn bare(bin: &str) -> Command {
    match std::env::var("TREES_RUNNER") {
        Ok(r) if !r.is_empty() => {
            let mut parts = r.split_whitespace();
            let mut c = Command::new(parts.next().expect("non-empty"));
            c.args(parts).arg(bin);
            c
        }
        _ => Command::new(bin),
    }
}
