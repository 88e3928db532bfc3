//! `silo`: the command line of the silo store. Two layers: [`args`] is what
//! was typed (clap, with the libraries' defaults); each command module
//! turns it into the libraries' options, calls `trees_silo` (or
//! `trees_remote`), and prints the result.

mod args;
mod cat;
mod derive;
mod gc;
mod local;
mod member;
mod place;
mod progress;
mod remote;
mod repack;
mod serve;
mod source;
mod split_check;

#[path = "../common/exit.rs"]
mod exit;

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use exit::Status;
use trees_silo::Silo;

use args::{Cli, Command};

fn main() -> ExitCode {
    // A rebuild worker for split objects (see trees_split::worker) is this
    // binary started with one special argument.
    if let Some(code) = trees_split::worker::serve_if_asked() {
        return ExitCode::from(u8::try_from(code).unwrap_or(2));
    }
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SILO_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(io::stderr)
        .init();
    exit::code("silo", run(cli))
}

/// Opens the silo `dir` names (a directory or a bucket), saying which on
/// failure.
fn open(dir: &std::path::Path) -> Result<Silo> {
    Ok(place::open(dir, false)?.silo)
}

fn run(cli: Cli) -> Result<Status> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let status = match cli.command {
        Command::Init(a) => local::init(&a, &mut out)?,
        Command::SplitCheck(a) => split_check::run(&a, &mut out)?,
        Command::Add(a) => local::add(&a, &mut out)?,
        Command::Cat(a) => cat::run(&a, &mut out)?,
        Command::Ls(a) => cat::ls(&a, &mut out)?,
        Command::Serve(a) => serve::run(&a, &mut out)?,
        Command::Mirror(a) => remote::mirror(&a, &mut out)?,
        Command::UpdateServerInfo(a) => remote::update_server_info(&a.dir, &mut out)?,
        Command::Verify(a) => local::verify(&a, &mut out)?,
        Command::Du(a) => local::du(&a, &mut out)?,
        Command::Repack(a) => repack::run(a, &mut out)?,
        Command::Apply(a) => derive::run_apply(&a, &mut out)?,
        Command::Gc(a) => gc::run(&a, &mut out)?,
    };
    out.flush()?;
    Ok(status)
}
