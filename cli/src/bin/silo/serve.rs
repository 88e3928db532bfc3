//! `silo serve`: a small read-only HTTP server of objects and of archive
//! members, for what a static web server cannot do: `GET /ID.wwz/PATH`
//! answers member PATH of the zip (or tar) ID, read as `silo cat
//! ID:PATH` reads it (a split zip: its recipe and that member's object).
//!
//! Routes (`ID`: an id or a unique prefix; any `.EXT` after it is ignored,
//! so links may keep the archive's name):
//!
//! - `GET /ID` (or `/ID.EXT`): the object;
//! - `GET /ID.EXT/PATH`: member PATH, typed by its extension;
//!   `/ID.EXT/DIR/` answers `DIR/index.html`.
//!
//! Every answer closes its connection. A request line and headers are
//! read within [`MAX_HEAD`] bytes and [`TIMEOUT`]; at most [`WORKERS`]
//! connections are served at once, the rest wait in the listen queue.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::args::ServeArgs;
use crate::exit::Status;
use crate::source::Source;

/// The most bytes of a request line and its headers.
pub const MAX_HEAD: usize = 16 << 10;
/// How long a client may take to send its request, or to take an answer.
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// Connections served at once.
pub const WORKERS: usize = 8;

/// `silo serve SILO`.
pub fn run(a: &ServeArgs, out: &mut dyn Write) -> Result<Status> {
    let listener =
        TcpListener::bind(&a.listen).with_context(|| format!("cannot listen on {}", a.listen))?;
    let addr = listener.local_addr()?;
    // The address first, flushed: a script that asked for port 0 reads it.
    writeln!(out, "http://{addr}/")?;
    out.flush()?;
    tracing::info!("serving {} on http://{addr}/", a.dir);
    let memory = a.memory.0;
    crate::source::on_source(&a.dir, &a.remote, memory, &mut |source| {
        serve(&listener, source, memory)
    })?;
    Ok(Status::Ok)
}

/// A counting gate: at most `n` holders.
struct Gate {
    free: Mutex<usize>,
    freed: Condvar,
}

impl Gate {
    fn enter(&self) {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
    }
    fn leave(&self) {
        *self.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.freed.notify_one();
    }
}

fn serve(listener: &TcpListener, source: &dyn Source, memory: u64) -> Result<()> {
    let gate = Gate {
        free: Mutex::new(WORKERS),
        freed: Condvar::new(),
    };
    std::thread::scope(|s| {
        for conn in listener.incoming() {
            let conn = match conn {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("accept: {e}");
                    continue;
                }
            };
            gate.enter();
            let gate = &gate;
            s.spawn(move || {
                if let Err(e) = answer(conn, source, memory) {
                    tracing::debug!("connection: {e:#}");
                }
                gate.leave();
            });
        }
    });
    Ok(())
}

/// A parsed request: its method and its path, percent-decoded.
struct Request {
    head_only: bool,
    path: String,
}

/// Reads the request line and headers; `Err` with the status to answer.
fn read_request(conn: &TcpStream) -> Result<Request, (u16, String)> {
    let bad = |why: &str| (400, why.to_owned());
    let mut r = BufReader::new(conn.take(MAX_HEAD as u64));
    let mut line = String::new();
    r.read_line(&mut line)
        .map_err(|_| bad("unreadable request"))?;
    let mut parts = line.split_ascii_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("malformed request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(bad("only HTTP/1.x is served"));
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Err((405, format!("method {method} is not served: GET or HEAD"))),
    };
    // The headers are read and ignored, up to the blank line.
    loop {
        let mut h = String::new();
        match r.read_line(&mut h) {
            Ok(0) => return Err(bad("the headers end early or are too long")),
            Ok(_) if h == "\r\n" || h == "\n" => break,
            Ok(_) => {}
            Err(_) => return Err(bad("unreadable headers")),
        }
    }
    let target = target.split(['?', '#']).next().unwrap_or("");
    let path = percent_decode(target).ok_or_else(|| bad("bad percent-encoding in the path"))?;
    if !path.starts_with('/') {
        return Err(bad("the path must start with /"));
    }
    Ok(Request { head_only, path })
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The content type of a member by its name.
fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
    match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "txt" | "log" | "md" | "csv" | "tsv" | "py" | "sh" | "rs" | "c" | "h" => {
            "text/plain; charset=utf-8"
        }
        "css" => "text/css",
        "js" => "text/javascript",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

fn answer(mut conn: TcpStream, source: &dyn Source, memory: u64) -> Result<()> {
    conn.set_read_timeout(Some(TIMEOUT))?;
    conn.set_write_timeout(Some(TIMEOUT))?;
    let req = match read_request(&conn) {
        Ok(r) => r,
        Err((status, why)) => {
            return respond(&mut conn, status, "text/plain", why.as_bytes(), false);
        }
    };
    let (status, kind, body) = match lookup(source, &req.path, memory) {
        Ok((kind, body)) => (200, kind, body),
        Err((status, why)) => (
            status,
            "text/plain; charset=utf-8",
            format!("{why}\n").into_bytes(),
        ),
    };
    respond(&mut conn, status, kind, &body, req.head_only)
}

/// The answer to `path`: its content type and body, or a status and why.
fn lookup(
    source: &dyn Source,
    path: &str,
    memory: u64,
) -> Result<(&'static str, Vec<u8>), (u16, String)> {
    let rest = &path[1..];
    let (object, member) = match rest.split_once('/') {
        Some((o, m)) => (o, Some(m)),
        None => (rest, None),
    };
    // `ID.wwz`: the id is the hex before the first dot.
    let hex = object.split('.').next().unwrap_or("");
    if hex.len() < 4 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err((404, format!("{path}: not /ID or /ID/PATH")));
    }
    let internal = |e: anyhow::Error| (500, format!("{e:#}"));
    let id = match source.resolve(hex).map_err(internal)? {
        Ok(id) => id,
        Err(e) => return Err((404, format!("{e:#}"))),
    };
    match member {
        None => {
            let found = match source.open(&id).map_err(internal)? {
                Ok(f) => f,
                Err(e) => return Err((404, format!("{e:#}"))),
            };
            let mut body = Vec::new();
            found.write_to(&mut body).map_err(internal)?;
            Ok(("application/octet-stream", body))
        }
        Some(m) => {
            let m = if m.is_empty() || m.ends_with('/') {
                format!("{m}index.html")
            } else {
                m.to_owned()
            };
            match crate::member::member(source, &id, &m, memory) {
                Ok(body) => Ok((content_type(&m), body)),
                Err(e) => {
                    let missing = e.chain().any(|c| c.is::<crate::source::NotFound>());
                    Err((if missing { 404 } else { 500 }, format!("{e:#}")))
                }
            }
        }
    }
}

fn respond(
    conn: &mut TcpStream,
    status: u16,
    kind: &str,
    body: &[u8],
    head_only: bool,
) -> Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Internal Server Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut w = io::BufWriter::new(conn);
    w.write_all(head.as_bytes())?;
    if !head_only {
        w.write_all(body)?;
    }
    w.flush()?;
    Ok(())
}
