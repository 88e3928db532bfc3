//! A real S3 server for the bucket tests, started once per test binary on
//! 127.0.0.1: moto's `moto_server` (from PyPI), or, with
//! `TREES_S3_SERVER=s3s-fs`, the `s3s-fs` server from crates.io (a second
//! implementation, to catch dialect differences; `scripts/test.sh` runs
//! the bucket tests again on it). Both are installed by
//! `scripts/install-deps.sh`. Each test makes its own bucket. The server
//! stops when the test binary exits: it runs under a shell that waits on
//! our pipe and kills it when the pipe closes.
//!
//! Every command a test starts ([`super::runner::command`]) gets the
//! environment that points the S3 client at this server, and a replica
//! cache of this test binary's own.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The running server.
pub struct Moto {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// Its address.
    pub addr: SocketAddr,
    /// The replica cache of this test binary.
    pub cache: std::path::PathBuf,
    /// s3s-fs's data directory (buckets are its subdirectories), if that
    /// is the server.
    pub s3s_root: Option<std::path::PathBuf>,
    _shell: std::sync::Mutex<Child>,
    _cache_dir: tempfile::TempDir,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

/// The server, started at the first call.
pub fn moto() -> &'static Moto {
    MOTO.get_or_init(start)
}

/// The environment of a command run against the server started so far
/// (none before [`moto`] is first called).
pub fn env() -> Vec<(&'static str, String)> {
    let Some(m) = MOTO.get() else {
        return Vec::new();
    };
    env_for(&m.endpoint, m)
}

/// The environment for a client that reaches the server at `endpoint`
/// (the server itself, or a proxy in front of it).
pub fn env_for(endpoint: &str, m: &Moto) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_ALLOW_HTTP", "true".to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("TREES_CACHE", m.cache.to_string_lossy().into_owned()),
    ]
}

/// True when the tests run on s3s-fs instead of moto.
pub fn is_s3s() -> bool {
    std::env::var("TREES_S3_SERVER").is_ok_and(|v| v == "s3s-fs")
}

fn start() -> Moto {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    if is_s3s() {
        return start_s3s(port);
    }
    let which = Command::new("sh")
        .args(["-c", "command -v moto_server"])
        .output()
        .expect("sh is required");
    assert!(
        which.status.success(),
        "moto_server is required by the bucket tests and was not found: \
         scripts/install-deps.sh installs it (pip install 'moto[server]')"
    );
    // The shell starts moto, and kills it when our end of its stdin
    // closes (when this test binary exits, however it exits).
    let mut shell = Command::new("sh")
        .args([
            "-c",
            &format!(
                "moto_server -H 127.0.0.1 -p {port} 2>&1 & pid=$!; \
                 trap 'kill $pid 2>/dev/null' EXIT; read _; kill $pid"
            ),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start moto_server");
    // Ready when it says where it runs.
    let out = shell.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines();
    let mut seen = Vec::new();
    loop {
        match lines.next() {
            Some(Ok(l)) => {
                if l.contains("Running on") {
                    break;
                }
                seen.push(l);
            }
            _ => panic!("moto_server did not start: {}", seen.join("\n")),
        }
    }
    // Keep draining its log, so that it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let cache = tempfile::tempdir().unwrap();
    Moto {
        endpoint: format!("http://127.0.0.1:{port}"),
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        cache: cache.path().to_owned(),
        s3s_root: None,
        _shell: std::sync::Mutex::new(shell),
        _cache_dir: cache,
    }
}

/// s3s-fs on `port`, storing under a temporary directory. It prints
/// nothing when ready, so this waits until it accepts a connection.
fn start_s3s(port: u16) -> Moto {
    let which = Command::new("sh")
        .args(["-c", "command -v s3s-fs"])
        .output()
        .expect("sh is required");
    assert!(
        which.status.success(),
        "s3s-fs is required with TREES_S3_SERVER=s3s-fs and was not found: \
         scripts/install-deps.sh installs it (cargo install s3s-fs --features binary)"
    );
    let cache = tempfile::tempdir().unwrap();
    let root = cache.path().join("s3s-data");
    std::fs::create_dir(&root).unwrap();
    let shell = Command::new("sh")
        .args([
            "-c",
            &format!(
                "s3s-fs --host 127.0.0.1 --port {port} --access-key testing --secret-key testing \
                 '{}' >/dev/null 2>&1 & pid=$!; trap 'kill $pid 2>/dev/null' EXIT; read _; kill $pid",
                root.display()
            ),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start s3s-fs");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while TcpStream::connect(addr).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "s3s-fs did not start on {addr}"
        );
        std::thread::yield_now();
    }
    Moto {
        endpoint: format!("http://127.0.0.1:{port}"),
        addr,
        cache: cache.path().join("replicas"),
        s3s_root: Some(root),
        _shell: std::sync::Mutex::new(shell),
        _cache_dir: cache,
    }
}

/// Lets anyone GET the objects of the bucket of `url` (`s3://BUCKET/...`),
/// as a bucket served publicly is: a bucket policy, as `aws s3api
/// put-bucket-policy` sets it.
pub fn make_public(url: &str) {
    let bucket = url.trim_start_matches("s3://").split('/').next().unwrap();
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#
    );
    let m = moto();
    let mut s = TcpStream::connect(m.addr).unwrap();
    write!(
        s,
        "PUT /{bucket}?policy HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{policy}",
        m.addr,
        policy.len()
    )
    .unwrap();
    let mut status = String::new();
    BufReader::new(s).read_line(&mut status).unwrap();
    assert!(
        status.contains(" 20"),
        "cannot set the policy of {bucket}: {status}"
    );
}

/// A new, empty bucket; returns `s3://BUCKET/silo`.
pub fn silo_url() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let m = moto();
    let name = format!(
        "t{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    if let Some(root) = &m.s3s_root {
        // s3s-fs keeps a bucket as a directory of its root (what its
        // CreateBucket makes).
        std::fs::create_dir(root.join(&name)).unwrap();
        return format!("s3://{name}/silo");
    }
    let mut s = TcpStream::connect(m.addr).unwrap();
    write!(
        s,
        "PUT /{name} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        m.addr
    )
    .unwrap();
    let mut status = String::new();
    BufReader::new(s).read_line(&mut status).unwrap();
    assert!(
        status.contains(" 200"),
        "cannot make bucket {name}: {status}"
    );
    format!("s3://{name}/silo")
}
