//! GET and ranged GET over HTTP(S), with bounded timeouts and retries, and
//! every response checked against what was asked.
//!
//! The server is not trusted to honour a request: a ranged GET must come
//! back as `206` with a `Content-Range` naming exactly the bytes asked for
//! and a body of exactly that length; a whole GET must deliver its
//! `Content-Length`. A `200` to a ranged GET means the server ignored
//! `Range`; that is reported ([`Ranged::Ignored`]) so the caller can fall
//! back to the whole file. Connection failures, timeouts, truncated bodies
//! and `5xx` answers are retried, resuming from the last byte received;
//! an attempt that moved the transfer at least [`MIN_PROGRESS`] bytes past
//! the furthest point reached so far does not count against `retries`, so
//! a flaky server still finishes a large transfer, while a dead one, or
//! one that trickles a few bytes per connection, fails after `retries`.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

mod bucket;

use ureq::Agent;
use ureq::http::{Response, StatusCode, header};

/// What an attempt must add to the furthest point reached so far for a
/// retry not to count against the limit.
pub const MIN_PROGRESS: u64 = 64 << 10;

/// Seconds to wait for a connection and each read, unless
/// `TREES_HTTP_TIMEOUT` says otherwise.
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;

/// Retries per request, unless `TREES_HTTP_RETRIES` says otherwise.
pub const DEFAULT_RETRIES: u32 = 3;

/// Timeouts and retries.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// For connecting, and for each read of a response.
    pub timeout: Duration,
    /// Failed attempts allowed after the first, per request; one that
    /// gained [`MIN_PROGRESS`] bytes on the furthest point is not counted.
    pub retries: u32,
    /// First wait between attempts; doubled each time, at most 5 s.
    pub backoff: Duration,
}

impl Default for Options {
    /// [`DEFAULT_TIMEOUT_SECS`], [`DEFAULT_RETRIES`], 200 ms;
    /// `TREES_HTTP_TIMEOUT` (seconds) and `TREES_HTTP_RETRIES` in the
    /// environment override the first two.
    fn default() -> Self {
        let env = |k: &str| std::env::var(k).ok()?.trim().parse::<u64>().ok();
        Options {
            timeout: Duration::from_secs(
                env("TREES_HTTP_TIMEOUT")
                    .unwrap_or(DEFAULT_TIMEOUT_SECS)
                    .max(1),
            ),
            retries: env("TREES_HTTP_RETRIES").map_or(DEFAULT_RETRIES, |r| r.min(100) as u32),
            backoff: Duration::from_millis(200),
        }
    }
}

/// A request that failed for good.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Could not connect, or the connection failed, after every attempt.
    #[error("GET {url} failed (attempts: {attempts}): {source}")]
    Transport {
        /// The URL.
        url: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last failure.
        source: ureq::Error,
    },
    /// The server answered with an error status.
    #[error("GET {url}: the server answered {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// The body ended before its announced length, on every attempt.
    #[error("GET {url}: the body stopped after {got} of {want} bytes (attempts: {attempts})")]
    Truncated {
        /// The URL.
        url: String,
        /// Bytes announced (or asked for).
        want: u64,
        /// Bytes received.
        got: u64,
        /// How many attempts were made.
        attempts: u32,
    },
    /// A ranged answer for other bytes than those asked for.
    #[error("GET {url} with Range: bytes={asked}: the server answered {got}")]
    BadRange {
        /// The URL.
        url: String,
        /// The range asked for (`start-last`).
        asked: String,
        /// What came back.
        got: String,
    },
    /// A body longer than the caller allows.
    #[error("GET {url}: the body is longer than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// A request to a bucket (`s3://`) failed.
    #[error(transparent)]
    S3(Box<crate::s3::Error>),
    /// Writing what was received failed.
    #[error("cannot store what GET {url} received")]
    Output {
        /// The URL.
        url: String,
        /// The cause.
        source: io::Error,
    },
}

/// The answer to a ranged GET.
#[derive(Debug)]
pub enum Ranged {
    /// Exactly the bytes asked for.
    Bytes(Vec<u8>),
    /// The server sent the whole file (status 200): it ignores `Range`.
    Ignored,
}

/// What the client has done so far.
#[derive(Debug, Default)]
pub struct Stats {
    requests: AtomicU64,
    bytes: AtomicU64,
    retries: AtomicU64,
}

impl Stats {
    /// Requests sent.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
    /// Body bytes received.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
    /// Attempts that were retries.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }
}

/// An HTTP client: one connection pool, shared by every request. `s3://`
/// URLs are read with authenticated requests through the S3 client of
/// their bucket ([`crate::s3::Client`]), with the same checks.
pub struct Client {
    agent: Agent,
    options: Options,
    stats: Stats,
    buckets: std::sync::Mutex<HashMap<String, Arc<crate::s3::Client>>>,
}

/// One attempt's failure: worth another attempt or not.
enum Attempt {
    Retry(RetryWhy),
    Fail(Error),
}

enum RetryWhy {
    Transport(ureq::Error),
    Status(u16),
    Truncated { want: u64, got: u64 },
}

impl Client {
    /// A client with these timeouts and retries.
    pub fn new(options: Options) -> Client {
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(options.timeout))
            .timeout_per_read(Some(options.timeout))
            .timeout_recv_response(Some(options.timeout))
            .user_agent(concat!("trees-silo/", env!("CARGO_PKG_VERSION")))
            .build();
        Client {
            agent: config.into(),
            options,
            stats: Stats::default(),
            buckets: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// What was sent and received.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Runs `attempt` until it succeeds, fails for good, or has failed
    /// `retries + 1` times without `progress()` (the bytes held) passing
    /// its previous best by [`MIN_PROGRESS`].
    fn retrying<T>(
        &self,
        url: &str,
        progress: &dyn Fn() -> u64,
        mut attempt: impl FnMut() -> Result<T, Attempt>,
    ) -> Result<T, Error> {
        let mut idle = 0u32;
        let mut attempts = 0u32;
        let mut wait = self.options.backoff;
        let mut best = progress();
        loop {
            attempts += 1;
            let why = match attempt() {
                Ok(v) => return Ok(v),
                Err(Attempt::Fail(e)) => return Err(e),
                Err(Attempt::Retry(why)) => why,
            };
            let now = progress();
            if now >= best.saturating_add(MIN_PROGRESS) {
                best = now;
                idle = 0;
                wait = self.options.backoff;
            } else {
                idle += 1;
            }
            if idle > self.options.retries {
                return Err(match why {
                    RetryWhy::Transport(source) => Error::Transport {
                        url: url.to_owned(),
                        attempts,
                        source,
                    },
                    RetryWhy::Status(status) => Error::Status {
                        url: url.to_owned(),
                        status,
                    },
                    RetryWhy::Truncated { want, got } => Error::Truncated {
                        url: url.to_owned(),
                        want,
                        got,
                        attempts,
                    },
                });
            }
            tracing::debug!("GET {url}: attempt {attempts} failed; retrying in {wait:?}");
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_secs(5));
        }
    }

    fn send(&self, url: &str, range: Option<(u64, u64)>) -> Result<Response<ureq::Body>, Attempt> {
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let mut req = self.agent.get(url);
        if let Some((start, end)) = range {
            let spec = if end == u64::MAX {
                format!("bytes={start}-")
            } else {
                format!("bytes={start}-{}", end - 1)
            };
            req = req.header(header::RANGE, spec);
        }
        let resp = req.call().map_err(|e| match e {
            ureq::Error::BadUri(_) | ureq::Error::Http(_) | ureq::Error::InvalidProxyUrl => {
                Attempt::Fail(Error::Transport {
                    url: url.to_owned(),
                    attempts: 1,
                    source: e,
                })
            }
            e => Attempt::Retry(RetryWhy::Transport(e)),
        })?;
        let status = resp.status();
        if status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
        {
            return Err(Attempt::Retry(RetryWhy::Status(status.as_u16())));
        }
        Ok(resp)
    }

    /// Copies the body of `resp` into `out`, at most `limit` bytes,
    /// counting what arrives in `got`. A body cut short by the connection
    /// is a retry; one longer than `limit` fails.
    fn copy_body(
        &self,
        url: &str,
        resp: Response<ureq::Body>,
        want: Option<u64>,
        limit: u64,
        out: &mut dyn Write,
        got: &AtomicU64,
    ) -> Result<(), Attempt> {
        let mut body = resp.into_body().into_reader();
        let mut buf = vec![0u8; 64 << 10];
        let mut n = 0u64;
        let truncated = |n: u64| {
            Attempt::Retry(RetryWhy::Truncated {
                want: want.unwrap_or(n),
                got: n,
            })
        };
        loop {
            let k = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => k,
                Err(e) => {
                    tracing::debug!("GET {url}: {e}");
                    return Err(truncated(n));
                }
            };
            n += k as u64;
            self.stats.bytes.fetch_add(k as u64, Ordering::Relaxed);
            if n > limit || want.is_some_and(|w| n > w) {
                return Err(Attempt::Fail(Error::TooLarge {
                    url: url.to_owned(),
                    limit: want.unwrap_or(limit).min(limit),
                }));
            }
            out.write_all(&buf[..k]).map_err(|source| {
                Attempt::Fail(Error::Output {
                    url: url.to_owned(),
                    source,
                })
            })?;
            got.fetch_add(k as u64, Ordering::Relaxed);
            if want == Some(n) {
                break;
            }
        }
        if want.is_some_and(|w| n < w) {
            return Err(truncated(n));
        }
        Ok(())
    }

    /// GETs `url` whole into memory, at most `limit` bytes. `None` for
    /// 404. A body cut short is resumed with `Range`.
    pub fn get(&self, url: &str, limit: u64) -> Result<Option<Vec<u8>>, Error> {
        if let Some(b) = self.bucket(url) {
            return self.bucket_get(url, b?, limit);
        }
        let held = AtomicU64::new(0);
        let mut out = Vec::new();
        self.retrying(url, &|| held.load(Ordering::Relaxed), || {
            let from = out.len() as u64;
            let resp = self.send(url, (from > 0).then_some((from, u64::MAX)))?;
            let total = match resp.status().as_u16() {
                200 => {
                    out.clear();
                    held.store(0, Ordering::Relaxed);
                    content_length(&resp)
                }
                206 if from > 0 => check_content_range(url, &resp, from, u64::MAX)?,
                404 | 410 if from == 0 => return Ok(None),
                s => return Err(Attempt::Fail(status(url, s))),
            };
            let start = out.len() as u64;
            let want = total.map(|t| t.saturating_sub(start));
            let room = limit.saturating_sub(start);
            self.copy_body(url, resp, want, room, &mut out, &held)?;
            Ok(Some(()))
        })
        .map(|found| found.map(|()| out))
    }

    /// GETs bytes `start..end` of `url`. A server that answers with the
    /// whole file gives [`Ranged::Ignored`] (nothing of the body is read).
    pub fn range(&self, url: &str, start: u64, end: u64) -> Result<Ranged, Error> {
        if start >= end {
            return Ok(Ranged::Bytes(Vec::new()));
        }
        if let Some(b) = self.bucket(url) {
            return self.bucket_range(url, b?, start, end);
        }
        let got = AtomicU64::new(0);
        let mut out = Vec::new();
        let ignored = self.retrying(url, &|| got.load(Ordering::Relaxed), || {
            let from = start + out.len() as u64;
            if from >= end {
                return Ok(false);
            }
            let resp = self.send(url, Some((from, end)))?;
            match resp.status().as_u16() {
                206 => {}
                200 => return Ok(true),
                s => return Err(Attempt::Fail(status(url, s))),
            }
            check_content_range(url, &resp, from, end)?;
            self.copy_body(url, resp, Some(end - from), end - from, &mut out, &got)
                .map(|()| false)
        })?;
        Ok(if ignored {
            Ranged::Ignored
        } else {
            Ranged::Bytes(out)
        })
    }

    /// Appends `url` to `out`, which already holds its first `have` bytes
    /// (a download cut short earlier): asks for the rest with `Range`, and
    /// starts over when the server ignores it. `on_bytes` is told of each
    /// block received. Returns the file's length, or `None` for 404.
    pub fn download(
        &self,
        url: &str,
        out: &mut std::fs::File,
        have: u64,
        limit: u64,
        on_bytes: &dyn Fn(u64),
    ) -> Result<Option<u64>, Error> {
        use std::io::Seek;
        if let Some(b) = self.bucket(url) {
            return self.bucket_download(url, b?, out, limit, on_bytes);
        }
        let got = AtomicU64::new(have);
        let output = |source| {
            Attempt::Fail(Error::Output {
                url: url.to_owned(),
                source,
            })
        };
        let progress = || got.load(Ordering::Relaxed);
        self.retrying(url, &progress, || {
            let from = got.load(Ordering::Relaxed);
            let resp = self.send(url, (from > 0).then_some((from, u64::MAX)))?;
            let s = resp.status().as_u16();
            let total = match s {
                206 => {
                    let total = check_content_range(url, &resp, from, u64::MAX)?;
                    out.seek(io::SeekFrom::Start(from)).map_err(output)?;
                    total
                }
                200 => {
                    out.set_len(0).map_err(output)?;
                    out.rewind().map_err(output)?;
                    got.store(0, Ordering::Relaxed);
                    on_bytes(0);
                    content_length(&resp)
                }
                404 | 410 => return Ok(None),
                416 if from > 0 => {
                    // Asked for bytes past the end: the partial file is
                    // already whole, or longer than the server's; the
                    // caller's checksum decides.
                    return Ok(Some(from));
                }
                s => return Err(Attempt::Fail(status(url, s))),
            };
            let start = got.load(Ordering::Relaxed);
            let mut w = Counting {
                out: &mut *out,
                on_bytes,
                at: start,
            };
            let want = total.map(|t| t.saturating_sub(start));
            self.copy_body(url, resp, want, limit.saturating_sub(start), &mut w, &got)?;
            Ok(Some(got.load(Ordering::Relaxed)))
        })
    }
}

struct Counting<'a> {
    out: &'a mut std::fs::File,
    on_bytes: &'a dyn Fn(u64),
    at: u64,
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.at += n as u64;
        (self.on_bytes)(self.at);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn status(url: &str, status: u16) -> Error {
    Error::Status {
        url: url.to_owned(),
        status,
    }
}

fn content_length(resp: &Response<ureq::Body>) -> Option<u64> {
    resp.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Checks that a 206 answers for `from..end` (`end` = `u64::MAX` for "to
/// the end of the file"); returns the file's total length if given.
fn check_content_range(
    url: &str,
    resp: &Response<ureq::Body>,
    from: u64,
    end: u64,
) -> Result<Option<u64>, Attempt> {
    let asked = if end == u64::MAX {
        format!("{from}-")
    } else {
        format!("{from}-{}", end - 1)
    };
    let raw = resp
        .headers()
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let bad = || {
        Attempt::Fail(Error::BadRange {
            url: url.to_owned(),
            asked: asked.clone(),
            got: if raw.is_empty() {
                "206 without Content-Range (a multipart answer?)".to_owned()
            } else {
                format!("Content-Range: {raw}")
            },
        })
    };
    let (span, total) = raw
        .strip_prefix("bytes ")
        .and_then(|r| r.split_once('/'))
        .ok_or_else(bad)?;
    let (a, b) = span.split_once('-').ok_or_else(bad)?;
    let a: u64 = a.trim().parse().map_err(|_| bad())?;
    let b: u64 = b.trim().parse().map_err(|_| bad())?;
    let total: Option<u64> = match total.trim() {
        "*" => None,
        t => Some(t.parse().map_err(|_| bad())?),
    };
    let last = b.checked_add(1).ok_or_else(bad)?;
    let last_ok = if end == u64::MAX {
        total.is_none_or(|t| last == t)
    } else {
        last == end
    };
    if a != from || !last_ok {
        return Err(bad());
    }
    Ok(total)
}
