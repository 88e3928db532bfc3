//! `silo cat URL`, `silo mirror` and `silo update-server-info`: the HTTP side.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result};
use trees_remote::{self as remote, Remote, mirror};
use trees_silo::{du, listing};

use super::progress;
use crate::args::{MirrorArgs, RemoteArgs};
use crate::exit::Status;

impl RemoteArgs {
    fn options(&self) -> remote::Options {
        let mut o = remote::Options::default();
        if let Some(c) = &self.cache {
            o.cache = c.clone();
        }
        if let Some(t) = self.timeout {
            o.http.timeout = Duration::from_secs(t.max(1));
        }
        if let Some(r) = self.retries {
            o.http.retries = r;
        }
        o
    }

    /// The remote silo at `url`.
    pub fn open(&self, url: &str) -> Remote {
        Remote::new(url, self.options())
    }

    /// Prints notes, and the transfer as JSON if asked.
    pub fn report(&self, r: &Remote) {
        for n in r.notes() {
            eprintln!("silo: note: {n}");
        }
        if self.stats {
            let s = r.stats();
            eprintln!(
                "{}",
                serde_json::json!({
                    "requests": s.requests(),
                    "received_bytes": s.bytes(),
                    "retries": s.retries(),
                })
            );
        }
    }
}

/// `silo mirror URL DIR`.
pub fn mirror(a: &MirrorArgs, out: &mut dyn Write) -> Result<Status> {
    let (args, url, dir, wait, json) = (&a.remote, a.url.as_str(), a.dir.as_path(), a.wait, a.json);
    let opened = crate::place::open(dir, true)?;
    let silo = opened.silo;
    let r = args.open(url);
    let bar = progress::Bar::new();
    let result = mirror::mirror(&r, &silo, wait, &bar);
    bar.finish();
    args.report(&r);
    let o = result.with_context(|| {
        format!(
            "cannot mirror {url} into {} (run the command again to resume)",
            dir.display()
        )
    })?;
    if json {
        serde_json::to_writer_pretty(&mut *out, &o)?;
        writeln!(out)?;
    } else {
        for (what, c) in [
            ("packs", &o.packs),
            ("loose objects", &o.loose),
            ("derived files", &o.derived),
        ] {
            writeln!(
                out,
                "{what}: {} copied ({}), {} already there",
                c.copied,
                du::si(c.bytes),
                c.present
            )?;
        }
        if o.packs_removed > 0 {
            writeln!(
                out,
                "packs: {} removed, replaced upstream (every object of theirs is in a pack copied now)",
                o.packs_removed
            )?;
        }
        if o.resumed_bytes > 0 {
            writeln!(
                out,
                "resumed: {} fetched by an earlier run were kept",
                du::si(o.resumed_bytes)
            )?;
        }
        writeln!(
            out,
            "received {} in {} requests",
            du::si(o.received_bytes),
            o.requests
        )?;
    }
    for r in &o.refused {
        eprintln!("silo: bad: {r}");
    }
    Ok(if o.refused.is_empty() {
        Status::Ok
    } else {
        Status::CheckFailed
    })
}

/// `silo update-server-info DIR`.
pub fn update_server_info(dir: &std::path::Path, out: &mut dyn Write) -> Result<Status> {
    let opened = crate::place::open(dir, false)?;
    let silo = &opened.silo;
    // In a bucket the listing is swapped under the lock, so that it
    // cannot undo a repack's (a directory needs no lock: rename is atomic).
    let _lock = match opened.bucket {
        Some(_) => Some(silo.storage().lock(true)?),
        None => None,
    };
    let l = listing::write(silo)?;
    writeln!(
        out,
        "wrote {}: {} packs, {} loose objects, {} derived files",
        silo.root().join(listing::PATH).display(),
        l.packs.len(),
        l.loose.len(),
        l.derived.len()
    )?;
    Ok(Status::Ok)
}
