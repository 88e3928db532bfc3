//! Rebuilding in a separate, limited process.
//!
//! A recipe read from disk or from a web server is hostile until its
//! rebuilt bytes hash to X's id, and preflate-rs does not survive every
//! hostile recipe: some corrections make it panic (caught), others make
//! it loop, allocating without bound, until the process aborts. No thread
//! can stop that, so readers rebuild in a child process that caps its own
//! address space and CPU time with `setrlimit` and dies alone.
//!
//! The child is a program that calls [`serve_if_asked`] first thing in
//! `main` (the `silo` and `medo` binaries do) run as
//! `PROGRAM --trees-rebuild-worker MEMORY CPU_SECONDS`. It reads from
//! stdin the recipe's length (8 bytes, little-endian), the recipe, then
//! the content to its end; it writes X to stdout and exits 0, or writes
//! one line of error to stderr and exits 3. The parent checks X's id.

use std::ffi::OsString;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::any::AnyRecipe;
use crate::recipe::MAX_CHUNK;

/// The argument that makes a program a rebuild worker.
pub const ARG: &str = "--trees-rebuild-worker";

/// The environment variable naming the worker program, when the calling
/// program is not one itself (tests, other users of the library): a path,
/// or a command and its arguments separated by spaces (say `qemu-aarch64
/// -L /usr/aarch64-linux-gnu /path/to/silo` when running under emulation).
pub const ENV: &str = "TREES_REBUILD_WORKER";

/// Set in a worker's environment, it spins until its CPU cap kills it (a
/// test of the cap; see `silo/tests/silo/split.rs`).
pub const SPIN_ENV: &str = "TREES_REBUILD_WORKER_SPIN";

/// Most recipe bytes the worker accepts: far above any real one (a few
/// KB per 16 MB chunk).
const MAX_RECIPE: u64 = 256 << 20;

/// Exit code of a worker that refused or failed.
const FAILED: i32 = 3;

static SERVES: AtomicBool = AtomicBool::new(false);

/// Why a rebuild through the worker failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No worker program is known.
    #[error(
        "no rebuild worker: this program cannot rebuild split objects itself; set {ENV} to the silo binary"
    )]
    NoWorker,
    /// The worker cannot be started.
    #[error("cannot start the rebuild worker {program}")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The worker refused, failed or was killed by its limits.
    #[error("the rebuild worker failed ({status}): {message}")]
    Failed {
        /// How it ended.
        status: String,
        /// What it said.
        message: String,
    },
    /// Producing the content failed.
    #[error("cannot read the content")]
    Content(#[source] io::Error),
    /// Writing the result failed.
    #[error("cannot write the rebuilt object")]
    Output(#[source] io::Error),
}

/// If this process was started as a worker, serves one rebuild and returns
/// the exit code; else `None` (and records that this program can serve,
/// so [`Worker::locate`] uses it).
pub fn serve_if_asked() -> Option<i32> {
    SERVES.store(true, Ordering::Relaxed);
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_none_or(|a| a != ARG) {
        return None;
    }
    let num = |i: usize| -> u64 {
        args.get(i)
            .and_then(|a| a.to_str())
            .and_then(|a| a.parse().ok())
            .unwrap_or(0)
    };
    limit_self(num(2), num(3));
    // For the test of the limits only: a worker that loops as preflate-rs
    // does on some hostile corrections, to show the CPU cap ends it.
    if std::env::var_os(SPIN_ENV).is_some() {
        let mut x = 0u64;
        loop {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
        }
    }
    let stdin = io::stdin().lock();
    let stdout = io::stdout().lock();
    // The encoders get what the address-space cap leaves after the
    // program, its buffers and thread stacks (a quarter, at least 64 MiB).
    let memory = match num(2) {
        0 => u64::MAX,
        m => (m - m / 4).saturating_sub(64 << 20).max(64 << 20),
    };
    match serve(
        &mut BufReader::with_capacity(1 << 20, stdin),
        &mut BufWriter::with_capacity(1 << 20, stdout),
        memory,
    ) {
        Ok(()) => Some(0),
        Err(e) => {
            let _ = writeln!(io::stderr(), "{}", trees_pack::error_chain(&e));
            Some(FAILED)
        }
    }
}

/// Why [`serve`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The recipe is unusable.
    #[error(transparent)]
    Format(#[from] crate::recipe::FormatError),
    /// The rebuild failed.
    #[error(transparent)]
    Rebuild(#[from] crate::any::RebuildError),
    /// The input is malformed.
    #[error("bad worker input: {0}")]
    Input(&'static str),
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// The worker's job, on any streams: recipe length, recipe, contents in;
/// X out. Encoders use at most `memory` bytes.
pub fn serve(input: &mut dyn Read, out: &mut dyn Write, memory: u64) -> Result<(), ServeError> {
    let mut len = [0u8; 8];
    input.read_exact(&mut len)?;
    let len = u64::from_le_bytes(len);
    if len > MAX_RECIPE {
        return Err(ServeError::Input("recipe longer than 256 MiB"));
    }
    let mut bytes = Vec::new();
    input.take(len).read_to_end(&mut bytes)?;
    if bytes.len() as u64 != len {
        return Err(ServeError::Input("recipe truncated"));
    }
    let recipe = AnyRecipe::decode(&bytes)?;
    recipe.rebuild(input, out, memory)?;
    out.flush()?;
    Ok(())
}

/// Caps this process: address space `memory` bytes, CPU `cpu` seconds
/// (0: leave as is). Under qemu-user the address-space cap is accepted and
/// ignored; the CPU cap still holds.
fn limit_self(memory: u64, cpu: u64) {
    for (res, v) in [(libc::RLIMIT_AS, memory), (libc::RLIMIT_CPU, cpu)] {
        if v == 0 {
            continue;
        }
        let lim = libc::rlimit {
            rlim_cur: v as libc::rlim_t,
            rlim_max: v as libc::rlim_t,
        };
        // SAFETY: setrlimit reads the struct we pass and changes only this
        // process's limits; a failure (errno) leaves them as they were.
        #[allow(unsafe_code)]
        let _ = unsafe { libc::setrlimit(res, &lim) };
    }
}

/// A program that serves rebuilds.
#[derive(Debug, Clone)]
pub struct Worker {
    program: PathBuf,
    args: Vec<String>,
    memory: u64,
    cpu: Option<u64>,
    env: Vec<(String, String)>,
}

impl Worker {
    /// The worker program: `$TREES_REBUILD_WORKER`; else this program, if
    /// it called [`serve_if_asked`]; else a `silo` binary beside this
    /// program or one directory up (cargo's test binaries live in `deps/`).
    pub fn locate() -> Result<Worker, Error> {
        if let Some(cmd) = std::env::var(ENV).ok().filter(|c| !c.trim().is_empty()) {
            let mut parts = cmd.split_whitespace().map(str::to_owned);
            let program = parts.next().ok_or(Error::NoWorker)?;
            let mut w = Worker::new(Path::new(&program));
            w.args = parts.collect();
            return Ok(w);
        }
        let exe = std::env::current_exe().map_err(|_| Error::NoWorker)?;
        if SERVES.load(Ordering::Relaxed) {
            return Ok(Worker::new(&exe));
        }
        let dir = exe.parent().ok_or(Error::NoWorker)?;
        [dir.join("silo"), dir.join("../silo")]
            .into_iter()
            .find(|p| p.is_file())
            .map(|p| Worker::new(&p))
            .ok_or(Error::NoWorker)
    }

    /// The worker `program`, with the default memory cap of 1 GiB.
    pub fn new(program: &Path) -> Worker {
        Worker {
            program: program.to_owned(),
            args: Vec::new(),
            memory: 1 << 30,
            cpu: None,
            env: Vec::new(),
        }
    }

    /// Caps the worker's address space at `memory` bytes (at least 512 MiB:
    /// a rebuild holds at most two chunks of [`MAX_CHUNK`] and tables).
    pub fn with_memory(mut self, memory: u64) -> Worker {
        self.memory = memory.max(8 * MAX_CHUNK);
        self
    }

    /// Caps the worker's CPU time at `seconds` (by default a minute plus a
    /// second per MiB of content).
    pub fn with_cpu(mut self, seconds: u64) -> Worker {
        self.cpu = Some(seconds.max(1));
        self
    }

    /// Sets an environment variable for the worker (tests: [`SPIN_ENV`]).
    pub fn with_env(mut self, key: &str, value: &str) -> Worker {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Rebuilds X from `recipe` (its bytes, as stored) and the content of
    /// `content_len` bytes that `content` writes, into `out`. Returns X's
    /// length. The caller checks X's id.
    pub fn rebuild(
        &self,
        recipe: &[u8],
        content_len: u64,
        content: &mut (dyn FnMut(&mut dyn Write) -> io::Result<()> + Send),
        out: &mut dyn Write,
    ) -> Result<u64, Error> {
        // preflate-rs re-makes tens of MB a second, liblzma at preset 9e
        // about one; a quarter of that, plus a minute, is only ever
        // reached by a loop.
        let cpu = self.cpu.unwrap_or(60 + 4 * (content_len >> 20));
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .arg(ARG)
            .arg(self.memory.to_string())
            .arg(cpu.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| Error::Spawn {
                program: self.program.clone(),
                source,
            })?;
        let mut stdin = child.stdin.take().ok_or(Error::NoWorker)?;
        let mut stdout = child.stdout.take().ok_or(Error::NoWorker)?;
        let mut stderr = child.stderr.take().ok_or(Error::NoWorker)?;
        let (fed, said, copied) = std::thread::scope(|s| {
            let feeder = s.spawn(move || -> io::Result<()> {
                let mut w = BufWriter::with_capacity(1 << 20, &mut stdin);
                w.write_all(&(recipe.len() as u64).to_le_bytes())?;
                w.write_all(recipe)?;
                content(&mut w)?;
                w.flush()
            });
            let errs = s.spawn(move || {
                let mut text = String::new();
                let _ = (&mut stderr).take(64 << 10).read_to_string(&mut text);
                text
            });
            let copied = copy(&mut stdout, out);
            drop(stdout);
            let fed = feeder
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("feeder panicked")));
            let said = errs.join().unwrap_or_default();
            (fed, said, copied)
        });
        let status = child.wait().map_err(|source| Error::Spawn {
            program: self.program.clone(),
            source,
        })?;
        if !status.success() {
            return Err(Error::Failed {
                status: status.to_string(),
                message: said.trim().to_owned(),
            });
        }
        fed.map_err(Error::Content)?;
        copied
    }
}

fn copy(from: &mut dyn Read, to: &mut dyn Write) -> Result<u64, Error> {
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let got = match from.read(&mut buf) {
            Ok(0) => return Ok(n),
            Ok(g) => g,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Output(e)),
        };
        to.write_all(&buf[..got]).map_err(Error::Output)?;
        n += got as u64;
    }
}
