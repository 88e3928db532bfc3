//! The exit-code policy shared by `silo` and `medo`: 0 success, 1 a check
//! failed, 2 an error (printed with its causes), and 0 on a broken pipe
//! (`silo cat ... | head` is not a failure).

use std::io;
use std::process::ExitCode;

/// What a command's `run` returns on success.
pub enum Status {
    /// Everything was fine.
    Ok,
    /// A check found a problem (and said which).
    CheckFailed,
}

/// The exit code for `result`, printing the error as `NAME: error: ...`.
pub fn code(name: &str, result: anyhow::Result<Status>) -> ExitCode {
    match result {
        Ok(Status::Ok) => ExitCode::SUCCESS,
        Ok(Status::CheckFailed) => ExitCode::from(1),
        Err(e) => {
            let broken_pipe = e.chain().any(|c| {
                c.downcast_ref::<io::Error>()
                    .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            });
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            eprintln!("{name}: error: {}", trees_pack::error_chain(e.as_ref()));
            ExitCode::from(2)
        }
    }
}
