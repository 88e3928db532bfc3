//! `medo url-for`: loose or packed, as the local silo says.

use super::cli::{Fixture, git, medo_fails, medo_ok};

#[test]
fn a_loose_blob_gets_the_loose_url_in_every_url_silo() {
    let f = Fixture::new();
    let (t, id) = f.treeptr("t.treeptr", b"content\n", "file");
    std::fs::write(
        f.medo.join("SILO.json"),
        r#"{"silos": [{"url": "https://a.example/s.silo/"}, {"path": "../s.silo"},
                      {"url": "https://b.example/s.silo"}]}"#,
    )
    .unwrap();
    let out = medo_ok(&[&"url-for", &t]);
    let rest = format!("objects/{}/{}.gz", &id[..2], &id[2..]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            format!("https://a.example/s.silo/{rest}"),
            format!("https://b.example/s.silo/{rest}")
        ]
    );
    // The URL's path is the loose file's path in the silo.
    assert!(f.silo.join(&rest).is_file());
}

#[test]
fn a_packed_blob_gets_its_pack_url() {
    let f = Fixture::new();
    let (t, id) = f.treeptr("t.treeptr", b"packed content\n", "file");
    // Pack it with git itself, then drop the loose copy.
    let repo = f.path("repo");
    git(f.tmp.path(), &["init", "-q", repo.to_str().unwrap()]);
    std::fs::write(repo.join("x"), b"packed content\n").unwrap();
    assert_eq!(git(&repo, &["hash-object", "-w", "x"]).trim(), id);
    let prefix = f.silo.join("pack/pack");
    let sha = git_stdin(
        &repo,
        &["pack-objects", "-q", prefix.to_str().unwrap()],
        &id,
    );
    let loose = f
        .silo
        .join("objects")
        .join(&id[..2])
        .join(format!("{}.gz", &id[2..]));
    std::fs::remove_file(loose).unwrap();
    std::fs::write(
        f.medo.join("SILO.json"),
        r#"{"silos": [{"path": "../s.silo"}, {"url": "https://a.example/s.silo/"}]}"#,
    )
    .unwrap();
    let out = medo_ok(&[&"url-for", &t]);
    assert_eq!(
        out.trim(),
        format!("https://a.example/s.silo/pack/pack-{}.pack", sha.trim())
    );
    // And it still expands, from the pack.
    medo_ok(&[&"expand", &t, &f.path("out")]);
    assert_eq!(std::fs::read(f.path("out")).unwrap(), b"packed content\n");
}

fn git_stdin(dir: &std::path::Path, args: &[&str], input: &str) -> String {
    use std::io::Write;
    let mut c = std::process::Command::new("git")
        .current_dir(dir)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("git is required by this test");
    writeln!(c.stdin.take().unwrap(), "{input}").unwrap();
    let out = c.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn without_a_local_silo_the_loose_form_and_without_a_url_silo_an_error() {
    let f = Fixture::new();
    let (t, id) = f.treeptr("t.treeptr", b"x", "file");
    std::fs::write(
        f.medo.join("SILO.json"),
        r#"{"silos": [{"url": "https://a.example/s.silo/"}]}"#,
    )
    .unwrap();
    let out = medo_ok(&[&"url-for", &t]);
    assert_eq!(
        out.trim(),
        format!(
            "https://a.example/s.silo/objects/{}/{}.gz",
            &id[..2],
            &id[2..]
        )
    );
    // A local silo without the blob: where the url silos keep it is unknown.
    let (t2, _) = f.treeptr("t2.treeptr", b"y", "file");
    std::fs::write(
        f.medo.join("SILO.json"),
        r#"{"silos": [{"path": "../empty.silo"}, {"url": "https://a.example/s.silo/"}]}"#,
    )
    .unwrap();
    super::cli::silo_ok(&[&"init", &f.path("empty.silo")]);
    let e = medo_fails(2, &[&"url-for", &t2]);
    assert!(
        e.contains("t2.treeptr") && e.contains("no local silo"),
        "{e}"
    );
    std::fs::write(
        f.medo.join("SILO.json"),
        r#"{"silos": [{"path": "../s.silo"}]}"#,
    )
    .unwrap();
    let e = medo_fails(2, &[&"url-for", &t]);
    assert!(e.contains("no url silo"), "{e}");
}
