//! `silo cat`: one object, or `--batch` as `git cat-file --batch` prints,
//! from a local silo or one served over HTTP. One loop serves both: each
//! kind of silo is a [`Source`]; `silo ls` lists an archive's members.

use std::io::{self, Write};

use anyhow::{Context, Result};

use crate::args::{CatArgs, LsArgs};
use crate::exit::Status;
use crate::source::{Source, on_source};

/// `silo cat SILO ID`, `silo cat SILO ID:PATH` and `silo cat SILO --batch`.
pub fn run(a: &CatArgs, out: &mut dyn Write) -> Result<Status> {
    on_source(&a.dir, &a.remote, a.memory.0, &mut |source| {
        cat(source, a, out)
    })?;
    out.flush()?;
    Ok(Status::Ok)
}

/// `silo ls SILO ID`.
pub fn ls(a: &LsArgs, out: &mut dyn Write) -> Result<Status> {
    on_source(&a.dir, &a.remote, a.memory.0, &mut |source| {
        let id = source.resolve(&a.id)??;
        let members = crate::member::list(source, &id, a.memory.0)
            .with_context(|| format!("cannot list {}", a.id))?;
        if a.json {
            serde_json::to_writer_pretty(&mut *out, &members)?;
            writeln!(out)?;
        } else {
            for m in &members {
                let id = m.id.map_or_else(|| "-".repeat(40), |id| id.to_string());
                writeln!(out, "{id} {:>7} {:>10} {}", m.kind, m.size, m.path)?;
            }
        }
        Ok(())
    })?;
    out.flush()?;
    Ok(Status::Ok)
}

fn cat(source: &dyn Source, a: &CatArgs, out: &mut dyn Write) -> Result<()> {
    if a.batch {
        return batch(source, a.memory.0, out);
    }
    let input = a.id.as_deref().context("an id is needed without --batch")?;
    if let Some((object, path)) = input.split_once(':') {
        let mut read = || -> Result<()> {
            let id = source.resolve(object)??;
            out.write_all(&crate::member::member(source, &id, path, a.memory.0)?)?;
            Ok(())
        };
        return read().with_context(|| format!("cannot read {path:?} of {object}"));
    }
    let mut read = || -> Result<()> {
        let id = source.resolve(input)??;
        source.open(&id)??.write_to(out)?;
        Ok(())
    };
    read().with_context(|| format!("cannot read object {input}"))
}

/// Ids on stdin, `git cat-file --batch` output.
fn batch(source: &dyn Source, limit: u64, out: &mut dyn Write) -> Result<()> {
    let mut buf = Vec::new();
    for line in io::stdin().lines() {
        let line = line.context("cannot read ids from stdin")?;
        let input = line.trim();
        if input.is_empty() {
            continue;
        }
        if let Some((object, path)) = input.split_once(':') {
            // A member by path: read whole, named by its own blob id.
            let text = match source.resolve(object)? {
                Ok(id) => crate::member::member(source, &id, path, limit).ok(),
                Err(_) => None,
            };
            match text {
                Some(t) => {
                    let id = trees_pack::id::hash_object(trees_pack::id::Kind::Blob, &t)?;
                    writeln!(out, "{id} blob {}", t.len())?;
                    out.write_all(&t)?;
                    writeln!(out)?;
                }
                None => writeln!(out, "{input} missing")?,
            }
            out.flush()?;
            continue;
        }
        let found = match source.resolve(input)? {
            Ok(id) => source.open(&id)?.map(|o| (id, o)).ok(),
            Err(_) => None,
        };
        let Some((id, object)) = found else {
            writeln!(out, "{input} missing")?;
            out.flush()?;
            continue;
        };
        let size = object
            .size()
            .with_context(|| format!("cannot read object {id}"))?;
        if size > source.stream_above() {
            // Too large to buffer: the header, then the object as it streams.
            writeln!(out, "{id} blob {size}")?;
            object
                .write_to(out)
                .with_context(|| format!("cannot read object {id}"))?;
        } else {
            buf.clear();
            object
                .write_to(&mut buf)
                .with_context(|| format!("cannot read object {id}"))?;
            writeln!(out, "{id} blob {}", buf.len())?;
            out.write_all(&buf)?;
        }
        writeln!(out)?;
        // Each answer whole and at once, as git's cat-file --batch does
        // (without --buffer): a caller may wait for it before asking more.
        out.flush()?;
    }
    Ok(())
}
