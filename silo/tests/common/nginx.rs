//! A real nginx on 127.0.0.1 serving a directory, and a proxy in front of
//! it that misbehaves on purpose (cuts bodies short, flips a byte).
//!
//! nginx runs as a daemon from a configuration in a temporary directory:
//! when `nginx` returns, its master has bound the ports, so the tests can
//! connect at once (no polling, no sleeps). It serves the same root on two
//! ports: a normal one, and one with `max_ranges 0`, which ignores Range
//! and answers every request with the whole file. Requests are logged as
//! `<uri> <status> <body bytes sent> <range>`, one a line.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A running nginx; stopped when dropped.
pub struct Nginx {
    dir: tempfile::TempDir,
    /// The port that honours Range.
    pub port: u16,
    /// The port that ignores Range (`max_ranges 0`).
    pub port_no_range: u16,
}

fn nginx_binary() -> PathBuf {
    for p in ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"] {
        if Path::new(p).is_file() {
            return p.into();
        }
    }
    panic!(
        "nginx is required by this test and was not found: install the Debian package nginx \
         (scripts/install-deps.sh does)"
    );
}

fn free_port() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

impl Nginx {
    /// Serves `root` (read-only) on two fresh ports.
    pub fn serve(root: &Path) -> Nginx {
        let bin = nginx_binary();
        let dir = tempfile::tempdir().unwrap();
        // As root, nginx's workers would switch to "nobody", who cannot
        // enter the tests' private temporary directories.
        #[allow(unsafe_code)]
        let user = if unsafe { libc::geteuid() } == 0 {
            "user root;"
        } else {
            ""
        };
        let mut last_error = String::new();
        for _ in 0..10 {
            // Held until just before nginx binds them, then released.
            let (a, port) = free_port();
            let (b, port_no_range) = free_port();
            let d = dir.path().display();
            let conf = format!(
                r#"daemon on;
{user}
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format t '$request_uri $status $body_bytes_sent $http_range';
    access_log {d}/access.log t;
    client_body_temp_path {d}/client;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    default_type application/octet-stream;
    keepalive_timeout 30;
    server {{ listen 127.0.0.1:{port}; root {root}; }}
    server {{ listen 127.0.0.1:{port_no_range}; root {root}; max_ranges 0; }}
}}
"#,
                root = root.display()
            );
            std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
            drop((a, b));
            let out = Command::new(&bin)
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(dir.path().join("nginx.conf"))
                .arg("-e")
                .arg(dir.path().join("error.log"))
                .output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
            if out.status.success() {
                return Nginx {
                    dir,
                    port,
                    port_no_range,
                };
            }
            last_error = String::from_utf8_lossy(&out.stderr).into_owned();
            if !last_error.contains("in use") {
                break;
            }
        }
        panic!("nginx did not start: {last_error}");
    }

    /// `http://127.0.0.1:<port>/<rel>`.
    pub fn url(&self, rel: &str) -> String {
        format!("http://127.0.0.1:{}/{rel}", self.port)
    }

    /// The same on the port that ignores Range.
    pub fn url_no_range(&self, rel: &str) -> String {
        format!("http://127.0.0.1:{}/{rel}", self.port_no_range)
    }

    /// The access log so far: (uri, status, body bytes, range).
    /// nginx writes a request's line before it takes the next one on the
    /// connection, and the client has read the whole answer by then.
    pub fn requests(&self) -> Vec<(String, u16, u64, String)> {
        let text = std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default();
        text.lines()
            .map(|l| {
                let mut f = l.splitn(4, ' ');
                let uri = f.next().unwrap().to_owned();
                let status = f.next().unwrap().parse().unwrap();
                let bytes = f.next().unwrap().parse().unwrap();
                let range = f.next().unwrap_or("-").to_owned();
                (uri, status, bytes, range)
            })
            .collect()
    }

    /// Empties the access log.
    pub fn clear_log(&self) {
        std::fs::write(self.dir.path().join("access.log"), "").unwrap();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.path().join("nginx.pid"))
            && let Ok(pid) = pid.trim().parse::<i32>()
        {
            // SAFETY: kill has no memory-safety preconditions.
            #[allow(unsafe_code)]
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
    }
}

/// How a [`Faulty`] proxy damages answers.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Every body stops after this many bytes (the header still announces
    /// the full length), and the connection closes.
    Cut(usize),
    /// Only the first answer is cut after this many bytes.
    CutFirst(usize),
    /// Byte `n` of every body is flipped.
    Flip(usize),
    /// Answers for `.pack` files: the first stops after this many bytes,
    /// every later one after none (a server that went away mid-transfer).
    StallPack(usize),
}

/// A proxy to nginx that damages its answers; stopped when dropped.
pub struct Faulty {
    /// Its port.
    pub port: u16,
    stop: Arc<AtomicBool>,
    /// Requests served.
    pub served: Arc<AtomicUsize>,
}

impl Faulty {
    /// A proxy on a fresh port to nginx on `upstream`.
    pub fn new(upstream: u16, fault: Fault) -> Faulty {
        let (listener, port) = free_port();
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicUsize::new(0));
        let (stop2, served2) = (stop.clone(), served.clone());
        let packs = AtomicUsize::new(0);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let n = served2.fetch_add(1, Ordering::SeqCst);
                let _ = relay(conn, upstream, fault, n, &packs);
            }
        });
        Faulty { port, stop, served }
    }

    /// `http://127.0.0.1:<port>/<rel>`.
    pub fn url(&self, rel: &str) -> String {
        format!("http://127.0.0.1:{}/{rel}", self.port)
    }
}

impl Drop for Faulty {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Forwards one request (with `Connection: close`) and returns the answer
/// damaged as `fault` says, then closes the connection.
fn relay(
    mut client: TcpStream,
    upstream: u16,
    fault: Fault,
    n: usize,
    packs: &AtomicUsize,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head);
    let is_pack = text
        .split_whitespace()
        .nth(1)
        .is_some_and(|uri| uri.ends_with(".pack"));
    let mut req = String::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            req.push_str(line);
            req.push_str("\r\n");
        }
    }
    req.push_str("Connection: close\r\n\r\n");
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    up.write_all(req.as_bytes())?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(answer.len(), |p| p + 4);
    let (h, body) = answer.split_at(split);
    let mut body = body.to_vec();
    let keep = match fault {
        Fault::Cut(k) => k.min(body.len()),
        Fault::CutFirst(k) if n == 0 => k.min(body.len()),
        Fault::Flip(i) => {
            if let Some(b) = body.get_mut(i) {
                *b ^= 0x01;
            }
            body.len()
        }
        Fault::CutFirst(_) => body.len(),
        Fault::StallPack(k) if is_pack => {
            if packs.fetch_add(1, Ordering::SeqCst) == 0 {
                k.min(body.len())
            } else {
                0
            }
        }
        Fault::StallPack(_) => body.len(),
    };
    client.write_all(h)?;
    client.write_all(&body[..keep])?;
    client.flush()?;
    client.shutdown(Shutdown::Both)
}
