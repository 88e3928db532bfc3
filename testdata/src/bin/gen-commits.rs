//! `gen-commits NAME SEED VERSIONS OUTDIR [small|medium]`: writes a tarball of
//! every commit of a long series, `OUTDIR/NAME-00001.tar` and on.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: gen-commits NAME SEED VERSIONS OUTDIR [small|medium]";
    if args.len() < 4 || args.len() > 5 || args.iter().any(|a| a == "--help" || a == "-h") {
        eprintln!("{usage}");
        return ExitCode::from(2);
    }
    let (Ok(seed), Ok(versions)) = (args[1].parse::<u64>(), args[2].parse::<usize>()) else {
        eprintln!("{usage}\nSEED and VERSIONS are numbers");
        return ExitCode::from(2);
    };
    let o = match args.get(4).map(String::as_str) {
        Some("medium") => trees_testdata::CommitOptions::medium(seed, versions),
        None | Some("small") => trees_testdata::CommitOptions::small(seed, versions),
        Some(other) => {
            eprintln!("{usage}\nunknown size {other}");
            return ExitCode::from(2);
        }
    };
    let out = PathBuf::from(&args[3]);
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("gen-commits: cannot create {}: {e}", out.display());
        return ExitCode::from(2);
    }
    for r in trees_testdata::commits(&args[0], &o) {
        let path = out.join(&r.file_name);
        if let Err(e) = std::fs::write(&path, &r.tar) {
            eprintln!("gen-commits: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
        println!("{}", path.display());
    }
    ExitCode::SUCCESS
}
