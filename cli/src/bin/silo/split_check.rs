//! `silo split-check`: would these compressed files (gzip, xz, zstd, `.deb`)
//! be stored split, and at what cost?

use std::io::{self, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;
use trees_split::analyse::{self, Limits};

use crate::args::SplitCheckArgs;
use crate::exit::Status;

/// What `split-check` found for one file.
#[derive(Debug, Serialize)]
pub struct Report {
    file: PathBuf,
    /// `gzip`, `xz`, `zstd` or `ar`.
    format: &'static str,
    split: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    members: usize,
    chunks: usize,
    /// How many contents (blobs) it becomes.
    contents: usize,
    /// A gzip file's recipe format (1 or 5).
    #[serde(skip_serializing_if = "Option::is_none")]
    recipe_format: Option<u8>,
    /// The encoder model of each member's stream (format 5).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    models: Vec<String>,
    /// The file's bytes (named for the first format split).
    gzip_bytes: u64,
    content_bytes: u64,
    recipe_bytes: u64,
    seconds_analyse: f64,
    seconds_rebuild: f64,
}

/// `silo split-check FILE...`: one report a file, as text or JSON lines.
pub fn run(a: &SplitCheckArgs, out: &mut dyn Write) -> Result<Status> {
    let mut limits = Limits::for_memory(a.memory.0);
    if let Some(c) = a.chunk {
        limits.chunk = usize::try_from(c.0)
            .unwrap_or(usize::MAX)
            .clamp(64 << 10, 64 << 20);
        limits.feed = limits.feed.max(2 * limits.chunk);
    }
    for f in &a.files {
        let r = check(f, limits, a.memory.0, a.recipe_format)?;
        if a.json {
            serde_json::to_writer(&mut *out, &r)?;
            writeln!(out)?;
        } else {
            print(out, &r)?;
        }
        out.flush()?;
    }
    Ok(Status::Ok)
}

/// Splits `file` (content to a temporary file), rebuilds it, compares;
/// decoders and encoders of xz and zstd are bounded by `memory`, as in repack.
pub fn check(file: &Path, limits: Limits, memory: u64, recipe_format: u8) -> Result<Report> {
    let gzip_bytes = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    let mut report = Report {
        file: file.to_owned(),
        format: "gzip",
        split: false,
        reason: None,
        members: 0,
        chunks: 0,
        contents: 0,
        recipe_format: None,
        models: Vec::new(),
        gzip_bytes,
        content_bytes: 0,
        recipe_bytes: 0,
        seconds_analyse: 0.0,
        seconds_rebuild: 0.0,
    };
    let open = || -> Result<BufReader<std::fs::File>> {
        Ok(BufReader::with_capacity(
            1 << 20,
            std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?,
        ))
    };
    let mut head = [0u8; 8];
    let got = io::Read::read(&mut open()?, &mut head)?;
    if let Some(format) = trees_split::container::sniff(&head[..got]) {
        return check_container(file, format, memory, report);
    }
    let mut content = tempfile::tempfile().context("cannot make a temporary file")?;
    let t = Instant::now();
    let recipe = {
        let mut w = io::BufWriter::with_capacity(1 << 20, &mut content);
        let r = analyse::split_as(&mut open()?, &mut w, limits, recipe_format);
        w.flush()?;
        r
    };
    report.seconds_analyse = t.elapsed().as_secs_f64();
    let recipe = match recipe {
        Ok(r) => r,
        Err(analyse::Error::Refused(why)) => {
            report.reason = Some(why.to_string());
            return Ok(report);
        }
        Err(e) => return Err(e).with_context(|| format!("cannot split {}", file.display())),
    };
    report.members = recipe.members.len();
    report.contents = 1;
    report.recipe_format = Some(recipe.format);
    report.models = recipe.models();
    report.chunks = recipe.members.iter().map(|m| m.chunks.len()).sum();
    report.content_bytes = recipe.content_len();
    report.recipe_bytes = recipe.encode().len() as u64;
    use std::io::Seek;
    content.seek(io::SeekFrom::Start(0))?;
    let t = Instant::now();
    let mut same = Compare {
        original: open()?,
        differs: false,
    };
    let rebuilt = trees_split::rebuild::rebuild(
        &recipe,
        &mut BufReader::with_capacity(1 << 20, content),
        &mut same,
    );
    report.seconds_rebuild = t.elapsed().as_secs_f64();
    let mut rest = [0u8; 1];
    let longer = io::Read::read(&mut same.original, &mut rest)? != 0;
    match rebuilt {
        Err(e) => report.reason = Some(format!("the rebuild failed: {e}")),
        Ok(_) if same.differs || longer => {
            report.reason = Some("the rebuild gave other bytes".to_owned())
        }
        Ok(_) => report.split = true,
    }
    Ok(report)
}

/// Contents back to back in one temporary file.
struct FileContents {
    file: std::fs::File,
    starts: Vec<u64>,
}

impl Write for FileContents {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl trees_split::container::Contents for FileContents {
    fn start(&mut self) -> io::Result<()> {
        use std::io::Seek;
        self.starts.push(self.file.stream_position()?);
        Ok(())
    }
    fn abandon(&mut self) -> io::Result<()> {
        use std::io::Seek;
        if let Some(at) = self.starts.pop() {
            self.file.set_len(at)?;
            self.file.seek(io::SeekFrom::Start(at))?;
        }
        Ok(())
    }
}

/// The xz, zstd, `ar` or zip path: the file read whole (as repack maps
/// it), split, rebuilt from its contents and compared.
fn check_container(file: &Path, format: u8, memory: u64, mut report: Report) -> Result<Report> {
    use trees_split::container;
    use trees_split::pieces::{FORMAT_AR, FORMAT_XZ, FORMAT_ZIP};
    report.format = match format {
        FORMAT_XZ => "xz",
        FORMAT_AR => "ar",
        FORMAT_ZIP => "zip",
        _ => "zstd",
    };
    let x = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut contents = FileContents {
        file: tempfile::tempfile().context("cannot make a temporary file")?,
        starts: Vec::new(),
    };
    let t = Instant::now();
    let recipe = container::split(&x, &mut contents, memory);
    report.seconds_analyse = t.elapsed().as_secs_f64();
    let recipe = match recipe {
        Ok(r) => r,
        Err(container::Error::Refused(why)) => {
            report.reason = Some(why.to_string());
            return Ok(report);
        }
        Err(e) => return Err(e).with_context(|| format!("cannot split {}", file.display())),
    };
    report.members = recipe.pieces.len();
    report.contents = recipe.contents.len();
    report.content_bytes = recipe.content_len();
    report.recipe_bytes = recipe.encode().len() as u64;
    use std::io::Seek;
    let mut content = contents.file;
    content.seek(io::SeekFrom::Start(0))?;
    let t = Instant::now();
    let mut same = Compare {
        original: &x[..],
        differs: false,
    };
    let any = trees_split::any::AnyRecipe::Pieces(recipe);
    let rebuilt = any.rebuild(
        &mut BufReader::with_capacity(1 << 20, content),
        &mut same,
        memory,
    );
    report.seconds_rebuild = t.elapsed().as_secs_f64();
    match rebuilt {
        Err(e) => report.reason = Some(format!("the rebuild failed: {e}")),
        Ok(_) if same.differs || !same.original.is_empty() => {
            report.reason = Some("the rebuild gave other bytes".to_owned())
        }
        Ok(_) => report.split = true,
    }
    Ok(report)
}

/// Compares what is written with the original, byte for byte.
struct Compare<R: io::Read> {
    original: R,
    differs: bool,
}

impl<R: io::Read> Write for Compare<R> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut want = vec![0u8; buf.len()];
        match self.original.read_exact(&mut want) {
            Ok(()) if want == buf => {}
            _ => self.differs = true,
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Prints one report as a line of text.
pub fn print(out: &mut dyn Write, r: &Report) -> io::Result<()> {
    if r.split {
        writeln!(
            out,
            "split  {}  {}{}, {} members, {} chunks, {} contents: {} bytes = content {} + recipe {} ({:.3}% of the file); analyse {:.2} s, rebuild {:.2} s",
            r.file.display(),
            r.format,
            match (r.recipe_format, r.models.is_empty()) {
                (Some(f), true) => format!(" (recipe format {f})"),
                (Some(f), false) => format!(" (recipe format {f}: {})", r.models.join(", ")),
                (None, _) => String::new(),
            },
            r.members,
            r.chunks,
            r.contents,
            r.gzip_bytes,
            r.content_bytes,
            r.recipe_bytes,
            100.0 * r.recipe_bytes as f64 / r.gzip_bytes.max(1) as f64,
            r.seconds_analyse,
            r.seconds_rebuild
        )
    } else {
        writeln!(
            out,
            "whole  {}  {}",
            r.file.display(),
            r.reason.as_deref().unwrap_or("")
        )
    }
}
