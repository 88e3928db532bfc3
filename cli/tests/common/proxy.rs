//! A fault-injecting HTTP/1.1 proxy for integration tests, put between our
//! S3 clients (object_store/reqwest, ureq) and a real S3 server (moto on
//! 127.0.0.1). Not a mock: requests it does not fault go to the real server
//! and its real answers come back. Per request a seeded PRNG picks a fault
//! (drop the connection, answer `503 SlowDown`, cut the body in half) or a
//! clean pass-through, so a run is reproducible given the request order.
//!
//! One request per connection: both sides are told `Connection: close` and
//! the clients reconnect. Other headers pass byte for byte (Host and the AWS
//! signature included), but the proxy answers `Expect: 100-continue` itself.

#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

const MAX_HEAD: usize = 64 * 1024; // Bigger request heads get a 400.
const IO_TIMEOUT: Duration = Duration::from_secs(30); // On every socket: no thread hangs.
/// The body of the `503 Slow Down` answer, as S3 sends it.
const SLOW_DOWN_BODY: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown\
                              </Code><Message>Please reduce your request rate.</Message></Error>";

/// Fault probabilities per request, each in 0.0..=1.0.
///
/// One draw in [0, 1) per request decides: `drop` takes the first share,
/// `slow_down` the next, `cut` the next, and the rest is forwarded cleanly
/// (if they sum to more than 1, the later ones get only what is left).
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    /// Close the client's connection without answering anything.
    pub drop: f64,
    /// Answer `503 Slow Down` (S3's `SlowDown` error) without asking the server.
    pub slow_down: f64,
    /// Forward, then relay the answer's head and half its body (half the head if no body).
    pub cut: f64,
}

/// Where the proxy forwards, its seed and its faults.
type Setup = (SocketAddr, u64, Faults);

/// The counters the proxy shares with its threads, and its stop flag.
#[derive(Default)]
struct Shared {
    requests: AtomicU64,
    ok: AtomicU64,
    dropped: AtomicU64,
    slowed: AtomicU64,
    cut: AtomicU64,
    stop: AtomicBool,
}

/// A running fault-injecting proxy; stops accepting when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Listens on 127.0.0.1:0, forwards to `upstream` (host:port).
    pub fn start(upstream: SocketAddr, seed: u64, faults: Faults) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("fault proxy: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("fault proxy: local address");
        let shared = Arc::new(Shared::default());
        let sh = Arc::clone(&shared);
        let accept = thread::Builder::new()
            .spawn(move || accept_loop(&listener, (upstream, seed, faults), &sh))
            .expect("fault proxy: spawn the accept thread");
        FaultProxy {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// "http://127.0.0.1:PORT"
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.addr.port())
    }

    /// How many requests saw each fault so far: (forwarded_ok, dropped, slowed, cut).
    ///
    /// A request is counted before the client gets any byte of its answer.
    pub fn counts(&self) -> (u64, u64, u64, u64) {
        let s = &self.shared;
        let load = |c: &AtomicU64| c.load(Ordering::SeqCst);
        (load(&s.ok), load(&s.dropped), load(&s.slowed), load(&s.cut))
    }
}

impl Drop for FaultProxy {
    /// Stops accepting; connections in flight finish on their own threads.
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop; wait for it only if the wake-up got through.
        if TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok()
            && let Some(accept) = self.accept.take()
        {
            let _ = accept.join();
        }
    }
}

/// Accepts connections until told to stop, each served on its own thread.
fn accept_loop(listener: &TcpListener, setup: Setup, sh: &Arc<Shared>) {
    for conn in listener.incoming() {
        if sh.stop.load(Ordering::SeqCst) {
            break;
        }
        // On errors (out of descriptors?) do not spin.
        let Ok(conn) = conn.inspect_err(|_| thread::sleep(Duration::from_millis(10))) else {
            continue;
        };
        let sh = Arc::clone(sh);
        // Without a thread the connection just closes.
        let _ = thread::Builder::new().spawn(move || handle(conn, setup, &sh));
    }
}

/// SplitMix64's output function.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The draw in [0, 1) for request number `n` of a run seeded with `seed`.
fn draw(seed: u64, n: u64) -> f64 {
    (splitmix64(seed ^ splitmix64(n)) >> 11) as f64 / (1u64 << 53) as f64
}

/// Serves one request on `client`, then closes it.
fn handle(mut client: TcpStream, setup: Setup, sh: &Shared) -> io::Result<()> {
    let (upstream, seed, f) = setup;
    client.set_read_timeout(Some(IO_TIMEOUT))?;
    client.set_write_timeout(Some(IO_TIMEOUT))?;
    client.set_nodelay(true)?;
    let Some((head, mut body)) = read_head(&mut client)? else {
        return reject(client, "400 Bad Request");
    };
    let mut length = 0usize;
    let mut expect_continue = false;
    for (name, value) in lines(&head).skip(1).filter_map(header) {
        if name.eq_ignore_ascii_case(b"content-length") {
            match std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()) {
                Some(n) => length = n,
                None => return reject(client, "400 Bad Request"),
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding")
            && value.windows(7).any(|w| w.eq_ignore_ascii_case(b"chunked"))
        {
            return reject(client, "501 Not Implemented");
        } else if name.eq_ignore_ascii_case(b"expect") {
            expect_continue = value.eq_ignore_ascii_case(b"100-continue");
        }
    }
    // Bytes past the body would be a pipelined request: not supported.
    body.truncate(length);
    if expect_continue && body.len() < length {
        client.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    (&mut client)
        .take((length - body.len()) as u64)
        .read_to_end(&mut body)?;
    if body.len() < length {
        return Ok(()); // The client went away.
    }

    let r = draw(seed, sh.requests.fetch_add(1, Ordering::SeqCst));
    if r < f.drop {
        sh.dropped.fetch_add(1, Ordering::SeqCst);
        return client.shutdown(Shutdown::Both);
    }
    if r < f.drop + f.slow_down {
        sh.slowed.fetch_add(1, Ordering::SeqCst);
        let answer = format!(
            "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{SLOW_DOWN_BODY}",
            SLOW_DOWN_BODY.len()
        );
        client.write_all(answer.as_bytes())?;
        return finish(client);
    }
    let cut = r < f.drop + f.slow_down + f.cut;
    let answer = forward(upstream, &close_head(&head, expect_continue), &body)?;
    let Some(end) = head_end(&answer) else {
        return Ok(()); // No answer from the server: the client sees a close.
    };
    let (rhead, rbody) = answer.split_at(end);
    let rhead = close_head(rhead, false);
    if cut { &sh.cut } else { &sh.ok }.fetch_add(1, Ordering::SeqCst);
    let (rhead, rbody) = match (cut, rbody.len()) {
        (false, _) => (&rhead[..], rbody),
        (true, 0) => (&rhead[..rhead.len() / 2], rbody), // Nothing to halve: cut the head.
        (true, n) => (&rhead[..], &rbody[..n / 2]),
    };
    client.write_all(rhead)?;
    client.write_all(rbody)?;
    finish(client)
}

/// Reads through the blank line ending the request head. Returns the head
/// (blank line included) and the body bytes read with it, or `None` if the
/// head is longer than [`MAX_HEAD`].
fn read_head(s: &mut TcpStream) -> io::Result<Option<(Vec<u8>, Vec<u8>)>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = head_end(&buf).filter(|&end| end <= MAX_HEAD) {
            let rest = buf.split_off(end);
            return Ok(Some((buf, rest)));
        }
        if buf.len() > MAX_HEAD {
            return Ok(None);
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Where the head in `buf` ends (just past its `\r\n\r\n`), if it does.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// The lines of a head, without their `\r\n` and without the blank line.
fn lines(head: &[u8]) -> impl Iterator<Item = &[u8]> {
    let head = head.strip_suffix(b"\r\n\r\n").unwrap_or(head);
    head.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

/// A header line's name and value, trimmed.
fn header(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|&b| b == b':')?;
    Some((line[..colon].trim_ascii(), line[colon + 1..].trim_ascii()))
}

/// `head` with its `Connection` headers replaced by one `Connection: close`
/// right after the start line, and without `Expect` if `strip_expect`; every
/// other line is kept byte for byte.
fn close_head(head: &[u8], strip_expect: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(head.len() + 19);
    for (i, line) in lines(head).enumerate() {
        let name = header(line).map_or(&b""[..], |(name, _)| name);
        let expect = strip_expect && name.eq_ignore_ascii_case(b"expect");
        if i > 0 && (expect || name.eq_ignore_ascii_case(b"connection")) {
            continue;
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
        if i == 0 {
            out.extend_from_slice(b"Connection: close\r\n");
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Sends one request to `upstream` on a new connection and reads the whole
/// answer, up to the server's close.
fn forward(upstream: SocketAddr, head: &[u8], body: &[u8]) -> io::Result<Vec<u8>> {
    let mut s = TcpStream::connect_timeout(&upstream, Duration::from_secs(10))?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    s.set_nodelay(true)?;
    s.write_all(head)?;
    s.write_all(body)?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer)?;
    Ok(answer)
}

/// Answers `status` with an empty body, then closes.
fn reject(mut client: TcpStream, status: &str) -> io::Result<()> {
    let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    client.write_all(answer.as_bytes())?;
    finish(client)
}

/// Closes `client`: our side first, then the socket once the client is done
/// sending (or after a second), so the close does not become a reset.
fn finish(client: TcpStream) -> io::Result<()> {
    client.shutdown(Shutdown::Write)?;
    client.set_read_timeout(Some(Duration::from_secs(1)))?;
    let _ = io::copy(&mut (&client).take(1 << 20), &mut io::sink());
    Ok(())
}
