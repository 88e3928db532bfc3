//! Statistics of git deltas: `opstats PACK.idx` prints, for every delta
//! entry, its copies, bytes copied and literal bytes; `opstats BASE TARGET`
//! does the same for our delta of TARGET against BASE.
use trees_pack::data::Type;

fn stats(d: &[u8]) -> String {
    let (_, _, mut pos) = trees_pack::delta::header(d).expect("header");
    let (mut copies, mut copied, mut lits, mut inserts) = (0u64, 0u64, 0u64, 0u64);
    let mut hist = [0u64; 8];
    while pos < d.len() {
        let op = d[pos];
        pos += 1;
        if op & 0x80 != 0 {
            let mut size = 0u64;
            for i in 0..4 {
                if op & (1 << i) != 0 {
                    pos += 1;
                }
            }
            for i in 0..3 {
                if op & (0x10 << i) != 0 {
                    size |= u64::from(d[pos]) << (8 * i);
                    pos += 1;
                }
            }
            if size == 0 {
                size = 0x10000;
            }
            copies += 1;
            copied += size;
            let b = (64 - size.leading_zeros()).min(7 * 3) as usize / 3;
            hist[b.min(7)] += 1;
        } else {
            inserts += 1;
            lits += u64::from(op);
            pos += usize::from(op);
        }
    }
    format!(
        "len {} copies {copies} copied {copied} inserts {inserts} literal {lits} copy-size-hist(log8) {hist:?}",
        d.len()
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() == 1 {
        let b = trees_pack::Bundle::open(std::path::Path::new(&args[0])).expect("open");
        for i in 0..b.index.count() {
            let off = b.index.offset(i).expect("offset");
            let h = b.pack.header(off).expect("header");
            if !matches!(h.kind, Type::Whole(_)) {
                let (d, _) = b.pack.inflate(off, &h).expect("inflate");
                println!("{} {}", b.index.id(i), stats(&d));
            }
        }
    } else {
        let base = std::fs::read(&args[0]).expect("base");
        let target = std::fs::read(&args[1]).expect("target");
        let d = trees_delta::diff(&base, &target).expect("diff");
        println!("ours {}", stats(&d));
    }
}
