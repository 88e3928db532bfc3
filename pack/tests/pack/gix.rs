//! gix-pack (gitoxide) against us on hostile packs: each case is a pack
//! (and idx) built to lie, and both readers give their verdict: the pack
//! accepted (every object read) or refused. Where they differ the table
//! says why. gix-pack runs in a child process (this test binary again, in
//! the `gix_verdict_child` test): a hostile pack must not be able to take
//! the test run down with it.

use std::path::{Path, PathBuf};

use trees_pack::data::entry::{encode_distance, encode_type_size};
use trees_pack::data::write::{Base, Entry, compress};
use trees_pack::{Bundle, Kind, ObjectId, data};

use crate::hostile::{
    HUGE_DELTA, cycle, huge_whole, idx_lying_about_the_first_entry, ofs_entry, small_plan, thin,
};
use crate::packs::{blob_id, raw, save};

/// What a reader made of a pack.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// Opened, and every object read.
    Accepted,
    /// Refused, with what it said.
    Refused(String),
    /// The reader panicked, aborted or hung (gix-pack only: in its child).
    Crashed(String),
}

/// Our verdict: open, `verify` (every object rehashed), and read each.
fn ours(idx: &Path) -> Verdict {
    let bundle = match Bundle::open(idx) {
        Ok(b) => b,
        Err(e) => return Verdict::Refused(trees_pack::error_chain(&e)),
    };
    if let Some(p) = bundle.verify(&mut |_| {}).first() {
        return Verdict::Refused(p.to_string());
    }
    for i in 0..bundle.index.count() {
        if let Err(e) = bundle.read(&bundle.index.id(i)) {
            return Verdict::Refused(trees_pack::error_chain(&e));
        }
    }
    Verdict::Accepted
}

/// gix-pack's verdict, from a child process.
fn theirs(idx: &Path) -> Verdict {
    let exe = std::env::current_exe().unwrap();
    // Under emulation the child needs the runner too (scripts/aarch64.sh).
    let runner = std::env::var("TREES_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    let mut cmd = match words.next() {
        Some(r) => {
            let mut c = std::process::Command::new(r);
            c.args(words).arg(&exe);
            c
        }
        None => std::process::Command::new(&exe),
    };
    let out = cmd
        .args([
            "--exact",
            "gix::gix_verdict_child",
            "--ignored",
            "--nocapture",
        ])
        .args(["--test-threads", "1"])
        .env("TREES_GIX_VERDICT", idx)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // libtest may print the test's name on the same line first.
    match stdout
        .lines()
        .find_map(|l| l.find("VERDICT ").map(|at| &l[at + "VERDICT ".len()..]))
    {
        Some("accepted") => Verdict::Accepted,
        Some(r) => Verdict::Refused(r.trim_start_matches("refused ").to_owned()),
        None => Verdict::Crashed(format!(
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .find(|l| l.contains("panicked") || l.contains("memory"))
                .unwrap_or("")
        )),
    }
}

#[test]
#[ignore = "the child half of gix_and_we_agree_on_hostile_packs, which runs it with TREES_GIX_VERDICT"]
fn gix_verdict_child() {
    let idx = std::env::var_os("TREES_GIX_VERDICT")
        .expect("run by gix_and_we_agree_on_hostile_packs, with TREES_GIX_VERDICT=<idx>");
    match trees_oracle::gix_verdict(Path::new(&idx)) {
        Ok(_) => println!("VERDICT accepted"),
        Err(e) => println!("VERDICT refused {}", e.replace('\n', " ")),
    }
}

/// Saves a hand-made pack (entries already encoded) in a new directory.
fn saved(dir: &Path, name: &str, entries: &[(ObjectId, Vec<u8>)]) -> PathBuf {
    let d = dir.join(name);
    std::fs::create_dir(&d).unwrap();
    let (pack, idx, checksum) = raw(entries);
    save(&d, &pack, idx, checksum).idx
}

/// Saves a pack written by our writer from `entries`.
fn written(dir: &Path, name: &str, entries: &[Entry]) -> PathBuf {
    let d = dir.join(name);
    std::fs::create_dir(&d).unwrap();
    let mut w = data::Writer::new(Vec::new(), entries.len() as u32).unwrap();
    for e in entries {
        w.write(e).unwrap();
    }
    let out = w.finish().unwrap();
    save(&d, &out.out, out.entries, out.checksum).idx
}

fn whole_entry(data: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    encode_type_size(Kind::Blob.code(), data.len() as u64, &mut bytes);
    bytes.extend_from_slice(&compress(data, 6));
    bytes
}

/// Every hostile case: its name and its idx.
fn cases(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let mut v = Vec::new();
    let good = dir.join("good");
    std::fs::create_dir(&good).unwrap();
    v.push(("good", small_plan().write(&good).idx));

    // The idx sends the first id to the second entry (checksums all fine).
    let lie = dir.join("lie");
    std::fs::create_dir(&lie).unwrap();
    v.push((
        "idx names the wrong entry",
        idx_lying_about_the_first_entry(&lie).0.idx,
    ));

    // A whole entry whose header claims 2^60 bytes.
    v.push((
        "entry claims 2^60 bytes",
        written(dir, "huge", &[huge_whole()]),
    ));

    // A delta whose header announces a 2^60-byte result.
    let base_id = blob_id(b"base!\n");
    v.push((
        "delta announces a 2^60-byte result",
        written(
            dir,
            "huge-delta",
            &[
                Entry::whole(base_id, Kind::Blob, b"base!\n", 6),
                Entry::delta(blob_id(b"huge"), Base::Ofs(base_id), &HUGE_DELTA, 6),
            ],
        ),
    ));

    // A size that overflows 64 bits.
    let mut bytes = vec![0x80 | (3 << 4) | 0x0f];
    bytes.extend_from_slice(&[0xff; 9]);
    bytes.push(0x7f);
    bytes.extend_from_slice(&compress(b"x", 6));
    v.push((
        "size overflows 64 bits",
        saved(dir, "overflow", &[(blob_id(b"x"), bytes)]),
    ));

    v.push(("REF_DELTA cycle", written(dir, "cycle", &cycle().1)));

    // OFS_DELTA distances before the file, and zero.
    let first = whole_entry(b"base!\n");
    let second_at = (data::HEADER_LEN + first.len()) as u64;
    for (name, what, dist) in [
        (
            "ofs-before",
            "OFS_DELTA reaches before the file",
            second_at + 1,
        ),
        ("ofs-zero", "OFS_DELTA names itself", 0),
    ] {
        let mut d = Vec::new();
        encode_distance(dist, &mut d);
        v.push((
            what,
            saved(
                dir,
                name,
                &[
                    (blob_id(b"base!\n"), first.clone()),
                    (blob_id(name.as_bytes()), ofs_entry(&d)),
                ],
            ),
        ));
    }

    // A thin pack: the REF_DELTA's base is not in it.
    v.push((
        "REF_DELTA base outside the pack",
        written(dir, "thin", &[thin().0]),
    ));

    // One byte of a deflate stream changed, trailer and idx made to match.
    let mut bytes = whole_entry(b"some text that deflates into a stream\n");
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    v.push((
        "a deflate stream damaged",
        saved(
            dir,
            "flip",
            &[(blob_id(b"some text that deflates into a stream\n"), bytes)],
        ),
    ));

    // An entry stored whole under the wrong id (content and name disagree).
    v.push((
        "an entry's content is not its id",
        saved(
            dir,
            "wrong-id",
            &[(blob_id(b"one\n"), whole_entry(b"two\n"))],
        ),
    ));
    v
}

/// The expected verdicts: (case, we refuse, gix-pack refuses, why they differ).
const EXPECTED: &[(&str, bool, bool, &str)] = &[
    ("good", false, false, ""),
    (
        "idx names the wrong entry",
        true,
        false,
        "gix-pack reads by offset and trusts the idx (its integrity check is a separate pass); \
         we rehash every object on read and in verify",
    ),
    ("entry claims 2^60 bytes", true, true, ""),
    ("delta announces a 2^60-byte result", true, true, ""),
    ("size overflows 64 bits", true, true, ""),
    ("REF_DELTA cycle", true, true, ""),
    ("OFS_DELTA reaches before the file", true, true, ""),
    ("OFS_DELTA names itself", true, true, ""),
    ("REF_DELTA base outside the pack", true, true, ""),
    ("a deflate stream damaged", true, true, ""),
    (
        "an entry's content is not its id",
        true,
        false,
        "gix-pack does not hash what it reads; we check every object against its id",
    ),
];

#[test]
fn gix_and_we_agree_on_hostile_packs() {
    let dir = tempfile::tempdir().unwrap();
    let mut report = Vec::new();
    for (name, idx) in cases(dir.path()) {
        let (o, t) = (ours(&idx), theirs(&idx));
        report.push(format!("{name}: ours {o:?}, gix-pack {t:?}"));
        let (_, we_refuse, gix_refuses, why) = EXPECTED
            .iter()
            .find(|e| e.0 == name)
            .unwrap_or_else(|| panic!("no expected verdict for {name}"));
        assert!(
            !matches!(t, Verdict::Crashed(_)),
            "gix-pack crashed on {name}: {t:?}"
        );
        assert_eq!(
            (o != Verdict::Accepted, t != Verdict::Accepted),
            (*we_refuse, *gix_refuses),
            "{name}: ours {o:?}, gix-pack {t:?} ({why})"
        );
    }
    println!("{}", report.join("\n"));
}
