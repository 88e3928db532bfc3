//! Opening the silo an argument names: a directory, or a bucket
//! (`s3://BUCKET/PREFIX`) through its local replica. A URL is never taken
//! as a path ([`trees_remote::place`]).

use std::path::Path;

use anyhow::Result;
use trees_remote::place::{Opened, Place};

/// Bytes moved to and from the bucket, for `--json` reports (`null` for a
/// directory).
pub fn transfer(opened: &Opened) -> serde_json::Value {
    match &opened.bucket {
        None => serde_json::Value::Null,
        Some(b) => {
            let t = b.client().traffic();
            serde_json::json!({
                "uploaded_bytes": t.uploaded(),
                "downloaded_bytes": t.downloaded(),
                "downloaded_by_kind": t.downloaded_by_kind(),
                "requests": t.requests(),
            })
        }
    }
}

/// What `arg` names, refusing schemes that we do not serve.
pub fn place(arg: &Path) -> Result<Place> {
    match arg.to_str() {
        Some(s) => Ok(Place::parse(s)?),
        None => Ok(Place::Dir(arg.to_owned())),
    }
}

/// Opens (with `create`, makes first) the silo `arg` names; a bucket's
/// replica is kept under the cache directory (`$TREES_CACHE`).
pub fn open(arg: &Path, create: bool) -> Result<Opened> {
    Ok(place(arg)?.open(create, &trees_remote::Options::default_cache())?)
}

/// Opens the silo `arg` names for repack or gc: a bucket's replica holds
/// packs hollow and downloads those the command copies or rewrites.
pub fn open_on_demand(arg: &Path) -> Result<Opened> {
    let cache = trees_remote::Options::default_cache();
    Ok(place(arg)?.open_with(false, &cache, trees_remote::s3::Packs::OnDemand)?)
}
