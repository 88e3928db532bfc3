//! `silo serve`: members of a split zip over HTTP, asked for by curl (a
//! real client), the way a CI log viewer links to `.../ID.wwz/PATH`; and
//! requests a server must survive.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use super::cli::{new_silo, silo_cmd, silo_ok};
use super::zips::{unzip_p, wheel};

/// A running `silo serve`, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(dir: &std::path::Path) -> Server {
        let mut child = silo_cmd()
            .arg("serve")
            .arg(dir)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // It prints its address once it listens: no sleep needed.
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("http://127.0.0.1:"), "{line}");
        Server {
            child,
            url: line.trim().to_owned(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `curl URL`: status, content type, body.
fn curl(url: &str) -> (u16, String, Vec<u8>) {
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code} %{content_type}", url])
        .output()
        .expect("curl is required by this test");
    assert!(out.status.success(), "curl {url}");
    let text = out.stdout;
    let cut = text.iter().rposition(|&b| b == b'\n').unwrap();
    let tail = String::from_utf8_lossy(&text[cut + 1..]).into_owned();
    let (code, kind) = tail.split_once(' ').unwrap();
    (code.parse().unwrap(), kind.to_owned(), text[..cut].to_vec())
}

#[test]
fn members_of_a_split_zip_are_served_by_path_to_curl() {
    let (tmp, dir) = new_silo();
    let files: Vec<PathBuf> = (0..2).map(|r| wheel(tmp.path(), r)).collect();
    let ids = super::cli::add_each(&dir, &files);
    silo_ok(&[&"repack", &dir]);
    let server = Server::start(&dir);
    let zip = &ids[1];
    for (path, kind) in [
        ("pkg/core.py", "text/plain; charset=utf-8"),
        ("pkg/version.py", "text/plain; charset=utf-8"),
    ] {
        // By id with the archive's extension, and by a prefix without one.
        for url in [
            format!("{}{zip}.wwz/{path}", server.url),
            format!("{}{}/{path}", server.url, &zip[..10]),
        ] {
            let (code, k, body) = curl(&url);
            assert_eq!(code, 200, "{url}: {}", String::from_utf8_lossy(&body));
            assert_eq!(k, kind, "{url}");
            assert!(
                body == unzip_p(&files[1], path),
                "{url}: the body differs from unzip -p"
            );
        }
    }
    // The zip itself.
    let (code, _, body) = curl(&format!("{}{zip}", server.url));
    assert_eq!(code, 200);
    assert!(body == std::fs::read(&files[1]).unwrap());
    // Missing members, objects and bad paths are 404s that say why.
    let (code, _, body) = curl(&format!("{}{zip}.wwz/pkg/none.html", server.url));
    assert_eq!(code, 404);
    assert!(String::from_utf8_lossy(&body).contains("no member \"pkg/none.html\""));
    assert_eq!(curl(&format!("{}{}/x", server.url, "f".repeat(40))).0, 404);
    assert_eq!(curl(&format!("{}favicon.ico", server.url)).0, 404);

    // Hostile requests get 400 or 405 and the server goes on serving.
    let addr = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/');
    for raw in [
        b"GARBAGE\r\n\r\n".to_vec(),
        b"POST / HTTP/1.1\r\n\r\n".to_vec(),
        format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(40_000)).into_bytes(),
        b"GET /%zz HTTP/1.1\r\n\r\n".to_vec(),
    ] {
        let mut c = TcpStream::connect(addr).unwrap();
        let _ = c.write_all(&raw);
        let mut answer = String::new();
        let _ = c.read_to_string(&mut answer);
        assert!(
            answer.starts_with("HTTP/1.1 400") || answer.starts_with("HTTP/1.1 405"),
            "{answer}"
        );
    }
    let (code, _, _) = curl(&format!("{}{zip}.wwz/pkg/core.py", server.url));
    assert_eq!(code, 200);
}
