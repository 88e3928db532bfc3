//! A blocking client for one bucket and prefix, over the `object_store`
//! crate (which signs the requests, parses S3's XML and retries): the few
//! operations the silo needs, each counted.

use std::io::Write;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use object_store::aws::{AmazonS3, AmazonS3Builder, S3ConditionalPut};
use object_store::path::Path as Key;
use object_store::{
    GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
    UpdateVersion,
};

use super::{Error, Location};

/// Files larger than this are uploaded in parts (`put_multipart`), which
/// has no create-only mode: see [`Client::put_create_file`].
pub const MULTIPART_ABOVE: u64 = 64 << 20;
const PART: usize = 16 << 20;

/// One object's metadata, as a listing or `HEAD` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// Its path relative to the silo's prefix (`pack/pack-<sha>.idx`).
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// When the server last wrote it.
    pub modified: SystemTime,
    /// Its ETag, if the server gave one.
    pub e_tag: Option<String>,
}

/// An object's bytes and its ETag.
pub type Tagged = (Vec<u8>, Option<String>);

/// The outcome of a compare-and-swap put.
#[derive(Debug)]
pub enum Swap {
    /// Written; the new ETag.
    Done(Option<String>),
    /// The object was not at the version expected (or existed, for a
    /// create): someone else wrote it.
    Conflict,
}

/// Bytes and requests a client moved, for `--json` reports.
#[derive(Debug, Default)]
pub struct Traffic {
    up: AtomicU64,
    down: AtomicU64,
    requests: AtomicU64,
    /// Bytes downloaded by kind of file.
    down_by_kind: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
}

impl Traffic {
    /// Body bytes uploaded.
    pub fn uploaded(&self) -> u64 {
        self.up.load(Ordering::Relaxed)
    }
    /// Body bytes downloaded.
    pub fn downloaded(&self) -> u64 {
        self.down.load(Ordering::Relaxed)
    }
    /// Requests sent (retries inside `object_store` not counted).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
    /// Body bytes downloaded, by kind of file (`pack`, `idx`, `fp`,
    /// `split`, `json`, `loose object`, `multi-pack-index`, ...).
    pub fn downloaded_by_kind(&self) -> std::collections::BTreeMap<String, u64> {
        self.down_by_kind
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
    fn down(&self, path: &str, n: u64) {
        self.down.fetch_add(n, Ordering::Relaxed);
        let kind = if path.ends_with("multi-pack-index") {
            "multi-pack-index".to_owned()
        } else {
            trees_silo::storage::kind(std::path::Path::new(path))
        };
        *self
            .down_by_kind
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(kind)
            .or_default() += n;
    }
}

/// A bucket and prefix, reached with the credentials and endpoint of the
/// environment (`AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`), as the AWS CLI reads them.
#[derive(Debug)]
pub struct Client {
    store: Arc<AmazonS3>,
    runtime: tokio::runtime::Runtime,
    location: Location,
    traffic: Traffic,
}

impl Client {
    /// Connects to `location` (nothing is sent until the first request).
    pub fn connect(location: &Location) -> Result<Client, Error> {
        // One TLS provider for the process (ring, which the HTTP client
        // already uses); installing it twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&location.bucket)
            .with_conditional_put(S3ConditionalPut::ETagMatch);
        // The AWS CLI's name for a custom endpoint; object_store reads
        // AWS_ENDPOINT.
        if let Ok(url) = std::env::var("AWS_ENDPOINT_URL") {
            builder = builder.with_endpoint(url);
        }
        if std::env::var("AWS_REGION").is_err() && std::env::var("AWS_DEFAULT_REGION").is_err() {
            builder = builder.with_region("us-east-1");
        }
        let store = builder.build().map_err(|source| Error::Config {
            url: location.to_string(),
            source,
        })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|source| Error::Runtime { source })?;
        Ok(Client {
            store: Arc::new(store),
            runtime,
            location: location.clone(),
            traffic: Traffic::default(),
        })
    }

    /// Where this client points.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Bytes and requests so far.
    pub fn traffic(&self) -> &Traffic {
        &self.traffic
    }

    fn key(&self, path: &str) -> Key {
        Key::from(self.location.key(path))
    }

    fn fail(&self, op: &'static str, path: &str) -> impl FnOnce(object_store::Error) -> Error {
        let url = self.location.url_of(path);
        move |source| Error::Request { op, url, source }
    }

    fn count(&self, up: u64, down: u64) {
        self.traffic.requests.fetch_add(1, Ordering::Relaxed);
        self.traffic.up.fetch_add(up, Ordering::Relaxed);
        self.traffic.down.fetch_add(down, Ordering::Relaxed);
    }

    /// `path` whole, with its ETag; `None` if it does not exist.
    pub fn get(&self, path: &str) -> Result<Option<Tagged>, Error> {
        self.get_opts(path, GetOptions::default())
            .map(|r| r.map(|(b, m)| (b, m.e_tag)))
    }

    /// Bytes `range` of `path` (fewer if it is shorter); `None` if it does
    /// not exist.
    pub fn get_range(&self, path: &str, range: Range<u64>) -> Result<Option<Vec<u8>>, Error> {
        let opts = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..GetOptions::default()
        };
        Ok(self.get_opts(path, opts)?.map(|(b, _)| b))
    }

    fn get_opts(&self, path: &str, opts: GetOptions) -> Result<Option<(Vec<u8>, Meta)>, Error> {
        let key = self.key(path);
        let got = self.runtime.block_on(async {
            let r = self.store.get_opts(&key, opts).await?;
            let meta = r.meta.clone();
            let bytes = r.bytes().await?;
            Ok::<_, object_store::Error>((bytes, meta))
        });
        match got {
            Ok((bytes, meta)) => {
                self.count(0, 0);
                self.traffic.down(path, bytes.len() as u64);
                Ok(Some((bytes.to_vec(), self.meta(path, meta))))
            }
            Err(object_store::Error::NotFound { .. }) => {
                self.count(0, 0);
                Ok(None)
            }
            Err(e) => Err(self.fail("GET", path)(e)),
        }
    }

    /// Streams `path` into `out`; returns its metadata, or `None` if it
    /// does not exist.
    pub fn download(&self, path: &str, out: &mut dyn Write) -> Result<Option<Meta>, Error> {
        use futures::StreamExt;
        let key = self.key(path);
        let r = self.runtime.block_on(async {
            let r = match self.store.get(&key).await {
                Ok(r) => r,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(DownloadError::Store(e)),
            };
            let meta = r.meta.clone();
            let mut stream = r.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(DownloadError::Store)?;
                self.traffic.down(path, chunk.len() as u64);
                out.write_all(&chunk).map_err(DownloadError::Output)?;
            }
            Ok(Some(meta))
        });
        self.count(0, 0);
        match r {
            Ok(m) => Ok(m.map(|m| self.meta(path, m))),
            Err(DownloadError::Store(e)) => Err(self.fail("GET", path)(e)),
            Err(DownloadError::Output(source)) => Err(Error::Output {
                url: self.location.url_of(path),
                source,
            }),
        }
    }

    /// `HEAD path`.
    pub fn head(&self, path: &str) -> Result<Option<Meta>, Error> {
        let key = self.key(path);
        self.count(0, 0);
        match self.runtime.block_on(self.store.head(&key)) {
            Ok(m) => Ok(Some(self.meta(path, m))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.fail("HEAD", path)(e)),
        }
    }

    fn meta(&self, path: &str, m: object_store::ObjectMeta) -> Meta {
        Meta {
            path: path.to_owned(),
            size: m.size,
            modified: m.last_modified.into(),
            e_tag: m.e_tag,
        }
    }

    /// Every object under `dir/` (recursively), with its metadata.
    pub fn list(&self, dir: &str) -> Result<Vec<Meta>, Error> {
        use futures::TryStreamExt;
        let key = self.key(dir);
        let prefix = self.location.key("");
        let all: Vec<object_store::ObjectMeta> = self
            .runtime
            .block_on(self.store.list(Some(&key)).try_collect())
            .map_err(self.fail("LIST", dir))?;
        self.count(0, 0);
        Ok(all
            .into_iter()
            .filter_map(|m| {
                let full = m.location.to_string();
                let rel = full.strip_prefix(&prefix)?.to_owned();
                Some(self.meta(&rel, m))
            })
            .collect())
    }

    /// Puts `bytes` at `path` with `mode`; [`Swap::Conflict`] when the
    /// server refuses the condition.
    pub fn put(&self, path: &str, bytes: Vec<u8>, mode: PutMode) -> Result<Swap, Error> {
        let key = self.key(path);
        let n = bytes.len() as u64;
        let opts = PutOptions {
            mode,
            ..PutOptions::default()
        };
        let r = self
            .runtime
            .block_on(self.store.put_opts(&key, PutPayload::from(bytes), opts));
        self.count(n, 0);
        match r {
            Ok(done) => Ok(Swap::Done(done.e_tag)),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => Ok(Swap::Conflict),
            Err(e) => Err(self.fail("PUT", path)(e)),
        }
    }

    /// Create-only put of `bytes`.
    pub fn put_create(&self, path: &str, bytes: Vec<u8>) -> Result<Swap, Error> {
        self.put(path, bytes, PutMode::Create)
    }

    /// Put of `bytes` only if `path` is still at `e_tag` (or, for `None`,
    /// does not exist yet).
    pub fn put_swap(
        &self,
        path: &str,
        bytes: Vec<u8>,
        e_tag: Option<String>,
    ) -> Result<Swap, Error> {
        let mode = match e_tag {
            Some(e_tag) => PutMode::Update(UpdateVersion {
                e_tag: Some(e_tag),
                version: None,
            }),
            None => PutMode::Create,
        };
        self.put(path, bytes, mode)
    }

    /// Uploads the file `file` to `path` in parts (for files larger than
    /// [`MULTIPART_ABOVE`]). Parts have no create-only mode: the caller
    /// has checked that `path` is absent, and since names are content
    /// addresses, a racing writer of the same name writes the same bytes.
    pub fn put_multipart(&self, path: &str, file: &std::fs::File) -> Result<(), Error> {
        use std::io::Read;
        let key = self.key(path);
        let mut file = file;
        let r = self.runtime.block_on(async {
            let upload = self.store.put_multipart(&key).await?;
            let mut w = object_store::WriteMultipart::new_with_chunk_size(upload, PART);
            let mut buf = vec![0u8; PART];
            loop {
                let n = match file.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        w.abort().await?;
                        return Err(object_store::Error::Generic {
                            store: "local file",
                            source: Box::new(e),
                        });
                    }
                };
                w.wait_for_capacity(2).await?;
                w.write(&buf[..n]);
                self.traffic.up.fetch_add(n as u64, Ordering::Relaxed);
            }
            w.finish().await?;
            Ok(())
        });
        self.count(0, 0);
        r.map_err(self.fail("PUT (multipart)", path))
    }

    /// Deletes `path` (a missing one is fine).
    pub fn delete(&self, path: &str) -> Result<(), Error> {
        let key = self.key(path);
        self.count(0, 0);
        match self.runtime.block_on(self.store.delete(&key)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.fail("DELETE", path)(e)),
        }
    }
}

enum DownloadError {
    Store(object_store::Error),
    Output(std::io::Error),
}
