//! The exclusive lock of repack and gc in a bucket: an object, `silo.lock`,
//! made with a create-only put and kept alive by its holder.
//!
//! The object holds its owner (host and pid), when it was taken and when
//! it expires. The holder rewrites it every third of its time to live with
//! a compare-and-swap on its ETag, pushing the expiry on. Another process
//! that finds the lock:
//!
//! - before its expiry plus a skew margin (a fourth of the time to live,
//!   at most 15 s, for clocks that disagree):
//!   fails at once (`Busy`), or with `--wait` polls until it is gone or
//!   stale;
//! - later than that, or at once if its owner is a process of this host
//!   that has ended (as git's `gc.pid`): takes it over with a compare-and-swap on the ETag it
//!   read, so of two processes that find the same stale lock one wins.
//!
//! The holder counts the lock as its own only while now is before the
//! expiry minus that margin and no refresh found it taken; past that, the
//! bucket refuses to retire, sweep or publish for it ([`State::check`]),
//! so a gc whose lock ran out stops before it deletes anything (restic
//! learned this the hard way: its issues 2452 and 3984). A holder killed
//! without releasing leaves a lock that is stale after its time to live.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::client::{Client, Swap};

/// The lock's key, beside `info/` and `pack/`.
pub const PATH: &str = "silo.lock";

/// How long a lock lives without a refresh, unless `TREES_S3_LOCK_TTL`
/// (seconds) says otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);

/// Clocks of two machines may disagree by this much (a fourth of the time
/// to live, at most 15 s).
fn skew(ttl: Duration) -> Duration {
    (ttl / 4).min(Duration::from_secs(15))
}

#[derive(Debug, Serialize, Deserialize)]
struct Body {
    owner: String,
    started_ms: u64,
    expires_ms: u64,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn ttl() -> Duration {
    std::env::var("TREES_S3_LOCK_TTL")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(DEFAULT_TTL, Duration::from_secs_f64)
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

/// True if `owner` (`host:pid`) is a process of this host that has ended
/// (as git's `gc.pid`): its lock is stale before its expiry. Without
/// `/proc`, or for another host, it is not known to be dead.
fn dead_here(owner: &str) -> bool {
    let Some((host, pid)) = owner.rsplit_once(':') else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    !host.is_empty()
        && host == hostname()
        && pid != std::process::id()
        && std::path::Path::new("/proc/self").exists()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Why the lock cannot be had or kept.
#[derive(Debug)]
pub enum Refused {
    /// Held by another live process: who, and until when.
    Busy(String),
    /// A request failed.
    Failed(super::Error),
}

#[derive(Debug)]
struct Inner {
    e_tag: Option<String>,
    expires_ms: u64,
    lost: Option<String>,
    released: bool,
}

/// A held lock's state, shared with its refresher thread.
#[derive(Debug)]
pub struct State {
    client: Arc<Client>,
    owner: String,
    started_ms: u64,
    ttl: Duration,
    inner: Mutex<Inner>,
    wake: Condvar,
}

impl State {
    /// Takes the lock, waiting while another live process holds it if
    /// `wait`.
    pub fn take(client: Arc<Client>, wait: bool) -> Result<Arc<State>, Refused> {
        let ttl = ttl();
        let owner = format!("{}:{}", hostname(), std::process::id());
        let started_ms = now_ms();
        let body = |expires_ms| {
            serde_json::to_vec(&Body {
                owner: owner.clone(),
                started_ms,
                expires_ms,
            })
            .unwrap_or_default()
        };
        let mut pause = Duration::from_millis(100);
        loop {
            let expires_ms = now_ms() + ttl.as_millis() as u64;
            if let Swap::Done(e_tag) = client
                .put_create(PATH, body(expires_ms))
                .map_err(Refused::Failed)?
            {
                crate::crash_point("s3 lock taken");
                return Ok(State::held(
                    client, owner, started_ms, ttl, e_tag, expires_ms,
                ));
            }
            // Someone has it: stale, or live?
            let Some((bytes, e_tag)) = client.get(PATH).map_err(Refused::Failed)? else {
                continue; // released meanwhile
            };
            let theirs: Option<Body> = serde_json::from_slice(&bytes).ok();
            let stale_at = theirs
                .as_ref()
                .map_or(0, |b| b.expires_ms + skew(ttl).as_millis() as u64);
            if now_ms() > stale_at || theirs.as_ref().is_some_and(|b| dead_here(&b.owner)) {
                let expires_ms = now_ms() + ttl.as_millis() as u64;
                if let Swap::Done(new) = client
                    .put_swap(PATH, body(expires_ms), e_tag)
                    .map_err(Refused::Failed)?
                {
                    tracing::warn!(
                        "took over the stale lock {} ({})",
                        client.location().url_of(PATH),
                        theirs.map_or_else(|| "unreadable".to_owned(), |b| b.owner)
                    );
                    crate::crash_point("s3 lock taken over");
                    return Ok(State::held(client, owner, started_ms, ttl, new, expires_ms));
                }
                continue;
            }
            if !wait {
                return Err(Refused::Busy(theirs.map_or_else(
                    || "an unreadable lock".to_owned(),
                    |b| format!("{}, until {} ms after the epoch", b.owner, b.expires_ms),
                )));
            }
            std::thread::park_timeout(pause);
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    fn held(
        client: Arc<Client>,
        owner: String,
        started_ms: u64,
        ttl: Duration,
        e_tag: Option<String>,
        expires_ms: u64,
    ) -> Arc<State> {
        let state = Arc::new(State {
            client,
            owner,
            started_ms,
            ttl,
            inner: Mutex::new(Inner {
                e_tag,
                expires_ms,
                lost: None,
                released: false,
            }),
            wake: Condvar::new(),
        });
        if !ttl.is_zero() {
            let s = Arc::clone(&state);
            std::thread::spawn(move || s.refresh_loop());
        }
        state
    }

    fn lock_inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Ok` while the lock is ours with time to spare; else what happened.
    pub fn check(&self) -> Result<(), String> {
        let inner = self.lock_inner();
        if let Some(lost) = &inner.lost {
            return Err(lost.clone());
        }
        if inner.released {
            return Err("the lock was released".to_owned());
        }
        let deadline = inner
            .expires_ms
            .saturating_sub(skew(self.ttl).as_millis() as u64);
        if now_ms() >= deadline {
            return Err(format!(
                "the lock expired (time to live {:?}, not refreshed in time)",
                self.ttl
            ));
        }
        Ok(())
    }

    fn refresh_loop(&self) {
        let every = self.ttl / 3;
        let mut inner = self.lock_inner();
        loop {
            let (guard, _) = self
                .wake
                .wait_timeout(inner, every)
                .unwrap_or_else(|e| e.into_inner());
            inner = guard;
            if inner.released || inner.lost.is_some() {
                return;
            }
            let expires_ms = now_ms() + self.ttl.as_millis() as u64;
            let body = serde_json::to_vec(&Body {
                owner: self.owner.clone(),
                started_ms: self.started_ms,
                expires_ms,
            })
            .unwrap_or_default();
            let e_tag = inner.e_tag.clone();
            drop(inner);
            let r = self.client.put_swap(PATH, body, e_tag);
            inner = self.lock_inner();
            match r {
                Ok(Swap::Done(e_tag)) => {
                    inner.e_tag = e_tag;
                    inner.expires_ms = expires_ms;
                }
                Ok(Swap::Conflict) => {
                    inner.lost = Some("another process took the lock over".to_owned());
                    return;
                }
                // Keep trying until it expires; check() says when.
                Err(e) => tracing::warn!("cannot refresh the lock: {e}"),
            }
        }
    }

    /// Stops refreshing and deletes the lock if it is still ours.
    pub fn release(&self) {
        let e_tag = {
            let mut inner = self.lock_inner();
            inner.released = true;
            self.wake.notify_all();
            if inner.lost.is_some() {
                return;
            }
            inner.e_tag.clone()
        };
        // Delete only our own lock (between this read and the delete a
        // takeover could happen only if ours had expired already).
        match self.client.get(PATH) {
            Ok(Some((_, now))) if now == e_tag => {
                if let Err(e) = self.client.delete(PATH) {
                    tracing::warn!("cannot release the lock: {e}");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("cannot release the lock: {e}"),
        }
    }
}

/// What [`trees_silo::lock::Lock`] holds for a bucket: releases on drop.
#[derive(Debug)]
pub struct Guard(pub Arc<State>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.release();
    }
}
