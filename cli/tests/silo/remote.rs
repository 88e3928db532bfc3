//! Silos over HTTP: a real nginx on 127.0.0.1 serves a repacked silo;
//! `silo cat URL`, `silo mirror` and their checks are run against it, and
//! against a proxy that damages its answers. Byte counts are checked
//! against `git verify-pack -v` (the size of each entry in the pack and
//! its delta base) and against nginx's own access log.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::cli::{add, git, silo, silo_ok};
use super::nginx::{Fault, Faulty, Nginx};

/// A served root holding `s.silo`: 4 releases of a series, 2 of them
/// with a have/want pair of derived files, repacked (deltas), plus one
/// loose blob added after the repack.
struct Served {
    tmp: trees_oracle::TempDir,
    root: PathBuf,
    silo: PathBuf,
    /// Every blob id, the loose one last.
    ids: Vec<String>,
    nginx: Nginx,
    /// A counting pass-through to nginx: `url()` goes through it.
    proxy: Faulty,
}

impl Served {
    fn new(seed: u64) -> Served {
        let tmp = trees_oracle::tempdir().unwrap();
        let root = tmp.path().join("www");
        let silo = root.join("s.silo");
        std::fs::create_dir(&root).unwrap();
        silo_ok(&[&"init", &silo]);
        let mut files = Vec::new();
        for r in trees_testdata::series("r", &trees_testdata::Options::small(seed)) {
            let p = tmp.path().join(&r.file_name);
            std::fs::write(&p, &r.tar).unwrap();
            files.push(p);
        }
        let mut ids = add(&silo, &files);
        let hints = tmp.path().join("HINTS.json");
        std::fs::write(
            &hints,
            format!(
                r#"{{"hints": [{{"have": "{}", "want": "{}"}}]}}"#,
                ids[0], ids[1]
            ),
        )
        .unwrap();
        silo_ok(&[
            &"repack",
            &silo,
            &"--hints",
            &hints,
            &"--formats",
            &"zstd,vcdiff",
        ]);
        let late = tmp.path().join("late.txt");
        std::fs::write(&late, b"added after the repack\n").unwrap();
        ids.extend(add(&silo, &[late]));
        silo_ok(&[&"update-server-info", &silo]);
        let nginx = Nginx::serve(&root);
        let proxy = Faulty::new(nginx.port, Fault::None);
        Served {
            tmp,
            root,
            silo,
            ids,
            nginx,
            proxy,
        }
    }

    fn url(&self) -> String {
        self.proxy.url("s.silo/")
    }

    fn cache(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// The one pack: the series is one family and the late blob is loose.
    fn pack(&self) -> PathBuf {
        let dir = self.silo.join("pack");
        let packs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "pack"))
            .collect();
        assert_eq!(packs.len(), 1, "the fixture is one family: {packs:?}");
        packs.into_iter().next().unwrap()
    }
}

/// `git verify-pack -v`: id -> (size in pack, base id).
fn entries(pack: &Path) -> HashMap<String, (u64, Option<String>)> {
    let idx = pack.with_extension("idx");
    let out = git(
        pack.parent().unwrap(),
        &["verify-pack", "-v", idx.to_str().unwrap()],
    );
    let mut m = HashMap::new();
    for line in String::from_utf8(out).unwrap().lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 5 && f[0].len() == 40 {
            let base = (f.len() == 7).then(|| f[6].to_owned());
            m.insert(f[0].to_owned(), (f[3].parse().unwrap(), base));
        }
    }
    m
}

/// The bytes an object's entry and its chain of bases take in the pack.
fn chain_bytes(e: &HashMap<String, (u64, Option<String>)>, id: &str) -> u64 {
    let mut total = 0;
    let mut cur = Some(id.to_owned());
    while let Some(c) = cur {
        let (size, base) = &e[&c];
        total += size;
        cur = base.clone();
    }
    total
}

fn stats(stderr: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no --stats line in {text}"));
    serde_json::from_str(line).unwrap()
}

fn cat(url: &str, id: &str, cache: &Path, extra: &[&str]) -> std::process::Output {
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
        vec![&"cat", &url, &id, &"--cache", &cache, &"--stats"];
    for e in extra {
        args.push(e);
    }
    silo(&args)
}

#[test]
fn single_objects_cost_their_entries_and_bases_not_the_pack() {
    let s = Served::new(11);
    let pack = s.pack();
    let e = entries(&pack);
    let pack_len = std::fs::metadata(&pack).unwrap().len();
    let idx_len = std::fs::metadata(pack.with_extension("idx")).unwrap().len();
    let listing_len = std::fs::metadata(s.silo.join("info/files.json"))
        .unwrap()
        .len();
    assert!(
        e.values().any(|(_, b)| b.is_some()),
        "the fixture must have deltas"
    );
    let url = s.url();
    for (n, id) in s.ids.iter().enumerate() {
        let cache = s.cache(&format!("cache{n}"));
        let want = silo_ok(&[&"cat", &s.silo, id]);
        for (round, idx_cost) in [(0, idx_len), (1, 0)] {
            s.proxy.clear();
            let out = cat(&url, id, &cache, &[]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.stdout, want, "object {id}, round {round}");
            let st = stats(&out.stderr);
            let got = st["received_bytes"].as_u64().unwrap();
            let expected = match e.get(id) {
                Some(_) => listing_len + idx_cost + chain_bytes(&e, id),
                None => {
                    // The loose blob: its .gz, fetched whole.
                    let hex = id.as_str();
                    let gz = s
                        .silo
                        .join("objects")
                        .join(&hex[..2])
                        .join(format!("{}.gz", &hex[2..]));
                    listing_len + idx_cost + std::fs::metadata(gz).unwrap().len()
                }
            };
            assert_eq!(got, expected, "object {id}, round {round}: {st}");
            // What crossed the wire, counted by the proxy, is the same.
            let log = s.proxy.log();
            let sent: u64 = log.iter().map(|r| r.body).sum();
            assert_eq!(sent, got, "{log:?}");
            assert_eq!(log.len() as u64, st["requests"].as_u64().unwrap());
            if e.contains_key(id) {
                assert!(got < pack_len, "{got} >= the whole pack, {pack_len}");
                assert!(
                    log.iter()
                        .filter(|r| r.uri.ends_with(".pack"))
                        .all(|r| r.status == 206 && r.range.starts_with("bytes=")),
                    "{log:?}"
                );
            }
        }
    }
}

#[test]
fn prefixes_and_batches_read_like_a_local_silo() {
    let s = Served::new(12);
    let cache = s.cache("c");
    let url = s.url();
    let prefix = &s.ids[2][..8];
    let out = cat(&url, prefix, &cache, &[]);
    assert!(out.status.success());
    assert_eq!(out.stdout, silo_ok(&[&"cat", &s.silo, &s.ids[2]]));

    let input = format!(
        "{}\n{}\n0000000000000000000000000000000000000000\n",
        s.ids[0], s.ids[4]
    );
    let stdin = s.tmp.path().join("ids");
    std::fs::write(&stdin, &input).unwrap();
    let batch = |dir: &dyn AsRef<std::ffi::OsStr>, extra: &[&str]| {
        let mut c = super::cli::silo_cmd();
        c.arg("cat").arg(dir).arg("--batch").args(extra);
        c.stdin(std::fs::File::open(&stdin).unwrap());
        c.output().unwrap()
    };
    let remote = batch(&url, &["--cache", cache.to_str().unwrap()]);
    let local = batch(&s.silo, &[]);
    assert!(
        remote.status.success(),
        "{}",
        String::from_utf8_lossy(&remote.stderr)
    );
    assert_eq!(remote.stdout, local.stdout);
    assert!(
        String::from_utf8_lossy(&remote.stdout)
            .contains("0000000000000000000000000000000000000000 missing")
    );
}

#[test]
fn a_server_that_ignores_range_gets_the_whole_pack_once() {
    let s = Served::new(13);
    let proxy = Faulty::new(s.nginx.port_no_range, Fault::None);
    let url = proxy.url("s.silo/");
    let cache = s.cache("c");
    let pack_len = std::fs::metadata(s.pack()).unwrap().len();
    let id = &s.ids[1];
    let want = silo_ok(&[&"cat", &s.silo, id]);
    let out = cat(&url, id, &cache, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, want);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ignores Range"), "{err}");
    assert!(stats(&out.stderr)["received_bytes"].as_u64().unwrap() >= pack_len);
    // The cached copy serves the next reads: no pack byte is fetched again.
    proxy.clear();
    let out = cat(&url, &s.ids[2], &cache, &[]);
    assert!(out.status.success());
    assert_eq!(out.stdout, silo_ok(&[&"cat", &s.silo, &s.ids[2]]));
    let log = proxy.log();
    assert!(log.iter().all(|r| !r.uri.ends_with(".pack")), "{log:?}");
}

/// A copy of the served silo, as `name`, with `damage` done to one file.
fn damaged_copy(s: &Served, name: &str, damage: impl Fn(&Path)) -> String {
    let dest = s.root.join(name);
    copy_dir(&s.silo, &dest);
    damage(&dest);
    s.nginx.url(&format!("{name}/"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
            let mut p = std::fs::metadata(&dest).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            p.set_readonly(false);
            std::fs::set_permissions(&dest, p).unwrap();
        }
    }
}

fn flip(path: &Path, at: u64) {
    let mut b = std::fs::read(path).unwrap();
    b[at as usize] ^= 0x40;
    std::fs::write(path, b).unwrap();
}

#[test]
fn a_wrong_byte_is_an_error_naming_the_file_and_nothing_is_written() {
    let s = Served::new(14);
    s.tmp.holds_damaged_packs();
    let pack = s.pack();
    let e = entries(&pack);
    // The entry of a whole object: flip a byte inside it.
    let idx = pack.with_extension("idx");
    let out = git(
        pack.parent().unwrap(),
        &["verify-pack", "-v", idx.to_str().unwrap()],
    );
    let text = String::from_utf8(out).unwrap();
    let line = text
        .lines()
        .find(|l| l.split_whitespace().count() == 5 && l.len() > 40)
        .unwrap();
    let f: Vec<&str> = line.split_whitespace().collect();
    let (id, in_pack, offset) = (
        f[0].to_owned(),
        f[3].parse::<u64>().unwrap(),
        f[4].parse::<u64>().unwrap(),
    );
    assert!(e.contains_key(&id));
    let pack_name = pack.file_name().unwrap().to_owned();
    let url = damaged_copy(&s, "bad-pack.silo", |d| {
        flip(&d.join("pack").join(&pack_name), offset + in_pack / 2)
    });
    let out = cat(&url, &id, &s.cache("c1"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("offset {offset}"))
            && err.contains("CRC32")
            && err.contains(pack_name.to_str().unwrap()),
        "{err}"
    );

    // A damaged idx is refused (with an empty cache).
    let idx_name = idx.file_name().unwrap().to_owned();
    let url = damaged_copy(&s, "bad-idx.silo", |d| {
        flip(&d.join("pack").join(&idx_name), 1040)
    });
    let out = cat(&url, &id, &s.cache("c2"), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("idx") && err.contains(idx_name.to_str().unwrap()),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    // A damaged loose object is refused.
    let late = s.ids.last().unwrap().clone();
    let url = damaged_copy(&s, "bad-loose.silo", |d| {
        let p = d
            .join("objects")
            .join(&late[..2])
            .join(format!("{}.gz", &late[2..]));
        let len = std::fs::metadata(&p).unwrap().len();
        flip(&p, len - 10);
    });
    let out = cat(&url, &late, &s.cache("c3"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&late[2..]) && err.contains("corrupt"), "{err}");

    // A byte of the idx flipped in transit: its checksum catches it.
    let proxy = Faulty::new(s.nginx.port, Fault::Flip(".idx", 100));
    let out = cat(&proxy.url("s.silo/"), &id, &s.cache("c4"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("idx") && err.contains(idx_name.to_str().unwrap()),
        "{err}"
    );

    // A byte of a pack entry flipped in transit: its CRC32 catches it.
    let proxy = Faulty::new(s.nginx.port, Fault::Flip(".pack", 3));
    let out = cat(&proxy.url("s.silo/"), &id, &s.cache("c4"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("CRC32") && err.contains(&format!("offset {offset}")),
        "{err}"
    );
}

#[test]
fn truncated_bodies_are_resumed_or_refused() {
    let s = Served::new(15);
    let id = &s.ids[0];
    let want = silo_ok(&[&"cat", &s.silo, id]);
    // The first answer for a pack entry, and the one for the idx, are cut
    // after 7 bytes: each retry asks for the rest only, and the bytes are
    // right.
    for suffix in [".pack", ".idx"] {
        let proxy = Faulty::new(s.nginx.port, Fault::CutFirst(suffix, 7));
        let out = cat(
            &proxy.url("s.silo/"),
            id,
            &s.cache(&format!("c1{suffix}")),
            &[],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, want);
        assert!(stats(&out.stderr)["retries"].as_u64().unwrap() >= 1);
        let log = proxy.log();
        let mine: Vec<_> = log.iter().filter(|r| r.uri.ends_with(suffix)).collect();
        let first_start = match mine[0].range.as_str() {
            "-" => 0,
            r => r["bytes=".len()..]
                .split('-')
                .next()
                .unwrap()
                .parse::<u64>()
                .unwrap(),
        };
        assert_eq!(mine[0].body, 7, "{log:?}");
        assert!(
            mine[1]
                .range
                .starts_with(&format!("bytes={}-", first_start + 7)),
            "the retry must resume after the 7 bytes received: {log:?}"
        );
    }

    // Every answer cut at 0 bytes: bounded retries, then a clear error.
    let proxy = Faulty::new(s.nginx.port, Fault::Cut("", 0));
    let out = cat(
        &proxy.url("s.silo/"),
        id,
        &s.cache("c2"),
        &["--retries", "2"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("stopped after 0 of") && err.contains("(attempts: 3)"),
        "{err}"
    );
    assert_eq!(proxy.log().len(), 3);

    // A server that trickles one byte per connection: each attempt gains
    // too little to count as progress, so the retries still run out.
    let proxy = Faulty::new(s.nginx.port, Fault::Cut(".pack", 1));
    let out = cat(
        &proxy.url("s.silo/"),
        id,
        &s.cache("c4"),
        &["--retries", "2"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let packs = proxy
        .log()
        .iter()
        .filter(|r| r.uri.ends_with(".pack"))
        .count();
    assert_eq!(packs, 3, "{:?}", proxy.log());

    // Nothing listens: a quick, clear error.
    let out = cat(
        "http://127.0.0.1:9/s.silo/",
        id,
        &s.cache("c3"),
        &["--retries", "0"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("127.0.0.1:9") && err.contains("(attempts: 1)"),
        "{err}"
    );
}

#[test]
fn mirror_copies_everything_checks_it_and_resumes() {
    let s = Served::new(16);
    let dest = s.tmp.path().join("copy.silo");
    // The pack's answer stops after 4 KiB, and the server then sends
    // nothing: with no retries left, the pack is left partial.
    let pack_len = std::fs::metadata(s.pack()).unwrap().len();
    assert!(
        pack_len > 8192,
        "the fixture's pack must be larger than the cut"
    );
    let proxy = Faulty::new(s.nginx.port, Fault::Stall(".pack", 4096));
    let out = super::cli::silo_cmd()
        .args([
            "mirror",
            &proxy.url("s.silo/"),
            dest.to_str().unwrap(),
            "--retries",
            "0",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("resume"), "{err}");
    let part = std::fs::read_dir(dest.join("tmp"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".pack.part"))
        .expect("a partial pack is kept");
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 4096);
    assert!(!dest.join("pack").read_dir().unwrap().any(|e| e.is_ok()));

    // Again, from nginx itself: it resumes at 4 KiB.
    s.proxy.clear();
    let out = silo_ok(&[&"mirror", &s.url(), &dest, &"--json"]);
    let o: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(o["resumed_bytes"], 4096);
    assert_eq!(o["packs"]["copied"], 1);
    assert_eq!(o["loose"]["copied"], 1);
    assert_eq!(o["derived"]["copied"], 3, "{o}");
    assert!(o["refused"].as_array().unwrap().is_empty());
    let log = s.proxy.log();
    assert!(
        log.iter()
            .any(|r| r.uri.ends_with(".pack") && r.range == "bytes=4096-"),
        "{log:?}"
    );
    // The copy is whole and sound, by our verify and by git's.
    silo_ok(&[&"verify", &dest]);
    for id in &s.ids {
        assert_eq!(
            silo_ok(&[&"cat", &dest, id]),
            silo_ok(&[&"cat", &s.silo, id])
        );
    }
    let copied_pack = dest.join("pack").join(s.pack().file_name().unwrap());
    assert_eq!(
        std::fs::read(&copied_pack).unwrap(),
        std::fs::read(s.pack()).unwrap()
    );
    git(
        dest.as_path(),
        &[
            "verify-pack",
            copied_pack.with_extension("idx").to_str().unwrap(),
        ],
    );
    assert!(dest.join("info/files.json").is_file());

    // Nothing left to copy.
    let o: serde_json::Value =
        serde_json::from_slice(&silo_ok(&[&"mirror", &s.url(), &dest, &"--json"])).unwrap();
    assert_eq!(o["packs"]["copied"], 0);
    assert_eq!(o["packs"]["present"], 1);
    assert_eq!(o["loose"]["copied"], 0);
    assert_eq!(o["derived"]["copied"], 0);
}

#[test]
fn mirror_refuses_a_hostile_listing_and_a_damaged_pack() {
    let s = Served::new(17);
    s.tmp.holds_damaged_packs();
    let pack = s.pack();
    let pack_name = pack.file_name().unwrap().to_owned();
    let url = damaged_copy(&s, "bad.silo", |d| {
        let len = std::fs::metadata(d.join("pack").join(&pack_name))
            .unwrap()
            .len();
        flip(&d.join("pack").join(&pack_name), len / 2);
    });
    let dest = s.tmp.path().join("copy.silo");
    let out = silo(&[&"mirror", &url, &dest, &"--retries", &"0"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(pack_name.to_str().unwrap()), "{err}");
    assert!(!dest.join("pack").read_dir().unwrap().any(|e| e.is_ok()));

    let url = damaged_copy(&s, "evil.silo", |d| {
        let hex = "0123456789abcdef0123456789abcdef01234567";
        std::fs::write(
            d.join("info/files.json"),
            format!(
                r#"{{"version":1,"packs":[],"loose":[],"derived":[{{"name":"../../{hex}..{hex}.json","size":3}}]}}"#
            ),
        )
        .unwrap();
    });
    let dest = s.tmp.path().join("copy2.silo");
    let out = silo(&[&"mirror", &url, &dest]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a derived file name"), "{err}");
}

#[test]
fn repack_and_gc_keep_the_listing_current() {
    let (_tmp, dir) = super::cli::new_silo();
    let files = super::cli::testdata_files();
    let ids = add(&dir, &files[..2]);
    silo_ok(&[&"repack", &dir]);
    let l: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("info/files.json")).unwrap()).unwrap();
    assert_eq!(l["packs"].as_array().unwrap().len(), 1);
    assert!(l["loose"].as_array().unwrap().is_empty());
    let reachable = dir.join("../reachable");
    std::fs::write(&reachable, format!("{}\n", ids[0])).unwrap();
    silo_ok(&[&"gc", &dir, &"--reachable", &reachable, &"--grace", &"0"]);
    let l2: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("info/files.json")).unwrap()).unwrap();
    assert_ne!(
        l["packs"], l2["packs"],
        "gc rewrote the pack: the listing must say so"
    );
    let name = l2["packs"][0]["name"].as_str().unwrap();
    assert!(dir.join("pack").join(format!("{name}.pack")).is_file());
}

#[test]
fn a_delta_loop_in_a_served_pack_is_refused_at_the_first_repeat() {
    use trees_pack::data::{self, write::Base, write::Entry};
    use trees_pack::{Kind, delta, id::hash_object, index};
    // a needs b, b needs a, c needs itself.
    let mut enc = delta::Encoder::new(2, 2);
    enc.insert(b"a\n");
    let d = enc.finish().unwrap();
    let blob = |b: &[u8]| hash_object(Kind::Blob, b).unwrap();
    let (a, b, c) = (blob(b"a\n"), blob(b"b\n"), blob(b"c\n"));
    let mut w = data::Writer::new(Vec::new(), 3).unwrap();
    w.write(&Entry::delta(a, Base::Ref(b), &d, 6)).unwrap();
    w.write(&Entry::delta(b, Base::Ref(a), &d, 6)).unwrap();
    w.write(&Entry::delta(c, Base::Ref(c), &d, 6)).unwrap();
    let mut out = w.finish().unwrap();
    let mut idx = Vec::new();
    index::write(&mut out.entries, &out.checksum, &mut idx).unwrap();

    let tmp = trees_oracle::tempdir().unwrap();
    tmp.holds_damaged_packs();
    let silo_dir = tmp.path().join("evil.silo");
    std::fs::create_dir_all(silo_dir.join("pack")).unwrap();
    std::fs::create_dir_all(silo_dir.join("info")).unwrap();
    let name = format!("pack-{}", out.checksum);
    std::fs::write(silo_dir.join(format!("pack/{name}.pack")), &out.out).unwrap();
    std::fs::write(silo_dir.join(format!("pack/{name}.idx")), &idx).unwrap();
    std::fs::write(
        silo_dir.join("info/files.json"),
        format!(
            r#"{{"version":1,"packs":[{{"name":"{name}","pack":{},"idx":{}}}],"loose":[],"derived":[]}}"#,
            out.out.len(),
            idx.len()
        ),
    )
    .unwrap();
    let nginx = Nginx::serve(tmp.path());
    let proxy = Faulty::new(nginx.port, Fault::None);
    for id in [a, b, c] {
        proxy.clear();
        let out = cat(
            &proxy.url("evil.silo/"),
            &id.to_string(),
            &tmp.path().join("cache"),
            &[],
        );
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("loops back"), "{err}");
        let log = proxy.log();
        let pack_requests = log.iter().filter(|r| r.uri.ends_with(".pack")).count();
        assert!(pack_requests <= 2, "{log:?}");
    }
}

#[test]
fn without_a_listing_loose_objects_still_read_and_the_user_is_told() {
    let s = Served::new(18);
    let url = damaged_copy(&s, "unlisted.silo", |d| {
        std::fs::remove_file(d.join("info/files.json")).unwrap();
    });
    let late = s.ids.last().unwrap();
    let out = cat(&url, late, &s.cache("c"), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, silo_ok(&[&"cat", &s.silo, late]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("info/files.json is missing"), "{err}");

    let out = cat(&url, &s.ids[0], &s.cache("c"), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no object") && err.contains("is missing"),
        "{err}"
    );

    let out = silo(&[&"mirror", &url, &s.tmp.path().join("m.silo")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("update-server-info"), "{err}");
}

/// `silo mirror` killed with SIGKILL at each of its crash points (every
/// fsync, rename and directory fsync of its pack install, loose objects
/// and derived files): the next `silo mirror` completes, the copy
/// verifies and reads back like the source, and no pack is left without
/// its idx. A kill between the pack's rename and its idx's resumes from
/// the pack left behind instead of fetching it again.
#[test]
fn mirror_killed_anywhere_completes_next_time() {
    let s = Served::new(19);
    let url = s.nginx.url("s.silo/");
    let run = |dest: &Path, at: u64| {
        super::cli::silo_cmd()
            .args(["mirror", &url, dest.to_str().unwrap()])
            .env("SILO_CRASH_AT", at.to_string())
            .env("SILO_LOG", "trees_silo=debug")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let out = run(&s.tmp.path().join("count.silo"), 0);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8_lossy(&out.stderr);
    let points = log.matches("crash point").count() as u64;
    for what in [
        "pack renamed",
        "idx renamed",
        "loose object renamed",
        "derived file renamed",
    ] {
        assert!(
            log.contains(what),
            "no crash point at \"{what}\" in a mirror"
        );
    }
    let point_of = |what: &str| {
        log.lines()
            .find(|l| l.contains(what))
            .and_then(|l| {
                l.split("crash point ")
                    .nth(1)?
                    .split(':')
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .unwrap()
    };
    // From the pack's rename until its idx's, the pack is alone.
    let alone = point_of("pack renamed")..point_of("idx renamed");
    let source = trees_silo::Silo::open(&s.silo).unwrap();
    let mut resumed_orphan = false;
    for at in 1..=points {
        let dest = s.tmp.path().join(format!("copy-{at}.silo"));
        let out = run(&dest, at);
        assert!(
            out.status.code().is_none(),
            "point {at} of {points} was not reached"
        );
        let pack = dest.join("pack");
        let orphaned = std::fs::read_dir(&pack).is_ok_and(|mut d| {
            d.any(|e| {
                let p = e.unwrap().path();
                p.extension().is_some_and(|x| x == "pack") && !p.with_extension("idx").exists()
            })
        });
        assert_eq!(
            orphaned,
            alone.contains(&at),
            "point {at}: a pack without its idx"
        );
        let again: serde_json::Value =
            serde_json::from_slice(&silo_ok(&[&"mirror", &url, &dest, &"--json"])).unwrap();
        if orphaned {
            assert!(again["resumed_bytes"].as_u64().unwrap() > 0, "{again}");
            resumed_orphan = true;
        }
        silo_ok(&[&"verify", &dest]);
        for e in std::fs::read_dir(&pack).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "pack") {
                assert!(
                    p.with_extension("idx").is_file(),
                    "{} has no idx",
                    p.display()
                );
            }
        }
        let copy = trees_silo::Silo::open(&dest).unwrap();
        for id in &s.ids {
            let id = trees_pack::id::parse_hex(id).unwrap();
            let (mut a, mut b) = (Vec::new(), Vec::new());
            source.read(&id, &mut a).unwrap();
            copy.read(&id, &mut b)
                .unwrap_or_else(|e| panic!("point {at}: {id}: {e}"));
            assert!(a == b, "point {at}: {id} differs");
        }
        // The derived files came too, checked.
        assert_eq!(
            std::fs::read_dir(dest.join("derived/deltas"))
                .unwrap()
                .count(),
            std::fs::read_dir(s.silo.join("derived/deltas"))
                .unwrap()
                .count(),
            "point {at}"
        );
    }
    assert!(resumed_orphan);
}
