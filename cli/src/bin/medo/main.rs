//! `medo`: the command line of medo directories, the small JSON files in a
//! git repository that name blobs in silos. A thin layer over
//! `trees_hints` (the files) and `trees_medo` (trees in and out of
//! silos): it parses what the user typed, calls them, and prints.

use std::collections::HashSet;
#[path = "../common/exit.rs"]
mod exit;

use exit::Status;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use trees_hints::silos::Silos;
use trees_hints::treeptr::{Provenance, Treeptr};
use trees_medo::{add, expand, url, verify};

/// What `medo --help` says after the commands: exit codes, and how silos
/// served over HTTP are read (with the library's defaults).
fn after_help() -> String {
    format!(
        "Exit codes: 0 success; 1 a check failed (verify found a difference); 2 usage error, I/O error, \
a bad treeptr or SILO.json, a blob that no silo has, or a tar member refused as unsafe.

Silos of SILO.json with a \"url\" are read over HTTP(S) like `silo cat URL` reads them: the idx files are cached in $TREES_CACHE (else $XDG_CACHE_HOME/trees, else ~/.cache/trees), and only the byte ranges the blob needs are fetched. TREES_HTTP_TIMEOUT (seconds, default {}) and TREES_HTTP_RETRIES (default {}) bound the waiting.",
        trees_remote::http::DEFAULT_TIMEOUT_SECS,
        trees_remote::http::DEFAULT_RETRIES
    )
}

/// A medo directory lives in a git repository and names blobs of a silo
/// with `*.treeptr` files; its `SILO.json` (or the nearest one of a parent
/// directory) lists the silos that hold them. `medo` stores trees in a silo
/// and names them, expands them back, checks them, and lists the live blobs.
#[derive(Parser)]
#[command(name = "medo", version, after_help = after_help())]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the blob ids that the treeptrs under the directories name: the
    /// live set for `silo gc`. Sorted, one a line, no duplicates.
    ///
    /// Fails (and prints nothing) if any treeptr is unreadable: a treeptr
    /// left out would let gc delete its blob.
    Reachable {
        /// Medo directories (or treeptr files), walked recursively.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// Store a directory or a file in a silo and write a treeptr naming it.
    ///
    /// A directory is stored as a deterministic tar (names sorted, mtime 0,
    /// owners 0 and unnamed, modes and symlinks kept): the same tree always
    /// gives the same blob id. A file is stored as it is; its format is
    /// `tar` for .tar, `tgz` for .tgz and .tar.gz, `file` otherwise. Prints
    /// `<id>  <treeptr>`.
    Add {
        /// The silo to store into.
        #[arg(long)]
        silo: PathBuf,
        /// The directory or file.
        src: PathBuf,
        /// The treeptr to write (its name must end in .treeptr).
        dest: PathBuf,
        #[command(flatten)]
        provenance: ProvenanceArgs,
    },
    /// Write the tree of a treeptr (or of every treeptr under a directory)
    /// into DEST, from the silos of the nearest SILO.json.
    ///
    /// For a directory, the tree of DIR/a/b.treeptr goes to DEST/a/b. Local
    /// silos (`path`) are tried in order; `url` silos are skipped with a
    /// note. Nothing is ever written outside DEST: members with absolute
    /// names or `..`, members under a symlink, device nodes and fifos are
    /// refused. Files already there with the right content are not touched.
    Expand {
        /// A treeptr, or a directory of treeptrs.
        src: PathBuf,
        /// Where the tree goes.
        dest: PathBuf,
    },
    /// Check that the tree under DEST is what the treeptr's blob says (for a
    /// directory, each treeptr's tree, placed as `expand` places it).
    ///
    /// Compares every member (file content, executable bit, symlink
    /// targets, directories) and reports files the blob does not have.
    /// Prints the first difference of each tree and exits 1 if there is one.
    Verify {
        /// A treeptr, or a directory of treeptrs.
        src: PathBuf,
        /// Where the tree is.
        dest: PathBuf,
    },
    /// Print where a treeptr's blob can be downloaded from each url silo of
    /// its SILO.json, one URL a line.
    ///
    /// A silo is served as a plain directory, so the blob is either the
    /// loose file `<url>objects/ab/<38 hex>.gz` (gzip of the content) or
    /// inside the pack `<url>pack/pack-<sha>.pack` (with its .idx beside
    /// it). Which one is read from the first local `path` silo of the same
    /// SILO.json that has the blob (url silos are its rsync copies); with no
    /// local silo, the loose form is printed. Fails if the SILO.json has no
    /// url silo, or has local silos and none has the blob.
    UrlFor {
        /// The treeptr.
        treeptr: PathBuf,
    },
}

/// Where the blob came from (optional; both forms are recorded in the treeptr).
#[derive(Args)]
struct ProvenanceArgs {
    /// Downloaded from this URL.
    #[arg(long, conflicts_with_all = ["base", "command"])]
    url: Option<String>,
    /// Derived from the blob of this treeptr (recorded relative to DEST's directory)...
    #[arg(long, requires = "command")]
    base: Option<PathBuf>,
    /// ...by this command.
    #[arg(long, requires = "base")]
    command: Option<String>,
}

fn main() -> ExitCode {
    // Rebuilds split objects for this process (see trees_split::worker).
    if let Some(code) = trees_split::worker::serve_if_asked() {
        return ExitCode::from(u8::try_from(code).unwrap_or(2));
    }
    let cli = Cli::parse();
    exit::code("medo", run(cli))
}

fn run(cli: Cli) -> Result<Status> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut status = Status::Ok;
    // Notes (a url silo skipped) are the same for every treeptr of a
    // SILO.json: each is shown once.
    let mut shown: HashSet<String> = HashSet::new();
    let mut note = |n: &str| {
        if shown.insert(n.to_owned()) {
            eprintln!("medo: note: {n}");
        }
    };
    match cli.command {
        Command::Reachable { dirs } => {
            for id in trees_hints::reachable::reachable(&dirs)? {
                writeln!(out, "{id}")?;
            }
        }
        Command::Add {
            silo,
            src,
            dest,
            provenance,
        } => {
            let place = match silo.to_str() {
                Some(arg) => trees_remote::place::Place::parse(arg)?,
                None => trees_remote::place::Place::Dir(silo.clone()),
            };
            let s = place
                .open(false, &trees_remote::Options::default_cache())?
                .silo;
            let p = match provenance {
                ProvenanceArgs {
                    base: Some(base),
                    command: Some(command),
                    ..
                } => add::derived_from(&dest, &base, &command)?,
                ProvenanceArgs { url, .. } => Provenance {
                    url,
                    ..Provenance::default()
                },
            };
            let o = add::add(&s, &src, &dest, p)?;
            writeln!(out, "{}  {}", o.treeptr.blob, dest.display())?;
        }
        Command::Expand { src, dest } => {
            for t in expand::targets(&src, &dest)? {
                let e = expand::expand(&t)?;
                e.fetched.notes.iter().for_each(|n| note(n));
                writeln!(
                    out,
                    "{}  {}  ({} written, {} unchanged)",
                    e.blob,
                    t.dest.display(),
                    e.outcome.written,
                    e.outcome.unchanged
                )?;
            }
        }
        Command::Verify { src, dest } => {
            let targets = expand::targets(&src, &dest)?;
            let dests: HashSet<PathBuf> = targets.iter().map(|t| t.dest.clone()).collect();
            for t in &targets {
                let mut others = dests.clone();
                others.remove(&t.dest);
                let v = verify::verify(t, &others)?;
                v.fetched.notes.iter().for_each(|n| note(n));
                match v.difference {
                    None => writeln!(out, "ok  {}  {}", v.blob, t.dest.display())?,
                    Some(d) => {
                        out.flush()?;
                        eprintln!(
                            "medo: differs: {}: {} ({} names blob {})",
                            d.path.display(),
                            d.what,
                            t.treeptr.display(),
                            v.blob
                        );
                        status = Status::CheckFailed;
                    }
                }
            }
        }
        Command::UrlFor { treeptr } => {
            let t = Treeptr::read(&treeptr)?;
            let silos =
                Silos::for_treeptr(&treeptr).with_context(|| format!("{}", treeptr.display()))?;
            let urls = url::urls(&silos, &t.blob)
                .with_context(|| format!("no url for {}", treeptr.display()))?;
            for u in urls {
                writeln!(out, "{u}")?;
            }
        }
    }
    out.flush()?;
    Ok(status)
}
