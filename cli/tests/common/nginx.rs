//! A real nginx on 127.0.0.1 serving a directory, and a proxy in front of
//! it that misbehaves on purpose (cuts bodies short, flips a byte).
//!
//! nginx runs as a daemon from a configuration in a temporary directory:
//! when `nginx` returns, its master has bound the ports, so the tests can
//! connect at once (no polling, no sleeps). It serves the same root on two
//! ports: a normal one, and one with `max_ranges 0`, which ignores Range
//! and answers every request with the whole file. What crosses the wire is
//! counted by a [`Faulty`] proxy in front of it (with [`Fault::None`], a
//! plain counting pass-through).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A running nginx; stopped when dropped.
pub struct Nginx {
    dir: trees_oracle::TempDir,
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
        let dir = trees_oracle::tempdir().unwrap();
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
    access_log off;
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

/// How a [`Faulty`] proxy damages answers. A suffix selects the answers
/// to requests whose path ends with it (`".pack"`, `".idx"`, `""` for all).
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Nothing: a counting pass-through.
    None,
    /// Every selected body stops after this many bytes (the header still
    /// announces the full length), and the connection closes.
    Cut(&'static str, usize),
    /// Only the first selected answer is cut after this many bytes.
    CutFirst(&'static str, usize),
    /// Byte `n` of every selected body is flipped.
    Flip(&'static str, usize),
    /// The first selected answer stops after this many bytes, every later
    /// one after none (a server that went away mid-transfer).
    Stall(&'static str, usize),
}

/// One answer as the proxy relayed it: path, status, body bytes sent, the
/// request's Range header (`-` if none). Recorded before the bytes are
/// written to the client, so a client that has read an answer finds it
/// here: no waiting on a log file.
#[derive(Debug, Clone)]
pub struct Relayed {
    /// The request's path.
    pub uri: String,
    /// The status code.
    pub status: u16,
    /// Body bytes sent to the client.
    pub body: u64,
    /// The Range header, or `-`.
    pub range: String,
}

/// A proxy to nginx that damages its answers; stopped when dropped.
pub struct Faulty {
    /// Its port.
    pub port: u16,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Relayed>>>,
}

impl Faulty {
    /// A proxy on a fresh port to nginx on `upstream`.
    pub fn new(upstream: u16, fault: Fault) -> Faulty {
        let (listener, port) = free_port();
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (stop2, log2) = (stop.clone(), log.clone());
        let selected = AtomicUsize::new(0);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let _ = relay(conn, upstream, fault, &selected, &log2);
            }
        });
        Faulty { port, stop, log }
    }

    /// `http://127.0.0.1:<port>/<rel>`.
    pub fn url(&self, rel: &str) -> String {
        format!("http://127.0.0.1:{}/{rel}", self.port)
    }

    /// Every answer relayed so far.
    pub fn log(&self) -> Vec<Relayed> {
        self.log.lock().unwrap().clone()
    }

    /// Forgets the answers relayed so far.
    pub fn clear(&self) {
        self.log.lock().unwrap().clear();
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
    selected: &AtomicUsize,
    log: &Mutex<Vec<Relayed>>,
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
    let uri = text.split_whitespace().nth(1).unwrap_or("").to_owned();
    let mut range = "-".to_owned();
    let mut req = String::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        let lower = line.to_ascii_lowercase();
        if let Some(r) = lower.strip_prefix("range:") {
            range = r.trim().to_owned();
        }
        if !lower.starts_with("connection:") {
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
    let status = String::from_utf8_lossy(h)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut body = body.to_vec();
    let picks = |suffix: &str| uri.ends_with(suffix);
    let keep = match fault {
        Fault::None => body.len(),
        Fault::Cut(sfx, k) if picks(sfx) => k.min(body.len()),
        Fault::CutFirst(sfx, k) if picks(sfx) => {
            if selected.fetch_add(1, Ordering::SeqCst) == 0 {
                k.min(body.len())
            } else {
                body.len()
            }
        }
        Fault::Flip(sfx, i) if picks(sfx) => {
            if let Some(b) = body.get_mut(i) {
                *b ^= 0x01;
            }
            body.len()
        }
        Fault::Stall(sfx, k) if picks(sfx) => {
            if selected.fetch_add(1, Ordering::SeqCst) == 0 {
                k.min(body.len())
            } else {
                0
            }
        }
        _ => body.len(),
    };
    log.lock().unwrap().push(Relayed {
        uri,
        status,
        body: keep as u64,
        range,
    });
    client.write_all(h)?;
    client.write_all(&body[..keep])?;
    client.flush()?;
    client.shutdown(Shutdown::Both)
}
