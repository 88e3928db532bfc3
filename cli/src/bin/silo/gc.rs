//! `silo gc`: the reachable set, the options from what was typed, the
//! collection (or its plan), and the report.

use std::io::{self, Write};

use anyhow::{Context, Result};
use trees_silo::{du, gc, repack};

use crate::args::GcArgs;
use crate::exit::Status;
use crate::progress;

/// The gc options `a` asks for, from the libraries' defaults.
fn options(a: &GcArgs) -> gc::Options {
    gc::Options {
        grace: a.grace.0,
        dry_run: a.dry_run,
        wait: a.wait,
        repack: repack::Options {
            memory: a.memory.0,
            ..repack::Options::default()
        },
    }
}

/// `silo gc DIR --reachable FILE`.
pub fn run(a: &GcArgs, out: &mut dyn Write) -> Result<Status> {
    let opened = crate::place::open_on_demand(&a.dir)?;
    let silo = opened.silo.clone();
    let name = a.reachable.display().to_string();
    let text = if name == "-" {
        io::read_to_string(io::stdin()).context("cannot read the reachable set from stdin")?
    } else {
        std::fs::read_to_string(&a.reachable)
            .with_context(|| format!("cannot read the reachable set {name}"))?
    };
    let set = gc::parse_reachable(&name, &text)?;
    let bar = progress::Bar::new();
    let o = gc::gc(&silo, &set, &options(a), &bar)?;
    bar.finish();
    let peak = progress::peak_rss_bytes();
    if a.json {
        let mut v = serde_json::to_value(&o)?;
        v["peak_rss_bytes"] = serde_json::json!(peak);
        v["transfer"] = crate::place::transfer(&opened);
        serde_json::to_writer_pretty(&mut *out, &v)?;
        writeln!(out)?;
        return Ok(Status::Ok);
    }
    let p = &o.plan;
    let verb = if a.dry_run { "would delete" } else { "deleted" };
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
        let verb = if a.dry_run {
            "would rewrite"
        } else {
            "rewrote"
        };
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
    if !a.dry_run {
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
    Ok(Status::Ok)
}
