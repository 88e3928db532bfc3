//! `gen-image SEED SIZE_MIB LAYERS CHANGED_PERCENT OUTDIR`: writes two versions
//! of a container-image-like tar, `OUTDIR/image-1.tar` and `OUTDIR/image-2.tar`.

use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: gen-image SEED SIZE_MIB LAYERS CHANGED_PERCENT OUTDIR";
    if args.len() != 5 || args.iter().any(|a| a == "--help" || a == "-h") {
        eprintln!("{usage}");
        return ExitCode::from(2);
    }
    let (Ok(seed), Ok(mib), Ok(layers), Ok(percent)) = (
        args[0].parse::<u64>(),
        args[1].parse::<u64>(),
        args[2].parse::<usize>(),
        args[3].parse::<f64>(),
    ) else {
        eprintln!("{usage}\nSEED, SIZE_MIB, LAYERS and CHANGED_PERCENT are numbers");
        return ExitCode::from(2);
    };
    if layers == 0 || !(0.0..=100.0).contains(&percent) {
        eprintln!("{usage}\nLAYERS is at least 1, CHANGED_PERCENT is 0 to 100");
        return ExitCode::from(2);
    }
    let o = trees_testdata::ImageOptions::new(seed, mib << 20, layers, percent / 100.0);
    let out = PathBuf::from(&args[4]);
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("gen-image: cannot create {}: {e}", out.display());
        return ExitCode::from(2);
    }
    for version in 1..=2 {
        let path = out.join(format!("image-{version}.tar"));
        let written = std::fs::File::create(&path).and_then(|f| {
            trees_testdata::write_image(&o, version, BufWriter::with_capacity(1 << 20, f))
        });
        if let Err(e) = written {
            eprintln!("gen-image: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
        println!("{}", path.display());
    }
    ExitCode::SUCCESS
}
