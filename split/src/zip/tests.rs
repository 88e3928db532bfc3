//! Real archives from Python's `zipfile` and Info-ZIP's `zip`, checked
//! against what `zipfile` reports of them; hand-made archives for what
//! tools do not write; hostile bytes. The tools are oracles: a missing
//! one fails its test, naming it.

use std::io::Read;
use std::path::Path;
use std::process::Command;

use super::*;

/// The files every tool archives, under `tree/`.
const FILES: [&str; 4] = ["a.txt", "sub/b.bin", "sub/empty", "sub/deeper/c.txt"];

/// The bytes of each of [`FILES`], the same on every run.
fn content(file: &str) -> Vec<u8> {
    match file {
        "a.txt" => b"the quick brown fox jumps over the lazy dog\n".repeat(200),
        "sub/b.bin" => {
            // Half noise, half words: deflate keeps some of it.
            let mut s: u32 = 0x1234_5678;
            (0..5000)
                .map(|i| {
                    s ^= s << 13;
                    s ^= s >> 17;
                    s ^= s << 5;
                    if i % 2 == 0 {
                        s as u8
                    } else {
                        b"member"[i % 6]
                    }
                })
                .collect()
        }
        "sub/empty" => Vec::new(),
        "sub/deeper/c.txt" => b"c\n".repeat(3),
        _ => panic!("no file {file}"),
    }
}

/// The content of an archive's member `name`: the file after its first
/// path component (`stored/a.txt`, `tree/sub/empty`); a directory is empty.
fn content_of(name: &str) -> Vec<u8> {
    let (_, file) = name.split_once('/').expect("a member under a directory");
    if file.is_empty() || file.ends_with('/') {
        return Vec::new();
    }
    content(file)
}

/// A directory holding `tree/` with [`FILES`].
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in FILES {
        let path = dir.path().join("tree").join(f);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content(f)).unwrap();
    }
    dir
}

/// Runs a tool; fails the test, naming the tool, if it is missing or fails.
fn run(cmd: &mut Command) -> Vec<u8> {
    let tool = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("this test needs `{tool}`, the oracle ({e})"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "`{tool}` failed: {err}");
    out.stdout
}

/// Runs a Python script in `dir`, with `FILES` defined.
fn python(dir: &Path, script: &str) -> String {
    let script = format!("FILES = {FILES:?}\n{script}");
    let out = run(Command::new("python3")
        .arg("-c")
        .arg(script)
        .current_dir(dir));
    String::from_utf8(out).unwrap()
}

/// What `zipfile` reports of an archive: its directory's start, then per
/// member name, header_offset, compress_size, file_size, CRC,
/// compress_type, flag_bits.
struct Oracle {
    start_dir: usize,
    infos: Vec<(String, [u64; 6])>,
}

fn oracle(dir: &Path, zip: &str) -> Oracle {
    let out = python(
        dir,
        &format!(
            r#"
import zipfile
z = zipfile.ZipFile("{zip}")
assert z.testzip() is None
print(z.start_dir)
for i in z.infolist():
    print(i.filename, i.header_offset, i.compress_size, i.file_size, i.CRC,
          i.compress_type, i.flag_bits, sep="\t")
"#
        ),
    );
    let mut lines = out.lines();
    let start_dir = lines.next().unwrap().parse().unwrap();
    let infos = lines
        .map(|l| {
            let mut f = l.split('\t');
            let name = f.next().unwrap().to_string();
            let v: Vec<u64> = f.map(|n| n.parse().unwrap()).collect();
            (name, v.try_into().unwrap())
        })
        .collect();
    Oracle { start_dir, infos }
}

/// What every archive [`parse`] returns promises.
fn assert_invariants(x: &[u8], a: &Archive) {
    assert!(a.directory_start + a.directory_len <= a.end_start);
    assert!(a.end_start + a.end_len <= x.len());
    assert_eq!(x[a.end_start..a.end_start + 4], END_MAGIC);
    let mut free = 0;
    for m in &a.members {
        assert!(m.header_start >= free, "{m:?} overlaps the member before");
        assert_eq!(x[m.header_start..m.header_start + 4], LOCAL_MAGIC);
        assert!(m.data_start >= m.header_start + LOCAL_LEN);
        assert!(
            m.data_end() <= a.directory_start,
            "{m:?} runs into the directory"
        );
        free = m.data_end();
    }
}

/// The plain bytes of a member's data range (stored or deflate); a
/// deflate stream must fill its range exactly.
fn plain(x: &[u8], m: &Member) -> Vec<u8> {
    let data = &x[m.data_start..m.data_end()];
    match m.method {
        0 => data.to_vec(),
        8 => {
            let mut d = flate2::bufread::DeflateDecoder::new(data);
            let mut out = Vec::new();
            d.read_to_end(&mut out).unwrap();
            assert_eq!(d.total_in(), data.len() as u64, "{m:?}: stream ends early");
            out
        }
        other => panic!("method {other}"),
    }
}

/// Parses `x` and checks it against `zipfile`'s report and the files.
fn check(x: &[u8], o: &Oracle) -> Archive {
    let a = parse(x).unwrap_or_else(|e| panic!("{e}"));
    assert_invariants(x, &a);
    assert_eq!(a.directory_start, o.start_dir);
    assert_eq!(a.members.len(), o.infos.len());
    for (name, [offset, compressed, size, crc, method, flags]) in &o.infos {
        let m = a.members.iter().find(|m| m.name == name.as_bytes());
        let m = m.unwrap_or_else(|| panic!("{name}: not parsed"));
        let got = [m.header_start as u64, m.data_len as u64, m.plain_len]
            .into_iter()
            .chain([m.crc32.into(), m.method.into(), m.flags.into()]);
        assert_eq!(
            got.collect::<Vec<_>>(),
            [*offset, *compressed, *size, *crc, *method, *flags],
            "{name}"
        );
        assert!(m.consistent, "{name}");
        let want = content_of(name);
        assert_eq!(plain(x, m), want, "{name}");
        let mut c = flate2::Crc::new();
        c.update(&want);
        assert_eq!(c.sum(), m.crc32, "{name}");
    }
    a
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap()
}

#[test]
fn python_deflate_levels_stored_and_a_comment() {
    let dir = tree();
    python(
        dir.path(),
        r#"
import zipfile
with zipfile.ZipFile("levels.zip", "w") as z:
    z.comment = b"an archive comment"
    for f in FILES:
        data = open("tree/" + f, "rb").read()
        z.writestr("stored/" + f, data, compress_type=zipfile.ZIP_STORED)
        for level in (1, 6, 9):
            z.writestr(f"deflate-{level}/" + f, data, zipfile.ZIP_DEFLATED, level)
"#,
    );
    let x = read(dir.path(), "levels.zip");
    let a = check(&x, &oracle(dir.path(), "levels.zip"));
    assert_eq!(a.members.len(), 16);
    assert_eq!((a.shift, a.zip64), (0, false));
    assert_eq!(a.end_start + a.end_len, x.len());
    assert_eq!(&x[a.end_start + END_LEN..], b"an archive comment");
    let methods: Vec<u16> = a.members.iter().map(|m| m.method).collect();
    assert_eq!(methods, [0, 8, 8, 8].repeat(4));
}

#[test]
fn python_data_descriptors_from_an_unseekable_file() {
    let dir = tree();
    python(
        dir.path(),
        r#"
import zipfile
class Pipe:
    def __init__(self, f): self.f = f
    def write(self, b): return self.f.write(b)
    def flush(self): self.f.flush()
with open("stream.zip", "wb") as out, zipfile.ZipFile(Pipe(out), "w", zipfile.ZIP_DEFLATED) as z:
    for f in FILES:
        data = open("tree/" + f, "rb").read()
        z.writestr("deflate/" + f, data)
        with z.open("zip64/" + f, "w", force_zip64=True) as w:
            w.write(data)
"#,
    );
    let x = read(dir.path(), "stream.zip");
    let a = check(&x, &oracle(dir.path(), "stream.zip"));
    assert_eq!(a.members.len(), 8);
    for m in &a.members {
        assert_ne!(m.flags & FLAG_DESCRIPTOR, 0, "{m:?}");
        assert!(x[m.data_end()..].starts_with(&DESCRIPTOR_MAGIC), "{m:?}");
    }
}

/// Python writes zip64 records past `ZIP64_LIMIT` bytes and
/// `ZIP_FILECOUNT_LIMIT` members: lowered, a small archive has them all.
const ZIP64_SCRIPT: &str = r#"
import zipfile
zipfile.ZIP64_LIMIT = 100
zipfile.ZIP_FILECOUNT_LIMIT = 1
with zipfile.ZipFile("z64.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for f in FILES:
        data = open("tree/" + f, "rb").read()
        z.writestr("deflate/" + f, data)
        z.writestr("stored/" + f, data, zipfile.ZIP_STORED)
"#;

#[test]
fn python_zip64_records_and_extra_fields() {
    let dir = tree();
    python(dir.path(), ZIP64_SCRIPT);
    let mut x = read(dir.path(), "z64.zip");
    let a = check(&x, &oracle(dir.path(), "z64.zip"));
    assert!(a.zip64);
    assert!(a.members.iter().all(|m| m.zip64), "{a:?}");
    // The end record's fields, all FFFF / FFFFFFFF: the zip64 ones count.
    x[a.end_start + 8..a.end_start + 20].fill(0xff);
    std::fs::write(dir.path().join("marked.zip"), &x).unwrap();
    assert_eq!(check(&x, &oracle(dir.path(), "marked.zip")), a);
    // Disagreeing with the zip64 end record.
    x[a.end_start + 10] = 7;
    assert!(
        matches!(parse(&x), Err(Error::End { .. })),
        "{:?}",
        parse(&x)
    );
}

#[test]
fn python_force_zip64_local_headers() {
    let dir = tree();
    python(
        dir.path(),
        r#"
import zipfile
with zipfile.ZipFile("force.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for f in FILES:
        with z.open("forced/" + f, "w", force_zip64=True) as w:
            w.write(open("tree/" + f, "rb").read())
"#,
    );
    let x = read(dir.path(), "force.zip");
    let a = check(&x, &oracle(dir.path(), "force.zip"));
    for m in &a.members {
        // Sizes FFFFFFFF in the local header, in its zip64 field, and
        // still `consistent` (checked above).
        assert_eq!(x[m.header_start + 18..m.header_start + 26], [0xff; 8]);
    }
}

#[test]
fn info_zip_stored_best_and_piped() {
    let dir = tree();
    let zip = |args: &[&str]| run(Command::new("zip").args(args).current_dir(dir.path()));
    zip(&["-q", "-r", "-0", "store.zip", "tree"]);
    zip(&["-q", "-r", "-9", "best.zip", "tree"]);
    // To a pipe: unseekable, so data descriptors.
    let piped = zip(&["-q", "-r", "-9", "-", "tree"]);
    std::fs::write(dir.path().join("piped.zip"), &piped).unwrap();
    for name in ["store.zip", "best.zip", "piped.zip"] {
        let x = read(dir.path(), name);
        let a = check(&x, &oracle(dir.path(), name));
        // tree/, sub/, deeper/ and the four files.
        assert_eq!(a.members.len(), 7, "{name}");
        let a_txt = a.members.iter().find(|m| m.name == b"tree/a.txt").unwrap();
        assert_eq!(a_txt.method, if name == "store.zip" { 0 } else { 8 });
        if name == "piped.zip" {
            assert_ne!(a_txt.flags & FLAG_DESCRIPTOR, 0);
        }
    }
}

/// 1,000 bytes of junk, with signatures in it to mislead.
fn junk() -> Vec<u8> {
    let mut j: Vec<u8> = (0..1000u32).map(|i| (i * 37 % 251) as u8).collect();
    j[100..104].copy_from_slice(&LOCAL_MAGIC);
    j[500..504].copy_from_slice(&CENTRAL_MAGIC);
    j
}

#[test]
fn junk_before_the_first_member_with_and_without_zip_a() {
    let dir = tree();
    let d = dir.path();
    python(d, ZIP64_SCRIPT);
    run(Command::new("zip")
        .args(["-q", "-r", "-9", "plain.zip", "tree"])
        .current_dir(d));
    for name in ["plain.zip", "z64.zip"] {
        let x = read(d, name);
        let before = parse(&x).unwrap();
        let junked = [junk(), x].concat();
        std::fs::write(d.join("junk.zip"), &junked).unwrap();
        let a = check(&junked, &oracle(d, "junk.zip"));
        assert_eq!(a.shift, 1000, "{name}");
        assert_eq!(a.zip64, name == "z64.zip");
        for (m, b) in a.members.iter().zip(&before.members) {
            assert_eq!(
                (m.header_start, m.data_start),
                (b.header_start + 1000, b.data_start + 1000)
            );
        }
        if name == "z64.zip" {
            // zip 3.0 cannot fix a zip64 archive's offsets ("expected 2
            // entries but found 0"): Python's is only read with the shift.
            continue;
        }
        std::fs::write(d.join("fixed.zip"), &junked).unwrap();
        run(Command::new("zip")
            .args(["-q", "-A", "fixed.zip"])
            .current_dir(d));
        let fixed = read(d, "fixed.zip");
        let f = check(&fixed, &oracle(d, "fixed.zip"));
        assert_eq!(f.shift, 0);
        assert_eq!(f.members, a.members);
    }
}

/// A stored member's local header, name and data.
fn local(name: &[u8], data: &[u8]) -> Vec<u8> {
    let mut c = flate2::Crc::new();
    c.update(data);
    let mut h = LOCAL_MAGIC.to_vec();
    h.extend([20, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // needed, flags, method, time, date
    h.extend(c.sum().to_le_bytes());
    h.extend((data.len() as u32).to_le_bytes().repeat(2));
    h.extend((name.len() as u16).to_le_bytes());
    h.extend([0, 0]); // extra length
    h.extend(name);
    h.extend(data);
    h
}

/// Its directory entry, for a local header at `offset`.
fn central(name: &[u8], data: &[u8], offset: u32) -> Vec<u8> {
    let l = local(name, data);
    let mut e = CENTRAL_MAGIC.to_vec();
    e.extend([20, 0]); // made by
    e.extend(&l[4..30]); // needed ... extra length, as the local header
    e.extend([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // comment length, disk, attributes
    e.extend(offset.to_le_bytes());
    e.extend(name);
    e
}

/// An end record for `count` entries of `size` bytes at `offset`.
fn end(count: u16, size: usize, offset: usize, comment: &[u8]) -> Vec<u8> {
    let mut e = END_MAGIC.to_vec();
    e.extend([0, 0, 0, 0]);
    e.extend(count.to_le_bytes().repeat(2));
    e.extend((size as u32).to_le_bytes());
    e.extend((offset as u32).to_le_bytes());
    e.extend((comment.len() as u16).to_le_bytes());
    e.extend(comment);
    e
}

/// A stored archive made by hand.
fn build(members: &[(&[u8], &[u8])], comment: &[u8]) -> Vec<u8> {
    let (mut x, mut dir) = (Vec::new(), Vec::new());
    for (name, data) in members {
        dir.extend(central(name, data, x.len() as u32));
        x.extend(local(name, data));
    }
    let at = x.len();
    x.extend(&dir);
    x.extend(end(members.len() as u16, dir.len(), at, comment));
    x
}

const THREE: [(&[u8], &[u8]); 3] = [(b"one", b"first"), (b"two/", b""), (b"three", b"3333")];

#[test]
fn hand_made_archive_and_empty_ones() {
    let x = build(&THREE, b"");
    let a = parse(&x).unwrap();
    assert_invariants(&x, &a);
    for (m, (name, data)) in a.members.iter().zip(THREE) {
        assert_eq!((&m.name[..], &x[m.data_start..m.data_end()]), (name, data));
        assert!(m.consistent);
    }
    let empty = build(&[], b"");
    let a = parse(&empty).unwrap();
    assert_eq!((a.members.len(), a.directory_start, a.shift), (0, 0, 0));
    let a = parse(&[junk(), empty].concat()).unwrap();
    assert_eq!(
        (a.members.len(), a.directory_start, a.shift),
        (0, 1000, 1000)
    );
    assert!(matches!(
        parse(b"PK\x03\x04 not a zip"),
        Err(Error::NoEnd { .. })
    ));
}

#[test]
fn comments_fake_end_records_and_bytes_after_the_end() {
    // A fake end record inside the comment: the real one ends the file
    // exactly, the fake does not.
    let fake = end(9, 0, 0, b"");
    let x = build(&THREE, &[b"comment ", &fake[..], b" more"].concat());
    let a = parse(&x).unwrap();
    assert_eq!((a.members.len(), a.end_start + a.end_len), (3, x.len()));
    // A fake whose comment does not fit, then bytes after the end: the
    // real one is the last that fits.
    let mut fake = end(9, 0, 0, b"");
    fake[20..22].copy_from_slice(&[0xff, 0xff]);
    let x = [build(&THREE, &fake), b"junk after the end".to_vec()].concat();
    let a = parse(&x).unwrap();
    assert_eq!(a.members.len(), 3);
    assert_eq!(a.end_start + a.end_len, x.len() - 18);
}

#[test]
fn hostile_directories_are_refused() {
    let x = build(&THREE, b"");
    let e = x.len() - END_LEN; // no comment
    let with = |at: usize, bytes: &[u8]| {
        let mut y = x.clone();
        y[at..at + bytes.len()].copy_from_slice(bytes);
        parse(&y)
    };
    let past = (x.len() as u32 + 100).to_le_bytes();
    assert!(matches!(with(e + 16, &past), Err(Error::Directory { .. })));
    let one_more = (parse(&x).unwrap().directory_start as u32 + 1).to_le_bytes();
    assert!(matches!(
        with(e + 16, &one_more),
        Err(Error::Directory { .. })
    ));
    let r = with(e + 8, &[0xff; 4]);
    assert!(
        matches!(r, Err(Error::Directory { .. })),
        "65,535 members: {r:?}"
    );
    assert!(
        matches!(with(e + 4, &[1]), Err(Error::End { .. })),
        "disk 1"
    );
    // A size that runs into the directory; an offset without a local header.
    let first = parse(&x).unwrap().directory_start;
    let r = with(first + 20, &[200, 0, 0, 0]);
    assert!(matches!(r, Err(Error::Local { index: 0, .. })), "{r:?}");
    let r = with(first + 42, &[1]);
    assert!(matches!(r, Err(Error::Local { index: 0, .. })), "{r:?}");
    // FFFFFFFF without a zip64 extra field.
    let r = with(first + 42, &[0xff; 4]);
    assert!(matches!(r, Err(Error::Entry { index: 0, .. })), "{r:?}");
}

#[test]
fn two_entries_for_one_local_header_are_refused() {
    let x = build(&THREE[..1], b"");
    let a = parse(&x).unwrap();
    let dir = &x[a.directory_start..a.end_start];
    let mut y = x[..a.end_start].to_vec();
    y.extend(dir);
    y.extend(end(2, 2 * dir.len(), a.directory_start, b""));
    let r = parse(&y);
    assert_eq!(
        r,
        Err(Error::Overlap {
            first: 0,
            second: 1,
            at: 0
        })
    );
    // Entries that do not fill the directory.
    let mut y = x[..a.end_start].to_vec();
    y.extend([0; 4]);
    y.extend(end(1, dir.len() + 4, a.directory_start, b""));
    assert!(matches!(parse(&y), Err(Error::Directory { .. })));
}

#[test]
fn overlapping_members_are_refused() {
    // A zip bomb's shape: the second member's local header is inside the
    // first member's data.
    let inner = local(b"b", b"the inner member");
    let x = local(b"a", &inner);
    let mut dir = central(b"a", &inner, 0);
    dir.extend(central(b"b", b"the inner member", 31));
    let y = [&x[..], &dir, &end(2, dir.len(), x.len(), b"")].concat();
    assert_eq!(
        parse(&y),
        Err(Error::Overlap {
            first: 0,
            second: 1,
            at: 31
        })
    );
}

#[test]
fn a_local_header_contradicting_the_directory_is_kept_inconsistent() {
    let x = build(&THREE, b"");
    let consistent = |y: &[u8]| -> Vec<bool> {
        let a = parse(y).unwrap();
        a.members.iter().map(|m| m.consistent).collect()
    };
    let first = parse(&x).unwrap().directory_start;
    let mut y = x.clone();
    y[30] = b'O'; // the first local name
    assert_eq!(consistent(&y), [false, true, true]);
    let mut y = x.clone();
    y[14] ^= 1; // its CRC
    assert_eq!(consistent(&y), [false, true, true]);
    y[6] = 8; // bit 3 in the local header only
    assert_eq!(consistent(&y), [false, true, true]);
    y[first + 8] = 8; // and in the directory: the local CRC is not compared
    assert_eq!(consistent(&y), [true, true, true]);
    y[8] = 8; // the local method
    assert_eq!(consistent(&y), [false, true, true]);
}

/// Every cut and every flip of `x`: no panic, and whatever parses keeps
/// the promises.
fn sweep(x: &[u8]) -> usize {
    let mut ok = 0;
    let mut try_one = |y: &[u8]| {
        if let Ok(a) = parse(y) {
            assert_invariants(y, &a);
            ok += 1;
        }
    };
    for n in 0..=x.len() {
        try_one(&x[..n]);
        try_one(&x[n..]);
    }
    let mut y = x.to_vec();
    for i in 0..x.len() {
        for b in [x[i] ^ 1, x[i] ^ 0x80, 0, 0xff] {
            y[i] = b;
            try_one(&y);
        }
        y[i] = x[i];
    }
    ok
}

#[test]
fn every_truncation_and_flip_is_ok_or_an_error() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/fuzz/split_zip");
    for x in [
        build(&THREE, b"a comment"),
        read(&seeds, "small"),
        read(&seeds, "zip64-descriptor"),
    ] {
        assert!(parse(&x).is_ok());
        assert!(sweep(&x) > x.len(), "most flips land in data");
    }
}
