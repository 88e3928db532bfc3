//! `silo init`, `add`, `verify` and `du`: a local silo's own commands.

use std::io::Write;

use anyhow::{Context, Result};
use trees_silo::{du, verify};

use crate::args::{AddArgs, DuArgs, InitArgs, VerifyArgs};
use crate::exit::Status;
use crate::{open, progress};

/// `silo init DIR`.
pub fn init(a: &InitArgs, out: &mut dyn Write) -> Result<Status> {
    crate::place::open(&a.dir, true)?;
    writeln!(out, "initialized silo {}", a.dir.display())?;
    Ok(Status::Ok)
}

/// `silo add DIR FILE...`.
pub fn add(a: &AddArgs, out: &mut dyn Write) -> Result<Status> {
    let silo = open(&a.dir)?;
    for f in &a.files {
        let (id, _) = silo
            .add_file(f)
            .with_context(|| format!("cannot add {}", f.display()))?;
        writeln!(out, "{id}  {}", f.display())?;
    }
    Ok(Status::Ok)
}

/// `silo verify DIR`.
pub fn verify(a: &VerifyArgs, out: &mut dyn Write) -> Result<Status> {
    let silo = open(&a.dir)?.with_memory(a.memory.0);
    let bar = progress::Bar::new();
    let report = verify::verify_with_limit(&silo, &bar, a.max_object_size)?;
    bar.finish();
    if a.json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
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
        if report.multi_pack_index == trees_silo::multi_index::State::Stale {
            eprintln!(
                "silo: note: pack/multi-pack-index is stale (left by an interrupted repack or gc; \
                 readers do without it, and the next repack or gc writes it anew)"
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
    Ok(if report.ok() {
        Status::Ok
    } else {
        Status::CheckFailed
    })
}

/// `silo du DIR`.
pub fn du(a: &DuArgs, out: &mut dyn Write) -> Result<Status> {
    let silo = open(&a.dir)?;
    let u = du::usage(&silo)?;
    let layout = trees_silo::families::layout(&silo)?;
    if a.json {
        let mut v = serde_json::to_value(u)?;
        v["packs"] = serde_json::json!(layout.packs);
        v["families"] = serde_json::json!(layout.families);
        v["lone_objects"] = serde_json::json!(layout.lone);
        v["multi_pack_index"] = serde_json::json!(layout.multi_pack_index);
        serde_json::to_writer_pretty(&mut *out, &v)?;
        writeln!(out)?;
        return Ok(Status::Ok);
    }
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
    writeln!(
        out,
        "{} packs: {} families, {} lone objects; multi-pack-index {}",
        layout.packs,
        layout.families,
        layout.lone,
        if layout.packs < 2 {
            "not needed (fewer than two packs)"
        } else if layout.multi_pack_index {
            "up to date"
        } else {
            "missing or stale"
        }
    )?;
    Ok(Status::Ok)
}
