//! Container-image-like tars, the shape of `docker save` output, streamed.
//!
//! An image is an uncompressed tar of `<layer-id>/layer.tar` members (one per
//! layer, bottom first), a config `<config-id>.json` and `manifest.json`.
//! Each layer is itself a deterministic ustar of files (sorted names, mtime
//! 0, uid/gid 0): by count mostly small text files, by bytes mostly
//! "binaries" (runs mixed with noise, like an object file: compressible but
//! not much), plus some already-compressed data (pure noise).
//!
//! A layer's bytes are a function of (seed, layer index, version of that
//! layer) only, so a layer that does not change between two image versions
//! is byte-identical in both, and has the same id. A layer that changes is a
//! package upgrade of its previous version: about 70 % of its files are kept
//! byte for byte, about 25 % are edited (a binary has a few ranges rewritten,
//! a block inserted and its length changed by a few percent, like a
//! recompiled library; a text file has lines edited, inserted and deleted;
//! compressed data is regenerated whole), about 5 % are removed, and new
//! files add about 5 %. Which layers change from version `v - 1` to `v` is
//! [`changed_layers`]: `round(changed × layers)` of them, picked from the
//! seed and `v`.
//!
//! Images are written to any [`Write`] while they are generated: memory use
//! is one file at a time (a few MiB), whatever the image size. Layer tars'
//! sizes are known before they are written, because every file's size is
//! planned before its content is made.
//!
//! ```
//! use trees_testdata::{ImageOptions, write_image};
//! let o = ImageOptions::new(7, 4 << 20, 4, 0.25);
//! let mut v1 = Vec::new();
//! let n = write_image(&o, 1, &mut v1).unwrap();
//! assert_eq!(n, v1.len() as u64);
//! assert!(v1.len() > 3 << 20 && v1.len() < 5 << 20);
//! ```

use std::io::{self, Write};

use crate::{Rng, edit_text, push_text_line};

/// What image to make.
#[derive(Debug, Clone)]
pub struct ImageOptions {
    /// Seed of everything.
    pub seed: u64,
    /// Target size of one image tar, in bytes (met within a few percent).
    pub size: u64,
    /// Number of layers.
    pub layers: usize,
    /// Fraction (0 to 1) of the layers that change from one version to the next.
    pub changed: f64,
}

impl ImageOptions {
    /// Options from their four values.
    pub fn new(seed: u64, size: u64, layers: usize, changed: f64) -> Self {
        ImageOptions {
            seed,
            size,
            layers,
            changed,
        }
    }
}

/// A seed from several numbers.
fn mix(parts: &[u64]) -> u64 {
    parts.iter().fold(0x5eed_1a7e_u64, |h, &p| {
        Rng::new(h ^ p.wrapping_mul(0x9e37_79b9_7f4a_7c15)).next_u64()
    })
}

/// Tags that keep the seeds of different purposes apart.
const TAG_WEIGHT: u64 = 1;
const TAG_LAYER: u64 = 2;
const TAG_UPGRADE: u64 = 3;
const TAG_CHANGED: u64 = 4;
const TAG_EDIT: u64 = 5;
const TAG_ID: u64 = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Binary,
    Compressed,
}

/// One file of a layer: its content is made from `seed` at `sizes[0]`
/// bytes, then edited once per later entry of `sizes`, to that size.
#[derive(Debug, Clone)]
struct File {
    path: String,
    kind: Kind,
    mode: u32,
    seed: u64,
    sizes: Vec<u64>,
}

impl File {
    fn size(&self) -> u64 {
        self.sizes.last().copied().unwrap_or(0)
    }
}

fn padded(n: u64) -> u64 {
    n.div_ceil(512) * 512
}

/// Log-uniform in `lo..hi`.
fn log_uniform(rng: &mut Rng, lo: u64, hi: u64) -> u64 {
    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let (l, h) = ((lo as f64).ln(), (hi as f64).ln());
    (l + u * (h - l)).exp() as u64
}

/// A new file for layer `layer`, numbered `n` there.
fn new_file(rng: &mut Rng, layer: usize, n: u64) -> File {
    let seed = rng.next_u64();
    let pick = rng.below(10);
    let (kind, size, path, mode) = if pick < 6 {
        let dir = ["usr/share/doc", "usr/lib/python3/dist-packages", "etc"][rng.below(3) as usize];
        let ext = [".py", ".txt", ".conf"][rng.below(3) as usize];
        let size = log_uniform(rng, 512, 64 << 10);
        (
            Kind::Text,
            size,
            format!("{dir}/pkg{layer:02}/f{n:05}{ext}"),
            0o644,
        )
    } else if pick < 9 {
        let size = log_uniform(rng, 4 << 10, 4 << 20);
        if rng.below(4) == 0 {
            (
                Kind::Binary,
                size,
                format!("usr/bin/pkg{layer:02}-{n:05}"),
                0o755,
            )
        } else {
            let path = format!("usr/lib/x86_64-linux-gnu/libpkg{layer:02}-{n:05}.so.1");
            (Kind::Binary, size, path, 0o644)
        }
    } else {
        let size = log_uniform(rng, 1 << 10, 1 << 20);
        let path = format!("usr/share/pkg{layer:02}/data{n:05}.gz");
        (Kind::Compressed, size, path, 0o644)
    };
    File {
        path,
        kind,
        mode,
        seed,
        sizes: vec![size],
    }
}

/// The files of version 1 of layer `index`, about `target` tar bytes.
fn base_plan(seed: u64, index: usize, target: u64) -> Vec<File> {
    let mut rng = Rng::new(mix(&[seed, TAG_LAYER, index as u64]));
    let mut files = Vec::new();
    let mut left = target.saturating_sub(1024);
    let mut n = 0;
    while left >= 1024 {
        let mut f = new_file(&mut rng, index, n);
        n += 1;
        let cost = 512 + padded(f.size());
        if cost > left {
            f.sizes[0] = left - 512;
            left = 0;
        } else {
            left -= cost;
        }
        files.push(f);
    }
    files
}

/// The next version of a layer's files: a package upgrade.
fn upgrade(files: Vec<File>, rng: &mut Rng, index: usize, layer_version: u32) -> Vec<File> {
    let mut out = Vec::with_capacity(files.len() + files.len() / 16 + 1);
    for mut f in files {
        match rng.below(100) {
            0..5 => continue,
            5..30 => {
                let s = f.size();
                let new = match f.kind {
                    Kind::Text => s - s / 10 + rng.below(s / 5 + 1),
                    Kind::Binary | Kind::Compressed => s - s / 32 + rng.below(s / 16 + 1),
                };
                f.sizes.push(new.max(1));
            }
            _ => {}
        }
        out.push(f);
    }
    let added = (out.len() / 20).max(1);
    for k in 0..added {
        out.push(new_file(
            rng,
            index,
            100_000 * u64::from(layer_version) + k as u64,
        ));
    }
    out
}

/// The files of layer `index` at `layer_version`, sorted by path.
fn layer_plan(o: &ImageOptions, index: usize, layer_version: u32) -> Vec<File> {
    let mut files = base_plan(o.seed, index, layer_target(o, index));
    for v in 2..=layer_version {
        let mut rng = Rng::new(mix(&[o.seed, TAG_UPGRADE, index as u64, u64::from(v)]));
        files = upgrade(files, &mut rng, index, v);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// Target tar bytes of layer `index`: the bottom layer (the base system)
/// is about three times the others, which vary by ±50 %.
fn layer_target(o: &ImageOptions, index: usize) -> u64 {
    let weight = |i: usize| {
        if i == 0 {
            3.0
        } else {
            0.5 + (Rng::new(mix(&[o.seed, TAG_WEIGHT, i as u64])).next_u64() >> 11) as f64
                / (1u64 << 53) as f64
        }
    };
    let total: f64 = (0..o.layers).map(weight).sum();
    // Leave room for the outer headers, config and manifest.
    let body = o.size.saturating_sub(4096 + 512 * o.layers as u64) as f64;
    (body * weight(index) / total) as u64
}

/// The layers (indices, ascending) that change from image version
/// `version - 1` to `version`: `round(changed × layers)` of them. Empty for
/// version 1 or less.
pub fn changed_layers(o: &ImageOptions, version: u32) -> Vec<usize> {
    if version < 2 {
        return Vec::new();
    }
    let k = ((o.changed.clamp(0.0, 1.0) * o.layers as f64).round() as usize).min(o.layers);
    let mut rng = Rng::new(mix(&[o.seed, TAG_CHANGED, u64::from(version)]));
    let mut all: Vec<usize> = (0..o.layers).collect();
    for i in 0..k {
        let j = i + rng.below((o.layers - i) as u64) as usize;
        all.swap(i, j);
    }
    let mut picked = all[..k].to_vec();
    picked.sort_unstable();
    picked
}

/// The version of layer `index` in image version `version`: 1, plus one
/// for every image version up to `version` in which it changed.
pub fn layer_version(o: &ImageOptions, index: usize, version: u32) -> u32 {
    1 + (2..=version)
        .filter(|&v| changed_layers(o, v).contains(&index))
        .count() as u32
}

/// A 64-digit hex id from a seed.
fn hex_id(seed: u64) -> String {
    let mut rng = Rng::new(seed);
    (0..4).map(|_| format!("{:016x}", rng.next_u64())).collect()
}

fn layer_id(o: &ImageOptions, index: usize, layer_version: u32) -> String {
    hex_id(mix(&[
        o.seed,
        TAG_ID,
        index as u64,
        u64::from(layer_version),
    ]))
}

/// Appends `size` bytes of binary-like data: runs of one byte mixed with
/// runs of noise, 1 to 64 bytes each.
fn push_binary(rng: &mut Rng, out: &mut Vec<u8>, size: usize) {
    let end = out.len() + size;
    while out.len() < end {
        let r = rng.next_u64();
        let run = 1 + (r & 63) as usize;
        let at = out.len();
        if r & 64 == 0 {
            out.resize(at + run, 0);
            rng.fill(&mut out[at..]);
        } else {
            out.resize(at + run, (r >> 8) as u8);
        }
    }
    out.truncate(end);
}

fn push_noise(rng: &mut Rng, out: &mut Vec<u8>, size: usize) {
    let at = out.len();
    out.resize(at + size, 0);
    rng.fill(&mut out[at..]);
}

/// Makes text exactly `size` bytes, ending in a newline: more lines are
/// appended, or the end cut.
fn fit_text(rng: &mut Rng, buf: &mut Vec<u8>, size: usize) {
    while buf.len() < size {
        push_text_line(rng, buf);
    }
    buf.truncate(size);
    if let Some(last) = buf.last_mut() {
        *last = b'\n';
    }
}

/// `f`'s content, into `buf`.
fn content(f: &File, buf: &mut Vec<u8>) {
    buf.clear();
    let mut rng = Rng::new(f.seed);
    let first = f.sizes.first().copied().unwrap_or(0) as usize;
    match f.kind {
        Kind::Text => fit_text(&mut rng, buf, first),
        Kind::Binary => push_binary(&mut rng, buf, first),
        Kind::Compressed => push_noise(&mut rng, buf, first),
    }
    for (j, &size) in f.sizes.iter().enumerate().skip(1) {
        let size = size as usize;
        let mut rng = Rng::new(mix(&[f.seed, TAG_EDIT, j as u64]));
        match f.kind {
            Kind::Text => {
                let edited = edit_text(&mut rng, buf);
                *buf = edited;
                fit_text(&mut rng, buf, size);
            }
            Kind::Binary => {
                // A recompile: some ranges rewritten, a block inserted,
                // the length changed.
                for _ in 0..2 + rng.below(7) {
                    if buf.is_empty() {
                        break;
                    }
                    let at = rng.below(buf.len() as u64) as usize;
                    let n = (16 + rng.below(4080) as usize).min(buf.len() - at);
                    let mut patch = Vec::with_capacity(n);
                    push_binary(&mut rng, &mut patch, n);
                    buf[at..at + n].copy_from_slice(&patch);
                }
                let at = rng.below(buf.len() as u64 + 1) as usize;
                let mut block = Vec::new();
                let n = rng.below(4096) as usize;
                push_binary(&mut rng, &mut block, n);
                buf.splice(at..at, block);
                if buf.len() < size {
                    let more = size - buf.len();
                    push_binary(&mut rng, buf, more);
                }
                buf.truncate(size);
            }
            Kind::Compressed => {
                buf.clear();
                push_noise(&mut rng, buf, size);
            }
        }
    }
}

/// A ustar header for a regular file.
fn header(path: &str, size: u64, mode: u32) -> io::Result<tar::Header> {
    let mut h = tar::Header::new_ustar();
    h.set_path(path)?;
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    Ok(h)
}

const ZEROS: [u8; 1024] = [0; 1024];

/// Writes `bytes` and pads them to a 512-byte boundary.
fn write_padded<W: Write>(w: &mut W, bytes: &[u8]) -> io::Result<()> {
    w.write_all(bytes)?;
    let pad = (padded(bytes.len() as u64) - bytes.len() as u64) as usize;
    w.write_all(&ZEROS[..pad])
}

fn layer_tar_size(files: &[File]) -> u64 {
    files.iter().map(|f| 512 + padded(f.size())).sum::<u64>() + 1024
}

fn write_layer<W: Write>(w: &mut W, files: &[File], buf: &mut Vec<u8>) -> io::Result<()> {
    for f in files {
        content(f, buf);
        w.write_all(header(&f.path, buf.len() as u64, f.mode)?.as_bytes())?;
        write_padded(w, buf)?;
    }
    w.write_all(&ZEROS)
}

/// Writes layer `index` at `layer_version` (a tar of its files) to `w`;
/// returns its length. The same arguments give the same bytes.
pub fn write_layer_tar<W: Write>(
    o: &ImageOptions,
    index: usize,
    layer_version: u32,
    mut w: W,
) -> io::Result<u64> {
    let files = layer_plan(o, index, layer_version);
    let mut buf = Vec::new();
    write_layer(&mut w, &files, &mut buf)?;
    Ok(layer_tar_size(&files))
}

/// Writes version `version` (1, 2, …) of the image to `w` as a tar, while
/// it is generated; returns the number of bytes written. The same options
/// and version give the same bytes.
pub fn write_image<W: Write>(o: &ImageOptions, version: u32, mut w: W) -> io::Result<u64> {
    let version = version.max(1);
    let mut written = 0u64;
    let mut buf = Vec::new();
    let mut ids = Vec::with_capacity(o.layers);
    for index in 0..o.layers {
        let lv = layer_version(o, index, version);
        let id = layer_id(o, index, lv);
        let files = layer_plan(o, index, lv);
        let size = layer_tar_size(&files);
        w.write_all(header(&format!("{id}/layer.tar"), size, 0o644)?.as_bytes())?;
        write_layer(&mut w, &files, &mut buf)?;
        written += 512 + size;
        ids.push(id);
    }
    let diff_ids: Vec<String> = ids.iter().map(|id| format!("\"sha256:{id}\"")).collect();
    let history: Vec<String> = (0..o.layers)
        .map(|i| format!("{{\"created_by\":\"layer {i}\"}}"))
        .collect();
    let config = format!(
        "{{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{{\"Env\":[\"PATH=/usr/bin\"]}},\
         \"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[{}]}},\"history\":[{}]}}\n",
        diff_ids.join(","),
        history.join(",")
    );
    let config_id = hex_id(mix(&[o.seed, TAG_ID, u64::MAX, u64::from(version)]));
    let layers: Vec<String> = ids.iter().map(|id| format!("\"{id}/layer.tar\"")).collect();
    let manifest = format!(
        "[{{\"Config\":\"{config_id}.json\",\"RepoTags\":[\"generated/image:{version}\"],\"Layers\":[{}]}}]\n",
        layers.join(",")
    );
    for (name, body) in [
        (format!("{config_id}.json"), config),
        ("manifest.json".to_string(), manifest),
    ] {
        w.write_all(header(&name, body.len() as u64, 0o644)?.as_bytes())?;
        write_padded(&mut w, body.as_bytes())?;
        written += 512 + padded(body.len() as u64);
    }
    w.write_all(&ZEROS)?;
    w.flush()?;
    Ok(written + 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::io::Read;

    /// Member name → content of a tar.
    fn members(tar: &[u8]) -> BTreeMap<String, Vec<u8>> {
        let mut a = tar::Archive::new(tar);
        let mut out = BTreeMap::new();
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut v = Vec::new();
            e.read_to_end(&mut v).unwrap();
            out.insert(name, v);
        }
        out
    }

    fn image(o: &ImageOptions, v: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let n = write_image(o, v, &mut out).unwrap();
        assert_eq!(n, out.len() as u64);
        out
    }

    #[test]
    fn same_seed_same_bytes() {
        let o = ImageOptions::new(3, 3 << 20, 5, 0.4);
        assert_eq!(image(&o, 2), image(&o, 2));
        let other = ImageOptions::new(4, 3 << 20, 5, 0.4);
        assert_ne!(image(&o, 1), image(&other, 1));
    }

    #[test]
    fn versions_share_exactly_the_unchanged_layers() {
        let o = ImageOptions::new(11, 12 << 20, 10, 0.3);
        let changed = changed_layers(&o, 2);
        assert_eq!(changed.len(), 3);
        let (v1, v2) = (image(&o, 1), image(&o, 2));
        for v in [&v1, &v2] {
            let size = v.len() as f64;
            assert!((size / (12 << 20) as f64 - 1.0).abs() < 0.05, "{size}");
        }
        let (m1, m2) = (members(&v1), members(&v2));
        let layers = |m: &BTreeMap<String, Vec<u8>>| -> Vec<String> {
            m.keys()
                .filter(|k| k.ends_with("/layer.tar"))
                .cloned()
                .collect()
        };
        // Layer order is the manifest's.
        let order = |m: &BTreeMap<String, Vec<u8>>| -> Vec<String> {
            let manifest = String::from_utf8(m["manifest.json"].clone()).unwrap();
            let list = manifest.split("\"Layers\":[").nth(1).unwrap();
            list.split('"')
                .filter(|s| s.ends_with("/layer.tar"))
                .map(str::to_string)
                .collect()
        };
        let (o1, o2) = (order(&m1), order(&m2));
        assert_eq!(o1.len(), 10);
        assert_eq!(layers(&m1).len(), 10);
        assert_eq!(layers(&m2).len(), 10);
        assert_eq!(m1.len(), 12, "layers, config, manifest");
        for i in 0..10 {
            let (a, b) = (&m1[&o1[i]], &m2[&o2[i]]);
            // Every layer is a tar of files.
            let files_a = members(a);
            let files_b = members(b);
            assert!(!files_a.is_empty());
            if changed.contains(&i) {
                assert_ne!(o1[i], o2[i]);
                assert_ne!(a, b);
                // An upgrade: most files are kept as they were.
                let kept = files_a
                    .iter()
                    .filter(|(k, v)| files_b.get(*k) == Some(v))
                    .count();
                assert!(kept * 2 > files_a.len(), "{kept} of {}", files_a.len());
                assert_ne!(files_a, files_b);
            } else {
                assert_eq!(o1[i], o2[i]);
                assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn layer_tar_alone_is_the_member() {
        let o = ImageOptions::new(5, 2 << 20, 3, 1.0);
        let m = members(&image(&o, 2));
        let mut alone = Vec::new();
        let n = write_layer_tar(&o, 1, 2, &mut alone).unwrap();
        assert_eq!(n, alone.len() as u64);
        assert!(m.values().any(|v| *v == alone));
        assert_eq!(layer_version(&o, 1, 2), 2);
        assert_eq!(layer_version(&o, 1, 1), 1);
    }

    #[test]
    fn changed_count_is_rounded() {
        for (layers, f, want) in [(24, 0.1, 2), (10, 0.25, 3), (5, 0.0, 0), (5, 1.0, 5)] {
            let o = ImageOptions::new(1, 1 << 20, layers, f);
            assert_eq!(changed_layers(&o, 2).len(), want);
            assert!(changed_layers(&o, 1).is_empty());
        }
    }
}
