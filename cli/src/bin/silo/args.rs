//! What was typed: the command line, parsed by clap. Every default here is
//! a library's own (`repack::Options::default()`, `gc::Options::default()`,
//! `repack::DEFAULT_MEMORY`, ...), shown as it would be typed; the command
//! modules turn these into the libraries' options.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use trees_silo::units::{Age, Size};
use trees_silo::{derived, gc, repack};

const EXIT_CODES: &str = "\
Exit codes: 0 success; 1 a check failed (verify found a problem); 2 usage error, I/O error, or an object that cannot be read.

Environment: SILO_LOG=debug (or info, trace) for logs on stderr; TREES_CACHE, TREES_HTTP_TIMEOUT and TREES_HTTP_RETRIES for silos read over HTTP (see `silo cat --help`).";

/// A silo is a plain directory of blobs named by their git blob id, served by
/// any static web server and copied with rsync. `silo` adds blobs, reads
/// them, checks them, and repacks them into git-compatible packs.
#[derive(Parser)]
#[command(name = "silo", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Say whether gzip files (.tar.gz, .tgz, .crate) would be stored split,
    /// as their content plus a recipe that re-makes them byte for byte, and
    /// at what cost: recipe bytes, analyse and rebuild time.
    ///
    /// Each file is split (preflate-rs), rebuilt and compared with itself,
    /// as `silo repack` does before it stores a file split. Exit code 0 when
    /// every file was checked (split or not); 2 when one cannot be read.
    SplitCheck(SplitCheckArgs),
    /// Create a silo: objects/, pack/, derived/ and tmp/ (existing ones are kept).
    Init(InitArgs),
    /// Store files as loose blobs named by their git blob id; prints `<id>  <file>`.
    ///
    /// A blob the silo already has (loose or packed) is not written again.
    /// Files are streamed: their size does not matter.
    Add(AddArgs),
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
    ///
    /// `ID:PATH` (git's `<object>:<path>`) prints one member of the zip or
    /// tar ID. A zip stored split (wheels, jars: see `repack --split`)
    /// costs its recipe and that member's one object, never the zip; a
    /// `.tar.gz`, `.tar.xz` or `.tar.zst` stored split costs a read of its
    /// tar up to the member; a tar (compressed or not) stored whole costs a
    /// read of it up to the member; a zip stored whole is read whole.
    Cat(CatArgs),
    /// List the members of the zip or tar ID: path, kind, size and git
    /// blob id, one a line (`--json`: an array of objects). Costs as
    /// `cat ID:PATH` does, but to the archive's end: a split zip is listed
    /// from its recipe (and members kept compressed are read), anything
    /// else is read whole, each member hashed.
    Ls(LsArgs),
    /// Serve objects and archive members over HTTP, read-only: `GET
    /// /ID` is the object, `GET /ID.wwz/PATH` (any `.EXT`, or none) is
    /// member PATH of the zip or tar ID, read as `cat ID:PATH` reads it and
    /// typed by its extension; a path ending in `/` answers its
    /// `index.html`. For CI results kept as zips: one URL per file, never
    /// the zip. Prints the address it listens on, then serves until
    /// killed; answers 404 for a missing object or member.
    Serve(ServeArgs),
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
    ///
    /// Packs are named by their content: after a nightly repack at URL,
    /// only the packs of the families it rewrote are new, and only they
    /// are fetched. A pack of DIR that URL no longer lists is removed once
    /// every object in it is in another pack of DIR (upstream replaced
    /// it); then DIR's multi-pack-index is written anew.
    Mirror(MirrorArgs),
    /// Write info/files.json, the list of packs, loose objects and derived
    /// files that HTTP clients (`silo cat URL`, `silo mirror`, `medo
    /// expand`) read. Repack, gc and the making of derived files write it
    /// too; run this after `silo add` on a served silo.
    UpdateServerInfo(UpdateServerInfoArgs),
    /// Re-hash every loose object and every pack entry; check pack trailers
    /// and idx checksums. Names every bad file and object; exits 1 if any.
    Verify(VerifyArgs),
    /// Disk usage of objects/, pack/, derived/ and the whole silo, as `du --si -s` counts it,
    /// and how the packs are laid out: how many, how many families (sets
    /// of objects linked by deltas) and lone objects they hold, and whether
    /// the multi-pack-index is up to date (--json: `packs`, `families`,
    /// `lone_objects`, `multi_pack_index`).
    Du(DuArgs),
    /// Pack the loose objects against the packed ones (the nightly job), or
    /// everything anew with --full.
    ///
    /// Every object is cut into content-defined chunks; objects that share
    /// chunks become deltas of each other, along a maximum spanning forest
    /// of bytes shared (no window: any object can be any object's base).
    ///
    /// Packs are laid out by family: the objects linked by deltas (the
    /// releases of one project) share a pack, lone objects share one.
    ///
    /// By default the repack is incremental: only the loose objects are
    /// read and fingerprinted (the packed ones' chunks are kept in
    /// pack/*.fp), and each becomes a delta of its best base. A family it
    /// adds to gets a new pack: its old pack's entries copied verbatim
    /// (checked by CRC32) and the new deltas appended, within
    /// --write-factor. Packs of families it did not add to are not touched,
    /// so mirrors, backups and buckets move only the new. --full reads,
    /// relates and re-encodes every object.
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
    Repack(RepackArgs),
    /// Rebuild a blob from one you have and a derived file of
    /// derived/deltas/ (`<have>..<want>.pack|vcdiff|patch.zst|patch.lzma|delta.xz`).
    ///
    /// HAVE must hash to the file's `have`, and the result to its `want`:
    /// otherwise nothing is written and the exit code is 1. Writes to
    /// --output (whole, or not at all) or to stdout.
    Apply(ApplyArgs),
    /// Delete what no treeptr names: unreachable loose objects older than the
    /// grace period, and unreachable objects of packs older than it (those
    /// packs are rewritten; a reachable object whose delta base goes away is
    /// re-encoded, never dropped). Holds silo.lock while it runs.
    Gc(GcArgs),
}

/// `silo split-check`.
#[derive(Args)]
pub struct SplitCheckArgs {
    /// The gzip files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// One JSON object a line instead of text.
    #[arg(long)]
    pub json: bool,
    /// Memory to plan for (bytes, or with K, M, G): sets the chunk size.
    #[arg(long, default_value_t = Size(repack::DEFAULT_MEMORY))]
    pub memory: Size,
    /// Plain bytes per chunk instead of the one --memory sets (bytes, or
    /// with K, M, G): preflate-rs estimates a stream's parameters on its
    /// first chunk, so this can change what splits and what it costs.
    #[arg(long)]
    pub chunk: Option<Size>,
    /// The gzip recipe format to try: 5 (trees-deflate, what repack
    /// writes) or 1 (preflate-rs 0.7.6, which silos may still hold; to
    /// compare the two).
    #[arg(long, default_value_t = 5, value_parser = recipe_format)]
    pub recipe_format: u8,
}

/// `--recipe-format`: 1 or 5.
fn recipe_format(s: &str) -> Result<u8, String> {
    match s {
        "1" => Ok(1),
        "5" => Ok(5),
        _ => Err(format!(
            "{s} is not a gzip recipe format: 1 (preflate-rs) or 5 (trees-deflate)"
        )),
    }
}

/// `silo init`.
#[derive(Args)]
pub struct InitArgs {
    /// The silo directory.
    pub dir: PathBuf,
}

/// `silo add`.
#[derive(Args)]
pub struct AddArgs {
    /// The silo directory.
    pub dir: PathBuf,
    /// Files to add.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// `silo cat`.
#[derive(Args)]
pub struct CatArgs {
    /// The silo directory, or its URL (http:// or https://).
    #[arg(value_name = "SILO")]
    pub dir: String,
    /// The blob id, or a unique prefix of at least 4 hex digits; or
    /// `ID:PATH`, the member PATH of the zip or tar ID. `--batch` takes
    /// either form, a line each.
    #[arg(required_unless_present = "batch", value_name = "ID[:PATH]")]
    pub id: Option<String>,
    /// Read ids (or prefixes) from stdin, one a line, and print each as
    /// `git cat-file --batch` does: `<id> blob <size>`, the content, a
    /// newline; `<input> missing` for an id the silo lacks. One process
    /// reads them all, so delta bases stay cached between objects.
    /// Each answer is flushed whole, so a caller may ask for one id at
    /// a time; a repack or gc running meanwhile never makes a present
    /// object `missing` (the packs are rescanned after a miss).
    #[arg(long, conflicts_with = "id")]
    pub batch: bool,
    /// Memory to plan for (bytes, or with K, M, G): packed objects
    /// larger than an eighth of it are streamed through their delta
    /// chains (bases in tmp/ files) and hashed on the way, not rebuilt in
    /// memory; a damaged one is then reported after part of it was written.
    #[arg(long, default_value_t = Size(repack::DEFAULT_MEMORY))]
    pub memory: Size,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// `silo mirror`.
#[derive(Args)]
pub struct MirrorArgs {
    /// The remote silo (http:// or https://).
    pub url: String,
    /// The local silo.
    pub dir: PathBuf,
    /// Wait for silo.lock instead of failing when it is held.
    #[arg(long)]
    pub wait: bool,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// `silo update-server-info`.
#[derive(Args)]
pub struct UpdateServerInfoArgs {
    /// The silo directory.
    pub dir: PathBuf,
}

/// `silo ls`.
#[derive(Args)]
pub struct LsArgs {
    /// The silo directory, its URL (http:// or https://) or bucket (s3://).
    #[arg(value_name = "SILO")]
    pub dir: String,
    /// The archive's blob id, or a unique prefix of at least 4 hex digits.
    pub id: String,
    /// Print a JSON array of `{"path", "kind", "size", "id"}`.
    #[arg(long)]
    pub json: bool,
    /// Memory to plan for (bytes, or with K, M, G): the most of any one
    /// member, recipe or zip held in memory; a member that inflates past
    /// it is refused, named.
    #[arg(long, default_value_t = Size(repack::DEFAULT_MEMORY))]
    pub memory: Size,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// `silo serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// The silo directory, its URL (http:// or https://) or bucket (s3://).
    #[arg(value_name = "SILO")]
    pub dir: String,
    /// The address to listen on (port 0: any free port, printed).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: String,
    /// Memory to plan for (bytes, or with K, M, G), as for `cat`.
    #[arg(long, default_value_t = Size(repack::DEFAULT_MEMORY))]
    pub memory: Size,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// `silo verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// The silo directory.
    pub dir: PathBuf,
    /// Report packed objects larger than this many bytes as problems
    /// instead of rebuilding them (a hostile pack can announce any size).
    #[arg(long, default_value_t = trees_pack::delta::apply::DEFAULT_RESULT_LIMIT)]
    pub max_object_size: u64,
    /// Memory to plan for (bytes, or with K, M, G): packed objects larger
    /// than an eighth of it are streamed through their delta chains and
    /// hashed on the way, not rebuilt in memory.
    #[arg(long, default_value_t = Size(repack::DEFAULT_MEMORY))]
    pub memory: Size,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `silo du`.
#[derive(Args)]
pub struct DuArgs {
    /// The silo directory.
    pub dir: PathBuf,
    /// Print the figures as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `silo repack`.
#[derive(Args)]
pub struct RepackArgs {
    /// The silo directory.
    pub dir: PathBuf,
    /// Longest delta chain.
    #[arg(long, default_value_t = repack::Options::default().max_depth)]
    pub max_depth: usize,
    /// Which object of each family of related objects is stored whole.
    /// `largest` (releases grow: usually the newest; deltas delete) or
    /// `smallest` (deltas insert).
    #[arg(long, default_value_t = repack::Options::default().root)]
    pub root: repack::Root,
    /// zlib level of pack entries, 1 (fastest) to 12 (smallest).
    #[arg(long, default_value_t = repack::DEFAULT_LEVEL, value_parser = clap::value_parser!(u8).range(1..=12))]
    pub level: u8,
    /// Print the plan (each object, its base, its depth, bytes shared; the
    /// packs copied, kept and replaced) and change nothing. It is the plan
    /// the same command without --dry-run runs: incremental unless --full.
    #[arg(long)]
    pub dry_run: bool,
    /// Read, relate and re-encode every object into new packs (one per
    /// family, one for lone objects) that replace every pack, instead of
    /// packing only the loose objects against the packed ones.
    #[arg(long)]
    pub full: bool,
    /// How much a nightly may rewrite to keep a new release in its
    /// family's pack, as a multiple of the new objects' loose bytes: the
    /// family's pack is copied (with the new deltas appended) only while
    /// that writes at most this much; beyond it the new release is stored
    /// whole and starts a new pack of its family. `inf`: always copy (the
    /// smallest silo, the largest nightly writes).
    #[arg(long, default_value_t = repack::DEFAULT_WRITE_FACTOR)]
    pub write_factor: f64,
    /// Memory to plan for (bytes, or with K, M, G): objects larger than
    /// an eighth of it are inflated to files in tmp/ and handled a window
    /// at a time (fingerprinted, diffed, compressed as they stream with
    /// zlib level 6 or --level if lower, read back by streaming), instead
    /// of held in memory.
    #[arg(long, default_value_t = Size(repack::DEFAULT_MEMORY))]
    pub memory: Size,
    /// Chunk tars like any other data, without cutting at their members
    /// (to measure what tar-aware chunking gains).
    #[arg(long)]
    pub plain_chunks: bool,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Wait for silo.lock instead of failing when another repack holds it.
    #[arg(long)]
    pub wait: bool,
    /// A HINTS.json file (repeatable): `related` hints join each other's
    /// candidate bases; every `have`/`want` pair gets its client deltas in
    /// derived/deltas/ (`<have>..<want>.pack`, `.vcdiff`, `.patch.zst`,
    /// `.patch.lzma`, `.delta.xz` and a `.json` listing them, smallest
    /// first). Pairs whose `.json` exists already are kept.
    #[arg(long = "hints", value_name = "FILE")]
    pub hints: Vec<PathBuf>,
    /// A medo directory (repeatable): every HINTS.json under it is read as with --hints.
    #[arg(long = "medo", value_name = "DIR")]
    pub medo: Vec<PathBuf>,
    /// Client delta formats to make, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = derived::Format::DEFAULT)]
    pub formats: Vec<derived::Format>,
    /// Make the client deltas again even where they exist.
    #[arg(long)]
    pub rederive: bool,
    /// Which compressed files to store split, comma-separated: `gzip`
    /// (.tar.gz, .tgz, .crate), `xz` (.tar.xz), `zstd` (.tar.zst), `ar`
    /// (.deb), or `none`. A split file is kept as its contents (which delta
    /// against their relatives) and a recipe; reading it re-makes its
    /// compression, which for xz costs what `xz` costs (about 12 s for a
    /// 5 MB .tar.xz here). A file whose contents relate to nothing is
    /// stored whole anyway. Records already packed are kept.
    #[arg(long, value_delimiter = ',', default_values_t = SplitFormat::ALL)]
    pub split: Vec<SplitFormat>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `silo apply`.
#[derive(Args)]
pub struct ApplyArgs {
    /// The blob you have.
    pub have: PathBuf,
    /// The derived file.
    pub patch: PathBuf,
    /// Where to write the blob (default: stdout).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Refuse results larger than this many bytes (the manifest beside
    /// PATCH, `<have>..<want>.json`, bounds it further when present).
    #[arg(long, default_value_t = trees_pack::delta::apply::DEFAULT_RESULT_LIMIT)]
    pub max_size: u64,
}

/// `silo gc`.
#[derive(Args)]
pub struct GcArgs {
    /// The silo directory.
    pub dir: PathBuf,
    /// The live blob ids, one a line (`medo reachable DIR... > FILE`); `-` for stdin.
    #[arg(long)]
    pub reachable: PathBuf,
    /// Keep anything younger than this: 0, or a number with s, m, h or d.
    #[arg(long, default_value_t = Age(gc::Options::default().grace))]
    pub grace: Age,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Wait for silo.lock instead of failing when another repack or gc holds it.
    #[arg(long)]
    pub wait: bool,
    /// Memory to plan for when rewriting packs, as `silo repack --memory`.
    #[arg(long, default_value_t = Size(repack::DEFAULT_MEMORY))]
    pub memory: Size,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// How to reach a silo served over HTTP.
#[derive(clap::Args, Clone)]
pub struct RemoteArgs {
    /// Where `silo cat URL` caches idx files (and whole packs from servers
    /// that ignore Range) [default: $TREES_CACHE, else
    /// $XDG_CACHE_HOME/trees, else ~/.cache/trees].
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Seconds to wait for a connection, and for each read of an answer
    /// [default: $TREES_HTTP_TIMEOUT, else the library's].
    #[arg(long, value_name = "SECS", help = format!(
        "Seconds to wait for a connection, and for each read of an answer \
         [default: $TREES_HTTP_TIMEOUT, else {}]",
        trees_remote::http::DEFAULT_TIMEOUT_SECS
    ))]
    pub timeout: Option<u64>,
    /// Failed attempts allowed after the first, per request.
    #[arg(long, value_name = "N", help = format!(
        "Failed attempts allowed after the first, per request. A retry \
         resumes with Range; an attempt that moved the transfer at least \
         {} KiB past its furthest point is not counted \
         [default: $TREES_HTTP_RETRIES, else {}]",
        trees_remote::http::MIN_PROGRESS >> 10,
        trees_remote::http::DEFAULT_RETRIES
    ))]
    pub retries: Option<u32>,
    /// Print what was transferred to stderr as one JSON line:
    /// requests, bytes received, retries.
    #[arg(long)]
    pub stats: bool,
}

/// A container `--split` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SplitFormat {
    /// gzip files (record format 1).
    Gzip,
    /// xz files (format 2).
    Xz,
    /// zstd files (format 3).
    Zstd,
    /// `ar` archives: .deb (format 4).
    Ar,
    /// zip archives: wheels, .jar (format 6), each member by itself.
    Zip,
    /// Split nothing new.
    None,
}

impl SplitFormat {
    /// Every container.
    pub const ALL: [SplitFormat; 5] = [
        SplitFormat::Gzip,
        SplitFormat::Xz,
        SplitFormat::Zstd,
        SplitFormat::Ar,
        SplitFormat::Zip,
    ];

    /// The record formats of `list`.
    pub fn formats(list: &[SplitFormat]) -> Vec<u8> {
        list.iter()
            .filter_map(|f| match f {
                SplitFormat::Gzip => Some(1),
                SplitFormat::Xz => Some(2),
                SplitFormat::Zstd => Some(3),
                SplitFormat::Ar => Some(4),
                SplitFormat::Zip => Some(6),
                SplitFormat::None => None,
            })
            .collect()
    }
}

impl std::fmt::Display for SplitFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use clap::ValueEnum;
        let v = self.to_possible_value().ok_or(std::fmt::Error)?;
        f.write_str(v.get_name())
    }
}
