//! `s3://` URLs: the same reads as over HTTP, with authenticated requests
//! through the S3 client of the bucket ([`crate::s3::Client`]) and the
//! same checks (exact ranges, size limits).

use std::io::Seek;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Client, Counting, Error, Ranged, status};

type Bucket = (Arc<crate::s3::Client>, String);

impl Client {
    /// The bucket's client and the key, if `url` is `s3://BUCKET/KEY`.
    pub(super) fn bucket(
        &self,
        url: &str,
    ) -> Option<Result<(Arc<crate::s3::Client>, String), Error>> {
        let rest = url.strip_prefix("s3://")?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        let location = match crate::s3::Location::parse(&format!("s3://{bucket}")) {
            Ok(l) => l,
            Err(e) => return Some(Err(Error::S3(Box::new(e)))),
        };
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let client = match map.get(bucket) {
            Some(c) => Arc::clone(c),
            None => match crate::s3::Client::connect(&location) {
                Ok(c) => {
                    let c = Arc::new(c);
                    map.insert(bucket.to_owned(), Arc::clone(&c));
                    c
                }
                Err(e) => return Some(Err(Error::S3(Box::new(e)))),
            },
        };
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        Some(Ok((client, key.to_owned())))
    }

    fn received(&self, n: u64) {
        self.stats.bytes.fetch_add(n, Ordering::Relaxed);
    }

    pub(super) fn bucket_get(
        &self,
        url: &str,
        (client, key): Bucket,
        limit: u64,
    ) -> Result<Option<Vec<u8>>, Error> {
        let head = client.head(&key).map_err(|e| Error::S3(Box::new(e)))?;
        if head.is_some_and(|m| m.size > limit) {
            return Err(Error::TooLarge {
                url: url.to_owned(),
                limit,
            });
        }
        let got = client.get(&key).map_err(|e| Error::S3(Box::new(e)))?;
        let got = got.map(|(b, _)| b);
        self.received(got.as_ref().map_or(0, |b| b.len() as u64));
        if got.as_ref().is_some_and(|b| b.len() as u64 > limit) {
            return Err(Error::TooLarge {
                url: url.to_owned(),
                limit,
            });
        }
        Ok(got)
    }

    pub(super) fn bucket_range(
        &self,
        url: &str,
        (client, key): Bucket,
        start: u64,
        end: u64,
    ) -> Result<Ranged, Error> {
        let got = client
            .get_range(&key, start..end)
            .map_err(|e| Error::S3(Box::new(e)))?;
        let got = got.ok_or_else(|| status(url, 404))?;
        self.received(got.len() as u64);
        if got.len() as u64 != end - start {
            return Err(Error::BadRange {
                url: url.to_owned(),
                asked: format!("{start}-{}", end - 1),
                got: format!("{} bytes", got.len()),
            });
        }
        Ok(Ranged::Bytes(got))
    }

    pub(super) fn bucket_download(
        &self,
        url: &str,
        (client, key): Bucket,
        out: &mut std::fs::File,
        limit: u64,
        on_bytes: &dyn Fn(u64),
    ) -> Result<Option<u64>, Error> {
        let output = |source| Error::Output {
            url: url.to_owned(),
            source,
        };
        let head = client.head(&key).map_err(|e| Error::S3(Box::new(e)))?;
        if head.is_some_and(|m| m.size > limit) {
            return Err(Error::TooLarge {
                url: url.to_owned(),
                limit,
            });
        }
        out.set_len(0).map_err(output)?;
        out.rewind().map_err(output)?;
        let mut w = Counting {
            out: &mut *out,
            on_bytes,
            at: 0,
        };
        let Some(m) = client
            .download(&key, &mut w)
            .map_err(|e| Error::S3(Box::new(e)))?
        else {
            return Ok(None);
        };
        self.received(m.size);
        if m.size > limit {
            return Err(Error::TooLarge {
                url: url.to_owned(),
                limit,
            });
        }
        Ok(Some(m.size))
    }
}
