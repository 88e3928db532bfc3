//! Prints the size of our delta between every ordered pair of files:
//! `cargo run --release -p trees-delta --example pairs -- FILE...`.
fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    let data: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f).expect("read"))
        .collect();
    let p = trees_delta::chunk::Params::default();
    let fps: Vec<_> = data
        .iter()
        .map(|d| trees_delta::fingerprint(d, &p))
        .collect();
    for (i, t) in data.iter().enumerate() {
        let mut row = Vec::new();
        for (j, b) in data.iter().enumerate() {
            if i == j {
                row.push("-".to_string());
                continue;
            }
            let d = trees_delta::delta(b, &fps[j], t, &fps[i], usize::MAX)
                .expect("diff")
                .expect("unbounded");
            row.push(d.len().to_string());
        }
        println!(
            "{:>40} {}",
            files[i].rsplit('/').next().unwrap_or(""),
            row.join("\t")
        );
    }
}
