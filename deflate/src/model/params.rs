//! The settings a recipe names: which encoder family, its level and
//! zlib's memory and window settings, and the tables of search settings
//! each level implies.

/// Which family of encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Flavour {
    /// zlib 1.2 and 1.3 (and GNU gzip, which shares its parser).
    #[default]
    Zlib,
    /// zlib-ng and zlib-rs (Rust's flate2, cargo since 1.88). Levels 7-9:
    /// zlib's lazy parser without `TOO_FAR`; levels 7-8 hash 4 bytes
    /// multiplicatively, level 9 hashes 3 and jumps between chains.
    /// Levels 1-6 are parsers of zlib-ng's own (`ng.rs`).
    ZlibNg,
    /// Chromium's zlib (node's `zlib`, npm's tarballs) on a CPU with
    /// SSE4.2 or ARMv8 CRC: zlib's parser, each position hashed by the
    /// CRC32C of its 4 bytes (3 from level 6 up).
    ChromiumCrc,
    /// Chromium's zlib since its CPU-independent hash:
    /// `(bytes * 66521 + 66521) >> 16`, of 4 bytes at every level.
    ChromiumMul,
    /// libdeflate (`libdeflate-gzip`, and programs that link it), levels
    /// 1-9: its own match finders and parsers (`libdeflate.rs`).
    Libdeflate,
    /// miniz (miniz_oxide: flate2's default backend), levels 1-10
    /// (`miniz.rs`).
    Miniz,
    /// Go's `compress/flate`, levels 1-9 (`golang.rs`).
    Go,
}

/// Which encoder, with which settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Params {
    /// The encoder family.
    pub flavour: Flavour,
    /// zlib's level, 1 to 9.
    pub level: u8,
    /// zlib's `memLevel`, 1 to 9: the hash size and the block size.
    pub mem_level: u8,
    /// The window, 9 to 15 bits.
    pub window_bits: u8,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            flavour: Flavour::Zlib,
            level: 6,
            mem_level: 8,
            window_bits: 15,
        }
    }
}

impl std::fmt::Display for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.flavour {
            Flavour::Zlib => "zlib",
            Flavour::ZlibNg => "zlib-ng",
            Flavour::ChromiumCrc => "chromium-crc32c",
            Flavour::ChromiumMul => "chromium",
            Flavour::Libdeflate => "libdeflate",
            Flavour::Miniz => "miniz",
            Flavour::Go => "go",
        };
        write!(f, "{name} -{}", self.level)?;
        if self.mem_level != 8 || self.window_bits != 15 {
            write!(
                f,
                " (memLevel {}, windowBits {})",
                self.mem_level, self.window_bits
            )?;
        }
        Ok(())
    }
}

impl Params {
    /// Whether the settings are ones zlib has.
    pub fn is_valid(&self) -> bool {
        let levels = match self.flavour {
            Flavour::Zlib | Flavour::ChromiumCrc | Flavour::ChromiumMul => 1..=9,
            Flavour::ZlibNg => 1..=9,
            // Its window and tables are fixed.
            Flavour::Libdeflate if self.mem_level != 8 || self.window_bits != 15 => 0..=0,
            Flavour::Libdeflate => 1..=9,
            Flavour::Miniz if self.mem_level != 8 || self.window_bits != 15 => 0..=0,
            Flavour::Miniz => 1..=10,
            Flavour::Go if self.mem_level != 8 || self.window_bits != 15 => 0..=0,
            Flavour::Go => 1..=9,
        };
        levels.contains(&self.level)
            && (1..=9).contains(&self.mem_level)
            && (9..=15).contains(&self.window_bits)
    }

    /// Tokens a block holds before zlib ends it.
    pub fn block_tokens(&self) -> usize {
        if self.flavour == Flavour::Go && self.level > 1 {
            return 1 << 14;
        }
        if matches!(
            self.flavour,
            Flavour::Libdeflate | Flavour::Miniz | Flavour::Go
        ) || (self.flavour == Flavour::ZlibNg && self.level == 1)
        {
            // libdeflate ends its blocks by statistics of its own, and
            // deflate_quick writes one fixed block until the stream ends.
            return usize::MAX;
        }
        (1usize << (self.mem_level + 6)) - 1
    }

    pub(super) fn strategy(&self) -> Strategy {
        match (self.flavour, self.level) {
            (Flavour::ZlibNg, 1) => Strategy::Quick,
            (Flavour::ZlibNg, 2) => Strategy::Fast,
            (Flavour::ZlibNg, 3..=6) => Strategy::Medium,
            (Flavour::Libdeflate, _) => Strategy::Libdeflate,
            (Flavour::Miniz, _) => Strategy::Miniz,
            (Flavour::Go, _) => Strategy::Go,
            _ => Strategy::Zlib,
        }
    }
}

/// zlib's `configuration_table`: good, lazy, nice, chain, and whether the
/// level is lazy.
#[derive(Debug, Clone, Copy)]
pub(super) struct Config {
    pub(super) good: u16,
    pub(super) lazy: u16,
    pub(super) nice: u16,
    pub(super) chain: u16,
    pub(super) lazy_parse: bool,
}

const fn cfg(good: u16, lazy: u16, nice: u16, chain: u16, lazy_parse: bool) -> Config {
    Config {
        good,
        lazy,
        nice,
        chain,
        lazy_parse,
    }
}

pub(super) const CONFIG: [Config; 10] = [
    cfg(0, 0, 0, 0, false),
    cfg(4, 4, 8, 4, false),
    cfg(4, 5, 16, 8, false),
    cfg(4, 6, 32, 32, false),
    cfg(4, 4, 16, 16, true),
    cfg(8, 16, 32, 32, true),
    cfg(8, 16, 128, 128, true),
    cfg(8, 32, 128, 256, true),
    cfg(32, 128, 258, 1024, true),
    cfg(32, 258, 258, 4096, true),
];

/// zlib-ng's table for levels 1-6 (its levels 7-9 are zlib's); level 1
/// searches no chain.
pub(super) const CONFIG_NG: [Config; 7] = [
    cfg(0, 0, 0, 0, false),
    cfg(0, 0, 0, 0, false),
    cfg(4, 4, 8, 4, false),
    cfg(4, 6, 16, 6, false),
    cfg(4, 12, 32, 24, false),
    cfg(8, 16, 32, 32, false),
    cfg(8, 16, 128, 128, false),
];

/// Which parser the model replays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Strategy {
    /// zlib's `deflate_fast` and `deflate_slow` (and zlib-ng's slow, 7-9).
    Zlib,
    /// zlib-ng's `deflate_quick` (level 1).
    Quick,
    /// zlib-ng's `deflate_fast` (level 2).
    Fast,
    /// zlib-ng's `deflate_medium` (levels 3-6).
    Medium,
    /// libdeflate's parsers.
    Libdeflate,
    /// miniz's parsers.
    Miniz,
    /// Go's parsers.
    Go,
}
