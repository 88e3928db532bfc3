//! Opening the silo an argument names: a directory, or a bucket
//! (`s3://BUCKET/PREFIX`) through its local replica. A URL is never taken
//! as a path ([`trees_remote::place`]).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use trees_remote::place::Place;
use trees_remote::s3::{self, Bucket};
use trees_silo::Silo;

/// An opened silo; `bucket` when it lives in object storage.
pub struct Opened {
    pub silo: Silo,
    pub bucket: Option<Arc<Bucket>>,
}

impl Opened {
    /// Bytes moved to and from the bucket, for `--json` reports.
    pub fn transfer(&self) -> serde_json::Value {
        match &self.bucket {
            None => serde_json::Value::Null,
            Some(b) => {
                let t = b.client().traffic();
                serde_json::json!({
                    "uploaded_bytes": t.uploaded(),
                    "downloaded_bytes": t.downloaded(),
                    "requests": t.requests(),
                })
            }
        }
    }
}

/// Where bucket replicas are kept: `$TREES_CACHE/s3/...` (see
/// `trees_remote::Options::default_cache`).
fn cache() -> std::path::PathBuf {
    trees_remote::Options::default_cache()
}

/// What `arg` names, refusing schemes that we do not serve.
pub fn place(arg: &Path) -> Result<Place> {
    match arg.to_str() {
        Some(s) => Ok(Place::parse(s)?),
        None => Ok(Place::Dir(arg.to_owned())),
    }
}

/// Opens (with `create`, makes first) the silo `arg` names.
pub fn open(arg: &Path, create: bool) -> Result<Opened> {
    match place(arg)? {
        Place::Dir(dir) => {
            let silo = if create {
                Silo::init(&dir)
            } else {
                Silo::open(&dir)
            }
            .with_context(|| format!("cannot open silo {}", dir.display()))?;
            Ok(Opened { silo, bucket: None })
        }
        Place::Http(url) => bail!(
            "{url} is a silo served over HTTP, which is read-only: `silo cat` and `silo mirror` read it; \
             change the directory it serves, or a silo in s3://"
        ),
        Place::S3(loc) => {
            let (silo, bucket) = s3::open(&loc, &cache(), create)
                .with_context(|| format!("cannot open silo {loc}"))?;
            Ok(Opened {
                silo,
                bucket: Some(bucket),
            })
        }
    }
}
