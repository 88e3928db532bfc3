//! `gen-series NAME SEED RELEASES OUTDIR [small|medium]`: writes a release series as tars.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: gen-series NAME SEED RELEASES OUTDIR [small|medium]";
    if args.len() < 4 || args.iter().any(|a| a == "--help" || a == "-h") {
        eprintln!("{usage}");
        return ExitCode::from(2);
    }
    let (Ok(seed), Ok(releases)) = (args[1].parse::<u64>(), args[2].parse::<usize>()) else {
        eprintln!("{usage}\nSEED and RELEASES are numbers");
        return ExitCode::from(2);
    };
    let mut o = match args.get(4).map(String::as_str) {
        Some("medium") => trees_testdata::Options::medium(seed, releases),
        None | Some("small") => trees_testdata::Options::small(seed),
        Some(other) => {
            eprintln!("{usage}\nunknown size {other}");
            return ExitCode::from(2);
        }
    };
    o.releases = releases;
    let out = PathBuf::from(&args[3]);
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("gen-series: cannot create {}: {e}", out.display());
        return ExitCode::from(2);
    }
    for r in trees_testdata::series(&args[0], &o) {
        let path = out.join(&r.file_name);
        if let Err(e) = std::fs::write(&path, &r.tar) {
            eprintln!("gen-series: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
        println!("{}", path.display());
    }
    ExitCode::SUCCESS
}
