//! `silo verify`: every loose object re-hashed, every pack checked whole.

use rayon::prelude::*;
use serde::Serialize;
use trees_pack::Bundle;

use crate::progress::{Progress, Unit};
use crate::{Silo, loose, store};

/// What verification found.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// Loose objects checked.
    pub loose_objects: u64,
    /// Packs checked.
    pub packs: u64,
    /// Packed objects checked.
    pub packed_objects: u64,
    /// Objects stored split (records of `pack/*.split`), each rebuilt and checked.
    pub split_objects: u64,
    /// Derived files applied and checked (`derived/deltas/`).
    pub derived_files: u64,
    /// `.pack` files without an `.idx` (left by an interrupted repack; harmless).
    pub orphan_packs: Vec<String>,
    /// The multi-pack-index: absent, up to date, stale (harmless: the next
    /// repack or gc rewrites it) or damaged.
    pub multi_pack_index: crate::multi_index::State,
    /// Everything wrong, each naming the file and the object.
    pub problems: Vec<String>,
}

impl Report {
    /// True if nothing is wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks the whole silo. Only listing its directories can fail outright;
/// everything else wrong is a problem in the report.
pub fn verify(silo: &Silo, progress: &dyn Progress) -> Result<Report, store::ReadError> {
    verify_with_limit(
        silo,
        progress,
        trees_pack::delta::apply::DEFAULT_RESULT_LIMIT,
    )
}

/// [`verify`], reporting packed objects larger than `max_object` bytes as
/// problems instead of rebuilding them (a hostile pack can announce, or
/// rebuild through deltas, objects of any size).
pub fn verify_with_limit(
    silo: &Silo,
    progress: &dyn Progress,
    max_object: u64,
) -> Result<Report, store::ReadError> {
    let mut report = Report::default();
    let files = silo.loose_files()?;
    progress.stage("checking loose objects", files.len() as u64, Unit::Objects);
    let loose_problems: Vec<String> = files
        .par_iter()
        .filter_map(|(path, id)| {
            let r = match id {
                None => Some(format!("{}: not a loose object name", path.display())),
                // A file that a repack or gc removed since the listing is
                // not a problem: it is packed, or unreachable.
                Some(id) => match loose::open(path) {
                    Ok(Some(f)) => loose::read_file(&f, path, id, &mut std::io::sink())
                        .err()
                        .map(|e| trees_pack::error_chain(&e)),
                    Ok(None) => None,
                    Err(e) => Some(trees_pack::error_chain(&e)),
                },
            };
            progress.advance(1);
            r
        })
        .collect();
    report.loose_objects = files.iter().filter(|(_, id)| id.is_some()).count() as u64;
    report.problems.extend(loose_problems);

    for entry in store::read_dir_sorted(&silo.pack_dir())? {
        let is_pack = entry.extension().is_some_and(|e| e == "pack");
        let is_table = entry
            .extension()
            .is_some_and(|e| e == trees_split::table::EXTENSION);
        if (is_pack || is_table) && !entry.with_extension("idx").exists() {
            report.orphan_packs.push(entry.display().to_string());
        }
    }
    for idx in silo.pack_indexes()? {
        // Opened unchecked: a pack that does not match its idx is reported
        // below, object by object, instead of as one unreadable file.
        let mut bundle = match Bundle::open_unchecked(&idx, &idx.with_extension("pack")) {
            Ok(b) => b,
            // Removed since the listing by a gc or repack that replaced it.
            Err(_) if !idx.is_file() => continue,
            Err(e) => {
                report.packs += 1;
                report.problems.push(trees_pack::error_chain(&e));
                continue;
            }
        };
        report.packs += 1;
        bundle.set_object_limit(max_object);
        progress.stage(
            &format!("checking {}", file_name(&idx)),
            u64::from(bundle.index.count()),
            Unit::Objects,
        );
        let mut last = 0;
        let tmp = silo.tmp_dir();
        let problems = bundle.verify_with(
            &mut |n| {
                progress.advance(u64::from(n - last));
                last = n;
            },
            Some((silo.stream_above(), &tmp)),
        );
        report.packed_objects += u64::from(bundle.index.count());
        // Every problem names the pack or the idx, and the object if it is about one.
        report
            .problems
            .extend(problems.iter().map(ToString::to_string));
        check_records(silo, &idx, bundle, &mut report, progress);
    }
    let (state, problems) = crate::multi_index::check(silo)?;
    report.multi_pack_index = state;
    report.problems.extend(problems);
    // Derived files are applied to their have, which must be readable; a
    // pack too damaged to open was reported above.
    progress.stage("checking derived files", 0, Unit::Objects);
    let (n, problems) = crate::derived::verify(silo)?;
    report.derived_files = n;
    report.problems.extend(problems);
    Ok(report)
}

/// Checks the record table of the pack `idx` (if it has one): its format,
/// that it belongs to the pack, and every record, by rebuilding its object
/// and checking the id.
fn check_records(
    silo: &Silo,
    idx: &std::path::Path,
    bundle: Bundle,
    report: &mut Report,
    progress: &dyn Progress,
) {
    let table = match crate::packs::read_table(idx) {
        Ok(Some(t)) => t,
        Ok(None) => return,
        Err(e) => {
            report.problems.push(trees_pack::error_chain(&e));
            return;
        }
    };
    let path = idx.with_extension(trees_split::table::EXTENSION);
    if *table.pack() != bundle.index.pack_checksum() {
        report.problems.push(format!(
            "record table {}: it belongs to pack {}, not to the pack beside it",
            path.display(),
            table.pack()
        ));
        return;
    }
    progress.stage(
        &format!("rebuilding the split objects of {}", file_name(idx)),
        table.records().len() as u64,
        Unit::Objects,
    );
    let bundle = std::sync::Arc::new(bundle);
    let problems: Vec<String> = table
        .records()
        .par_iter()
        .filter_map(|r| {
            let found = crate::split::Found {
                bundle: std::sync::Arc::clone(&bundle),
                record: r.clone(),
            };
            let res = found.read(silo, &mut std::io::sink());
            progress.advance(1);
            res.err().map(|e| trees_pack::error_chain(&e))
        })
        .collect();
    report.split_objects += table.records().len() as u64;
    report.problems.extend(problems);
}

fn file_name(p: &std::path::Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
