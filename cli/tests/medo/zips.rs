//! Zips through medo: a tree zipped by Info-ZIP (directories, an empty
//! file, an executable, a symlink) expands to what `unzip` gives, stored
//! loose and stored split; hostile member names write nothing outside
//! the destination.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use super::add::make_tree;
use super::cli::{Fixture, medo_fails, medo_ok, silo_ok};
use super::expand::diff_r;

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (zip and unzip are required)"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_zip_expands_as_unzip_extracts_it_loose_and_split() {
    let f = Fixture::new();
    let src = f.path("src");
    make_tree(&src);
    let zip = f.path("tree.zip");
    // -y keeps symlinks as symlinks, as a tar does.
    run(Command::new("zip")
        .args(["-qry", zip.to_str().unwrap(), "."])
        .current_dir(&src));
    let want = f.path("unzipped");
    run(Command::new("unzip")
        .arg("-q")
        .arg(&zip)
        .arg("-d")
        .arg(&want));
    let t = f.medo.join("tree.treeptr");
    let added = medo_ok(&[&"add", &"--silo", &f.silo, &zip, &t]);
    let t_json: serde_json::Value = serde_json::from_slice(&std::fs::read(&t).unwrap()).unwrap();
    assert_eq!(t_json["format"], "zip", "{added}");
    for round in ["loose", "split"] {
        if round == "split" {
            silo_ok(&[&"repack", &f.silo]);
        }
        let dest = f.path(&format!("out-{round}"));
        medo_ok(&[&"expand", &t, &dest]);
        diff_r(&want, &dest);
        let link = dest.join("sub/link");
        assert_eq!(
            std::fs::read_link(&link).unwrap(),
            Path::new("../a.txt"),
            "{round}"
        );
        let mode = std::fs::metadata(dest.join("sub/run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755, "{round}");
        medo_ok(&[&"verify", &t, &dest]);
        std::fs::write(dest.join("a.txt"), "changed").unwrap();
        medo_fails(1, &[&"verify", &t, &dest]);
    }
}

/// A zip of `(name, text)` members made by Python's zipfile, names as given.
fn python_zip(f: &Fixture, members: &[(&str, &str)]) -> Vec<u8> {
    let out = f.path("evil.zip");
    let mut script =
        String::from("import zipfile,sys\nwith zipfile.ZipFile(sys.argv[1],'w') as z:\n");
    for (name, text) in members {
        script.push_str(&format!(
            " z.writestr(zipfile.ZipInfo({name:?}), {text:?})\n"
        ));
    }
    run(Command::new("python3").arg("-c").arg(&script).arg(&out));
    std::fs::read(out).unwrap()
}

#[test]
fn zip_members_named_outside_the_destination_are_refused_and_nothing_is_written() {
    let f = Fixture::new();
    let sentinel = f.path("abs-sentinel");
    for (name, why) in [
        ("../sentinel", "`..`"),
        ("ok/../../sentinel", "`..`"),
        (sentinel.to_str().unwrap(), "absolute"),
    ] {
        let zip = python_zip(&f, &[("fine.txt", "ok"), (name, "pwned")]);
        let (t, id) = f.treeptr("evil.treeptr", &zip, "zip");
        let dest = f.path("dest");
        let e = medo_fails(2, &[&"expand", &t, &dest]);
        assert!(e.contains("evil.treeptr") && e.contains(&id), "{e}");
        assert!(e.contains(&format!("member {name:?} is refused")), "{e}");
        assert!(e.contains(why), "{e}");
        assert!(!f.path("sentinel").exists() && !sentinel.exists());
        // The whole zip is read first: not even the good member is written.
        assert!(!dest.exists(), "{name}");
    }
}
