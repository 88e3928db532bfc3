//! `silo`: the command line of the silo store. A thin layer: it parses what
//! the user typed, calls `trees_silo`, and prints the result.

mod derive;
mod progress;
mod remote;
mod split_check;

#[path = "../common/exit.rs"]
mod exit;

use exit::Status;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use trees_silo::{Silo, derived, du, gc, repack, verify};

const EXIT_CODES: &str = "\
Exit codes: 0 success; 1 a check failed (verify found a problem); 2 usage error, I/O error, or an object that cannot be read.

Environment: SILO_LOG=debug (or info, trace) for logs on stderr; TREES_CACHE, TREES_HTTP_TIMEOUT and TREES_HTTP_RETRIES for silos read over HTTP (see `silo cat --help`).";

/// A silo is a plain directory of blobs named by their git blob id, served by
/// any static web server and copied with rsync. `silo` adds blobs, reads
/// them, checks them, and repacks them into git-compatible packs.
#[derive(Parser)]
#[command(name = "silo", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Say whether gzip files (.tar.gz, .tgz, .crate) would be stored split,
    /// as their content plus a recipe that re-makes them byte for byte, and
    /// at what cost: recipe bytes, analyse and rebuild time.
    ///
    /// Each file is split (preflate-rs), rebuilt and compared with itself,
    /// as `silo repack` does before it stores a file split. Exit code 0 when
    /// every file was checked (split or not); 2 when one cannot be read.
    SplitCheck {
        /// The gzip files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One JSON object a line instead of text.
        #[arg(long)]
        json: bool,
        /// Memory to plan for (bytes, or with K, M, G): sets the chunk size.
        #[arg(long, default_value = "2G", value_parser = parse_memory)]
        memory: u64,
        /// Plain bytes per chunk instead of the one --memory sets (bytes, or
        /// with K, M, G): preflate-rs estimates a stream's parameters on its
        /// first chunk, so this can change what splits and what it costs.
        #[arg(long, value_parser = parse_memory)]
        chunk: Option<u64>,
    },
    /// Create a silo: objects/, pack/, derived/ and tmp/ (existing ones are kept).
    Init {
        /// The silo directory.
        dir: PathBuf,
    },
    /// Store files as loose blobs named by their git blob id; prints `<id>  <file>`.
    ///
    /// A blob the silo already has (loose or packed) is not written again.
    /// Files are streamed: their size does not matter.
    Add {
        /// The silo directory.
        dir: PathBuf,
        /// Files to add.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write a blob's content to stdout, from its loose copy or a pack.
    ///
    /// A local loose object is streamed and checked at the end: if it is
    /// corrupt, the exit code is 2 and the output must be discarded.
    ///
    /// SILO may be the URL of a silo served over HTTP(S) by any static web
    /// server. Then the silo's info/files.json names its packs, their idx
    /// files are fetched once into the cache (checked against their
    /// checksums), and only the byte ranges of the object's pack entry and
    /// its delta bases are fetched, with Range requests, each checked
    /// against the CRC32 of the idx; an object in no pack is fetched loose.
    /// Objects read over HTTP are checked against their id before anything
    /// is written. A server that ignores Range gets the whole pack
    /// downloaded into the cache instead.
    Cat {
        /// The silo directory, or its URL (http:// or https://).
        #[arg(value_name = "SILO")]
        dir: String,
        /// The blob id, or a unique prefix of at least 4 hex digits.
        #[arg(required_unless_present = "batch")]
        id: Option<String>,
        /// Read ids (or prefixes) from stdin, one a line, and print each as
        /// `git cat-file --batch` does: `<id> blob <size>`, the content, a
        /// newline; `<input> missing` for an id the silo lacks. One process
        /// reads them all, so delta bases stay cached between objects.
        /// Each answer is flushed whole, so a caller may ask for one id at
        /// a time; a repack or gc running meanwhile never makes a present
        /// object `missing` (the packs are rescanned after a miss).
        #[arg(long, conflicts_with = "id")]
        batch: bool,
        /// Memory to plan for (bytes, or with K, M, G): packed objects
        /// larger than an eighth of it are streamed through their delta
        /// chains (bases in tmp/ files) and hashed on the way, not rebuilt in
        /// memory; a damaged one is then reported after part of it was written.
        #[arg(long, default_value = "2G", value_parser = parse_memory)]
        memory: u64,
        #[command(flatten)]
        remote: remote::RemoteArgs,
    },
    /// Copy into the local silo DIR (created if missing) what the silo
    /// served at URL has and DIR lacks: packs, loose objects, derived files.
    ///
    /// URL's info/files.json says what it has. Every pack is checked
    /// against its length, its trailer and its name, and every object in it
    /// against its id, before it is renamed into pack/; loose objects are
    /// checked against their id, derived files are applied and must give
    /// their `want`. An interrupted run leaves tmp/mirror-*.pack.part: the
    /// next run resumes it with a Range request. Holds DIR's silo.lock.
    /// Exit 1 if a derived file was refused (the rest was copied).
    Mirror {
        /// The remote silo (http:// or https://).
        url: String,
        /// The local silo.
        dir: PathBuf,
        /// Wait for silo.lock instead of failing when it is held.
        #[arg(long)]
        wait: bool,
        /// Print the report as JSON on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        remote: remote::RemoteArgs,
    },
    /// Write info/files.json, the list of packs, loose objects and derived
    /// files that HTTP clients (`silo cat URL`, `silo mirror`, `medo
    /// expand`) read. Repack, gc and the making of derived files write it
    /// too; run this after `silo add` on a served silo.
    UpdateServerInfo {
        /// The silo directory.
        dir: PathBuf,
    },
    /// Re-hash every loose object and every pack entry; check pack trailers
    /// and idx checksums. Names every bad file and object; exits 1 if any.
    Verify {
        /// The silo directory.
        dir: PathBuf,
        /// Report packed objects larger than this many bytes as problems
        /// instead of rebuilding them (a hostile pack can announce any size).
        #[arg(long, default_value_t = trees_pack::delta::apply::DEFAULT_RESULT_LIMIT)]
        max_object_size: u64,
        /// Memory to plan for (bytes, or with K, M, G): packed objects larger
        /// than an eighth of it are streamed through their delta chains and
        /// hashed on the way, not rebuilt in memory.
        #[arg(long, default_value = "2G", value_parser = parse_memory)]
        memory: u64,
        /// Print the report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Disk usage of objects/, pack/, derived/ and the whole silo, as `du --si -s` counts it.
    Du {
        /// The silo directory.
        dir: PathBuf,
        /// Print the figures as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Pack the loose objects against the packed ones (the nightly job), or
    /// everything anew with --full.
    ///
    /// Every object is cut into content-defined chunks; objects that share
    /// chunks become deltas of each other, along a maximum spanning forest
    /// of bytes shared (no window: any object can be any object's base).
    ///
    /// By default the repack is incremental: only the loose objects are
    /// read and fingerprinted (the packed ones' chunks are kept in
    /// pack/*.fp), each becomes a delta of its best base anywhere in the
    /// silo, and small packs are rolled up as `git repack --geometric=2`
    /// does, their entries copied verbatim (checked by CRC32). A pack that
    /// holds a new delta's base is rolled up too. --full reads, relates and
    /// re-encodes every object into one pack.
    ///
    /// Every new object is read back through the new pack and checked
    /// against its id before anything old is removed. Holds silo.lock while
    /// it runs.
    ///
    /// gzip files (.tar.gz, .tgz, .crate) whose deflate streams preflate-rs
    /// can re-make are stored split: their content (the tar) as a blob that
    /// deltas against its relatives, plus a recipe of a few hundred bytes,
    /// with a record in pack/pack-<sha>.split. Each is rebuilt and checked
    /// against its id before it is stored so; one whose content relates to
    /// nothing stays whole. The report (and --json's "split") counts how
    /// many went each way, and why. `silo split-check` tries files first.
    Repack {
        /// The silo directory.
        dir: PathBuf,
        /// Longest delta chain.
        #[arg(long, default_value_t = 50)]
        max_depth: usize,
        /// Which object of each family of related objects is stored whole.
        #[arg(long, value_enum, default_value_t = RootArg::Largest)]
        root: RootArg,
        /// zlib level of pack entries, 1 (fastest) to 12 (smallest).
        #[arg(long, default_value_t = repack::DEFAULT_LEVEL, value_parser = clap::value_parser!(u8).range(1..=12))]
        level: u8,
        /// Print the plan (each object, its base, its depth, bytes shared) and change nothing.
        /// The plan is that of a full repack.
        #[arg(long)]
        dry_run: bool,
        /// Read, relate and re-encode every object into one new pack,
        /// instead of packing only the loose objects against the packed ones.
        #[arg(long)]
        full: bool,
        /// Memory to plan for (bytes, or with K, M, G): objects larger than
        /// an eighth of it are inflated to files in tmp/ and handled a window
        /// at a time (fingerprinted, diffed, compressed as they stream with
        /// zlib level 6 or --level if lower, read back by streaming), instead
        /// of held in memory.
        #[arg(long, default_value = "2G", value_parser = parse_memory)]
        memory: u64,
        /// Chunk tars like any other data, without cutting at their members
        /// (to measure what tar-aware chunking gains).
        #[arg(long)]
        plain_chunks: bool,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// Wait for silo.lock instead of failing when another repack holds it.
        #[arg(long)]
        wait: bool,
        /// A HINTS.json file (repeatable): `related` hints join each other's
        /// candidate bases; every `have`/`want` pair gets its client deltas in
        /// derived/deltas/ (`<have>..<want>.pack`, `.vcdiff`, `.patch.zst`,
        /// `.patch.lzma`, `.delta.xz` and a `.json` listing them, smallest
        /// first). Pairs whose `.json` exists already are kept.
        #[arg(long = "hints", value_name = "FILE")]
        hints: Vec<PathBuf>,
        /// A medo directory (repeatable): every HINTS.json under it is read as with --hints.
        #[arg(long = "medo", value_name = "DIR")]
        medo: Vec<PathBuf>,
        /// Client delta formats to make, comma-separated.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "thin-pack,vcdiff,zstd,lzma,delta-xz"
        )]
        formats: Vec<derived::Format>,
        /// Make the client deltas again even where they exist.
        #[arg(long)]
        rederive: bool,
        /// Print the report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Rebuild a blob from one you have and a derived file of
    /// derived/deltas/ (`<have>..<want>.pack|vcdiff|patch.zst|patch.lzma|delta.xz`).
    ///
    /// HAVE must hash to the file's `have`, and the result to its `want`:
    /// otherwise nothing is written and the exit code is 1. Writes to
    /// --output (whole, or not at all) or to stdout.
    Apply {
        /// The blob you have.
        have: PathBuf,
        /// The derived file.
        patch: PathBuf,
        /// Where to write the blob (default: stdout).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Refuse results larger than this many bytes (the manifest beside
        /// PATCH, `<have>..<want>.json`, bounds it further when present).
        #[arg(long, default_value_t = 1 << 36)]
        max_size: u64,
    },
    /// Delete what no treeptr names: unreachable loose objects older than the
    /// grace period, and unreachable objects of packs older than it (those
    /// packs are rewritten; a reachable object whose delta base goes away is
    /// re-encoded, never dropped). Holds silo.lock while it runs.
    Gc {
        /// The silo directory.
        dir: PathBuf,
        /// The live blob ids, one a line (`medo reachable DIR... > FILE`); `-` for stdin.
        #[arg(long)]
        reachable: PathBuf,
        /// Keep anything younger than this: 0, or a number with s, m, h or d.
        #[arg(long, default_value = "14d", value_parser = parse_grace)]
        grace: std::time::Duration,
        /// Print the plan and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Wait for silo.lock instead of failing when another repack or gc holds it.
        #[arg(long)]
        wait: bool,
        /// Memory to plan for when rewriting packs, as `silo repack --memory`.
        #[arg(long, default_value = "2G", value_parser = parse_memory)]
        memory: u64,
        /// Print the report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

/// `--memory` and the like: see [`trees_silo::units::parse_size`].
fn parse_memory(s: &str) -> Result<u64, String> {
    trees_silo::units::parse_size(s)
}

fn parse_grace(s: &str) -> Result<std::time::Duration, String> {
    trees_silo::units::parse_duration(s)
}

/// `--root`: which object of a family is stored whole.
#[derive(Clone, Copy, clap::ValueEnum)]
enum RootArg {
    /// The largest (releases grow: usually the newest); deltas delete.
    Largest,
    /// The smallest; deltas insert.
    Smallest,
}

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

fn open(dir: &std::path::Path) -> Result<Silo> {
    Silo::open(dir).with_context(|| format!("cannot open silo {}", dir.display()))
}

/// `silo cat --batch`: ids on stdin, `git cat-file --batch` output.
fn cat_batch(silo: &Silo, out: &mut dyn Write) -> Result<()> {
    let mut buf = Vec::new();
    for line in io::stdin().lines() {
        let line = line.context("cannot read ids from stdin")?;
        let input = line.trim();
        if input.is_empty() {
            continue;
        }
        // A full id needs no listing of objects/: it is looked up once.
        let found = match trees_pack::id::parse_hex(input).map_or_else(|| silo.resolve(input), Ok) {
            Ok(id) => silo.find(&id)?.map(|o| (id, o)),
            Err(trees_silo::store::ReadError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let Some((id, object)) = found else {
            writeln!(out, "{input} missing")?;
            out.flush()?;
            continue;
        };
        let size = object
            .size()
            .with_context(|| format!("cannot read object {id}"))?;
        if size > silo.stream_above() {
            // Too large to buffer: the header, then the object as it streams.
            writeln!(out, "{id} blob {size}")?;
            object
                .read(out)
                .with_context(|| format!("cannot read object {id}"))?;
            writeln!(out)?;
            out.flush()?;
            continue;
        }
        buf.clear();
        object
            .read(&mut buf)
            .with_context(|| format!("cannot read object {id}"))?;
        writeln!(out, "{id} blob {}", buf.len())?;
        out.write_all(&buf)?;
        writeln!(out)?;
        // Each answer whole and at once, as git's cat-file --batch does
        // (without --buffer): a caller may wait for it before asking more.
        out.flush()?;
    }
    Ok(())
}

fn run(cli: Cli) -> Result<Status> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match cli.command {
        Command::Init { dir } => {
            Silo::init(&dir)?;
            writeln!(out, "initialized silo {}", dir.display())?;
        }
        Command::SplitCheck {
            files,
            json,
            memory,
            chunk,
        } => {
            let mut limits = trees_split::analyse::Limits::for_memory(memory);
            if let Some(c) = chunk {
                limits.chunk = usize::try_from(c)
                    .unwrap_or(usize::MAX)
                    .clamp(64 << 10, 64 << 20);
                limits.feed = limits.feed.max(2 * limits.chunk);
            }
            for f in &files {
                let r = split_check::check(f, limits)?;
                if json {
                    serde_json::to_writer(&mut out, &r)?;
                    writeln!(out)?;
                } else {
                    split_check::print(&mut out, &r)?;
                }
                out.flush()?;
            }
        }
        Command::Add { dir, files } => {
            let silo = open(&dir)?;
            for f in &files {
                let (id, _) = silo
                    .add_file(f)
                    .with_context(|| format!("cannot add {}", f.display()))?;
                writeln!(out, "{id}  {}", f.display())?;
            }
        }
        Command::Cat {
            dir,
            id,
            batch,
            memory,
            remote,
        } => {
            if trees_remote::is_url(&dir) {
                remote::cat(&remote, &dir, id.as_deref(), batch, &mut out)?;
                out.flush()?;
                return Ok(Status::Ok);
            }
            let dir = PathBuf::from(dir);
            let silo = open(&dir)?.with_memory(memory);
            if batch {
                cat_batch(&silo, &mut out)
                    .with_context(|| format!("cannot read from {}", dir.display()))?;
            } else {
                let id = id.expect("clap requires an id without --batch");
                let cat = |out: &mut dyn Write| -> Result<()> {
                    let id = silo.resolve(&id)?;
                    silo.read(&id, out)?;
                    Ok(())
                };
                cat(&mut out)
                    .with_context(|| format!("cannot read object {id} from {}", dir.display()))?;
            }
        }
        Command::Mirror {
            url,
            dir,
            wait,
            json,
            remote,
        } => {
            let status = remote::mirror(&remote, &url, &dir, wait, json, &mut out)?;
            out.flush()?;
            return Ok(status);
        }
        Command::UpdateServerInfo { dir } => remote::update_server_info(&dir, &mut out)?,
        Command::Verify {
            dir,
            max_object_size,
            memory,
            json,
        } => {
            let silo = open(&dir)?.with_memory(memory);
            let bar = progress::Bar::new();
            let report = verify::verify_with_limit(&silo, &bar, max_object_size)?;
            bar.finish();
            if json {
                serde_json::to_writer_pretty(&mut out, &report)?;
                writeln!(out)?;
            } else {
                for p in &report.problems {
                    eprintln!("silo: bad: {p}");
                }
                for p in &report.orphan_packs {
                    eprintln!(
                        "silo: note: {p} has no idx (left by an interrupted repack; the next repack removes it)"
                    );
                }
                writeln!(
                    out,
                    "{} loose objects, {} packs ({} objects{}), {} derived files: {}",
                    report.loose_objects,
                    report.packs,
                    report.packed_objects,
                    if report.split_objects > 0 {
                        format!("; {} gzip files stored split", report.split_objects)
                    } else {
                        String::new()
                    },
                    report.derived_files,
                    if report.ok() {
                        "ok".to_string()
                    } else {
                        format!("{} problems", report.problems.len())
                    }
                )?;
            }
            out.flush()?;
            if !report.ok() {
                return Ok(Status::CheckFailed);
            }
        }
        Command::Du { dir, json } => {
            let silo = open(&dir)?;
            let u = du::usage(&silo)?;
            if json {
                serde_json::to_writer_pretty(&mut out, &u)?;
                writeln!(out)?;
            } else {
                for (name, p) in [
                    ("objects", u.objects),
                    ("pack", u.pack),
                    ("derived", u.derived),
                    ("all", u.all),
                ] {
                    writeln!(
                        out,
                        "{:>7}\t{name}\t({} bytes on disk, {} bytes in {} files)",
                        du::si(p.disk_bytes),
                        p.disk_bytes,
                        p.apparent_bytes,
                        p.files
                    )?;
                }
            }
        }
        Command::Repack {
            dir,
            max_depth,
            root,
            level,
            dry_run,
            full,
            memory,
            plain_chunks,
            threads,
            wait,
            hints,
            medo,
            formats,
            rederive,
            json,
        } => {
            let silo = open(&dir)?;
            let read = derive::read_hints(&hints, &medo)?;
            if let Some(n) = threads {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build_global()?;
            }
            let root = match root {
                RootArg::Largest => repack::Root::Largest,
                RootArg::Smallest => repack::Root::Smallest,
            };
            let opts = repack::Options {
                max_depth,
                root,
                level,
                wait,
                dry_run,
                tar_aware: !plain_chunks,
                related: read.related,
                full,
                memory,
            };
            let bar = progress::Bar::new();
            let o = repack::repack(&silo, &opts, &bar)?;
            let made = if dry_run || read.pairs.is_empty() {
                Vec::new()
            } else {
                trees_silo::derive::make_all(&silo, &read.pairs, &formats, rederive, wait, &bar)?
            };
            bar.finish();
            let peak = progress::peak_rss_bytes();
            if json {
                let mut v = serde_json::to_value(&o)?;
                v["peak_rss_bytes"] = serde_json::json!(peak);
                v["derived"] = serde_json::to_value(&made)?;
                serde_json::to_writer_pretty(&mut out, &v)?;
                writeln!(out)?;
            } else if let Some(plan) = &o.plan {
                writeln!(
                    out,
                    "{:<40}  {:>10}  {:<40}  {:>5}  {:>10}  {:>10}",
                    "object", "size", "base", "depth", "shared", "estimate"
                )?;
                for e in &plan.entries {
                    writeln!(
                        out,
                        "{:<40}  {:>10}  {:<40}  {:>5}  {:>10}  {:>10}",
                        e.id,
                        e.size,
                        e.base.as_deref().unwrap_or("(whole)"),
                        e.depth,
                        e.shared,
                        e.estimated
                    )?;
                }
                writeln!(
                    out,
                    "{} objects, {} bytes raw, about {} bytes before compression",
                    o.objects, o.raw_bytes, plan.estimated
                )?;
            } else if o.pack.is_none() {
                writeln!(
                    out,
                    "nothing to repack: the silo is one pack and no loose objects"
                )?;
                derive::print_made(&mut out, &made)?;
            } else {
                let ratio = o.after_bytes as f64 / o.before_bytes.max(1) as f64;
                writeln!(out, "mode        {}", o.mode)?;
                writeln!(out, "objects     {}", o.objects)?;
                if o.mode == "incremental" {
                    writeln!(
                        out,
                        "            {} new, {} copied from rolled-up packs, {} packs kept",
                        o.new_objects, o.reused_objects, o.packs_kept
                    )?;
                }
                writeln!(
                    out,
                    "raw         {} ({} bytes)",
                    du::si(o.raw_bytes),
                    o.raw_bytes
                )?;
                writeln!(
                    out,
                    "before      {} ({} bytes)",
                    du::si(o.before_bytes),
                    o.before_bytes
                )?;
                writeln!(
                    out,
                    "after       {} ({} bytes)",
                    du::si(o.after_bytes),
                    o.after_bytes
                )?;
                writeln!(out, "ratio       {ratio:.4} (after / before)")?;
                writeln!(
                    out,
                    "deltas      {} (max depth {}, mean {:.2})",
                    o.deltas, o.max_depth, o.mean_depth
                )?;
                let g = &o.split;
                if g.split + g.carried + g.preflate_failed + g.not_smaller + g.over_memory > 0 {
                    writeln!(
                        out,
                        "gzip        {} split now ({} bytes as content {} + recipes {}), {} records kept; \
                         whole: {} preflate failed, {} not smaller, {} over the memory bound",
                        g.split,
                        g.gzip_bytes,
                        g.content_bytes,
                        g.recipe_bytes,
                        g.carried,
                        g.preflate_failed,
                        g.not_smaller,
                        g.over_memory
                    )?;
                }
                writeln!(
                    out,
                    "removed     {} loose objects, {} packs",
                    o.loose_removed, o.packs_removed
                )?;
                if let Some(p) = &o.pack {
                    writeln!(out, "pack        {}", p.display())?;
                }
                writeln!(out, "wall time   {:.2} s", o.seconds)?;
                derive::print_made(&mut out, &made)?;
                if let Some(peak) = peak {
                    writeln!(out, "peak memory {} ({peak} bytes)", du::si(peak))?;
                }
            }
        }
        Command::Apply {
            have,
            patch,
            output,
            max_size,
        } => match derive::apply(&have, &patch, output.as_deref(), max_size, &mut out)? {
            Ok(id) => {
                out.flush()?;
                if output.is_some() {
                    eprintln!("silo: rebuilt {id}");
                }
            }
            Err(e) if derive::is_check_failure(&e) => {
                eprintln!("silo: bad: {}", trees_pack::error_chain(&e));
                return Ok(Status::CheckFailed);
            }
            Err(e) => return Err(e.into()),
        },
        Command::Gc {
            dir,
            reachable,
            grace,
            dry_run,
            wait,
            memory,
            json,
        } => {
            let silo = open(&dir)?;
            let name = reachable.display().to_string();
            let text = if name == "-" {
                io::read_to_string(io::stdin())
                    .context("cannot read the reachable set from stdin")?
            } else {
                std::fs::read_to_string(&reachable)
                    .with_context(|| format!("cannot read the reachable set {name}"))?
            };
            let set = gc::parse_reachable(&name, &text).map_err(anyhow::Error::msg)?;
            let opts = gc::Options {
                grace,
                dry_run,
                wait,
                repack: repack::Options {
                    memory,
                    ..repack::Options::default()
                },
            };
            let bar = progress::Bar::new();
            let o = gc::gc(&silo, &set, &opts, &bar)?;
            bar.finish();
            let peak = progress::peak_rss_bytes();
            if json {
                let mut v = serde_json::to_value(&o)?;
                v["peak_rss_bytes"] = serde_json::json!(peak);
                serde_json::to_writer_pretty(&mut out, &v)?;
                writeln!(out)?;
            } else {
                let p = &o.plan;
                let verb = if dry_run { "would delete" } else { "deleted" };
                writeln!(
                    out,
                    "{verb} {} unreachable loose objects ({} bytes)",
                    p.delete_loose.len(),
                    p.loose_bytes
                )?;
                for id in &p.delete_loose {
                    writeln!(out, "  {id}")?;
                }
                if !p.delete_derived.is_empty() {
                    writeln!(
                        out,
                        "{verb} {} derived files of unreachable pairs",
                        p.delete_derived.len()
                    )?;
                }
                for r in &p.rewrite_packs {
                    let verb = if dry_run { "would rewrite" } else { "rewrote" };
                    writeln!(
                        out,
                        "{verb} {} without its {} unreachable of {} objects",
                        r.idx.display(),
                        r.unreachable,
                        r.objects
                    )?;
                }
                if p.young_loose + p.young_packs > 0 {
                    writeln!(
                        out,
                        "kept {} loose objects and {} packs younger than the grace period",
                        p.young_loose, p.young_packs
                    )?;
                }
                if !dry_run {
                    let freed = o.before_bytes.saturating_sub(o.after_bytes);
                    let file_bytes = o.before_apparent.saturating_sub(o.after_apparent);
                    writeln!(
                        out,
                        "freed {} on disk ({freed} bytes; {file_bytes} bytes of files): {} -> {}",
                        du::si(freed),
                        du::si(o.before_bytes),
                        du::si(o.after_bytes)
                    )?;
                }
                if let Some(peak) = peak {
                    writeln!(out, "peak memory {} ({peak} bytes)", du::si(peak))?;
                }
            }
        }
    }
    out.flush()?;
    Ok(Status::Ok)
}
