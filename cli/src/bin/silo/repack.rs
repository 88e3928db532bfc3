//! `silo repack`: the options from what was typed, the repack (or its
//! plan), the client deltas of the hints, and the report.

use std::io::Write;

use anyhow::Result;
use trees_silo::du;
use trees_silo::repack::{self, Outcome, plan::Plan};

use crate::args::RepackArgs;
use crate::exit::Status;
use crate::{derive, progress};

/// The repack options `a` asks for (every field is typed or has the
/// library's default in [`RepackArgs`]).
fn options(a: &RepackArgs, related: Vec<Vec<trees_pack::ObjectId>>) -> repack::Options {
    repack::Options {
        max_depth: a.max_depth,
        root: a.root,
        level: a.level,
        wait: a.wait,
        dry_run: a.dry_run,
        tar_aware: !a.plain_chunks,
        related,
        full: a.full,
        memory: a.memory.0,
        split: crate::args::SplitFormat::formats(&a.split),
        write_factor: a.write_factor,
    }
}

/// `silo repack DIR`.
pub fn run(a: RepackArgs, out: &mut dyn Write) -> Result<Status> {
    let opened = crate::place::open_on_demand(&a.dir)?;
    let silo = opened.silo.clone();
    let read = derive::read_hints(&a.hints, &a.medo)?;
    if let Some(n) = a.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()?;
    }
    let opts = options(&a, read.related);
    let bar = progress::Bar::new();
    let o = repack::repack(&silo, &opts, &bar)?;
    let made = if a.dry_run || read.pairs.is_empty() {
        Vec::new()
    } else {
        trees_silo::derive::make_all(&silo, &read.pairs, &a.formats, a.rederive, a.wait, &bar)?
    };
    bar.finish();
    let peak = progress::peak_rss_bytes();
    if a.json {
        let mut v = serde_json::to_value(&o)?;
        v["peak_rss_bytes"] = serde_json::json!(peak);
        v["transfer"] = crate::place::transfer(&opened);
        v["derived"] = serde_json::to_value(&made)?;
        serde_json::to_writer_pretty(&mut *out, &v)?;
        writeln!(out)?;
        return Ok(Status::Ok);
    }
    if let Some(plan) = &o.plan {
        print_plan(out, &o, plan)?;
    } else if o.pack.is_none() {
        writeln!(out, "nothing to repack: no loose objects")?;
        derive::print_made(out, &made)?;
    } else {
        print_outcome(out, &o)?;
        derive::print_made(out, &made)?;
        if let Some(peak) = peak {
            writeln!(out, "peak memory {} ({peak} bytes)", du::si(peak))?;
        }
    }
    Ok(Status::Ok)
}

fn print_plan(out: &mut dyn Write, o: &Outcome, plan: &Plan) -> Result<()> {
    writeln!(out, "mode        {}", plan.mode.name())?;
    writeln!(
        out,
        "{:<40}  {:>10}  {:<40}  {:>5}  {:>10}  {:>10}",
        "object", "size", "base", "depth", "shared", "estimate"
    )?;
    for e in &plan.entries {
        let base = match (e.base, e.base_packed) {
            (None, _) => "(whole)".to_owned(),
            (Some(b), false) => b.to_string(),
            (Some(b), true) => format!("{b} (packed)"),
        };
        writeln!(
            out,
            "{:<40}  {:>10}  {:<40}  {:>5}  {:>10}  {:>10}",
            e.id.to_string(),
            e.size,
            base,
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
    for (verb, packs) in [
        ("copy verbatim, then remove", &plan.copied_packs),
        ("re-encode, then remove", &plan.replaced_packs),
        ("keep", &plan.kept_packs),
    ] {
        for p in packs {
            writeln!(out, "{verb:<26}  {}", p.display())?;
        }
    }
    writeln!(
        out,
        "write {} new pack(s), then remove {} loose objects",
        plan.new_packs, plan.loose_removed
    )?;
    Ok(())
}

fn print_outcome(out: &mut dyn Write, o: &Outcome) -> Result<()> {
    let ratio = o.after_bytes as f64 / o.before_bytes.max(1) as f64;
    writeln!(out, "mode        {}", o.mode)?;
    writeln!(out, "objects     {}", o.objects)?;
    if o.mode == "incremental" {
        writeln!(
            out,
            "            {} new, {} copied from the packs of their families, {} packs kept",
            o.new_objects, o.reused_objects, o.packs_kept
        )?;
    }
    for (name, n) in [
        ("raw", o.raw_bytes),
        ("before", o.before_bytes),
        ("after", o.after_bytes),
    ] {
        writeln!(out, "{name:<11} {} ({n} bytes)", du::si(n))?;
    }
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
             whole: {} analysis failed, {} not smaller, {} over the memory bound",
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
        writeln!(
            out,
            "written     {} pack(s), {} ({} bytes)",
            o.packs_written,
            du::si(o.bytes_written),
            o.bytes_written
        )?;
        writeln!(out, "pack        {}", p.display())?;
    }
    writeln!(out, "wall time   {:.2} s", o.seconds)?;
    Ok(())
}
